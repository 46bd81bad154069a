"""Serve every deployment from this process (the embedded default, `make run`).

`pause_on_shutdown=False`: stopping the process must not pause the daily sweep's schedule;
runs scheduled while it is down wait for the next start (and the sweep catches up).
"""

from __future__ import annotations

from prefect import serve

from deployments.definitions import runner_deployments


def main() -> None:
    serve(*runner_deployments(), pause_on_shutdown=False, print_starting_message=False)


if __name__ == "__main__":  # runs are started in spawned processes: guard the entry point
    main()

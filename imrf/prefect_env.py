"""The embedded default's Prefect environment: a local server on 127.0.0.1 with SQLite.

No Prefect import here: this only computes environment variables and starts/stops processes,
so the CLI can set Prefect's settings before Prefect is first imported.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

DEFAULT_PORT = 4200


def local_env(data_dir: Path, port: int = DEFAULT_PORT) -> dict[str, str]:
    """Settings for a local server whose database lives under the data directory."""
    api = f"http://127.0.0.1:{port}/api"
    return {
        "PREFECT_HOME": str(data_dir / "prefect"),
        "PREFECT_API_URL": api,
        "PREFECT_UI_API_URL": api,  # without it a UI on another port than 4200 shows nothing
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    }


def apply_defaults(env: dict[str, str]) -> None:
    """Set each variable the user has not set already (theirs win).

    A PREFECT_API_URL the user chose is also the UI's API unless they set PREFECT_UI_API_URL:
    the default would send a UI served on their port to 4200's API, where nothing answers.
    """
    chosen_api = os.environ.get("PREFECT_API_URL")
    if chosen_api and "PREFECT_UI_API_URL" in env:
        os.environ.setdefault("PREFECT_UI_API_URL", chosen_api)
    for key, value in env.items():
        os.environ.setdefault(key, value)


def healthy(api_url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=timeout) as answer:  # noqa: S310
            return bool(answer.status == 200)
    except OSError:
        return False


def start_server(api_url: str, log: Path, *, wait: float = 120.0) -> subprocess.Popen[bytes]:
    """Start `prefect server start` on the API URL's port; wait until it answers."""
    port = api_url.rsplit(":", 1)[1].split("/")[0]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
             "--port", port],
            stdout=out, stderr=subprocess.STDOUT, env=os.environ.copy(),
        )
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if healthy(api_url):
            return process
        if process.poll() is not None:
            raise RuntimeError(f"the Prefect server stopped at start-up; see {log}")
        time.sleep(0.5)
    process.terminate()
    raise RuntimeError(f"the Prefect server did not answer within {wait:.0f} s; see {log}")


def stop(process: subprocess.Popen[bytes] | None, *, grace: float = 20.0) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()

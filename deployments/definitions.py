"""The deployments of the orchestrator: one per stage flow, planning, the daily sweep, and
the inputs' drop folder, held inputs and website."""

from __future__ import annotations

from typing import Any

from prefect.schedules import Cron

from flows.inputs import drop_folder, held_input
from flows.planning import DEPLOYMENT, plan_cycle
from flows.site import rebuild_site
from flows.stages import STAGE_FLOWS
from flows.sweep import reminder_sweep

SWEEP_CRON = "0 8 * * *"
TIMEZONE = "America/New_York"


def served_flows() -> list[tuple[Any, dict[str, Any]]]:
    """Each served flow with the options of its deployment (named DEPLOYMENT)."""
    served: list[tuple[Any, dict[str, Any]]] = [
        (stage_flow, {"tags": ["imrf", f"imrf-stage-{stage}"]})
        for stage, stage_flow in STAGE_FLOWS.items()
    ]
    served.append((plan_cycle, {"tags": ["imrf"]}))
    served.append((reminder_sweep, {"tags": ["imrf"],
                                    "schedules": [Cron(SWEEP_CRON, timezone=TIMEZONE)]}))
    # Inputs (OP13): the drop folder every few minutes (config/inputs.yaml), one run at a
    # time; held inputs each get a run started by the drop folder, waiting for an operator.
    from imrf.inputs.config import load_inputs_config

    poll = load_inputs_config().drop_folder.poll_minutes
    served.append((drop_folder, {"tags": ["imrf", "imrf-inputs"], "concurrency_limit": 1,
                                 "schedules": [Cron(f"*/{poll} * * * *", timezone=TIMEZONE)]}))
    served.append((held_input, {"tags": ["imrf", "imrf-inputs"]}))
    # The inputs website (OP14): rebuilt after each accepted input; an operator can run it.
    served.append((rebuild_site, {"tags": ["imrf", "imrf-inputs"]}))
    return served


def runner_deployments() -> list[Any]:
    """RunnerDeployments for `serve` (the embedded default)."""
    return [served.to_deployment(name=DEPLOYMENT, description=served.description, **options)
            for served, options in served_flows()]

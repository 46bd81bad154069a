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


def runner_deployments() -> list[Any]:
    """RunnerDeployments for `serve` (the embedded default)."""
    deployments = [
        stage_flow.to_deployment(name=DEPLOYMENT, tags=["imrf", f"imrf-stage-{stage}"],
                                 description=stage_flow.description)
        for stage, stage_flow in STAGE_FLOWS.items()
    ]
    deployments.append(plan_cycle.to_deployment(
        name=DEPLOYMENT, tags=["imrf"], description=plan_cycle.description))
    deployments.append(reminder_sweep.to_deployment(
        name=DEPLOYMENT, tags=["imrf"], description=reminder_sweep.description,
        schedules=[Cron(SWEEP_CRON, timezone=TIMEZONE)]))
    # Inputs (OP13): the drop folder every few minutes (config/inputs.yaml), one run at a
    # time; held inputs each get a run started by the drop folder, waiting for an operator.
    from imrf.inputs.config import load_inputs_config

    poll = load_inputs_config().drop_folder.poll_minutes
    deployments.append(drop_folder.to_deployment(
        name=DEPLOYMENT, tags=["imrf", "imrf-inputs"], description=drop_folder.description,
        schedules=[Cron(f"*/{poll} * * * *", timezone=TIMEZONE)], concurrency_limit=1))
    deployments.append(held_input.to_deployment(
        name=DEPLOYMENT, tags=["imrf", "imrf-inputs"], description=held_input.description))
    # The inputs website (OP14): rebuilt after each accepted input; an operator can run it.
    deployments.append(rebuild_site.to_deployment(
        name=DEPLOYMENT, tags=["imrf", "imrf-inputs"], description=rebuild_site.description))
    return deployments

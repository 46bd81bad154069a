"""Planning an edition: one scheduled flow run per stage, visible ahead in the UI."""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect import flow, get_client, get_run_logger
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
    FlowRunFilterTags,
)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.deployments import run_deployment
from prefect.states import Cancelled

from imrf.stages import PlannedRun, plan_edition
from tasks import context
from tasks.artifacts import publish_calendar

DEPLOYMENT = "cycle"


def deployment_name(flow_name: str) -> str:
    return f"{flow_name}/{DEPLOYMENT}"


def _schedule(run: PlannedRun) -> tuple[str, bool]:
    started = dt.datetime.now(dt.UTC)
    key = run.idempotency_key
    for revision in range(1, 100):
        flow_run: FlowRun = run_deployment(  # type: ignore[assignment]
            name=deployment_name(run.flow), parameters=run.parameters,
            scheduled_time=run.scheduled_at, timeout=0, idempotency_key=key,
            flow_run_name=run.run_name, as_subflow=False,
            tags=["imrf", f"imrf-edition-{run.edition}", f"imrf-stage-{run.stage}"],
        )
        # A date moved away and back finds its old key on a run re-planning cancelled:
        # the key still belongs to that run, so the new one gets a revision suffix.
        if flow_run.state is None or flow_run.state.type is not StateType.CANCELLED:
            break
        key = f"{run.idempotency_key}#{revision}"
    created = flow_run.created is None or flow_run.created >= started - dt.timedelta(seconds=5)
    return str(flow_run.id), created


def _stale_runs(edition: int, keep: set[str]) -> list[Any]:
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(
            tags=FlowRunFilterTags(all_=["imrf", f"imrf-edition-{edition}"]),
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED])),
        ))
    return [r for r in runs if (r.idempotency_key or "").split("#")[0] not in keep]


@flow(name="imrf-plan-cycle", log_prints=True)
def plan_cycle(edition: int, as_of: dt.date | None = None) -> dict[str, Any]:
    """Schedule one run per stage of an edition, at 08:00 New York on its milestone's date.

    Safe to run again: each run has an idempotency key (edition, stage, instance, date), so
    re-planning creates nothing new. When a date changed in config/editions.yaml, the stale
    scheduled run is cancelled and a new one made. It rebuilds every scheduled run from the
    calendar alone, e.g. after a deployment was deleted with its scheduled runs.
    """
    logger = get_run_logger()
    as_of = as_of or context.today_new_york()
    cal = context.calendar(edition)
    planned = [r for r in plan_edition(cal) if r.date >= as_of]
    created = existing = 0
    for run in planned:
        _, new = _schedule(run)
        created += new
        existing += not new
    cancelled = 0
    keep = {r.idempotency_key for r in planned}
    for stale in _stale_runs(edition, keep):
        with get_client(sync_client=True) as client:
            client.set_flow_run_state(stale.id, Cancelled(message="date changed: re-planned"),
                                      force=True)
        cancelled += 1
        logger.info("Cancelled stale run %s (%s)", stale.name, stale.idempotency_key)
    publish_calendar(edition, as_of)
    logger.info("Edition %s: %d runs created, %d already scheduled, %d stale cancelled",
                edition, created, existing, cancelled)
    return {"edition": edition, "created": created, "existing": existing,
            "cancelled": cancelled, "planned": len(planned)}


"""Planning an edition: one scheduled flow run per stage, visible ahead in the UI."""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect import flow, get_client, get_run_logger
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.deployments import run_deployment
from prefect.states import Cancelled

from imrf.stages import PlannedRun, plan_edition
from tasks import context
from tasks.artifacts import publish_calendar

DEPLOYMENT = "cycle"


def deployment_name(flow_name: str) -> str:
    return f"{flow_name}/{DEPLOYMENT}"


def _schedule(run: PlannedRun, existing: dict[str, FlowRun]) -> bool:
    """Make sure the run is scheduled; True when this call created it."""
    key = run.idempotency_key
    for revision in range(1, 100):
        found = existing.get(key)
        if found is None:
            run_deployment(
                name=deployment_name(run.flow), parameters=run.parameters,
                scheduled_time=run.scheduled_at, timeout=0, idempotency_key=key,
                flow_run_name=run.run_name, as_subflow=False,
                tags=["imrf", f"imrf-edition-{run.edition}", f"imrf-stage-{run.stage}"],
            )
            return True
        if found.state is None or found.state.type is not StateType.CANCELLED:
            return False
        # A date moved away and back finds its old key on a run re-planning cancelled: the
        # key still belongs to that run, so the new one gets a revision suffix.
        key = f"{run.idempotency_key}#{revision}"
    raise RuntimeError(f"too many re-plans of {run.idempotency_key}")


def _edition_runs(edition: int) -> list[FlowRun]:
    with get_client(sync_client=True) as client:
        return client.read_flow_runs(flow_run_filter=FlowRunFilter(
            tags=FlowRunFilterTags(all_=["imrf", f"imrf-edition-{edition}"])))


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
    runs = _edition_runs(edition)
    by_key = {r.idempotency_key: r for r in runs if r.idempotency_key}
    created = sum(_schedule(run, by_key) for run in planned)
    keep = {r.idempotency_key for r in planned}
    stale = [r for r in runs if r.state is not None and r.state.type is StateType.SCHEDULED
             and (r.idempotency_key or "").split("#")[0] not in keep]
    with get_client(sync_client=True) as client:
        for run in stale:
            client.set_flow_run_state(run.id, Cancelled(message="date changed: re-planned"),
                                      force=True)
            logger.info("Cancelled stale run %s (%s)", run.name, run.idempotency_key)
    publish_calendar(edition, as_of)
    logger.info("Edition %s: %d runs created, %d already scheduled, %d stale cancelled",
                edition, created, len(planned) - created, len(stale))
    return {"edition": edition, "created": created, "existing": len(planned) - created,
            "cancelled": len(stale), "planned": len(planned)}

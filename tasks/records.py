"""Recording what stages did, in the domain store."""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from imrf.cycle_records import CycleRecords, StageState, StepRecord
from tasks import context


def records() -> CycleRecords:
    return CycleRecords(context.app().store)


@task(name="record-stage", cache_policy=NO_CACHE)
def record_stage(edition: int, stage: str, instance: str, state: StageState, *,
                 run_date: dt.date | None = None, flow_run_id: str | None = None,
                 summary: dict[str, Any] | None = None) -> None:
    if state == "running":
        assert run_date is not None
        records().stage_started(edition=edition, stage=stage, instance=instance,
                                run_date=run_date, flow_run_id=flow_run_id)
    else:
        records().stage_state(edition=edition, stage=stage, instance=instance, state=state,
                              summary=summary)


@task(name="record-step-open", cache_policy=NO_CACHE)
def record_step_open(edition: int, stage: str, instance: str, step: str, title: str,
                     milestone: str, deadline: dt.date | None, flow_run_id: str | None,
                     ui_link: str | None, problems: list[str]) -> None:
    records().step_opened(edition=edition, stage=stage, instance=instance, step=step,
                          title=title, milestone=milestone, deadline=deadline,
                          flow_run_id=flow_run_id, ui_link=ui_link, problems=problems)


@task(name="record-step-answer", cache_policy=NO_CACHE)
def record_step_answer(edition: int, stage: str, instance: str, answer: dict[str, Any]) -> None:
    records().step_answered(edition=edition, stage=stage, instance=instance, answer=answer)


@task(name="overdue-steps", cache_policy=NO_CACHE)
def overdue_steps(as_of: dt.date) -> list[StepRecord]:
    return records().overdue_steps(as_of)


@task(name="mark-escalated", cache_policy=NO_CACHE)
def mark_escalated(step: StepRecord) -> None:
    records().mark_escalated(step)

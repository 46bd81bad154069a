"""Recording what stages did, in the domain store.

Plain calls, not tasks: a few milliseconds of database work each, where a task run would
cost tens of milliseconds of orchestration and show nothing an operator needs.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from imrf.cycle_records import CycleRecords, StageState, StepRecord
from tasks import context


def records() -> CycleRecords:
    return CycleRecords(context.app().store)


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


def record_step_open(edition: int, stage: str, instance: str, step: str, title: str,
                     milestone: str, deadline: dt.date | None, flow_run_id: str | None,
                     ui_link: str | None, problems: list[str]) -> None:
    records().step_opened(edition=edition, stage=stage, instance=instance, step=step,
                          title=title, milestone=milestone, deadline=deadline,
                          flow_run_id=flow_run_id, ui_link=ui_link, problems=problems)


def record_step_answer(edition: int, stage: str, instance: str, answer: dict[str, Any]) -> None:
    records().step_answered(edition=edition, stage=stage, instance=instance, answer=answer)


def overdue_steps(as_of: dt.date) -> list[StepRecord]:
    return records().overdue_steps(as_of)


def open_steps() -> list[StepRecord]:
    return [step for step in records().steps() if step.state == "open"]


def mark_escalated(step: StepRecord) -> None:
    records().mark_escalated(step)

"""The status of each milestone of an edition, for the calendar artifact and `imrf status`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from imrf.calendar_export import when
from imrf.cycle_records import StageRecord, StepRecord
from imrf.milestones import EditionCalendar
from imrf.stages import PlannedRun


def milestone_rows(calendar: EditionCalendar, planned: list[PlannedRun],
                   stages: list[StageRecord], steps: list[StepRecord],
                   as_of: dt.date) -> list[dict[str, Any]]:
    """One row per milestone: when, what, paragraph and where it stands as of `as_of`."""
    run_of = {m: run for run in planned for m in run.milestones}
    stage_of = {(s.stage, s.instance): s for s in stages}
    step_of = {(s.stage, s.instance): s for s in steps}
    rows = []
    for milestone in calendar.milestones:
        run = run_of.get(milestone.id)
        record = stage_of.get((run.stage, run.instance)) if run else None
        step = step_of.get((run.stage, run.instance)) if run else None
        if step is not None and step.state == "open":
            overdue = step.deadline is not None and step.deadline < as_of
            status = ("OVERDUE: " if overdue else "waiting for operator: ") + step.title
        elif record is not None:
            status = {"completed": "done", "running": "running", "waiting": "waiting",
                      "failed": "FAILED"}[record.state]
        elif milestone.last_day < as_of:
            status = "past (not run here)"
        else:
            status = "scheduled" if run else "planned"
        # Status right after the date: long titles push later columns off a laptop screen.
        rows.append({
            "when": when(milestone), "status": status, "milestone": milestone.title,
            "paragraph": milestone.paragraph, "kind": milestone.kind.value, "id": milestone.id,
        })
    return rows

"""Plain-data views of a calendar (JSON) shared by the CLI, artifacts and the website."""

from __future__ import annotations

from typing import Any

from imrf.milestones import EditionCalendar, Milestone


def milestone_to_dict(milestone: Milestone) -> dict[str, Any]:
    def iso(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "id": milestone.id,
        "title": milestone.title,
        "paragraph": milestone.paragraph,
        "kind": milestone.kind.value,
        "start": iso(milestone.start),
        "end": iso(milestone.end),
        "due": iso(milestone.due),
        "start_time": milestone.start_time.strftime("%H:%M") if milestone.start_time else None,
        "end_time": milestone.end_time.strftime("%H:%M") if milestone.end_time else None,
        "audiences": [a.value for a in milestone.audiences],
        "basis": milestone.basis,
        "rule": milestone.rule,
        "action": milestone.action,
        "reminder_days": list(milestone.reminder_days),
        "objectives": list(milestone.objectives),
    }


def calendar_to_dict(calendar: EditionCalendar) -> dict[str, Any]:
    return {
        "edition": calendar.edition,
        "modalities": calendar.modalities,
        "forum": {"start": calendar.forum_start.isoformat(),
                  "end": calendar.forum_end.isoformat()},
        "timezone": "America/New_York",
        "milestones": [milestone_to_dict(m) for m in calendar.milestones],
    }


def when(milestone: Milestone) -> str:
    """A short human date range, e.g. `2026-05-05` or `2026-05-05 → 2026-05-08`."""
    if milestone.due is not None:
        return milestone.due.isoformat()
    assert milestone.start is not None and milestone.end is not None
    if milestone.start == milestone.end:
        text = milestone.start.isoformat()
    else:
        text = f"{milestone.start.isoformat()} → {milestone.end.isoformat()}"
    if milestone.start_time and milestone.end_time:
        text += f" {milestone.start_time:%H:%M}–{milestone.end_time:%H:%M}"
    return text

"""Which reminders are due on a given day.

A reminder is due `d` days before its milestone's first day, for each `d` of the milestone's
`reminder_days`. A sweep on day D sends, for every milestone still ahead, the most recent
reminder that has come due. So a sweep that runs every day sends each reminder on its day,
and one that resumes after days of outage sends what is still relevant once — the latest —
instead of a burst of stale reminders. The ledger makes a second sweep of the same day (or a
manual re-run) send nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict

from imrf.milestones import EditionCalendar


class DueReminder(BaseModel):
    model_config = ConfigDict(frozen=True)

    edition: int
    milestone: str
    days_before: int
    on: dt.date  # the day the reminder came due
    milestone_day: dt.date


def due_reminders(calendars: Iterable[EditionCalendar], as_of: dt.date) -> list[DueReminder]:
    """The reminders a sweep on `as_of` must make sure have gone out."""
    due: list[DueReminder] = []
    for calendar in calendars:
        for milestone in calendar.milestones:
            day = milestone.first_day
            if day <= as_of:
                continue  # it has happened: a reminder now would be noise
            came_due = [d for d in milestone.reminder_days if day - dt.timedelta(days=d) <= as_of]
            if came_due:
                latest = min(came_due)
                due.append(DueReminder(
                    edition=calendar.edition, milestone=milestone.id, days_before=latest,
                    on=day - dt.timedelta(days=latest), milestone_day=day,
                ))
    return due


def reminder_days_between(calendars: Iterable[EditionCalendar], start: dt.date,
                          end: dt.date) -> list[dt.date]:
    """Every day in [start, end] on which some reminder comes due (for the simulation's clock)."""
    days = {
        milestone.first_day - dt.timedelta(days=d)
        for calendar in calendars for milestone in calendar.milestones
        for d in milestone.reminder_days
    }
    return sorted(day for day in days if start <= day <= end)

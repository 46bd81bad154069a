"""The daily reminder sweep (08:00 New York) and the escalation of overdue human steps."""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from imrf.calendar import calendars_overlapping
from imrf.forum.negotiations import near_deadline
from imrf.ledger import Occasion
from imrf.notify import occasion
from imrf.reminders import DueReminder, due_reminders
from imrf.vocabulary import MessageKind
from tasks import context
from tasks.artifacts import publish_stage_summary
from tasks.notifications import notify_milestone, transient
from tasks.records import mark_escalated, open_steps, overdue_steps


@flow(name="imrf-reminder-sweep", persist_result=True, log_prints=True)
def reminder_sweep(as_of: dt.date | None = None) -> dict[str, Any]:
    """Send every reminder due today, and escalate human steps past their deadline.

    Runs daily at 08:00 New York time. After an outage the next sweep sends, for each
    milestone still ahead, the latest reminder that came due — once; the ledger makes a
    second sweep of the same day send nothing. Open human steps whose deadline has passed
    are escalated to the operators once, with the link to the waiting run.
    """
    return sweep(as_of or context.today_new_york())


def sweep(as_of: dt.date, *, publish: bool = True) -> dict[str, Any]:
    """The sweep's work, called by the flow (and by the simulation, inside its own flow).

    ``publish=False`` leaves the day's summary artifact to the caller: a simulation sweeps
    hundreds of days and publishes one summary of them all at its end.
    """
    logger = get_run_logger()
    calendars = calendars_overlapping(as_of, as_of)
    editions = [c.edition for c in calendars]
    # Most days nothing new is due: then no task run (each is several calls to the server).
    sends = send_due_reminders(editions, as_of) if unsent_due(editions, as_of) else []
    escalated = 0
    for step in overdue_steps(as_of):
        sent = notify_milestone(
            step.edition, step.milestone, MessageKind.ESCALATION, step=step.step,
            ui_link=step.ui_link, operators_only=True,
            extra={"step": step.title, "deadline": f"{step.deadline:%A %d %B %Y}"})
        sends.append(sent)
        escalated += bool(sent["sent"])
        mark_escalated(step)
    # The Progress Declaration's deadline near and no declaration recorded (OP37): told once,
    # before the deadline passes (the ledger keys it apart from the overdue escalation).
    for step, status in near_deadline(open_steps(), as_of, context.calendar):
        sent = notify_milestone(
            step.edition, step.milestone, MessageKind.ESCALATION,
            step=f"{step.step}-near-deadline", ui_link=step.ui_link, operators_only=True,
            extra={"step": step.title, "deadline": f"{step.deadline:%A %d %B %Y}",
                   "status": status.message})
        sends.append(sent)
        escalated += bool(sent["sent"])
    logger.info("Sweep of %s: %d message batches, %d escalations", as_of, len(sends), escalated)
    if sends and publish:
        publish_stage_summary(calendars[0].edition if calendars else as_of.year,
                              "reminder-sweep", "", f"Reminder sweep of {as_of}",
                              [f"Editions {[c.edition for c in calendars]}."], sends)
    return {"as_of": as_of.isoformat(), "sends": sends, "escalated": escalated}


def unsent_due(editions: list[int], as_of: dt.date) -> list[DueReminder]:
    """The reminders due on `as_of` that the ledger has not settled yet.

    A settled occasion (rows, none pending) is skipped without touching the contacts: a daily
    sweep re-checks the latest due reminder of every upcoming milestone, and with thousands
    of recipients that check must cost one query, not a fan-out.
    """
    due = due_reminders([context.calendar(e) for e in editions], as_of)
    occasions = {reminder: Occasion(reminder.edition, occasion(
        reminder.milestone, MessageKind.REMINDER, reminder.days_before), MessageKind.REMINDER)
        for reminder in due}
    settled = context.app().ledger.settled(occasions.values())
    return [reminder for reminder in due if occasions[reminder] not in settled]


@task(name="send-due-reminders", cache_policy=NO_CACHE, retries=3,
      retry_delay_seconds=[5, 30, 120], retry_condition_fn=transient)
def send_due_reminders(editions: list[int], as_of: dt.date) -> list[dict[str, Any]]:
    """Every reminder due on `as_of` and not yet sent, batched in one task."""
    app = context.app()
    sends = []
    for reminder in unsent_due(editions, as_of):
        cal = context.calendar(reminder.edition)
        summary = app.notifier.notify(calendar=cal, milestone_id=reminder.milestone,
                                      kind=MessageKind.REMINDER,
                                      days_before=reminder.days_before)
        sends.append(summary.model_dump(mode="json"))
    return sends

"""The acknowledgement e-mailed to the submitter of each accepted input, once (ledger).

It goes through the :class:`~imrf.notify.Notifier`, so the ledger makes it exactly once per
input: its occasion is ``input-acknowledgement#<input id>``. Templates are chosen by
milestone id (:mod:`imrf.rendering`), so the acknowledgement is rendered as a milestone of its
own, ``input-acknowledgement``, derived from ``inputs-due`` (same date and paragraphs) and
added to a copy of the edition's calendar; its templates are
``imrf/templates/email/input-acknowledgement/notice.*.j2``.
"""

from __future__ import annotations

from imrf.contacts import ContactRow
from imrf.inputs.models import Level, Status, Submission
from imrf.inputs.registry import NOT_GIVEN
from imrf.milestones import EditionCalendar
from imrf.notify import Notifier, NotifySummary
from imrf.rendering import PLACEHOLDER_PREFIX
from imrf.vocabulary import MessageKind

ACK_MILESTONE = "input-acknowledgement"
SOURCE_MILESTONE = "inputs-due"


def acknowledgement_calendar(calendar: EditionCalendar) -> EditionCalendar:
    """``calendar`` with the acknowledgement milestone added (once)."""
    if ACK_MILESTONE in calendar.ids:
        return calendar
    due = calendar.get(SOURCE_MILESTONE)
    ack = due.model_copy(update={
        "id": ACK_MILESTONE,
        "title": "Your input has been received",
        "action": "Nothing more is needed for this input. To correct or replace it, reply to "
                  "the network's secretariat quoting the input's reference.",
        "reminder_days": (),
    })
    return calendar.model_copy(update={"milestones": (*calendar.milestones, ack)})


def safe_text(value: str) -> str:
    # The renderer refuses its reserved token in any value; a submitter's title may hold it.
    return value.replace(PLACEHOLDER_PREFIX, "-imrf\u2011")


def details(submission: Submission) -> dict[str, str]:
    """The input's details as the acknowledgement lists them (label -> value)."""
    s = submission
    lines = {"Reference": s.id, "Title": s.title, "Level": s.level.value}
    if s.level is Level.NATIONAL and s.state:
        lines["Member State"] = s.state
    if s.commission is not None:
        lines["Regional commission"] = s.commission.value.upper()
    lines["Objectives of the Global Compact"] = ", ".join(map(str, s.objectives))
    lines["Language"] = s.language
    lines["Document"] = s.document.link or s.document.filename or ""
    lines["Received"] = s.received_on.isoformat()
    return {label: safe_text(value) for label, value in lines.items()}


def acknowledge(notifier: Notifier, calendar: EditionCalendar,
                submission: Submission) -> NotifySummary:
    """E-mail the submitter that ``submission`` was accepted (a no-op after the first time)."""
    if submission.status is not Status.ACCEPTED:
        raise ValueError(f"input {submission.id} is {submission.status}: only accepted "
                         "inputs are acknowledged")
    if calendar.edition != submission.edition:
        raise ValueError(f"input {submission.id} is for {submission.edition}, the calendar "
                         f"for {calendar.edition}")
    recipient = ContactRow(email=submission.submitter_email, name=submission.submitter_name,
                           organization="" if submission.organization == NOT_GIVEN
                           else submission.organization, audiences=())
    return notifier.notify(
        calendar=acknowledgement_calendar(calendar), milestone_id=ACK_MILESTONE,
        kind=MessageKind.NOTICE, recipients=[recipient], step=submission.id,
        extra=details(submission))

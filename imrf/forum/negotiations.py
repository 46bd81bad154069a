"""The negotiations on the Progress Declaration (OP36-OP38): rounds, deadline, escalation.

The window and the deadline come from the calendar (`negotiations`, `progress-declaration`:
from the day after the forum to two months after it). The rounds are spread evenly over the
window's UN Headquarters working days, the last one a configurable number of working days
before the deadline (`negotiation_rounds` in the modalities: operational defaults).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict

from imrf.calendar import default_working_days
from imrf.cycle_records import StepRecord
from imrf.forum.rows import ForumError
from imrf.holidays import WorkingDays
from imrf.milestones import EditionCalendar
from imrf.modalities import Modalities

Phase = Literal["before", "under-way", "near-deadline", "overdue", "agreed"]


class NegotiationPlan(BaseModel):
    model_config = ConfigDict(frozen=True)

    paragraph: str
    basis: str
    start: dt.date
    deadline: dt.date
    rounds: list[dt.date]


class NegotiationStatus(BaseModel):
    model_config = ConfigDict(frozen=True)

    as_of: dt.date
    phase: Phase
    working_days_left: int
    next_round: dt.date | None
    escalate: bool
    message: str


def plan(calendar: EditionCalendar, modalities: Modalities,
         working_days: WorkingDays | None = None) -> NegotiationPlan:
    rules = modalities.negotiation_rounds
    if rules is None:
        raise ForumError(f"modalities {modalities.id} give no negotiation_rounds (OP36-OP37)")
    wd = working_days or default_working_days()
    window = calendar.get("negotiations")
    deadline = calendar.get("progress-declaration").last_day
    start = window.first_day
    back = rules.final_round_working_days_before_deadline
    last = (wd.add_working_days(deadline, -back) if back
            else wd.previous_working_day(deadline))
    if last < start:
        raise ForumError(f"the negotiations from {start} leave no working day for a round "
                         f"{back} working days before the deadline {deadline}")
    span = wd.working_days_between(start, last)
    count = min(rules.rounds, span + 1)
    offsets = [round(i * span / (count - 1)) for i in range(count)] if count > 1 else [0]
    rounds = [start if n == 0 else wd.add_working_days(start, n) for n in offsets]
    return NegotiationPlan(paragraph=rules.paragraph, basis=rules.basis, start=start,
                           deadline=deadline, rounds=rounds)


def status(negotiations: NegotiationPlan, modalities: Modalities, as_of: dt.date, *,
           agreed: bool, working_days: WorkingDays | None = None) -> NegotiationStatus:
    """Where the negotiations stand on `as_of`, and whether to escalate to the operators."""
    assert modalities.negotiation_rounds is not None
    near = modalities.negotiation_rounds.escalate_within_working_days
    wd = working_days or default_working_days()
    left = wd.working_days_between(as_of, negotiations.deadline)
    upcoming = [d for d in negotiations.rounds if d >= as_of]
    next_round = upcoming[0] if upcoming else None
    phase: Phase
    if agreed:
        phase, message = "agreed", "the Progress Declaration is agreed"
    elif as_of > negotiations.deadline:
        phase = "overdue"
        message = (f"the deadline {negotiations.deadline} has passed and no Progress "
                   f"Declaration is recorded ({negotiations.paragraph})")
    elif as_of < negotiations.start:
        phase, message = "before", f"the negotiations open on {negotiations.start}"
    elif left <= near:
        phase = "near-deadline"
        message = (f"{left} working day(s) left before the deadline {negotiations.deadline}"
                   f" and no Progress Declaration is recorded ({negotiations.paragraph})")
    else:
        phase = "under-way"
        message = f"{left} working days left before the deadline {negotiations.deadline}"
    return NegotiationStatus(as_of=as_of, phase=phase, working_days_left=left,
                             next_round=next_round,
                             escalate=phase in ("near-deadline", "overdue"), message=message)


DECLARATION_STEP = "declaration-agreed"  # the negotiations stage's human step (config/stages.yaml)


def near_deadline(steps: Iterable[StepRecord], as_of: dt.date,
                  calendar_for: Callable[[int], EditionCalendar],
                  working_days: WorkingDays | None = None,
                  ) -> list[tuple[StepRecord, NegotiationStatus]]:
    """Open Progress Declaration steps whose deadline is near (OP37): the operators are told
    before it passes, not only after (an overdue step is escalated by the sweep anyway)."""
    from imrf.modalities import load_modalities

    found = []
    for step in steps:
        if step.step != DECLARATION_STEP or step.state != "open":
            continue
        cal = calendar_for(step.edition)
        modalities = load_modalities(cal.modalities)
        if modalities.negotiation_rounds is None:
            continue
        now = status(plan(cal, modalities, working_days), modalities, as_of, agreed=False,
                     working_days=working_days)
        if now.phase == "near-deadline":
            found.append((step, now))
    return found

"""iCalendar (RFC 5545) export of an edition's milestones.

One VEVENT per milestone, with a UID that depends only on the edition and the milestone id
(``imrf-<edition>-<milestone-id>@imrf-orchestrator``), so importing a recomputed calendar,
or a notice's attachment, updates the event a recipient already has instead of adding a copy.

Versions: a client keeps the copy with the highest SEQUENCE, and between equal SEQUENCEs the
one with the latest DTSTAMP (RFC 5546 §2.1.5). No pure function of the dates can grow with
every revision (moving a date back and forth, A -> B -> A, would need f(A) < f(B) < f(A)), so
SEQUENCE has two parts:

* a caller-kept ``revision`` (0 by default) in the high digits, to bump whenever a published
  milestone moves *earlier*, a meeting's hours shrink or a text changes;
* the event's span in the low digits: quarter hours since 1970-01-01 (New York wall clock) of
  its start plus those of its (exclusive) end, so any postponement or lengthening is picked up
  on its own, with no state at all.

DTSTAMP is that SEQUENCE read as seconds after the Unix epoch: derived from the input (the
bytes are stable run after run, which tests and deduplication rely on) and never disagreeing
with SEQUENCE about which copy is newer. Given the same input and the same tzdata, the output
is byte-identical.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from functools import lru_cache
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone

from imrf.milestones import NEW_YORK, EditionCalendar, Milestone
from imrf.vocabulary import MilestoneKind

PRODID = "-//imrf-orchestrator//IMRF review cycle//EN"
UID_DOMAIN = "imrf-orchestrator"

_EPOCH = dt.datetime(1970, 1, 1)
_QUARTER_HOUR = dt.timedelta(minutes=15)
# The span part stays below this stride until about the year 2112, and revision * stride plus
# the span must fit RFC 5545's signed 32-bit INTEGER.
SEQUENCE_STRIDE = 10_000_000
MAX_REVISION = (2**31 - 1) // SEQUENCE_STRIDE - 1

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

_BASIS_WORDS = {
    "text": "date set by the text",
    "operational-default": "operational default: the text does not set this date",
}


def event_uid(edition: int, milestone_id: str) -> str:
    """The UID a milestone's event keeps across recomputations of the calendar."""
    return f"imrf-{edition}-{milestone_id}@{UID_DOMAIN}"


def calendar_to_ics(calendar: EditionCalendar, *, revision: int = 0) -> bytes:
    """Every milestone of ``calendar`` as one VCALENDAR (METHOD:PUBLISH), byte-stable.

    ``revision`` is the caller's count of published changes that moved a date earlier or
    edited a text (see the module docstring); leave it at 0 if nothing keeps such a count.
    """
    ical = _new_calendar(calendar.milestones, calendar.forum_start, calendar.forum_end)
    name = f"International Migration Review Forum {calendar.edition}"
    ical.add("name", name)
    ical.add("x-wr-calname", name)
    ical.add("x-wr-timezone", NEW_YORK)
    for milestone in calendar.milestones:
        ical.add_component(
            _event(calendar.edition, milestone, modalities=calendar.modalities, revision=revision)
        )
    return bytes(ical.to_ical())


def milestone_to_ics(
    edition: int, milestone: Milestone, *, modalities: str, revision: int = 0
) -> bytes:
    """One milestone as a one-event VCALENDAR, for an e-mail attachment.

    Same UID, SEQUENCE and DTSTAMP as in :func:`calendar_to_ics` for the same revision, so
    opening the attachment and subscribing to the full calendar agree. No calendar name:
    some clients would offer to create a new calendar for a single event.
    """
    ical = _new_calendar((milestone,))
    ical.add_component(_event(edition, milestone, modalities=modalities, revision=revision))
    return bytes(ical.to_ical())


def sequence_for(milestone: Milestone, *, revision: int = 0) -> int:
    """The SEQUENCE of a milestone's event (see the module docstring for why this encoding)."""
    if not 0 <= revision <= MAX_REVISION:
        raise ValueError(f"revision must be between 0 and {MAX_REVISION}, got {revision}")
    start, end = _wall_clock_span(milestone)
    span = _quarter_hours(start, milestone.id) + _quarter_hours(end, milestone.id)
    if span >= SEQUENCE_STRIDE:
        raise ValueError(f"milestone {milestone.id!r} is too far in the future for SEQUENCE")
    return revision * SEQUENCE_STRIDE + span


def _quarter_hours(moment: dt.datetime, milestone_id: str) -> int:
    if moment < _EPOCH:
        raise ValueError(f"milestone {milestone_id!r} is dated before 1970 ({moment:%Y-%m-%d})")
    return (moment - _EPOCH) // _QUARTER_HOUR


def is_timed(milestone: Milestone) -> bool:
    """Whether a milestone has hours: only meetings do; deadlines and windows are whole days.

    Raises ValueError for a meeting with a start time but no end time, or the reverse.
    """
    if milestone.kind is not MilestoneKind.MEETING:
        return False
    if (milestone.start_time is None) != (milestone.end_time is None):
        raise ValueError(
            f"meeting {milestone.id!r} needs both start_time and end_time, or neither "
            f"(start_time={milestone.start_time}, end_time={milestone.end_time})"
        )
    return milestone.start_time is not None


def _wall_clock_span(milestone: Milestone) -> tuple[dt.datetime, dt.datetime]:
    """Start and exclusive end in New York wall-clock time (naive)."""
    if is_timed(milestone):
        assert milestone.start_time is not None and milestone.end_time is not None
        start = dt.datetime.combine(milestone.first_day, milestone.start_time)
        end = dt.datetime.combine(milestone.last_day, milestone.end_time)
        if end <= start:
            raise ValueError(
                f"meeting {milestone.id!r} ends ({end:%Y-%m-%d %H:%M}) "
                f"no later than it starts ({start:%Y-%m-%d %H:%M})"
            )
        return start, end
    start = dt.datetime.combine(milestone.first_day, dt.time())
    return start, dt.datetime.combine(milestone.last_day + dt.timedelta(days=1), dt.time())


def _new_calendar(milestones: Iterable[Milestone], *days: dt.date) -> Calendar:
    ical = Calendar()
    ical.add("prodid", PRODID)
    ical.add("version", "2.0")
    ical.add("calscale", "GREGORIAN")
    ical.add("method", "PUBLISH")
    years = [day.year for m in milestones for day in (m.first_day, m.last_day)]
    years += [day.year for day in days]
    ical.add_component(_new_york(min(years), max(years) + 1))
    return ical


def _new_york(first_year: int, last_year: int) -> Timezone:
    # Re-parsed from cached bytes so every calendar owns its own component.
    return Timezone.from_ical(_new_york_ical(first_year, last_year))  # type: ignore[return-value]


@lru_cache(maxsize=16)
def _new_york_ical(first_year: int, last_year: int) -> bytes:
    """VTIMEZONE whose transitions cover 1 January ``first_year`` to 1 January ``last_year``."""
    timezone = Timezone.from_tzid(
        NEW_YORK, first_date=dt.date(first_year, 1, 1), last_date=dt.date(last_year, 1, 1)
    )
    return bytes(timezone.to_ical())


def _event(edition: int, milestone: Milestone, *, modalities: str, revision: int) -> Event:
    sequence = sequence_for(milestone, revision=revision)
    event = Event()
    event.add("uid", event_uid(edition, milestone.id))
    event.add("dtstamp", dt.datetime.fromtimestamp(sequence, tz=dt.UTC))
    event.add("sequence", sequence)
    event.add("summary", _text(milestone.title))
    event.add("description", _text(describe(milestone, modalities=modalities)))
    event.add("categories", [milestone.kind.value])
    if is_timed(milestone):
        start, end = _wall_clock_span(milestone)
        zone = ZoneInfo(NEW_YORK)
        event.add("dtstart", start.replace(tzinfo=zone))
        event.add("dtend", end.replace(tzinfo=zone))
    else:
        event.add("dtstart", milestone.first_day)
        event.add("dtend", milestone.last_day + dt.timedelta(days=1))
    # A deadline or a months-long window must not mark anyone busy for whole days.
    busy = milestone.kind is MilestoneKind.MEETING
    event.add("transp", "OPAQUE" if busy else "TRANSPARENT")
    return event


def _text(value: str) -> str:
    """RFC 5545 TEXT allows no control characters but tab; line breaks become \\n escapes."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub(" ", value)


def describe(milestone: Milestone, *, modalities: str) -> str:
    """The event's DESCRIPTION: what to do, the rule and the paragraph it comes from."""
    lines = [milestone.action, "", f"Rule: {milestone.rule}"]
    basis = _BASIS_WORDS.get(milestone.basis, milestone.basis)
    lines.append(f"Paragraph: {milestone.paragraph} ({basis})")
    if milestone.objectives:
        numbers = ", ".join(str(n) for n in milestone.objectives)
        lines.append(f"Objectives of the Global Compact: {numbers}")
    lines.append(f"Modalities: {modalities}")
    return "\n".join(lines)

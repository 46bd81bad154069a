"""The iCalendar export: valid, byte-stable, and updating (not duplicating) on re-import."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar

from imrf.ics import MAX_REVISION, calendar_to_ics, milestone_to_ics, sequence_for
from imrf.milestones import EditionCalendar, Milestone
from imrf.vocabulary import Audience, MilestoneKind

NY = ZoneInfo("America/New_York")


def milestone(**overrides: Any) -> Milestone:
    values: dict[str, Any] = {
        "id": "sg-report",
        "title": "Secretary-General's report available",
        "paragraph": "OP15",
        "kind": MilestoneKind.DEADLINE,
        "basis": "text",
        "rule": "at least six weeks before the forum (OP15)",
        "action": "Issue the Secretary-General's report (OP15).",
        "audiences": (Audience.MEMBER_STATES,),
        "reminder_days": (30, 7, 1),
        "due": dt.date(2026, 3, 24),
    }
    values.update(overrides)
    return Milestone(**values)


def meeting(**overrides: Any) -> Milestone:
    values: dict[str, Any] = {
        "id": "roundtable-1",
        "title": "Round table 1 (Cluster I)",
        "paragraph": "OP26, OP27, OP28",
        "kind": MilestoneKind.MEETING,
        "basis": "text",
        "rule": "first day of the forum, morning (OP26)",
        "action": "Take part in the round table.",
        "audiences": (Audience.CO_CHAIRS,),
        "due": None,
        "start": dt.date(2026, 5, 5),
        "end": dt.date(2026, 5, 5),
        "start_time": dt.time(10, 0),
        "end_time": dt.time(13, 0),
        "objectives": (2, 5, 6, 12, 18),
        "cluster": "I",
    }
    values.update(overrides)
    return milestone(**values)


HEARING = meeting(
    id="hearing", title="Informal interactive multi-stakeholder hearing", paragraph="OP17",
    basis="operational-default", start=dt.date(2026, 5, 4), end=dt.date(2026, 5, 4),
    start_time=None, end_time=None, objectives=(), cluster=None,
)
DEBATE = meeting(
    id="general-debate", title="Plenary: general debate", paragraph="OP23, OP24",
    start=dt.date(2026, 5, 5), end=dt.date(2026, 5, 7), start_time=dt.time(10, 0),
    end_time=dt.time(18, 0), objectives=(), cluster=None,
)
WINDOW = meeting(
    id="negotiations", title="Intergovernmental negotiations", paragraph="OP36, OP37",
    kind=MilestoneKind.WINDOW, start=dt.date(2026, 5, 8), end=dt.date(2026, 7, 7),
    start_time=None, end_time=None, objectives=(), cluster=None,
)


def calendar(*milestones: Milestone) -> EditionCalendar:
    return EditionCalendar(
        edition=2026, modalities="zero-draft-2019", forum_start=dt.date(2026, 5, 5),
        forum_end=dt.date(2026, 5, 7),
        milestones=milestones or (milestone(), HEARING, meeting(), DEBATE, WINDOW),
    )


def events(ics: bytes) -> dict[str, Any]:
    parsed = Calendar.from_ical(ics)
    return {str(e["UID"]): e for e in parsed.walk("VEVENT")}


def test_calendar_is_valid_rfc5545_with_one_event_per_milestone() -> None:
    ics = calendar_to_ics(calendar())
    parsed = Calendar.from_ical(ics)
    assert ics.startswith(b"BEGIN:VCALENDAR\r\n") and ics.endswith(b"END:VCALENDAR\r\n")
    assert str(parsed["VERSION"]) == "2.0"
    assert str(parsed["PRODID"]).startswith("-//")
    assert str(parsed["CALSCALE"]) == "GREGORIAN"
    assert str(parsed["METHOD"]) == "PUBLISH"
    assert str(parsed["X-WR-CALNAME"]) == "International Migration Review Forum 2026"
    assert [str(tz["TZID"]) for tz in parsed.walk("VTIMEZONE")] == ["America/New_York"]
    assert parsed.get_missing_tzids() == set()
    assert sorted(events(ics)) == sorted(
        f"imrf-2026-{m.id}@imrf-orchestrator" for m in calendar().milestones
    )
    for event in events(ics).values():
        for required in ("DTSTAMP", "DTSTART", "DTEND", "SEQUENCE", "SUMMARY", "DESCRIPTION"):
            assert required in event
    assert max(len(line) for line in ics.split(b"\r\n")) <= 75  # folded (RFC 5545 §3.1)


def test_output_is_byte_stable() -> None:
    assert calendar_to_ics(calendar()) == calendar_to_ics(calendar())
    assert milestone_to_ics(2026, DEBATE, modalities="m") == milestone_to_ics(
        2026, DEBATE, modalities="m"
    )


def test_timed_meeting_is_in_new_york_time() -> None:
    ics = calendar_to_ics(calendar())
    assert b"DTSTART;TZID=America/New_York:20260505T100000" in ics
    event = events(ics)["imrf-2026-roundtable-1@imrf-orchestrator"]
    assert event["DTSTART"].dt == dt.datetime(2026, 5, 5, 10, tzinfo=NY)
    assert event["DTEND"].dt == dt.datetime(2026, 5, 5, 13, tzinfo=NY)
    assert event["DTSTART"].dt.utcoffset() == dt.timedelta(hours=-4)  # EDT in May
    assert str(event["TRANSP"]) == "OPAQUE"


def test_multi_day_timed_meeting_spans_first_start_to_last_end() -> None:
    event = events(calendar_to_ics(calendar()))["imrf-2026-general-debate@imrf-orchestrator"]
    assert event["DTSTART"].dt == dt.datetime(2026, 5, 5, 10, tzinfo=NY)
    assert event["DTEND"].dt == dt.datetime(2026, 5, 7, 18, tzinfo=NY)


@pytest.mark.parametrize(
    ("uid", "start", "end", "transp"),
    [
        ("sg-report", dt.date(2026, 3, 24), dt.date(2026, 3, 25), "TRANSPARENT"),
        ("hearing", dt.date(2026, 5, 4), dt.date(2026, 5, 5), "OPAQUE"),
        ("negotiations", dt.date(2026, 5, 8), dt.date(2026, 7, 8), "TRANSPARENT"),
    ],
)
def test_untimed_milestones_are_all_day_with_exclusive_end(
    uid: str, start: dt.date, end: dt.date, transp: str
) -> None:
    ics = calendar_to_ics(calendar())
    event = events(ics)[f"imrf-2026-{uid}@imrf-orchestrator"]
    assert event["DTSTART"].params["VALUE"] == "DATE"
    assert type(event["DTSTART"].dt) is dt.date and event["DTSTART"].dt == start
    assert type(event["DTEND"].dt) is dt.date and event["DTEND"].dt == end
    assert str(event["TRANSP"]) == transp


def test_description_and_categories() -> None:
    found = events(calendar_to_ics(calendar()))
    deadline = found["imrf-2026-sg-report@imrf-orchestrator"]
    text = str(deadline["DESCRIPTION"])
    assert "Issue the Secretary-General's report (OP15)." in text
    assert "Rule: at least six weeks before the forum (OP15)" in text
    assert "Paragraph: OP15 (date set by the text)" in text
    assert "Modalities: zero-draft-2019" in text
    assert "Objectives" not in text
    assert deadline["CATEGORIES"].cats == ["deadline"]
    roundtable = found["imrf-2026-roundtable-1@imrf-orchestrator"]
    assert "Objectives of the Global Compact: 2, 5, 6, 12, 18" in str(roundtable["DESCRIPTION"])
    assert roundtable["CATEGORIES"].cats == ["meeting"]
    hearing = found["imrf-2026-hearing@imrf-orchestrator"]
    assert "operational default" in str(hearing["DESCRIPTION"])


def test_attachment_matches_the_full_calendar_event() -> None:
    full = events(calendar_to_ics(calendar()))["imrf-2026-general-debate@imrf-orchestrator"]
    one = Calendar.from_ical(milestone_to_ics(2026, DEBATE, modalities="zero-draft-2019"))
    assert str(one["METHOD"]) == "PUBLISH" and "X-WR-CALNAME" not in one
    assert one.get_missing_tzids() == set()
    [event] = events(milestone_to_ics(2026, DEBATE, modalities="zero-draft-2019")).values()
    for name in ("UID", "SEQUENCE", "SUMMARY", "DESCRIPTION"):
        assert event[name] == full[name]
    for name in ("DTSTAMP", "DTSTART", "DTEND"):
        assert event[name].dt == full[name].dt


def sequence(ms: Milestone, revision: int = 0) -> int:
    event = events(milestone_to_ics(2026, ms, modalities="m", revision=revision))
    [only] = event.values()
    value = int(only["SEQUENCE"])
    assert value == sequence_for(ms, revision=revision)
    return value


def stamp(ms: Milestone, revision: int = 0) -> dt.datetime:
    [only] = events(milestone_to_ics(2026, ms, modalities="m", revision=revision)).values()
    value: dt.datetime = only["DTSTAMP"].dt
    return value


def test_postponing_or_lengthening_bumps_sequence_and_dtstamp() -> None:
    base = meeting()
    changes = [
        meeting(start=dt.date(2026, 5, 6), end=dt.date(2026, 5, 6)),  # next day
        meeting(start_time=dt.time(15, 0), end_time=dt.time(18, 0)),  # afternoon
        meeting(end_time=dt.time(13, 15)),  # a quarter hour longer
        meeting(end=dt.date(2026, 5, 6)),  # two days
    ]
    for changed in changes:
        assert sequence(changed) > sequence(base)
        assert stamp(changed) > stamp(base)
    assert sequence(milestone(due=dt.date(2026, 3, 25))) > sequence(milestone())


def test_a_revision_outranks_any_earlier_date() -> None:
    late = milestone(due=dt.date(2099, 12, 31))
    early = milestone(due=dt.date(1970, 1, 1))
    assert sequence(early, revision=1) > sequence(late, revision=0)
    assert stamp(early, revision=1) > stamp(late, revision=0)
    assert sequence(late, revision=MAX_REVISION) < 2**31


def test_same_dates_same_sequence_whatever_the_text() -> None:
    assert sequence(milestone(title="Another title")) == sequence(milestone())


@pytest.mark.parametrize("revision", [-1, MAX_REVISION + 1])
def test_revision_out_of_range_is_refused(revision: int) -> None:
    with pytest.raises(ValueError, match="revision must be between 0 and"):
        calendar_to_ics(calendar(), revision=revision)


def test_meeting_with_half_its_hours_is_refused() -> None:
    with pytest.raises(ValueError, match="'roundtable-1' needs both start_time and end_time"):
        calendar_to_ics(calendar(meeting(end_time=None)))


def test_meeting_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError, match=r"'roundtable-1' ends \(2026-05-05 09:00\) no later"):
        milestone_to_ics(2026, meeting(end_time=dt.time(9, 0)), modalities="m")


def test_dates_before_1970_are_refused() -> None:
    with pytest.raises(ValueError, match="'sg-report' is dated before 1970"):
        milestone_to_ics(2026, milestone(due=dt.date(1969, 12, 31)), modalities="m")


def test_calendar_without_milestones_still_has_its_timezone() -> None:
    parsed = Calendar.from_ical(calendar_to_ics(calendar().model_copy(update={"milestones": ()})))
    assert len(parsed.walk("VTIMEZONE")) == 1 and parsed.walk("VEVENT") == []


# Free text from a modalities file must not break the calendar's line structure.
free_text = st.text(
    st.characters(codec="utf-8"), min_size=1, max_size=200
)


def cleaned(text: str) -> str:
    control = {chr(c) for c in [*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F]}
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(" " if ch in control else ch for ch in text)


@settings(max_examples=200, deadline=None)
@given(title=free_text, action=free_text)
def test_any_text_survives_a_round_trip(title: str, action: str) -> None:
    ics = milestone_to_ics(2026, milestone(title=title, action=action), modalities="m")
    [event] = Calendar.from_ical(ics).walk("VEVENT")
    assert str(event["SUMMARY"]) == cleaned(title)
    assert str(event["DESCRIPTION"]).startswith(cleaned(action + "\n\nRule: "))
    for line in ics.split(b"\r\n"):
        assert b"\r" not in line and b"\n" not in line and b"\x00" not in line
    assert event["UID"] == "imrf-2026-sg-report@imrf-orchestrator"

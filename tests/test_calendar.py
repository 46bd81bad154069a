"""The calendar of an edition, rule by rule, checked against the words of the paragraphs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imrf.calendar import CalendarError, build_calendar, next_edition
from imrf.editions import EditionError, load_editions
from imrf.holidays import WorkingDays
from imrf.milestones import EditionCalendar
from imrf.vocabulary import MilestoneKind

D = dt.date
WD = WorkingDays()

REQUIRED_IDS = [
    "regional-review-eca", "regional-review-ece", "regional-review-eclac",
    "regional-review-escap", "regional-review-escwa", "sg-biennial-report", "inputs-due",
    "stakeholder-registration", "stakeholder-list", "co-chairs-appointed",
    "co-facilitators-appointed", "sg-report", "background-notes", "hearing", "hearing-summary",
    "forum", "opening-session", "general-debate", "roundtable-1", "roundtable-2", "roundtable-3",
    "roundtable-4", "technical-summaries", "policy-debate", "closing-session",
    "summaries-distributed", "negotiations", "progress-declaration",
]


def months_before(day: dt.date, months: int) -> dt.date:
    month = day.month - months
    year = day.year + (month - 1) // 12
    return D(year, (month - 1) % 12 + 1, day.day)


@pytest.fixture(scope="module")
def zero_2030() -> EditionCalendar:
    return build_calendar(2030)


@pytest.fixture(scope="module")
def held_2022() -> EditionCalendar:
    return build_calendar(2022)


def test_every_required_milestone_is_there(zero_2030: EditionCalendar) -> None:
    assert set(REQUIRED_IDS) <= set(zero_2030.ids)
    assert len(zero_2030.ids) == len(set(zero_2030.ids))
    firsts = [m.first_day for m in zero_2030.milestones]
    assert firsts == sorted(firsts)


def test_first_forum_as_held(held_2022: EditionCalendar) -> None:
    # 17-20 May 2022 at UN HQ, four days under the adopted text.
    assert (held_2022.forum_start, held_2022.forum_end) == (D(2022, 5, 17), D(2022, 5, 20))
    assert held_2022.modalities == "a-res-73-326"
    assert held_2022.get("regional-review-ece").start == D(2020, 11, 2)  # Nov 2020, a Monday
    assert held_2022.get("regional-review-eca").end == D(2021, 9, 30)


def test_op2_op3_three_days_in_the_first_semester(zero_2030: EditionCalendar) -> None:
    forum = zero_2030.get("forum")
    assert forum.start == D(2030, 5, 14)  # second Tuesday of May (default rule)
    assert forum.end == D(2030, 5, 16)  # "The Forum will last for three days."
    assert forum.end is not None and forum.end.month <= 6


def test_op2_forum_outside_the_first_semester_is_refused() -> None:
    with pytest.raises(CalendarError, match=r"not during the first semester of the year \(OP2"):
        build_calendar(forum_start=D(2030, 7, 2))
    with pytest.raises(CalendarError, match="first semester"):
        build_calendar(forum_start=D(2030, 6, 28))  # a Friday: days 2-3 fall in July


def test_forum_days_skip_holidays() -> None:
    # Four days from Thu 23 May 2030: Thu 23, Fri 24, (weekend, Memorial Day), Tue 28, Wed 29.
    cal = build_calendar(forum_start=D(2030, 5, 23), modalities="a-res-73-326")
    assert cal.forum_end == D(2030, 5, 29)
    assert cal.get("closing-session").start == D(2030, 5, 29)


def test_forum_may_not_open_on_a_holiday_or_weekend() -> None:
    with pytest.raises(CalendarError, match="Memorial Day"):
        build_calendar(forum_start=D(2030, 5, 27))
    with pytest.raises(CalendarError, match="a Saturday"):
        build_calendar(forum_start=D(2030, 5, 18))


def test_op15_op29_documents_at_least_six_weeks_before(zero_2030: EditionCalendar) -> None:
    start = zero_2030.forum_start
    for milestone_id in ("sg-report", "background-notes"):
        due = zero_2030.get(milestone_id).due
        assert due is not None and due <= start - dt.timedelta(weeks=6)
        assert WD.is_working_day(due)
    assert zero_2030.get("sg-report").due == D(2030, 4, 2)


def test_adopted_sg_report_twelve_weeks_before() -> None:
    cal = build_calendar(2030, modalities="a-res-73-326")
    due = cal.get("sg-report").due
    assert due is not None and due <= cal.forum_start - dt.timedelta(weeks=12)


def test_op7_list_no_later_than_three_months_before(zero_2030: EditionCalendar) -> None:
    due = zero_2030.get("stakeholder-list").due
    assert due is not None and due <= months_before(zero_2030.forum_start, 3)
    assert due == D(2030, 2, 14)


def test_deadline_on_a_weekend_moves_to_the_working_day_before() -> None:
    # Three months before Mon 6 May 2030 is Wed 6 Feb 2030: a working day, unmoved.
    assert build_calendar(forum_start=D(2030, 5, 6)).get("stakeholder-list").due == D(2030, 2, 6)
    # Three months before Tue 18 June 2030 is Mon 18 March; before Wed 19 June 2030 it would
    # be Tue 19 March; before Tue 11 June 2030 it is Mon 11 March. Now a weekend case:
    # three months before Thu 9 May 2030 is Sat 9 Feb 2030 -> Fri 8 Feb (stays >= 3 months).
    assert build_calendar(forum_start=D(2030, 5, 9)).get("stakeholder-list").due == D(2030, 2, 8)
    cal = build_calendar(forum_start=D(2030, 6, 6))
    # Thu 6 June 2030 - Mon 10 June; 3 months before Thu 6 June is Wed 6 March.
    assert cal.get("stakeholder-list").due == D(2030, 3, 6)
    # Two months after Mon 10 June is Sat 10 Aug 2030 -> Fri 9 Aug (no later than).
    assert cal.get("progress-declaration").due == D(2030, 8, 9)
    assert cal.get("negotiations").end == D(2030, 8, 9)


def test_op17_hearing_one_day_before_the_forum(zero_2030: EditionCalendar) -> None:
    hearing = zero_2030.get("hearing")
    assert hearing.kind is MilestoneKind.MEETING
    assert hearing.start == hearing.end == D(2030, 5, 13)  # the Monday before
    summary = zero_2030.get("hearing-summary")
    assert summary.due is not None and summary.due < zero_2030.forum_start
    # A forum opening on a Monday: the hearing is on the Friday before, never a Sunday.
    cal = build_calendar(forum_start=D(2030, 5, 6))
    assert cal.get("hearing").start == D(2030, 5, 3)
    # Tuesday after Memorial Day: the hearing moves to the Friday before.
    cal = build_calendar(forum_start=D(2030, 5, 28))
    assert cal.get("hearing").start == D(2030, 5, 24)


def test_op26_roundtables_days_1_and_2_consecutively(zero_2030: EditionCalendar) -> None:
    rts = [zero_2030.get(f"roundtable-{n}") for n in range(1, 5)]
    assert [(r.start, r.start_time) for r in rts] == [
        (D(2030, 5, 14), dt.time(10)), (D(2030, 5, 14), dt.time(15)),
        (D(2030, 5, 15), dt.time(10)), (D(2030, 5, 15), dt.time(15)),
    ]
    assert rts[0].objectives == (2, 5, 6, 12, 18) and rts[0].cluster == "I"
    assert sorted(o for r in rts for o in r.objectives) == list(range(1, 24))


def test_op32_op33_third_day(zero_2030: EditionCalendar) -> None:
    assert zero_2030.get("technical-summaries").start == D(2030, 5, 16)
    assert zero_2030.get("technical-summaries").start_time == dt.time(10)  # morning
    assert zero_2030.get("policy-debate").start_time == dt.time(15)  # afternoon
    assert zero_2030.get("closing-session").start == D(2030, 5, 16)
    assert zero_2030.get("general-debate").start == D(2030, 5, 14)
    assert zero_2030.get("general-debate").end == D(2030, 5, 16)


def test_adopted_forum_days() -> None:
    cal = build_calendar(2026)
    assert (cal.forum_start, cal.forum_end) == (D(2026, 5, 5), D(2026, 5, 8))
    assert cal.get("roundtable-4").start == D(2026, 5, 6)
    assert cal.get("policy-debate").start == D(2026, 5, 6)
    assert cal.get("opening-session").start == D(2026, 5, 7)
    assert cal.get("general-debate").end == D(2026, 5, 8)


def test_op35_ten_working_days_after_the_forum(held_2022: EditionCalendar) -> None:
    # Forum ends Fri 20 May 2022; Memorial Day (30 May) does not count.
    assert held_2022.get("summaries-distributed").due == D(2022, 6, 6)
    assert WD.working_days_between(held_2022.forum_end, D(2022, 6, 6)) == 10


def test_op36_op37_negotiations_right_after_and_within_two_months(
        held_2022: EditionCalendar) -> None:
    negotiations = held_2022.get("negotiations")
    assert negotiations.kind is MilestoneKind.WINDOW
    assert negotiations.start == D(2022, 5, 23)  # the first working day after Fri 20 May
    assert negotiations.end == D(2022, 7, 20)
    assert held_2022.get("progress-declaration").due == D(2022, 7, 20)


def test_pp11_regional_reviews_two_years_before(zero_2030: EditionCalendar) -> None:
    ece = zero_2030.get("regional-review-ece")
    assert ece.start == D(2028, 11, 1) and ece.end == D(2028, 11, 30)
    eca = zero_2030.get("regional-review-eca")
    assert eca.start is not None and eca.start.year == 2029  # the window spills into 2029
    assert all(zero_2030.get(f"regional-review-{c}").kind is MilestoneKind.WINDOW
               for c in ("eca", "ece", "eclac", "escap", "escwa"))


def test_unknown_edition_and_edition_mismatch() -> None:
    with pytest.raises(EditionError, match="2027 is not a forum year"):
        build_calendar(2027)
    with pytest.raises(EditionError, match="2018 is not a forum year"):
        build_calendar(2018)
    with pytest.raises(EditionError, match="not in the edition's year"):
        build_calendar(2030, forum_start=D(2031, 5, 13))


def test_editions_file_errors(config_copy: Path) -> None:
    path = config_copy / "editions.yaml"
    path.write_text(path.read_text().replace("forum_start: 2026-05-05", "forum_start: 2027-05-05"))
    load_editions.cache_clear()
    from imrf.configfile import ConfigError

    with pytest.raises(ConfigError, match=r"editions.yaml: editions\[1\]: forum_start 2027-05-05"):
        load_editions(config_copy)
    load_editions.cache_clear()


def test_next_edition() -> None:
    assert next_edition(D(2026, 11, 27)) == 2030
    assert next_edition(D(2026, 6, 1)) == 2026  # negotiations of 2026 still open
    assert next_edition(D(2019, 1, 1)) == 2022


def _check_invariants(cal: EditionCalendar) -> None:
    for m in cal.milestones:
        if m.kind is MilestoneKind.MEETING:
            assert m.start is not None and m.end is not None
            day = m.start
            while day <= m.end:
                # Every day a meeting spans that is a forum/hearing day is a working day.
                if day in (m.start, m.end):
                    assert WD.is_working_day(day), (m.id, day)
                day += dt.timedelta(days=1)
        elif m.kind is MilestoneKind.DEADLINE:
            assert m.due is not None and WD.is_working_day(m.due), (m.id, m.due)
        if m.id in ("inputs-due", "stakeholder-list", "sg-report", "background-notes",
                    "hearing", "hearing-summary", "co-chairs-appointed",
                    "co-facilitators-appointed", "stakeholder-registration"):
            assert m.last_day < cal.forum_start, m.id
        if m.id in ("summaries-distributed", "negotiations", "progress-declaration"):
            assert m.first_day > cal.forum_end, m.id


@settings(max_examples=60, deadline=None)
@given(
    year=st.sampled_from(range(2030, 2075, 4)),  # the Eid table ends in 2076
    day_of_season=st.integers(min_value=0, max_value=170),
    preset=st.sampled_from(["zero-draft-2019", "a-res-73-326"]),
)
def test_properties_over_any_valid_forum_date(year: int, day_of_season: int,
                                              preset: str) -> None:
    start = WD.next_working_day(D(year, 1, 2) + dt.timedelta(days=day_of_season))
    try:
        cal = build_calendar(forum_start=start, modalities=preset)
    except CalendarError as exc:
        assert "first semester" in str(exc) or "first part" in str(exc)
        return
    _check_invariants(cal)
    again = build_calendar(forum_start=start, modalities=preset)
    assert again == cal  # stable under re-computation

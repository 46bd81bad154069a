"""The general debate's list of speakers (OP23): order, refusals, capacity and overflow."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from imrf.calendar import build_calendar
from imrf.forum import speakers
from imrf.forum.rows import ForumError
from imrf.forum.speakers import Inscription
from imrf.modalities import load_modalities
from imrf.reference import member_states, states
from imrf.store import Store

S = states()
ZERO = load_modalities("zero-draft-2019")
ADOPTED = load_modalities("a-res-73-326")
CAL_2030 = build_calendar(2030)  # zero draft: Tuesday 14 to Thursday 16 May 2030
CAL_2026 = build_calendar(2026)  # adopted text: 5-8 May 2026


def ins(state: str, level: str = "minister", speaker: str = "H.E. Someone") -> Inscription:
    return Inscription(state=state, level=level, speaker=speaker)


def test_four_minutes_and_the_plenary_time_come_from_the_modalities() -> None:
    blocks = speakers.plenary_blocks(CAL_2030, ZERO)
    # Days 1-3 less the opening (day 1 morning) and the closing (day 3 afternoon), OP21-OP23.
    assert [(b.day, f"{b.start:%H:%M}", f"{b.end:%H:%M}") for b in blocks] == [
        (1, "15:00", "18:00"), (2, "10:00", "13:00"), (2, "15:00", "18:00"),
        (3, "10:00", "13:00")]
    assert blocks[0].start.date() == CAL_2030.forum_start
    assert str(blocks[0].start.tzinfo) == "America/New_York"
    built = speakers.build([ins("KEN")], CAL_2030, ZERO, S)
    assert built.minutes_per_statement == 4
    assert built.available_minutes == 720 and built.capacity == 180


def test_order_is_level_then_inscription_and_observers_after_members() -> None:
    items = [ins("FRA", "head-of-delegation"), ins("VAT", "minister"), ins("BRA", "minister"),
             ins("KEN", "head-of-state"), ins("JPN", "minister"), ins("CHL", "head-of-state")]
    built = speakers.build(items, CAL_2030, ZERO, S)
    assert [s.state for s in built.scheduled] == ["KEN", "CHL", "BRA", "JPN", "VAT", "FRA"]
    assert [s.inscribed for s in built.scheduled] == [4, 6, 3, 5, 2, 1]
    assert built.scheduled[4].observer and built.scheduled[4].level_title == "Minister"
    # Estimated times: four minutes each from the first block's start.
    assert [f"{s.start:%H:%M}" for s in built.scheduled[:3]] == ["15:00", "15:04", "15:08"]
    assert built.fits and built.warning is None and built.overflow == []


def test_a_statement_never_runs_past_a_block() -> None:
    items = [ins(s.iso3) for s in member_states()[:46]]
    built = speakers.build(items, CAL_2030, ZERO, S)
    # 45 statements fill 15:00-18:00 on day 1; the 46th opens day 2's morning.
    assert f"{built.scheduled[44].end:%H:%M}" == "18:00" and built.scheduled[44].day == 1
    assert built.scheduled[45].day == 2 and f"{built.scheduled[45].start:%H:%M}" == "10:00"


def test_a_list_twice_the_plenarys_length_warns_and_overflows() -> None:
    capacity = speakers.build([], CAL_2026, ADOPTED, S).capacity
    assert capacity == 90  # the adopted text's plenary: days 3-4 less opening and closing
    items = [ins(s.iso3) for s in member_states()[:2 * capacity]]
    built = speakers.build(items, CAL_2026, ADOPTED, S)
    assert not built.fits
    assert len(built.scheduled) == capacity and len(built.overflow) == capacity
    assert built.overflow[0].position == capacity + 1 and built.overflow[0].start is None
    assert built.warning is not None
    assert "does not fit" in built.warning and "90 speaker(s) overflow" in built.warning
    assert "720 minutes" in built.warning and "has 360" in built.warning


def test_a_non_state_an_unknown_level_and_a_duplicate_are_refused() -> None:
    assert "not a Member or observer State" in speakers.check_inscription(
        ins("XXX"), ZERO, S)[0]
    assert "is not one of" in speakers.check_inscription(ins("KEN", "king"), ZERO, S)[0]
    assert "already inscribed" in speakers.check_inscription(ins("KEN"), ZERO, S, ["KEN"])[0]
    assert speakers.check_inscription(ins("VAT"), ZERO, S) == []  # an observer State may


def test_store_keeps_the_order_of_inscription_and_refuses_duplicates(store: Store) -> None:
    speakers.inscribe(store, 2030, ins("FRA", "head-of-delegation"), ZERO, S)
    speakers.inscribe(store, 2030, ins("KEN", "head-of-state"), ZERO, S)
    with pytest.raises(ForumError, match="Kenya \\(KEN\\) is already inscribed"):
        speakers.inscribe(store, 2030, ins("KEN", "minister"), ZERO, S)
    with pytest.raises(ForumError, match="not a Member or observer State"):
        speakers.inscribe(store, 2030, ins("ZZZ"), ZERO, S)
    assert [i.state for i in speakers.inscriptions(store, 2030)] == ["FRA", "KEN"]
    assert speakers.inscriptions(store, 2034) == []


def test_a_batch_is_all_or_nothing(store: Store) -> None:
    speakers.inscribe(store, 2030, ins("FRA"), ZERO, S)
    with pytest.raises(ForumError, match=r"item 3: .*already inscribed"):
        speakers.inscribe_many(store, 2030, [ins("BRA"), ins("JPN"), ins("FRA")], ZERO, S)
    assert [i.state for i in speakers.inscriptions(store, 2030)] == ["FRA"]
    speakers.inscribe_many(store, 2030, [ins("BRA"), ins("JPN")], ZERO, S)
    assert [i.state for i in speakers.inscriptions(store, 2030)] == ["FRA", "BRA", "JPN"]


def test_csv_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "speakers.csv"
    path.write_text("state,level,speaker\nKEN,minister,A\nkenya,minister,B\n")
    with pytest.raises(ForumError, match=r"line 3: state: String should match pattern"):
        speakers.read_csv(path)
    path.write_text("state,speaker\nKEN,A\n")
    with pytest.raises(ForumError, match="missing column"):
        speakers.read_csv(path)


def test_modalities_without_plenary_rules_are_refused_clearly() -> None:
    bare = ZERO.model_copy(update={"plenary": None})
    with pytest.raises(ForumError, match="no plenary rules"):
        speakers.build([], CAL_2030, bare, S)


def test_dates_are_the_forums_working_days() -> None:
    days = speakers.forum_days(CAL_2026, ADOPTED)
    assert days == [dt.date(2026, 5, d) for d in (5, 6, 7, 8)]

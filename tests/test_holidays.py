"""UN HQ holidays (facts §5): the rule, the official-list override and working-day arithmetic."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pendulum
import pytest
import typer.main
from hijridate import Hijri
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

import imrf.cli.holidays  # noqa: F401  (registers the command on the shared app)
from imrf.cli.app import app
from imrf.holidays import (
    FIRST_RULE_YEAR,
    HOLIDAYS_DIR_ENV,
    LAST_RULE_YEAR,
    Holiday,
    HolidayFileError,
    UnsupportedYearError,
    WorkingDays,
    un_hq_holidays,
)

D = dt.date
GREGORIAN_NAMES = ("New Year's Day", "Good Friday", "Memorial Day", "Independence Day",
                   "Labour Day", "Thanksgiving Day", "Christmas Day")


@pytest.fixture(scope="module")
def empty_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A holidays directory without files, so the rule applies whatever config/ holds."""
    return tmp_path_factory.mktemp("no-overrides")


@pytest.fixture(scope="module")
def wd(empty_dir: Path) -> WorkingDays:
    return WorkingDays(holidays_dir=empty_dir)


def rule(year: int, empty_dir: Path) -> dict[str, list[Holiday]]:
    by_name: dict[str, list[Holiday]] = {}
    for h in un_hq_holidays(year, holidays_dir=empty_dir):
        by_name.setdefault(h.name, []).append(h)
    return by_name


# --- the rule -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "name", "observed", "actual"),
    [
        (2021, "Independence Day", D(2021, 7, 5), D(2021, 7, 4)),  # Sunday -> Monday
        (2021, "Christmas Day", D(2021, 12, 24), D(2021, 12, 25)),  # Saturday -> Friday
        (2021, "New Year's Day", D(2021, 1, 1), None),
        (2023, "New Year's Day", D(2023, 1, 2), D(2023, 1, 1)),
        (2026, "Independence Day", D(2026, 7, 3), D(2026, 7, 4)),
        (2026, "Good Friday", D(2026, 4, 3), None),
        (2026, "Memorial Day", D(2026, 5, 25), None),
        (2026, "Labour Day", D(2026, 9, 7), None),
        (2026, "Thanksgiving Day", D(2026, 11, 26), None),
        (2026, "Christmas Day", D(2026, 12, 25), None),
        (2026, "Eid al-Fitr", D(2026, 3, 20), None),
        (2026, "Eid al-Adha", D(2026, 5, 27), None),
        # An Eid on a weekend moves to Monday.
        (2022, "Eid al-Adha", D(2022, 7, 11), D(2022, 7, 9)),
        # An Eid on another holiday moves to the next working day: Memorial Day 1993,
        # Christmas observed on Monday 26 December 2039.
        (1993, "Eid al-Adha", D(1993, 6, 1), D(1993, 5, 31)),
        (2039, "Eid al-Adha", D(2039, 12, 27), D(2039, 12, 26)),
        # Sunday 31 December 2006, then New Year's Day: observed Tuesday 2 January 2007.
        (2007, "Eid al-Adha", D(2007, 1, 2), D(2006, 12, 31)),
    ],
)
def test_rule_observed_dates(
    year: int, name: str, observed: dt.date, actual: dt.date | None, empty_dir: Path
) -> None:
    (holiday,) = [h for h in rule(year, empty_dir)[name] if h.date == observed]
    assert holiday.actual == actual
    assert holiday.source == "rule"


def test_eids_2026_follow_umm_al_qura(empty_dir: Path) -> None:
    # 1447 AH: 1 Shawwal and 10 Dhu al-Hijjah.
    assert Hijri(1447, 10, 1).to_gregorian().datetuple() == (2026, 3, 20)
    assert Hijri(1447, 12, 10).to_gregorian().datetuple() == (2026, 5, 27)
    eids = rule(2026, empty_dir)
    assert [h.date for h in eids["Eid al-Fitr"]] == [D(2026, 3, 20)]
    assert [h.date for h in eids["Eid al-Adha"]] == [D(2026, 5, 27)]


def test_new_year_on_saturday_belongs_to_the_year_before(empty_dir: Path, wd: WorkingDays) -> None:
    assert "New Year's Day" not in rule(2022, empty_dir)
    (observed,) = rule(2021, empty_dir)["New Year's Day"][1:]
    assert observed.date == D(2021, 12, 31) and observed.actual == D(2022, 1, 1)
    assert not wd.is_working_day(D(2021, 12, 31))
    assert wd.is_working_day(D(2022, 1, 3))


def test_two_eid_al_fitr_in_2000(empty_dir: Path) -> None:
    fitr = rule(2000, empty_dir)["Eid al-Fitr"]
    assert [(h.date, h.actual) for h in fitr] == [
        (D(2000, 1, 10), D(2000, 1, 8)),  # Saturday -> Monday
        (D(2000, 12, 27), None),
    ]


def test_every_rule_year_is_sane(empty_dir: Path) -> None:
    lists = {y: un_hq_holidays(y, holidays_dir=empty_dir)
             for y in range(FIRST_RULE_YEAR, 2200)}
    for year, holidays in lists.items():
        dates = [h.date for h in holidays]
        assert dates == sorted(dates) and len(set(dates)) == len(dates), year
        assert all(d.year == year and d.weekday() < 5 for d in dates), year
        assert 8 <= len(holidays) <= 11, year
    # Each Gregorian holiday of a year is observed exactly once, in that year or next to it.
    for year in range(FIRST_RULE_YEAR + 1, 2199):
        near = [h for y in (year - 1, year, year + 1) for h in lists[y]]
        for name in GREGORIAN_NAMES:
            hits = [h for h in near if h.name == name and (h.actual or h.date).year == year]
            assert len(hits) == 1, (year, name)


@pytest.mark.parametrize("year", [FIRST_RULE_YEAR - 1, LAST_RULE_YEAR + 1, 0])
def test_year_outside_the_rule_needs_a_file(year: int, empty_dir: Path) -> None:
    with pytest.raises(UnsupportedYearError, match=rf"{year}\.yaml"):
        un_hq_holidays(year, holidays_dir=empty_dir)


# --- working days -------------------------------------------------------------------------


def test_is_working_day(wd: WorkingDays) -> None:
    assert wd.is_working_day(D(2026, 3, 19))
    assert not wd.is_working_day(D(2026, 3, 20))  # Eid al-Fitr
    assert not wd.is_working_day(D(2026, 3, 21))  # Saturday
    assert not wd.is_working_day(pendulum.date(2026, 7, 3))  # Independence Day observed
    assert not wd.is_working_day(dt.datetime(2026, 12, 25, 9, 30))


def test_ten_working_days_after_friday_20_may_2022(wd: WorkingDays) -> None:
    # 23-27 May, then Memorial Day (30 May) is skipped: 31 May, 1-3 June, 6 June.
    assert wd.add_working_days(D(2022, 5, 20), 10) == D(2022, 6, 6)
    assert wd.add_working_days(D(2022, 6, 6), -10) == D(2022, 5, 20)
    assert wd.working_days_between(D(2022, 5, 20), D(2022, 6, 6)) == 10
    assert wd.working_days_between(D(2022, 6, 6), D(2022, 5, 20)) == -10


def test_add_working_days_across_the_year_end(wd: WorkingDays) -> None:
    # 24 Dec 2021 (Christmas observed) and 31 Dec 2021 (New Year 2022 observed) are closed.
    assert wd.add_working_days(D(2021, 12, 23), 1) == D(2021, 12, 27)
    assert wd.add_working_days(D(2021, 12, 30), 1) == D(2022, 1, 3)
    assert wd.add_working_days(D(2022, 1, 3), -1) == D(2021, 12, 30)
    assert wd.add_working_days(D(2021, 12, 25), 3) == D(2021, 12, 29)


def test_add_zero_working_days(wd: WorkingDays) -> None:
    assert wd.add_working_days(D(2026, 3, 19), 0) == D(2026, 3, 19)
    with pytest.raises(ValueError, match="not a working day"):
        wd.add_working_days(D(2026, 3, 21), 0)


def test_next_and_previous_working_day(wd: WorkingDays) -> None:
    assert wd.next_working_day(D(2021, 12, 24)) == D(2021, 12, 27)
    assert wd.next_working_day(D(2021, 12, 27)) == D(2021, 12, 27)
    assert wd.next_working_day(D(2021, 12, 27), inclusive=False) == D(2021, 12, 28)
    assert wd.previous_working_day(D(2022, 1, 2)) == D(2021, 12, 30)
    assert wd.previous_working_day(D(2022, 1, 3), inclusive=False) == D(2021, 12, 30)


def test_results_are_plain_dates(wd: WorkingDays) -> None:
    result = wd.add_working_days(pendulum.date(2026, 3, 19), 1)
    assert type(result) is dt.date and result == D(2026, 3, 23)
    assert type(wd.next_working_day(pendulum.date(2026, 3, 19))) is dt.date


days = st.dates(min_value=D(1930, 1, 1), max_value=D(2070, 12, 31))
steps = st.integers(min_value=-400, max_value=400).filter(bool)


@settings(max_examples=150, deadline=None)
@given(day=days, n=steps)
def test_add_working_days_properties(wd: WorkingDays, day: dt.date, n: int) -> None:
    target = wd.add_working_days(day, n)
    assert wd.is_working_day(target)
    assert (target > day) == (n > 0)
    assert wd.working_days_between(day, target) == n


@settings(max_examples=150, deadline=None)
@given(day=days)
def test_next_and_previous_bracket_the_day(wd: WorkingDays, day: dt.date) -> None:
    before, after = wd.previous_working_day(day), wd.next_working_day(day)
    assert wd.is_working_day(before) and wd.is_working_day(after)
    assert before <= day <= after
    assert (before == after) == wd.is_working_day(day)
    # Nothing in between is skipped.
    strictly_before = wd.previous_working_day(day, inclusive=False)
    strictly_after = wd.next_working_day(day, inclusive=False)
    assert strictly_before < day < strictly_after
    assert wd.working_days_between(strictly_before, strictly_after) in (1, 2)


@settings(max_examples=150, deadline=None)
@given(start=days, span=st.integers(min_value=-90, max_value=90))
def test_working_days_between_counts_half_open(wd: WorkingDays, start: dt.date, span: int) -> None:
    end = start + dt.timedelta(days=span)
    if end >= start:
        stepped = [start + dt.timedelta(days=k) for k in range(1, span + 1)]  # (start, end]
        expected = sum(wd.is_working_day(d) for d in stepped)
    else:
        stepped = [end + dt.timedelta(days=k) for k in range(-span)]  # [end, start)
        expected = -sum(wd.is_working_day(d) for d in stepped)
    assert wd.working_days_between(start, end) == expected


# --- the official-list override -----------------------------------------------------------

OFFICIAL_2026 = """\
year: 2026
source: "ST/IC/2025/TEST"
holidays:
  - {date: 2026-01-01, name: "New Year's Day"}
  - {date: 2026-03-23, name: "Eid al-Fitr", actual: 2026-03-20}
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def test_file_replaces_the_rule_for_its_year_only(tmp_path: Path) -> None:
    write(tmp_path, "2026.yaml", OFFICIAL_2026)
    holidays = un_hq_holidays(2026, holidays_dir=tmp_path)
    assert [(h.date, h.name, h.actual, h.source) for h in holidays] == [
        (D(2026, 1, 1), "New Year's Day", None, "ST/IC/2025/TEST"),
        (D(2026, 3, 23), "Eid al-Fitr", D(2026, 3, 20), "ST/IC/2025/TEST"),
    ]
    wd = WorkingDays(holidays_dir=tmp_path)
    assert wd.is_working_day(D(2026, 3, 20))  # the rule's Eid is gone
    assert wd.is_working_day(D(2026, 12, 25))  # so is everything the file does not list
    assert not wd.is_working_day(D(2026, 3, 23))
    assert not wd.is_working_day(D(2025, 12, 25))  # 2025 keeps the rule
    assert all(h.source == "rule" for h in un_hq_holidays(2025, holidays_dir=tmp_path))


def test_directory_from_environment_and_argument(
    tmp_path: Path, empty_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "2026.yaml", OFFICIAL_2026)
    monkeypatch.setenv(HOLIDAYS_DIR_ENV, str(tmp_path))
    assert len(un_hq_holidays(2026)) == 2
    assert len(un_hq_holidays(2026, holidays_dir=empty_dir)) == 9  # the argument wins
    monkeypatch.setenv(HOLIDAYS_DIR_ENV, str(tmp_path / "missing"))
    with pytest.raises(HolidayFileError, match="missing: holidays directory does not exist"):
        WorkingDays()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (OFFICIAL_2026.replace("year: 2026", "year: 2025"),
         ["2026.yaml:1: year: is 2025", "named for 2026"]),
        (OFFICIAL_2026 + '  - {date: 2027-01-01, name: "New Year\'s Day"}\n',
         ["2026.yaml:6: holidays[2].date", "outside 2026"]),
        (OFFICIAL_2026 + '  - {date: 2026-01-01, name: "Again"}\n',
         ["2026.yaml:6: holidays[2].date", "listed twice (also holidays[0])"]),
        (OFFICIAL_2026 + '  - {date: 2026-07-04, name: "Independence Day"}\n',
         ["2026.yaml:6: holidays[2].date", "is a Saturday"]),
        (OFFICIAL_2026 + '  - {date: 2026-02-30, name: "Nope"}\n',
         ["2026.yaml:6: holidays[2].date", "valid date", "2026-02-30"]),
        (OFFICIAL_2026 + '  - {date: 2026-07-03, name: "Independence Day", why: x}\n',
         ["2026.yaml:6: holidays[2].why", "unknown field"]),
        (OFFICIAL_2026 + '  - {date: 2026-07-03}\n',
         ["2026.yaml:6: holidays[2].name", "required field is missing"]),
        (OFFICIAL_2026.replace('source: "ST/IC/2025/TEST"\n', ""),
         ["2026.yaml:1: source", "required field is missing"]),
        ("year: 2026\nsource: x\nholidays: [\n", ["2026.yaml:4: malformed YAML"]),
        ("- 2026-01-01\n", ["2026.yaml: expected a mapping"]),
        ("", ["2026.yaml: expected a mapping"]),
    ],
)
def test_bad_files_get_one_line_errors(tmp_path: Path, text: str, expected: list[str]) -> None:
    write(tmp_path, "2026.yaml", text)
    with pytest.raises(HolidayFileError) as caught:
        un_hq_holidays(2026, holidays_dir=tmp_path)
    message = str(caught.value)
    assert "\n" not in message
    assert str(tmp_path) in message
    for fragment in expected:
        assert fragment in message


def test_a_yml_file_is_not_silently_ignored(tmp_path: Path) -> None:
    write(tmp_path, "2026.yml", OFFICIAL_2026)
    with pytest.raises(HolidayFileError, match=r"2026\.yml: rename to 2026\.yaml"):
        WorkingDays(holidays_dir=tmp_path).is_working_day(D(2026, 3, 2))


# --- the CLI ------------------------------------------------------------------------------


def invoke(*args: str) -> Result:
    """Run `imrf holidays ARGS` whether or not other commands are registered yet.

    Typer runs a lone command without its name, so the argv depends on what else is imported.
    """
    alone = not hasattr(typer.main.get_command(app), "commands")
    argv = list(args) if alone else ["holidays", *args]
    return CliRunner().invoke(app, argv)


def test_cli_json(empty_dir: Path) -> None:
    result = invoke("2026", "--format", "json", "--holidays-dir", str(empty_dir))
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows[0] == {"date": "2026-01-01", "name": "New Year's Day"}
    assert rows == [{"date": h.date.isoformat(), "name": h.name}
                    for h in un_hq_holidays(2026, holidays_dir=empty_dir)]


def test_cli_table_shows_moved_dates_and_source(empty_dir: Path) -> None:
    result = invoke("2021", "--holidays-dir", str(empty_dir))
    assert result.exit_code == 0
    assert "Mon 05 Jul 2021" in result.stdout
    assert "Sun 04 Jul 2021" in result.stdout
    assert "rule" in result.stdout


@pytest.mark.parametrize(("year", "fragment"), [("1800", "covers 1925-2999"),
                                                ("twenty", "YEAR must be a Gregorian year")])
def test_cli_bad_year(empty_dir: Path, year: str, fragment: str) -> None:
    result = invoke(year, "--holidays-dir", str(empty_dir))
    assert result.exit_code == 2
    err = result.stderr
    assert err.startswith("imrf: error: ") and fragment in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert result.stdout == ""


def test_cli_bad_file(tmp_path: Path) -> None:
    write(tmp_path, "2026.yaml", OFFICIAL_2026.replace("year: 2026", "year: 2025"))
    result = invoke("2026", "--holidays-dir", str(tmp_path))
    assert result.exit_code == 2
    assert "2026.yaml:1: year" in result.stderr
    assert result.stderr.count("\n") == 1


def test_tabular_eids_beyond_the_umm_al_qura_table(empty_dir: Path) -> None:
    from imrf.holidays import TABULAR_SOURCE, UMM_AL_QURA_LAST_YEAR, _tabular_eids

    # The tabular calendar agrees with Umm al-Qura within two days where both exist.
    year = UMM_AL_QURA_LAST_YEAR
    table = {n: [h.actual or h.date for h in hs]
             for n, hs in rule(year, empty_dir).items() if n.startswith("Eid")}
    for name, actual in _tabular_eids(D(year, 1, 1), D(year, 12, 31)):
        assert min(abs((actual - d).days) for d in table[name]) <= 2, (name, actual)
    later = [h for h in un_hq_holidays(2090, holidays_dir=empty_dir) if h.name.startswith("Eid")]
    assert len(later) == 2 and all(h.source == TABULAR_SOURCE for h in later)

"""UN Headquarters holidays and working-day arithmetic (facts §5; "ten working days", OP35).

UN HQ New York closes on nine holidays a year. The rule is shipped here; each year the
Secretariat publishes the official list in an information circular (ST/IC/…), which an operator
can load as ``config/holidays/<YEAR>.yaml``. A file replaces the rule for its year entirely.

A holiday belongs to the year of its *observed* date. When 1 January falls on a Saturday it is
observed on Friday 31 December of the year before and is listed with that year (UN practice:
the circular for 2021 lists Friday 31 December 2021 for New Year's Day 2022). The rule for a
year therefore looks at the neighbouring years too.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pendulum
import yaml
from dateutil.easter import easter
from hijridate import Gregorian, Hijri
from hijridate.ummalqura import GREGORIAN_RANGE
from pydantic import BaseModel, ConfigDict, Field, ValidationError

HOLIDAYS_DIR_ENV = "IMRF_HOLIDAYS_DIR"
DEFAULT_HOLIDAYS_DIR = Path(__file__).resolve().parents[1] / "config" / "holidays"
RULE_SOURCE = "rule"

# The Eids come from the Umm al-Qura table, which hijridate covers only between these dates.
# An Eid observed in January can fall in December of the year before, so a year's rule needs
# December of the previous year as well.
_UQ_FIRST = dt.date(*GREGORIAN_RANGE[0])
_UQ_LAST = dt.date(*GREGORIAN_RANGE[1])
FIRST_RULE_YEAR = _UQ_FIRST.year + (1 if (_UQ_FIRST.month, _UQ_FIRST.day) <= (12, 1) else 2)
UMM_AL_QURA_LAST_YEAR = _UQ_LAST.year - (0 if (_UQ_LAST.month, _UQ_LAST.day) == (12, 31) else 1)
# Beyond the Umm al-Qura table the Eids come from the arithmetical (tabular) Islamic calendar,
# which can differ from the announced date by a day or two: good enough to plan a cycle decades
# ahead, and the year's circular (an override file) corrects it when it is published.
LAST_RULE_YEAR = 2999
TABULAR_SOURCE = "rule (tabular Islamic calendar beyond the Umm al-Qura table: approximate)"
_ISLAMIC_EPOCH = dt.date(622, 7, 19).toordinal()  # 1 Muharram 1 AH, civil epoch

_SATURDAY, _SUNDAY = 5, 6
_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class HolidayFileError(ValueError):
    """An override file (or its directory) cannot be used; the message is one line."""


class UnsupportedYearError(ValueError):
    """The rule cannot compute a year and no override file exists for it."""


class Holiday(BaseModel):
    """A day UN Headquarters is closed.

    ``date`` is the observed (closed) date; ``actual`` is the calendar date of the holiday when
    the observance was moved off it (a weekend, or an Eid landing on another holiday).
    """

    model_config = ConfigDict(frozen=True)

    date: dt.date
    name: str
    actual: dt.date | None = None
    source: str = RULE_SOURCE


# --- the rule -----------------------------------------------------------------------------


def _observed(name: str, day: pendulum.Date) -> Holiday:
    """A fixed-date holiday: Saturday moves to the Friday before, Sunday to the Monday after."""
    if day.weekday() == _SATURDAY:
        moved = day.subtract(days=1)
    elif day.weekday() == _SUNDAY:
        moved = day.add(days=1)
    else:
        return Holiday(date=_plain(day), name=name)
    return Holiday(date=_plain(moved), name=name, actual=_plain(day))


def _gregorian_holidays(year: int) -> list[Holiday]:
    """The seven holidays fixed by the Gregorian calendar, with their observed dates."""
    may = pendulum.date(year, 5, 1)
    september = pendulum.date(year, 9, 1)
    november = pendulum.date(year, 11, 1)
    easter_sunday = easter(year)
    good_friday = pendulum.date(year, easter_sunday.month, easter_sunday.day).subtract(days=2)
    return [
        _observed("New Year's Day", pendulum.date(year, 1, 1)),
        Holiday(date=_plain(good_friday), name="Good Friday"),
        Holiday(date=_plain(may.last_of("month", pendulum.MONDAY)), name="Memorial Day"),
        _observed("Independence Day", pendulum.date(year, 7, 4)),
        Holiday(date=_plain(september.first_of("month", pendulum.MONDAY)), name="Labour Day"),
        Holiday(
            date=_plain(november.nth_of("month", 4, pendulum.THURSDAY)), name="Thanksgiving Day"
        ),
        _observed("Christmas Day", pendulum.date(year, 12, 25)),
    ]


def _eids(start: dt.date, end: dt.date) -> Iterator[tuple[str, dt.date]]:
    """Eid al-Fitr (1 Shawwal) and Eid al-Adha (10 Dhu al-Hijjah) falling in [start, end].

    A Hijri year is about 11 days shorter than a Gregorian one, so one Gregorian year can hold
    two of the same Eid (2000 had two Eid al-Fitr); walking the Hijri years finds them all.
    """
    if end > _UQ_LAST:
        yield from _tabular_eids(start, end)
        return
    first = Gregorian(start.year, start.month, start.day).to_hijri().year
    last = Gregorian(end.year, end.month, end.day).to_hijri().year
    for hijri_year in range(first, last + 1):
        for name, month, day in (("Eid al-Fitr", 10, 1), ("Eid al-Adha", 12, 10)):
            gregorian = Hijri(hijri_year, month, day).to_gregorian()
            actual = dt.date(gregorian.year, gregorian.month, gregorian.day)
            if start <= actual <= end:
                yield name, actual


def _tabular_ordinal(year: int, month: int, day: int) -> int:
    """Proleptic Gregorian ordinal of a date of the tabular Islamic calendar (civil epoch)."""
    return (day + (59 * (month - 1) + 1) // 2 + (year - 1) * 354 + (3 + 11 * year) // 30
            + _ISLAMIC_EPOCH - 1)


def _tabular_eids(start: dt.date, end: dt.date) -> Iterator[tuple[str, dt.date]]:
    first = (start.toordinal() - _ISLAMIC_EPOCH) * 30 // 10631
    last = (end.toordinal() - _ISLAMIC_EPOCH) * 30 // 10631 + 2
    for hijri_year in range(first, last + 1):
        for name, month, day in (("Eid al-Fitr", 10, 1), ("Eid al-Adha", 12, 10)):
            actual = dt.date.fromordinal(_tabular_ordinal(hijri_year, month, day))
            if start <= actual <= end:
                yield name, actual


@functools.lru_cache(maxsize=512)
def _rule_holidays(year: int) -> tuple[Holiday, ...]:
    if not FIRST_RULE_YEAR <= year <= LAST_RULE_YEAR:
        raise UnsupportedYearError(
            f"the UN HQ holiday rule covers {FIRST_RULE_YEAR}-{LAST_RULE_YEAR}, not {year}"
        )
    # Neighbouring years: 1 January of year+1 may be observed on 31 December of this year,
    # and an Eid late in December of year-1 may be observed in January.
    fixed = [h for y in (year - 1, year, year + 1) for h in _gregorian_holidays(y)]
    taken = {h.date for h in fixed}
    eids: list[Holiday] = []
    for name, actual in sorted(_eids(dt.date(year - 1, 12, 1), dt.date(year, 12, 31)),
                               key=lambda e: e[1]):
        day = actual
        while day.weekday() >= _SATURDAY or day in taken:
            day += dt.timedelta(days=1)
        taken.add(day)
        eids.append(Holiday(date=day, name=name, actual=None if day == actual else actual,
                            source=TABULAR_SOURCE if actual > _UQ_LAST else RULE_SOURCE))
    return tuple(sorted((h for h in fixed + eids if h.date.year == year), key=_order))


# --- the override file --------------------------------------------------------------------


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: dt.date
    name: str = Field(min_length=1)
    actual: dt.date | None = None


class _HolidayFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    year: int
    source: str = Field(min_length=1)
    holidays: list[_Entry]


class _TextDatesLoader(yaml.SafeLoader):
    """SafeLoader that leaves dates as text: pydantic then validates them, so an impossible
    date such as 2026-02-30 gets an error naming its line instead of a bare ValueError."""


_TextDatesLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _parse(text: str) -> tuple[yaml.Node | None, Any]:
    """The node tree (for line numbers) and the data, from one parse."""
    loader = _TextDatesLoader(text)
    try:
        root = loader.get_single_node()
        return root, (loader.construct_document(root) if root is not None else None)
    finally:
        loader.dispose()


def _line_of(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """The 1-based line in the YAML source of the element at a pydantic error location."""
    line = None
    for part in loc:
        if node is None:
            break
        line = node.start_mark.line + 1
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == str(part)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            child = node.value[part] if 0 <= part < len(node.value) else None
        node = child
    return node.start_mark.line + 1 if node is not None else line


def _where(path: Path, root: yaml.Node | None, loc: tuple[int | str, ...]) -> str:
    line = _line_of(root, loc)
    field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    return f"{path}{f':{line}' if line else ''}: {field or 'top level'}"


def _load_file(path: Path, year: int) -> list[Holiday]:
    try:
        root, data = _parse(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise HolidayFileError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise HolidayFileError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise HolidayFileError(f"{path}{line}: malformed YAML: {' '.join(problem.split())}") \
            from exc
    if not isinstance(data, dict):
        raise HolidayFileError(f"{path}: expected a mapping with keys year, source, holidays")
    try:
        parsed = _HolidayFile.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise HolidayFileError(f"{_where(path, root, first['loc'])}: {_explain(first)}{more}") \
            from exc
    return _check(path, root, parsed, year)


def _explain(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown field"
    if error["type"] == "missing":
        return "required field is missing"
    if error["type"] == "model_type":
        return f"expected a mapping with date, name (optional actual), got {error['input']!r}"
    return f"{error['msg']} (got {error['input']!r})"


def _check(path: Path, root: yaml.Node | None, parsed: _HolidayFile, year: int) -> list[Holiday]:
    if parsed.year != year:
        raise HolidayFileError(f"{_where(path, root, ('year',))}: is {parsed.year}, but the file "
                               f"is named for {year}")
    seen: dict[dt.date, int] = {}
    for index, entry in enumerate(parsed.holidays):
        where = _where(path, root, ("holidays", index, "date"))
        if entry.date.year != year:
            raise HolidayFileError(f"{where}: {entry.date} ({entry.name}) is outside {year}")
        if entry.date.weekday() >= _SATURDAY:
            raise HolidayFileError(
                f"{where}: {entry.date} ({entry.name}) is a {_WEEKDAY_NAMES[entry.date.weekday()]}"
                "; list the observed date, which is a weekday"
            )
        if entry.date in seen:
            raise HolidayFileError(f"{where}: {entry.date} is listed twice (also holidays"
                                   f"[{seen[entry.date]}])")
        seen[entry.date] = index
    return sorted(
        (Holiday(date=e.date, name=e.name, actual=e.actual, source=parsed.source)
         for e in parsed.holidays),
        key=_order,
    )


# --- public API ---------------------------------------------------------------------------


def resolve_holidays_dir(holidays_dir: Path | None = None) -> Path:
    """The override directory: the argument, else ``$IMRF_HOLIDAYS_DIR``, else the repo's.

    A directory that was asked for (argument or environment) must exist; the default may be
    absent (an installed package without the repo's config), and then the rule applies.
    """
    chosen = holidays_dir or (Path(os.environ[HOLIDAYS_DIR_ENV])
                              if os.environ.get(HOLIDAYS_DIR_ENV) else None)
    if chosen is None:
        return DEFAULT_HOLIDAYS_DIR
    if not chosen.is_dir():
        raise HolidayFileError(f"{chosen}: holidays directory does not exist")
    return chosen


def un_hq_holidays(year: int, *, holidays_dir: Path | None = None) -> list[Holiday]:
    """UN HQ holidays observed in ``year``, sorted by date: the override file or the rule."""
    return _holidays_in(resolve_holidays_dir(holidays_dir), year)


def _holidays_in(directory: Path, year: int) -> list[Holiday]:
    path = directory / f"{year}.yaml"
    if path.is_file():
        return _load_file(path, year)
    if (directory / f"{year}.yml").is_file():
        # Silently falling back to the rule would hide the operator's list.
        raise HolidayFileError(f"{directory / f'{year}.yml'}: rename to {year}.yaml")
    try:
        return list(_rule_holidays(year))
    except UnsupportedYearError as exc:
        raise UnsupportedYearError(f"{exc}; load the official list into {path}") from exc


class WorkingDays:
    """Working-day arithmetic at UN Headquarters (Monday-Friday, less the year's holidays).

    Each year is computed once; after that ``is_working_day`` is a set lookup and the other
    methods a binary search over the year's working days.
    """

    def __init__(self, holidays_dir: Path | None = None) -> None:
        self._dir = resolve_holidays_dir(holidays_dir)
        self._closed: dict[int, frozenset[dt.date]] = {}
        self._open: dict[int, list[int]] = {}

    def holidays(self, year: int) -> list[Holiday]:
        """The holidays this instance uses for ``year``."""
        return _holidays_in(self._dir, year)

    def _load(self, year: int) -> frozenset[dt.date]:
        closed = frozenset(h.date for h in self.holidays(year))
        start, end = dt.date(year, 1, 1).toordinal(), dt.date(year, 12, 31).toordinal()
        # date.fromordinal(1) is a Monday, so (ordinal - 1) % 7 is the weekday.
        self._open[year] = [o for o in range(start, end + 1)
                            if (o - 1) % 7 < _SATURDAY and dt.date.fromordinal(o) not in closed]
        self._closed[year] = closed
        return closed

    def _working(self, year: int) -> list[int]:
        if year not in self._open:
            self._load(year)
        return self._open[year]

    def is_working_day(self, day: dt.date) -> bool:
        """Whether UN HQ is open on ``day`` (a weekday that is not a holiday)."""
        if type(day) is not dt.date:
            day = _plain(day)
        closed = self._closed.get(day.year)
        if closed is None:
            closed = self._load(day.year)
        return day.weekday() < _SATURDAY and day not in closed

    def next_working_day(self, day: dt.date, *, inclusive: bool = True) -> dt.date:
        """``day`` if it is a working day and ``inclusive``, else the first working day after."""
        day = _plain(day)
        if inclusive and self.is_working_day(day):
            return day
        return self.add_working_days(day, 1)

    def previous_working_day(self, day: dt.date, *, inclusive: bool = True) -> dt.date:
        """``day`` if it is a working day and ``inclusive``, else the last working day before."""
        day = _plain(day)
        if inclusive and self.is_working_day(day):
            return day
        return self.add_working_days(day, -1)

    def add_working_days(self, day: dt.date, n: int) -> dt.date:
        """The n-th working day after ``day`` (n > 0) or before it (n < 0), not counting ``day``.

        "Ten working days after Friday 20 May 2022" is ``add_working_days(date(2022, 5, 20),
        10)``. With n == 0 the answer is ``day`` itself, which must then be a working day
        (ValueError otherwise: "zero working days after a Sunday" has no meaning).
        """
        day = _plain(day)
        if n == 0:
            if not self.is_working_day(day):
                raise ValueError(f"{day} is not a working day; zero working days from it is "
                                 "undefined")
            return day
        year, ordinal = day.year, day.toordinal()
        days = self._working(year)
        if n > 0:
            index = bisect.bisect_right(days, ordinal) + n - 1
            while index >= len(days):
                index -= len(days)
                year += 1
                days = self._working(year)
        else:
            index = bisect.bisect_left(days, ordinal) + n
            while index < 0:
                year -= 1
                days = self._working(year)
                index += len(days)
        return dt.date.fromordinal(days[index])

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days stepped on going from ``start`` to ``end``: those in (start, end].

        Going backwards (end < start) the count is negative and covers [end, start), so that
        ``working_days_between(d, add_working_days(d, n)) == n`` for every n.
        """
        start, end = _plain(start), _plain(end)
        if end < start:
            return -self._count(end, start, bisect.bisect_left)
        return self._count(start, end, bisect.bisect_right)

    def _count(self, low: dt.date, high: dt.date, cut: Any) -> int:
        total = 0
        for year in range(low.year, high.year + 1):
            days = self._working(year)
            first = cut(days, low.toordinal()) if year == low.year else 0
            last = cut(days, high.toordinal()) if year == high.year else len(days)
            total += last - first
        return total


def _plain(day: dt.date) -> dt.date:
    """A plain ``datetime.date`` (not pendulum's subclass, not a datetime)."""
    return dt.date(day.year, day.month, day.day)


def _order(holiday: Holiday) -> tuple[dt.date, str]:
    return holiday.date, holiday.name

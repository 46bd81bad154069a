"""Forum editions (`config/editions.yaml`): which years, which dates, which modalities preset."""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from typing import Literal

import pendulum
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from imrf.configfile import ConfigError, default_config_dir, load_model
from imrf.vocabulary import Commission

Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday"]
WEEKDAYS: tuple[Weekday, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday")


class EditionError(ValueError):
    """An edition or forum date that the cycle does not allow."""


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DefaultStart(_Strict):
    """The n-th weekday of a month: the forum's first day when an edition fixes none."""

    month: int = Field(ge=1, le=12)
    weekday: Weekday
    occurrence: int = Field(ge=1, le=4)
    words: str

    def for_year(self, year: int) -> dt.date:
        first = pendulum.Date(year, self.month, 1)
        shift = (WEEKDAYS.index(self.weekday) - first.weekday()) % 7
        day = first.add(days=shift + 7 * (self.occurrence - 1))
        return dt.date(day.year, day.month, day.day)


class ReviewDates(_Strict):
    start: dt.date
    end: dt.date

    @model_validator(mode="after")
    def _ordered(self) -> ReviewDates:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class Edition(_Strict):
    edition: int = Field(ge=2000, le=2200)
    modalities: str | None = None
    forum_start: dt.date | None = None
    note: str = ""
    regional_reviews: dict[Commission, ReviewDates] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _start_in_year(self) -> Edition:
        if self.forum_start is not None and self.forum_start.year != self.edition:
            raise ValueError(
                f"forum_start {self.forum_start} is not in the edition's year {self.edition}"
            )
        return self


class EditionsFile(_Strict):
    default_modalities: str
    default_start: DefaultStart
    editions: tuple[Edition, ...] = ()

    @field_validator("editions")
    @classmethod
    def _unique(cls, value: tuple[Edition, ...]) -> tuple[Edition, ...]:
        years = [e.edition for e in value]
        repeated = sorted({y for y in years if years.count(y) > 1})
        if repeated:
            raise ValueError(f"edition(s) listed twice: {', '.join(map(str, repeated))}")
        return value

    def get(self, year: int) -> Edition | None:
        return next((e for e in self.editions if e.edition == year), None)


def editions_path(config_dir: Path | None = None) -> Path:
    return (config_dir or default_config_dir()) / "editions.yaml"


@cache
def load_editions(config_dir: Path | None = None) -> EditionsFile:
    return load_model(EditionsFile, editions_path(config_dir))


def forum_years(first_edition: int, interval: int, *, until: int) -> list[int]:
    return list(range(first_edition, until + 1, interval))


def check_forum_year(year: int, *, first_edition: int, interval: int, paragraph: str) -> None:
    if year < first_edition or (year - first_edition) % interval:
        raise EditionError(
            f"{year} is not a forum year: forums are held in {first_edition} and every "
            f"{interval} years after ({paragraph})"
        )


__all__ = [
    "ConfigError", "DefaultStart", "Edition", "EditionError", "EditionsFile",
    "check_forum_year", "editions_path", "forum_years", "load_editions",
]

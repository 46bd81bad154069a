"""Reference data shipped under `config/reference/`: objectives, commissions, States."""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from imrf.configfile import ConfigError, default_config_dir, display_path, load_model
from imrf.vocabulary import Commission, RegionalGroup

OBJECTIVE_COUNT = 23  # A/RES/73/195, para. 16


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Objective(_Frozen):
    number: int = Field(ge=1, le=OBJECTIVE_COUNT)
    title: str = Field(min_length=1)


class _ObjectivesFile(_Frozen):
    objectives: tuple[Objective, ...]

    @field_validator("objectives")
    @classmethod
    def _all_23_once(cls, value: tuple[Objective, ...]) -> tuple[Objective, ...]:
        numbers = sorted(o.number for o in value)
        if numbers != list(range(1, OBJECTIVE_COUNT + 1)):
            raise ValueError(f"must list objectives 1 to {OBJECTIVE_COUNT} once each")
        return value


class CommissionInfo(_Frozen):
    id: Commission
    name: str
    region: str


class _CommissionsFile(_Frozen):
    commissions: tuple[CommissionInfo, ...]


class State(_Frozen):
    """A Member or observer State (OP4, OP23)."""

    name: str = Field(min_length=1)
    official_name: str
    iso3: str = Field(pattern=r"^[A-Z]{3}$")
    status: Literal["member-state", "observer-state"]
    regional_group: RegionalGroup | None = None


@cache
def objectives(config_dir: Path | None = None) -> dict[int, Objective]:
    path = (config_dir or default_config_dir()) / "reference" / "objectives.yaml"
    return {o.number: o for o in load_model(_ObjectivesFile, path).objectives}


@cache
def commissions(config_dir: Path | None = None) -> dict[Commission, CommissionInfo]:
    path = (config_dir or default_config_dir()) / "reference" / "commissions.yaml"
    return {c.id: c for c in load_model(_CommissionsFile, path).commissions}


@cache
def states(config_dir: Path | None = None) -> dict[str, State]:
    """Member and observer States by ISO alpha-3 code."""
    path = (config_dir or default_config_dir()) / "reference" / "states.csv"
    where = display_path(path)
    result: dict[str, State] = {}
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            for line, row in enumerate(csv.DictReader(handle), start=2):
                try:
                    state = State.model_validate({k: (v or None) for k, v in row.items()})
                except ValidationError as exc:
                    err = exc.errors(include_url=False)[0]
                    field = ".".join(str(p) for p in err["loc"])
                    raise ConfigError(f"{where}: line {line}: {field}: {err['msg']}") from None
                if state.iso3 in result:
                    raise ConfigError(f"{where}: line {line}: iso3: duplicate code {state.iso3}")
                result[state.iso3] = state
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read: {exc}") from None
    return result


def member_states(config_dir: Path | None = None) -> list[State]:
    return [s for s in states(config_dir).values() if s.status == "member-state"]

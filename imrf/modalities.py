"""The modalities of the forum as validated data: the rules of the text, each with its paragraph.

A preset lives in `config/modalities/<id>.yaml`; a preset may `extends:` another and state only
what differs (lists of items with an `id` merge by id, everything else replaces).
"""

from __future__ import annotations

import datetime as dt
import re
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveInt,
    field_validator,
    model_validator,
)

from imrf.configfile import (
    ConfigError,
    default_config_dir,
    display_path,
    load_yaml,
    validate_file_data,
)
from imrf.reference import OBJECTIVE_COUNT
from imrf.vocabulary import Audience, Commission, MilestoneKind

Anchor = Literal["forum-start", "forum-end", "review-year"]
Part = Literal["morning", "afternoon", "full"]
Basis = Literal["text", "operational-default"]
Timing = Literal["before-forum", "after-forum"]

# Milestones the rest of the system relies on (flows, notifications): a preset cannot drop them.
REQUIRED_MILESTONES = (
    "sg-biennial-report", "inputs-due", "stakeholder-registration", "stakeholder-list",
    "co-chairs-appointed", "co-facilitators-appointed", "sg-report", "background-notes",
    "hearing", "hearing-summary", "summaries-distributed", "negotiations", "progress-declaration",
)
REQUIRED_SESSIONS = (
    "opening-session", "general-debate", "roundtable-1", "roundtable-2", "roundtable-3",
    "roundtable-4", "technical-summaries", "policy-debate", "closing-session",
)
PARAGRAPH = re.compile(r"^(PP|OP)\d+")


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DatePoint(_Strict):
    """`before`/`after`/`on` an anchor, with non-negative offsets."""

    before: Anchor | None = None
    after: Anchor | None = None
    on: Anchor | None = None
    years: NonNegativeInt = 0
    months: NonNegativeInt = 0
    weeks: NonNegativeInt = 0
    days: NonNegativeInt = 0
    working_days: NonNegativeInt = 0

    @model_validator(mode="after")
    def _one_anchor(self) -> DatePoint:
        given = [a for a in (self.before, self.after, self.on) if a is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of 'before', 'after' or 'on' an anchor")
        calendar_offsets = self.years or self.months or self.weeks or self.days
        if self.on is not None and (calendar_offsets or self.working_days):
            raise ValueError("'on' an anchor takes no offset")
        if self.working_days and calendar_offsets:
            raise ValueError("working_days cannot be combined with calendar offsets")
        return self

    @property
    def anchor(self) -> Anchor:
        anchor = self.before or self.after or self.on
        assert anchor is not None
        return anchor

    @property
    def sign(self) -> int:
        return -1 if self.before else 1


class Hours(_Strict):
    start: dt.time
    end: dt.time

    @model_validator(mode="after")
    def _ordered(self) -> Hours:
        if self.end <= self.start:
            raise ValueError(f"end {self.end} is not after start {self.start}")
        return self


class ForumHours(_Strict):
    morning: Hours
    afternoon: Hours

    def of(self, part: Part) -> tuple[dt.time, dt.time]:
        if part == "morning":
            return self.morning.start, self.morning.end
        if part == "afternoon":
            return self.afternoon.start, self.afternoon.end
        return self.morning.start, self.afternoon.end


class Season(_Strict):
    first_month: int = Field(ge=1, le=12)
    last_month: int = Field(ge=1, le=12)
    words: str
    paragraph: str = Field(pattern=PARAGRAPH.pattern)


def _reminders(value: tuple[int, ...]) -> tuple[int, ...]:
    if len(set(value)) != len(value):
        raise ValueError("reminder days must not repeat")
    return tuple(sorted(value, reverse=True))


class _Notified(_Strict):
    audiences: tuple[Audience, ...] = Field(min_length=1)
    reminders: tuple[PositiveInt, ...] = ()
    action: str = Field(min_length=1)

    _check_reminders = field_validator("reminders")(classmethod(lambda cls, v: _reminders(v)))


class ForumRules(_Notified):
    title: str
    paragraph: str = Field(pattern=PARAGRAPH.pattern)
    first_edition: int = Field(ge=2000, le=2200)
    interval_years: PositiveInt
    venue: str
    length_days: int = Field(ge=1, le=10)
    length_paragraph: str = Field(pattern=PARAGRAPH.pattern)
    season: Season
    hours: ForumHours


class ReviewWindow(_Strict):
    """A commission's review window: from `start` until (not including) `until`."""

    start: DatePoint
    until: DatePoint


class RegionalReviewRules(_Notified):
    paragraph: str = Field(pattern=PARAGRAPH.pattern)
    first_round: int = Field(ge=2000, le=2200)
    interval_years: PositiveInt
    lead_years: PositiveInt
    basis: Basis
    windows: dict[Commission, ReviewWindow]

    @field_validator("windows")
    @classmethod
    def _every_commission(cls, value: dict[Commission, ReviewWindow]) -> dict[Commission,
                                                                              ReviewWindow]:
        missing = sorted(set(Commission) - set(value))
        if missing:
            raise ValueError(f"no review window for {', '.join(missing)}")
        return value


class Roundtable(_Strict):
    number: PositiveInt
    cluster: str
    title: str
    objectives: tuple[int, ...] = Field(min_length=1)


class Session(_Strict):
    """A meeting inside the forum, placed on the forum's `day` (1-based working day)."""

    id: str
    title: str = ""
    paragraph: str = Field(default="", pattern=r"^$|" + PARAGRAPH.pattern)
    day: PositiveInt
    last_day: PositiveInt | None = None
    part: Part
    roundtable: PositiveInt | None = None
    audiences: tuple[Audience, ...] | None = None
    reminders: tuple[PositiveInt, ...] | None = None
    action: str | None = None


class CoChairRules(_Strict):
    """OP28's balance, made checkable (the thresholds are operational defaults)."""

    paragraph: str = Field(pattern=PARAGRAPH.pattern)
    basis: Basis
    per_roundtable: PositiveInt
    pair_from_distinct_groups: bool
    every_group_at_least: NonNegativeInt
    any_group_at_most: PositiveInt
    each_gender_at_least: NonNegativeInt


class RoundtableDefaults(_Notified):
    pass


Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$")]


class OpeningSpeaker(_Strict):
    role: Slug
    title: str = Field(min_length=1)


class OpeningSessionRules(_Strict):
    """Who speaks at the opening session (OP22)."""

    session: str
    paragraph: str = Field(pattern=PARAGRAPH.pattern)
    speakers: tuple[OpeningSpeaker, ...] = Field(min_length=1)


class RepresentationLevel(_Strict):
    id: Slug
    title: str = Field(min_length=1)


class GeneralDebateRules(_Strict):
    """The general debate's list of speakers and its time limit (OP23)."""

    session: str
    paragraph: str = Field(pattern=PARAGRAPH.pattern)
    minutes_per_statement: PositiveInt
    shares_plenary_with: tuple[str, ...] = ()
    levels: tuple[RepresentationLevel, ...] = Field(min_length=1)
    levels_basis: Basis
    observers_after_members: bool


class PlenaryRules(_Strict):
    paragraph: str = Field(pattern=PARAGRAPH.pattern)
    opening_session: OpeningSessionRules
    general_debate: GeneralDebateRules


class ForumDocument(_Strict):
    """A document of the forum tracked against the milestone or session it is due by."""

    id: Slug
    title: str = Field(min_length=1)
    paragraph: str = Field(pattern=PARAGRAPH.pattern)
    due: str
    per_roundtable: bool = False
    dossier: bool = False  # OP39: a basis for the Progress Declaration
    annex: bool = False  # OP41: annexed to the Progress Declaration


class NegotiationRules(_Strict):
    """How the negotiation rounds of the Progress Declaration are spread (OP36-OP37)."""

    paragraph: str = Field(pattern=PARAGRAPH.pattern)
    basis: Basis
    rounds: PositiveInt
    final_round_working_days_before_deadline: NonNegativeInt
    escalate_within_working_days: PositiveInt


class MilestoneRule(_Notified):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    paragraph: str = Field(pattern=PARAGRAPH.pattern)
    kind: MilestoneKind
    basis: Basis
    words: str
    timing: Timing
    due: DatePoint | None = None
    start: DatePoint | None = None
    end: DatePoint | None = None
    part: Part | None = None

    @model_validator(mode="after")
    def _points_match_kind_and_timing(self) -> MilestoneRule:
        if self.kind is MilestoneKind.DEADLINE:
            if self.due is None or self.start or self.end:
                raise ValueError("a deadline needs 'due' (and no start/end)")
        elif self.start is None or self.end is None or self.due:
            raise ValueError(f"a {self.kind} needs 'start' and 'end' (and no due)")
        for name in ("due", "start", "end"):
            point: DatePoint | None = getattr(self, name)
            if point is None:
                continue
            if self.timing == "before-forum" and not (
                point.anchor == "review-year"
                or (point.before == "forum-start" and _nonzero(point))
            ):
                raise ValueError(
                    f"timing is before-forum but {name} is not before forum-start"
                )
            if self.timing == "after-forum" and not (
                point.after == "forum-end" and _nonzero(point)
            ):
                raise ValueError(f"timing is after-forum but {name} is not after forum-end")
        return self


def _nonzero(point: DatePoint) -> bool:
    return bool(point.years or point.months or point.weeks or point.days or point.working_days)


class Modalities(_Strict):
    id: str
    title: str
    source: str
    forum: ForumRules
    regional_reviews: RegionalReviewRules
    roundtables: tuple[Roundtable, ...]
    sessions: tuple[Session, ...]
    co_chairs: CoChairRules
    roundtable_defaults: RoundtableDefaults
    milestones: tuple[MilestoneRule, ...]
    plenary: PlenaryRules | None = None
    forum_documents: tuple[ForumDocument, ...] = ()
    negotiation_rounds: NegotiationRules | None = None

    @field_validator("roundtables")
    @classmethod
    def _cover_objectives_once(cls, value: tuple[Roundtable, ...]) -> tuple[Roundtable, ...]:
        numbers = [rt.number for rt in value]
        if numbers != list(range(1, len(value) + 1)):
            raise ValueError(f"round tables must be numbered 1..{len(value)} in order")
        seen: dict[int, int] = {}
        for rt in value:
            for objective in rt.objectives:
                if not 1 <= objective <= OBJECTIVE_COUNT:
                    raise ValueError(
                        f"round table {rt.number}: objective {objective} is not one of the "
                        f"{OBJECTIVE_COUNT} objectives"
                    )
                if objective in seen:
                    raise ValueError(
                        f"objective {objective} is in round tables {seen[objective]} and "
                        f"{rt.number}: each objective must be covered exactly once (OP27)"
                    )
                seen[objective] = rt.number
        missing = sorted(set(range(1, OBJECTIVE_COUNT + 1)) - set(seen))
        if missing:
            raise ValueError(
                f"objectives {', '.join(map(str, missing))} are in no round table: all 23 "
                "must be covered exactly once (OP26-OP27)"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Modalities:
        ids = [s.id for s in self.sessions] + [m.id for m in self.milestones]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate milestone or session id(s): {', '.join(duplicates)}")
        for required in REQUIRED_MILESTONES:
            if required not in ids:
                raise ValueError(f"milestones: required milestone {required!r} is missing")
        for required in REQUIRED_SESSIONS:
            if required not in ids:
                raise ValueError(f"sessions: required session {required!r} is missing")
        numbers = {rt.number for rt in self.roundtables}
        length = self.forum.length_days
        for session in self.sessions:
            last = session.last_day or session.day
            if session.day > length or last > length:
                raise ValueError(
                    f"sessions[{session.id}]: day {last} is beyond the forum's "
                    f"{length} days ({self.forum.length_paragraph})"
                )
            if last < session.day:
                raise ValueError(f"sessions[{session.id}]: last_day is before day")
            if session.roundtable is not None and session.roundtable not in numbers:
                raise ValueError(
                    f"sessions[{session.id}]: round table {session.roundtable} does not exist"
                )
            if not session.title or not session.paragraph:
                raise ValueError(f"sessions[{session.id}]: needs a title and a paragraph")
        without_session = numbers - {s.roundtable for s in self.sessions}
        if without_session:
            raise ValueError(f"round table(s) {sorted(without_session)} have no session")
        if self.forum.season.first_month > self.forum.season.last_month:
            raise ValueError("forum.season: first_month is after last_month")
        return self

    @model_validator(mode="after")
    def _forum_parts_name_known_ids(self) -> Modalities:
        sessions = {s.id for s in self.sessions}
        known = sessions | {m.id for m in self.milestones}
        if self.plenary is not None:
            debate = self.plenary.general_debate
            for where, ids in (("plenary.opening_session.session",
                                [self.plenary.opening_session.session]),
                               ("plenary.general_debate.session", [debate.session]),
                               ("plenary.general_debate.shares_plenary_with",
                                list(debate.shares_plenary_with))):
                for session_id in ids:
                    if session_id not in sessions:
                        raise ValueError(f"{where}: {session_id!r} is not a session")
            for label, values in (("levels", [lv.id for lv in debate.levels]),
                                  ("speakers", [sp.role for sp in
                                                self.plenary.opening_session.speakers])):
                if len(set(values)) != len(values):
                    raise ValueError(f"plenary: {label} repeat an id")
        ids = [d.id for d in self.forum_documents]
        if len(set(ids)) != len(ids):
            raise ValueError("forum_documents: ids repeat")
        for document in self.forum_documents:
            if document.due not in known:
                raise ValueError(f"forum_documents[{document.id}]: due {document.due!r} is "
                                 "not a milestone or session")
        return self

    def forum_document(self, document_id: str) -> ForumDocument:
        for document in self.forum_documents:
            if document.id == document_id:
                return document
        known = ", ".join(d.id for d in self.forum_documents) or "none"
        raise KeyError(f"unknown forum document {document_id!r} (known: {known})")

    def roundtable(self, number: int) -> Roundtable:
        return self.roundtables[number - 1]


PRESETS = ("zero-draft-2019", "a-res-73-326")


def _merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _merge(base[key], value) if key in base else value
        return merged
    if (
        isinstance(base, list) and isinstance(override, list)
        and all(isinstance(i, dict) and isinstance(i.get("id"), str) for i in base + override)
    ):
        by_id = {item["id"]: item for item in base}
        order = [item["id"] for item in base]
        for item in override:
            if item["id"] in by_id:
                by_id[item["id"]] = _merge(by_id[item["id"]], item)
            else:
                by_id[item["id"]] = item
                order.append(item["id"])
        return [by_id[i] for i in order]
    return override


def preset_path(name: str, config_dir: Path | None = None) -> Path:
    return (config_dir or default_config_dir()) / "modalities" / f"{name}.yaml"


def _resolve_path(name_or_path: str, config_dir: Path | None) -> Path:
    candidate = preset_path(name_or_path, config_dir)
    if candidate.exists():
        return candidate
    path = Path(name_or_path)
    if path.suffix in {".yaml", ".yml"} or path.exists():
        return path
    known = ", ".join(sorted(p.stem for p in candidate.parent.glob("*.yaml")))
    raise ConfigError(f"unknown modalities preset {name_or_path!r} (known: {known}; or a path)")


def _raw(path: Path, config_dir: Path | None, chain: tuple[Path, ...]) -> Any:
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{display_path(path)}: expected a mapping at the top level")
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise ConfigError(f"{display_path(path)}: extends: must be a preset name or a path")
    try:
        parent_path = _resolve_path(parent, config_dir)
    except ConfigError as exc:
        raise ConfigError(f"{display_path(path)}: extends: {exc}") from None
    if parent_path.resolve() in chain:
        raise ConfigError(f"{display_path(path)}: extends: {parent!r} makes a cycle")
    return _merge(_raw(parent_path, config_dir, (*chain, parent_path.resolve())), data)


@cache
def load_modalities(name_or_path: str = "zero-draft-2019",
                    config_dir: Path | None = None) -> Modalities:
    """Load and validate a preset by name or a modalities file by path."""
    path = _resolve_path(name_or_path, config_dir)
    data = _raw(path, config_dir, (path.resolve(),))
    return validate_file_data(Modalities, data, path)

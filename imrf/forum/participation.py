"""Participation in the forum (OP4-8, OP19, footnote 4): the rules, and what the areas share.

The vocabularies and thresholds are data (``config/participation.yaml``, each citing its
paragraph); this module loads them and holds the small validators the registries share:
stakeholder registration (:mod:`imrf.forum.registrations`, OP6), the President's list of
other stakeholders (:mod:`imrf.forum.stakeholders`, OP7), its objections
(:mod:`imrf.forum.objections`, footnote 4) and delegations (:mod:`imrf.forum.delegations`,
OP8).

Text is stored as given (markup, quotes and braces arrive verbatim: escaping is the
renderer's job); control characters and line breaks are refused, since names go into mail
headers and one-line reports.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from pathlib import Path
from typing import Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from imrf.configfile import default_config_dir, load_model
from imrf.reference import State
from imrf.store import Store

Basis = Literal["text", "operational-default"]
_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_SPACES = re.compile(r"\s+")
_ISO3 = re.compile(r"^[A-Z]{3}$")


class ParticipationError(ValueError):
    """Input the participation registries refuse; the message is one line saying why."""


class _Rules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Term(_Rules):
    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    title: str = Field(min_length=1)


class RegistrationRules(_Rules):
    paragraph: str
    words: str
    accreditations: tuple[Term, ...] = Field(min_length=1)
    statuses: tuple[Literal["registered", "pending", "rejected"], ...]
    not_reminded: tuple[Literal["registered", "pending", "rejected"], ...]
    not_reminded_basis: Basis


class Circulation(_Rules):
    paragraph: str
    words: str
    basis: Basis
    months_before_forum: int = Field(ge=0, le=24)


class BalanceRules(_Rules):
    paragraph: str
    words: str
    basis: Basis
    every_group_at_least_share: float = Field(ge=0, le=1)
    any_group_at_most_share: float = Field(ge=0, le=1)
    women_at_least_share: float = Field(ge=0, le=1)


class StakeholderListRules(_Rules):
    paragraph: str
    organization_types: tuple[Term, ...] = Field(min_length=1)
    genders: tuple[str, ...] = Field(min_length=1)
    circulation: Circulation
    balance: BalanceRules


class DelegationRules(_Rules):
    paragraph: str
    words: str
    categories: tuple[Term, ...] = Field(min_length=1)


class ParticipationRules(_Rules):
    registration: RegistrationRules
    stakeholder_list: StakeholderListRules
    delegations: DelegationRules


@cache
def load_rules(config_dir: Path | None = None) -> ParticipationRules:
    """``config/participation.yaml`` (a ConfigError names the file and key when it is wrong)."""
    return load_model(ParticipationRules, (config_dir or default_config_dir())
                      / "participation.yaml")


def registered(store: Store, edition: int) -> set[str]:
    """Lower-cased addresses not to remind before ``stakeholder-registration`` (OP6).

    Called by :mod:`imrf.chasing` before each reminder: registrants whose status is one of
    ``registration.not_reminded`` (by default registered and rejected) for ``edition``.
    """
    from imrf.store.tables_participation import stakeholder_registrations as t

    statuses = list(load_rules().registration.not_reminded)
    query = select(t.c.email).where(t.c.edition == edition, t.c.status.in_(statuses))
    with store.unit_of_work(read_only=True) as uow:
        return set(uow.connection.execute(query).scalars())


# --- validators shared by the registries ------------------------------------------------


def text(value: str | None, *, limit: int, required: bool = True) -> str:
    """``value`` stripped; refused when empty (if required), too long or not one line."""
    value = (value or "").strip()
    if not value:
        if required:
            raise ValueError("required")
        return ""
    if len(value) > limit:
        raise ValueError(f"longer than {limit} characters")
    if found := _FORBIDDEN.search(value):
        raise ValueError(f"contains the control or line-break character "
                         f"U+{ord(found.group()):04X}, which is not allowed")
    return value


def email(value: str | None, *, required: bool = True) -> str:
    """A valid address, lower-cased (the ledger's and the chasers' identity)."""
    value = (value or "").strip()
    if not value:
        if required:
            raise ValueError("required")
        return ""
    try:
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValueError(f"not a valid e-mail address: {exc}") from None


def one_of(value: str | None, terms: tuple[str, ...], what: str) -> str:
    """``value`` lower-cased if it is one of ``terms``, else a message listing them."""
    value = (value or "").strip().lower()
    if not value:
        raise ValueError(f"required: one of {', '.join(terms)}")
    if value not in terms:
        raise ValueError(f"unknown {what} {value!r}; known: {', '.join(terms)}")
    return value


def identity(*parts: str) -> str:
    """A case-, accent-form- and spacing-insensitive key (duplicate detection)."""
    return "|".join(_SPACES.sub(" ", unicodedata.normalize("NFKC", p)).strip().casefold()
                    for p in parts)


def member_state(code: str | None, states: dict[str, State], role: str) -> State:
    """The Member State with ISO alpha-3 ``code``, or a message saying why it is not one."""
    code = (code or "").strip().upper()
    if not _ISO3.match(code):
        raise ParticipationError(f"{role}: {code or '(empty)'!r} is not an ISO 3166 alpha-3 "
                                 "State code")
    state = states.get(code)
    if state is None:
        raise ParticipationError(f"{role}: {code} is not a known State code")
    if state.status != "member-state":
        raise ParticipationError(f"{role}: {state.name} ({code}) is not a Member State")
    return state

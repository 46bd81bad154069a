"""What an operator answers at a human step, and the checks run on the answer.

The input models are plain pydantic models: Prefect renders their JSON schema as the form on
the run's page. A form only enforces the schema, so the checks that need reference data (is
this a Member State? is the set of co-chairs balanced, OP28?) are functions returning the list
of problems; the flow shows them and asks again instead of failing the stage.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections import Counter
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Annotated, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from imrf.fields import HttpLink, Iso3
from imrf.modalities import Modalities
from imrf.reference import State
from imrf.vocabulary import RegionalGroup

if TYPE_CHECKING:
    from imrf.store import Store


DocumentSymbol = Annotated[str, Field(pattern=r"^[A-Z]+(/[A-Za-z0-9.()-]+)+$",
                                      description="UN document symbol, e.g. A/80/123")]
Gender = Literal["female", "male", "other"]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DocumentIssued(_Input):
    """The document was issued: its symbol and where to read it."""

    symbol: DocumentSymbol
    link: HttpLink
    issued_on: dt.date


class ReviewOutcome(_Input):
    """A regional review took place: its outcome document (an input to the forum, OP10, OP13)."""

    title: str = Field(min_length=3, max_length=300)
    link: HttpLink
    held_from: dt.date
    held_to: dt.date


class Objection(_Input):
    candidate: str = Field(min_length=1, max_length=300, description="Name on the PGA list")
    state: Iso3 = Field(description="The objecting Member State")
    general_basis: str = Field(default="", max_length=2000,
                               description="Voluntary: the general basis of the objection")


class Objections(_Input):
    """Objections received to names on the PGA list (OP7, footnote 4). Leave empty if none."""

    objections: list[Objection] = Field(default_factory=list)
    non_objection_period_closed: bool = Field(
        description="Tick once the period is over and the list is final")


class Person(_Input):
    state: Iso3
    representative: str = Field(min_length=2, max_length=200)
    gender: Gender


class RoundtableCoChairs(_Input):
    roundtable: int = Field(ge=1, le=4)
    co_chairs: list[Person] = Field(min_length=2, max_length=2)


class CoChairs(_Input):
    """Two Member State co-chairs per round table, appointed by the President (OP28)."""

    roundtables: list[RoundtableCoChairs] = Field(min_length=1)


class CoFacilitators(_Input):
    """The two co-facilitators of the negotiations (OP36)."""

    co_facilitators: list[Person] = Field(min_length=2, max_length=2)


class TechnicalSummaries(_Input):
    """Technical summaries received from the co-chairs (OP31) and the policy debate summary."""

    roundtables_received: list[int] = Field(default_factory=list)
    policy_debate_summary_received: bool
    link: HttpLink | None = None


class DeclarationAgreed(_Input):
    """The Progress Declaration was agreed (OP37), with the content OP40 and OP41 require."""

    agreed_on: dt.date
    symbol: DocumentSymbol
    link: HttpLink
    evaluation_of_progress: bool = Field(description="OP40 (i)")
    challenges_and_opportunities: bool = Field(description="OP40 (ii)")
    recommendations: bool = Field(description="OP40 (iii)")
    annex_plenary_summaries: bool = Field(description="OP41")
    annex_technical_summaries: bool = Field(description="OP41")
    annex_policy_debate_summary: bool = Field(description="OP41")


class InputDecision(_Input):
    """Accept or reject an input from a submitter who is not in the contact registry
    (OP13-14: only accepted inputs are published)."""

    decision: Literal["accept", "reject"]
    reason: str = Field(default="", max_length=2000,
                        description="Why it is rejected (required to reject)")


INPUTS: dict[str, type[BaseModel]] = {
    "document-issued": DocumentIssued,
    "review-outcome": ReviewOutcome,
    "objections": Objections,
    "co-chairs": CoChairs,
    "co-facilitators": CoFacilitators,
    "technical-summaries": TechnicalSummaries,
    "declaration-agreed": DeclarationAgreed,
    "input-decision": InputDecision,
}

StatesByCode = Mapping[str, State]


def _member(code: str, states: StatesByCode, role: str) -> list[str]:
    state = states.get(code)
    if state is None:
        return [f"{role}: {code} is not a known State code"]
    if state.status != "member-state":
        return [f"{role}: {state.name} ({code}) is not a Member State"]
    return []


def check_co_chairs(answer: CoChairs, modalities: Modalities, states: StatesByCode) -> list[str]:
    rules = modalities.co_chairs
    problems: list[str] = []
    numbers = [rt.roundtable for rt in answer.roundtables]
    expected = list(range(1, len(modalities.roundtables) + 1))
    if sorted(numbers) != expected:
        problems.append(f"give co-chairs for each of round tables {expected} once "
                        f"(got {sorted(numbers)})")
    groups: Counter[RegionalGroup] = Counter()
    genders: Counter[str] = Counter()
    for rt in answer.roundtables:
        if len(rt.co_chairs) != rules.per_roundtable:
            problems.append(f"round table {rt.roundtable}: {rules.per_roundtable} co-chairs "
                            f"are needed, got {len(rt.co_chairs)} ({rules.paragraph})")
        pair_groups = []
        for person in rt.co_chairs:
            problems += _member(person.state, states, f"round table {rt.roundtable}")
            state = states.get(person.state)
            if state is not None and state.regional_group is not None:
                groups[state.regional_group] += 1
                pair_groups.append(state.regional_group)
            genders[person.gender] += 1
        if rules.pair_from_distinct_groups and len(pair_groups) != len(set(pair_groups)):
            problems.append(f"round table {rt.roundtable}: both co-chairs come from the "
                            f"{pair_groups[0].value} group; geographical balance needs two "
                            f"regional groups ({rules.paragraph})")
    for group in RegionalGroup:
        if groups[group] < rules.every_group_at_least:
            problems.append(f"no co-chair from the {group.value} group ({rules.paragraph})")
        if groups[group] > rules.any_group_at_most:
            problems.append(f"{groups[group]} co-chairs from the {group.value} group, more than "
                            f"{rules.any_group_at_most} ({rules.paragraph})")
    for gender in ("female", "male"):
        if genders[gender] < rules.each_gender_at_least:
            problems.append(f"only {genders[gender]} {gender} co-chair(s); gender balance needs "
                            f"at least {rules.each_gender_at_least} ({rules.paragraph})")
    return problems


def check_co_facilitators(answer: CoFacilitators, modalities: Modalities,
                          states: StatesByCode) -> list[str]:
    problems: list[str] = []
    for person in answer.co_facilitators:
        problems += _member(person.state, states, "co-facilitator")
    codes = [p.state for p in answer.co_facilitators]
    if len(set(codes)) != len(codes):
        problems.append("the two co-facilitators must represent two different Member States")
    return problems


def check_objections(answer: Objections, modalities: Modalities,
                     states: StatesByCode) -> list[str]:
    problems: list[str] = []
    for objection in answer.objections:
        problems += _member(objection.state, states,
                            f"objection to {objection.candidate!r} (footnote 4)")
    return problems


def check_technical_summaries(answer: TechnicalSummaries, modalities: Modalities,
                              states: StatesByCode) -> list[str]:
    expected = set(range(1, len(modalities.roundtables) + 1))
    problems = [f"round table {n} is not a round table" for n in
                sorted(set(answer.roundtables_received) - expected)]
    missing = sorted(expected - set(answer.roundtables_received))
    if missing:
        problems.append(f"technical summaries still missing for round table(s) "
                        f"{', '.join(map(str, missing))} (OP31)")
    if not answer.policy_debate_summary_received:
        problems.append("the policy debate summary is still missing (OP35)")
    return problems


def check_declaration(answer: DeclarationAgreed, modalities: Modalities,
                      states: StatesByCode) -> list[str]:
    parts = {
        "evaluation_of_progress": "an evaluation of the overall progress (OP40 i)",
        "challenges_and_opportunities": "the key challenges and opportunities (OP40 ii)",
        "recommendations": "recommendations from the policy debate (OP40 iii)",
        "annex_plenary_summaries": "the summaries of the plenary meetings annexed (OP41)",
        "annex_technical_summaries": "the round tables' technical summaries annexed (OP41)",
        "annex_policy_debate_summary": "the policy debate summary annexed (OP41)",
    }
    return [f"the declaration lacks {words}" for field, words in parts.items()
            if not getattr(answer, field)]


def check_review_outcome(answer: ReviewOutcome, modalities: Modalities,
                         states: StatesByCode) -> list[str]:
    if answer.held_to < answer.held_from:
        return ["held_to is before held_from"]
    return []


def check_nothing(answer: BaseModel, modalities: Modalities, states: StatesByCode) -> list[str]:
    return []


def check_input_decision(answer: InputDecision, modalities: Modalities,
                         states: StatesByCode) -> list[str]:
    if answer.decision == "reject" and not answer.reason.strip():
        return ["reason: a rejection needs a reason (it is kept with the input)"]
    return []


CHECKS: dict[str, Callable[..., list[str]]] = {
    "document-issued": check_nothing,
    "review-outcome": check_review_outcome,
    "objections": check_objections,
    "co-chairs": check_co_chairs,
    "co-facilitators": check_co_facilitators,
    "technical-summaries": check_technical_summaries,
    "declaration-agreed": check_declaration,
    "input-decision": check_input_decision,
}


def check_answer(name: str, answer: BaseModel, modalities: Modalities,
                 states: StatesByCode) -> list[str]:
    """The problems with an operator's answer to the human step `name` (empty: accepted)."""
    return CHECKS[name](answer, modalities, states)


class StoreHook(Protocol):
    """What an area adds to a step: checks that need the store (is this name on the PGA
    list?) and the recording of the accepted answer in its own registry."""

    def check(self, store: Store, edition: int, answer: BaseModel) -> list[str]: ...

    def record(self, store: Store, edition: int, answer: BaseModel) -> None: ...


# step input -> "module:attribute" of its StoreHook, imported on first use (the areas own them).
STORE_HOOKS: dict[str, str] = {
    "objections": "imrf.forum.objections:STEP_HOOK",
    "co-chairs": "imrf.forum.cochairs:STEP_HOOK",
    "co-facilitators": "imrf.forum.cochairs:STEP_HOOK",
}


def store_hook(name: str) -> StoreHook | None:
    """The store hook of the human step `name`, if an area registered one."""
    path = STORE_HOOKS.get(name)
    if path is None:
        return None
    module, _, attribute = path.partition(":")
    hook: StoreHook = getattr(importlib.import_module(module), attribute)
    return hook

"""Round-table co-chairs (OP28) and the co-facilitators of the negotiations (OP36).

The checks are those of the human steps (:func:`imrf.human_steps.check_co_chairs`,
:func:`~imrf.human_steps.check_co_facilitators`): an appointment entered here and an answer
given in the Prefect UI pass the same rules. This module adds the balance report the
President's office reads, and keeps the appointments in the store.
"""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel, ConfigDict

from imrf.forum.rows import ForumError, fetch, now, replace
from imrf.human_steps import (
    CoChairs,
    CoFacilitators,
    Person,
    RoundtableCoChairs,
    StatesByCode,
    check_co_chairs,
    check_co_facilitators,
)
from imrf.modalities import Modalities
from imrf.store import Store
from imrf.store.tables_forum import forum_appointments
from imrf.vocabulary import RegionalGroup

CO_CHAIR, CO_FACILITATOR = "co-chair", "co-facilitator"


class PairLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    roundtable: int
    co_chairs: list[Person]
    state_names: list[str]
    groups: list[str]


class BalanceReport(BaseModel):
    """Co-chairs per regional group and per gender over the round tables (OP28)."""

    model_config = ConfigDict(frozen=True)

    paragraph: str
    pairs: list[PairLine]
    by_group: dict[str, int]
    by_gender: dict[str, int]
    problems: list[str]

    @property
    def balanced(self) -> bool:
        return not self.problems


def balance_report(answer: CoChairs, modalities: Modalities,
                   states: StatesByCode) -> BalanceReport:
    groups: Counter[str] = Counter({group.value: 0 for group in RegionalGroup})
    genders: Counter[str] = Counter({"female": 0, "male": 0})
    pairs = []
    for rt in sorted(answer.roundtables, key=lambda r: r.roundtable):
        names, pair_groups = [], []
        for person in rt.co_chairs:
            state = states.get(person.state)
            names.append(state.name if state else person.state)
            group = state.regional_group.value if state and state.regional_group else "none"
            pair_groups.append(group)
            groups[group] += 1
            genders[person.gender] += 1
        pairs.append(PairLine(roundtable=rt.roundtable, co_chairs=rt.co_chairs,
                              state_names=names, groups=pair_groups))
    return BalanceReport(paragraph=modalities.co_chairs.paragraph, pairs=pairs,
                         by_group=dict(groups), by_gender=dict(genders),
                         problems=check_co_chairs(answer, modalities, states))


def _rows(people: list[Person], roundtable: int) -> list[dict[str, object]]:
    at = now()
    return [{"roundtable": roundtable, "position": i, "state": p.state,
             "representative": p.representative, "gender": p.gender, "appointed_at": at}
            for i, p in enumerate(people, start=1)]


def appoint_co_chairs(store: Store, edition: int, answer: CoChairs, modalities: Modalities,
                      states: StatesByCode) -> BalanceReport:
    """Store the co-chairs of every round table, or refuse them all (nothing is written)."""
    report = balance_report(answer, modalities, states)
    if report.problems:
        raise ForumError("co-chairs not appointed: " + "; ".join(report.problems))
    rows = [row for rt in answer.roundtables for row in _rows(rt.co_chairs, rt.roundtable)]
    replace(store, forum_appointments, {"edition": edition, "office": CO_CHAIR}, rows)
    return report


def co_chairs(store: Store, edition: int) -> CoChairs | None:
    """The appointed co-chairs of `edition` (None before they are appointed)."""
    rows = fetch(store, forum_appointments, {"edition": edition, "office": CO_CHAIR})
    if not rows:
        return None
    by_rt: dict[int, list[Person]] = {}
    for row in sorted(rows, key=lambda r: (r["roundtable"], r["position"])):
        by_rt.setdefault(row["roundtable"], []).append(_person(row))
    return CoChairs(roundtables=[RoundtableCoChairs(roundtable=n, co_chairs=people)
                                 for n, people in by_rt.items()])


def appoint_co_facilitators(store: Store, edition: int, answer: CoFacilitators,
                            modalities: Modalities, states: StatesByCode) -> None:
    problems = check_co_facilitators(answer, modalities, states)
    if problems:
        raise ForumError("co-facilitators not appointed: " + "; ".join(problems))
    replace(store, forum_appointments, {"edition": edition, "office": CO_FACILITATOR},
            _rows(answer.co_facilitators, 0))


def co_facilitators(store: Store, edition: int) -> list[Person]:
    rows = fetch(store, forum_appointments, {"edition": edition, "office": CO_FACILITATOR})
    return [_person(row) for row in sorted(rows, key=lambda r: r["position"])]


def _person(row: dict[str, object]) -> Person:
    return Person.model_validate({"state": row["state"], "gender": row["gender"],
                                  "representative": row["representative"]})


class _AppointmentHook:
    """The ``co-chairs`` and ``co-facilitators`` human steps: an answer the flow accepted
    (its rules are the step's own checks) is stored as the edition's appointment, replacing
    an earlier one, so the programme and the balance report show what the operator entered."""

    def check(self, store: Store, edition: int, answer: BaseModel) -> list[str]:
        return []  # the step's checks (check_co_chairs / check_co_facilitators) already ran

    def record(self, store: Store, edition: int, answer: BaseModel) -> None:
        from imrf.calendar import build_calendar
        from imrf.modalities import load_modalities
        from imrf.reference import states

        modalities = load_modalities(build_calendar(edition).modalities)
        if isinstance(answer, CoChairs):
            appoint_co_chairs(store, edition, answer, modalities, states())
        elif isinstance(answer, CoFacilitators):
            appoint_co_facilitators(store, edition, answer, modalities, states())
        else:
            raise TypeError(f"not an appointment: {type(answer).__name__}")


STEP_HOOK = _AppointmentHook()

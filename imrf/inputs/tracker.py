"""Who has submitted an input for an edition, and who has not (OP13, OP24, OP10).

A Member State has submitted when it has a national input that is accepted or held (held:
it did its part, an operator is deciding; a rejected input does not count). A commission has
submitted when it has a regional input, accepted or held. The same rule decides who is no
longer chased by reminders (:mod:`imrf.inputs.chasing`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from imrf import reference
from imrf.inputs.models import Level, Status, Submission
from imrf.vocabulary import Commission, RegionalGroup

COUNTED = frozenset({Status.ACCEPTED, Status.HELD})


class Count(BaseModel):
    submitted: int
    missing: int


class LevelCount(BaseModel):
    accepted: int = 0
    held: int = 0
    rejected: int = 0


class GroupCount(BaseModel):
    members: int
    submitted: int
    missing: int


class Missing(BaseModel):
    kind: Literal["member-state", "commission"]
    code: str
    name: str
    regional_group: RegionalGroup | None = None


class Tracker(BaseModel):
    """What ``imrf inputs status --format json`` prints and the UI artifact shows."""

    edition: int
    member_states: Count
    commissions: Count
    by_level: dict[Level, LevelCount]
    by_regional_group: dict[RegionalGroup, GroupCount]
    missing: list[Missing]


def counted(submissions: Iterable[Submission]) -> list[Submission]:
    """The inputs that count as submitted: accepted or held."""
    return [s for s in submissions if s.status in COUNTED]


def compute(edition: int, submissions: Iterable[Submission], *,
            config_dir: Path | None = None) -> Tracker:
    subs = list(submissions)
    by_level = {level: LevelCount() for level in Level}
    for s in subs:
        count = by_level[s.level]
        setattr(count, s.status.value, getattr(count, s.status.value) + 1)
    live = counted(subs)
    states_in = {s.state for s in live if s.level is Level.NATIONAL and s.state}
    commissions_in = {s.commission for s in live if s.level is Level.REGIONAL and s.commission}
    members = sorted(reference.member_states(config_dir), key=lambda st: st.name)
    groups: dict[RegionalGroup, GroupCount] = {}
    for group in RegionalGroup:
        in_group = [st for st in members if st.regional_group is group]
        done = sum(st.iso3 in states_in for st in in_group)
        groups[group] = GroupCount(members=len(in_group), submitted=done,
                                   missing=len(in_group) - done)
    missing = [Missing(kind="member-state", code=st.iso3, name=st.name,
                       regional_group=st.regional_group)
               for st in members if st.iso3 not in states_in]
    infos = reference.commissions(config_dir)
    missing += [Missing(kind="commission", code=c.value, name=infos[c].name)
                for c in Commission if c not in commissions_in and c in infos]
    member_done = sum(st.iso3 in states_in for st in members)
    return Tracker(
        edition=edition,
        member_states=Count(submitted=member_done, missing=len(members) - member_done),
        commissions=Count(submitted=len(commissions_in), missing=len(infos) - len(
            commissions_in & set(infos))),
        by_level=by_level, by_regional_group=groups, missing=missing)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(tracker: Tracker) -> str:
    """The tracker as the UI's markdown artifact: counts by level and group, who is missing."""
    t = tracker
    lines = [
        f"# IMRF {t.edition}: inputs (OP13-14)", "",
        f"Member States: **{t.member_states.submitted}** submitted, "
        f"**{t.member_states.missing}** missing. Regional commissions: "
        f"**{t.commissions.submitted}** submitted, **{t.commissions.missing}** missing.", "",
        "## By level", "", "| level | accepted | held | rejected |", "|---|---:|---:|---:|",
        *(f"| {level.value} | {c.accepted} | {c.held} | {c.rejected} |"
          for level, c in t.by_level.items()),
        "", "## Member States by regional group", "",
        "| regional group | members | submitted | missing |", "|---|---:|---:|---:|",
        *(f"| {group.value} | {c.members} | {c.submitted} | {c.missing} |"
          for group, c in t.by_regional_group.items()),
        "", "## Not yet submitted", "",
    ]
    commissions = [m for m in t.missing if m.kind == "commission"]
    if commissions:
        lines.append("Commissions: " + ", ".join(f"{_cell(m.name)} ({m.code})"
                                                 for m in commissions) + ".")
        lines.append("")
    for group in RegionalGroup:
        names = [f"{_cell(m.name)} ({m.code})" for m in t.missing
                 if m.kind == "member-state" and m.regional_group is group]
        if names:
            lines.append(f"- **{group.value}** ({len(names)}): {', '.join(names)}")
    return "\n".join(lines) + "\n"

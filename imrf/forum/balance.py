"""The balance report of the PGA list for the President's office (OP7).

OP7 asks for "equitable geographical representation" and "due regard to the meaningful
participation of women" without numbers; the thresholds that raise a warning are
operational defaults in ``config/participation.yaml`` (``stakeholder_list.balance``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

from imrf.forum.participation import BalanceRules, load_rules
from imrf.vocabulary import RegionalGroup

WOMEN = "female"


class Share(BaseModel):
    model_config = ConfigDict(frozen=True)

    value: str
    count: int
    share: float  # 0..1 of the list


class BalanceReport(BaseModel):
    """Counts and shares by regional group, gender and organization type, with warnings."""

    model_config = ConfigDict(frozen=True)

    edition: int
    which: Literal["proposed", "final"]
    total: int
    by_regional_group: list[Share]
    by_gender: list[Share]
    by_organization_type: list[Share]
    warnings: list[str]
    paragraph: str
    basis: str


def _shares(counts: Counter[str], order: Sequence[str], total: int) -> list[Share]:
    values = [*order, *sorted(set(counts) - set(order))]
    return [Share(value=v, count=counts[v], share=round(counts[v] / total, 4) if total else 0.0)
            for v in values]


def balance_report(edition: int, which: Literal["proposed", "final"],
                   rows: Iterable[tuple[str, str, str]],
                   rules: BalanceRules | None = None) -> BalanceReport:
    """The balance of ``rows`` given as (regional group, gender, organization type)."""
    config = load_rules().stakeholder_list
    rules = rules or config.balance
    groups: Counter[str] = Counter()
    genders: Counter[str] = Counter()
    types: Counter[str] = Counter()
    for group, gender, kind in rows:
        groups[group] += 1
        genders[gender] += 1
        types[kind] += 1
    total = sum(groups.values())
    by_group = _shares(groups, [g.value for g in RegionalGroup], total)
    warnings: list[str] = []
    cite = f"({rules.paragraph}; threshold: {rules.basis.replace('-', ' ')})"
    if total == 0:
        warnings.append(f"the {which} list is empty")
    for share in by_group if total else []:
        if share.share < rules.every_group_at_least_share:
            warnings.append(f"{share.value}: {share.count} of {total} ({share.share:.0%}), under "
                            f"{rules.every_group_at_least_share:.0%} {cite}")
        if share.share > rules.any_group_at_most_share:
            warnings.append(f"{share.value}: {share.count} of {total} ({share.share:.0%}), over "
                            f"{rules.any_group_at_most_share:.0%} {cite}")
    women = genders[WOMEN] / total if total else 0.0
    if total and women < rules.women_at_least_share:
        warnings.append(f"women: {genders[WOMEN]} of {total} ({women:.0%}), under "
                        f"{rules.women_at_least_share:.0%} {cite}")
    return BalanceReport(
        edition=edition, which=which, total=total, by_regional_group=by_group,
        by_gender=_shares(genders, list(config.genders), total),
        by_organization_type=_shares(types, [t.id for t in config.organization_types], total),
        warnings=warnings, paragraph=rules.paragraph, basis=rules.basis)

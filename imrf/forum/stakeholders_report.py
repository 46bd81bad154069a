"""The report of proposed and final names for the General Assembly (footnote 4).

Footnote 4: "The list of proposed as well as final names will be brought to the attention of
the General Assembly." The report gives both lists, when the list was circulated against its
deadline (OP7), the balance of each list, and which names were not retained or kept by the
President's decision. It never names an objecting State (those are shared only on request,
through the audited disclosure of :mod:`imrf.forum.objections`).

Names are stored as given; the HTML is rendered with autoescaping, so markup in a name is
shown as text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import jinja2
from pydantic import BaseModel

from imrf.forum.balance import BalanceReport, balance_report
from imrf.forum.objections import ObjectionRegistry
from imrf.forum.stakeholders import Candidate, Circulation, StakeholderList
from imrf.store import Store


class GeneralAssemblyReport(BaseModel):
    edition: int
    paragraph: str = "OP7, footnote 4"
    circulation: Circulation | None
    proposed: list[Candidate]
    final: list[Candidate]
    not_retained: list[Candidate]
    kept_by_decision: list[Candidate]
    balance_proposed: BalanceReport
    balance_final: BalanceReport


def balance_of(edition: int, which: Literal["proposed", "final"],
               candidates: Sequence[Candidate]) -> BalanceReport:
    return balance_report(edition, which, ((c.regional_group.value, c.gender,
                                            c.organization_type) for c in candidates))


def general_assembly_report(store: Store, edition: int) -> GeneralAssemblyReport:
    lists = ObjectionRegistry(store).final_list(edition)
    return GeneralAssemblyReport(
        edition=edition, circulation=StakeholderList(store).circulation(edition),
        proposed=lists.proposed, final=lists.final, not_retained=lists.not_retained,
        kept_by_decision=lists.kept_by_decision,
        balance_proposed=balance_of(edition, "proposed", lists.proposed),
        balance_final=balance_of(edition, "final", lists.final))


_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>IMRF {{ r.edition }}: proposed and final names ({{ r.paragraph }})</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #999;padding:.2em .5em;text-align:left}.warn{color:#a00}</style>
</head><body>
<h1>International Migration Review Forum {{ r.edition }}</h1>
<p>List of other relevant stakeholders drawn up by the President of the General Assembly
({{ r.paragraph }}): proposed and final names.</p>
{% if r.circulation %}<p>Circulated to Member States on {{ r.circulation.circulated_on }}
(deadline {{ r.circulation.deadline }}{% if r.circulation.late %}, <span class="warn">late
</span>{% endif %}).</p>{% else %}<p class="warn">Not yet circulated to Member States.</p>
{% endif %}
{% for title, rows in [("Proposed names", r.proposed), ("Final names", r.final),
  ("Names not retained (objection)", r.not_retained),
  ("Names kept by decision of the President", r.kept_by_decision)] %}
<h2>{{ title }} ({{ rows | length }})</h2>
{% if rows %}<table><tr><th>#</th><th>Name</th><th>Organization</th><th>Type</th>
<th>Regional group</th><th>Gender</th></tr>
{% for c in rows %}<tr><td>{{ c.id }}</td><td>{{ c.name }}</td><td>{{ c.organization }}</td>
<td>{{ c.organization_type }}</td><td>{{ c.regional_group.value }}</td><td>{{ c.gender }}</td>
</tr>{% endfor %}</table>{% endif %}
{% endfor %}
{% for b in [r.balance_proposed, r.balance_final] %}
<h2>Balance of the {{ b.which }} list ({{ b.total }} names)</h2>
<table><tr><th>Regional group</th><th>Names</th><th>Share</th></tr>
{% for s in b.by_regional_group %}<tr><td>{{ s.value }}</td><td>{{ s.count }}</td>
<td>{{ "%.0f" | format(s.share * 100) }}%</td></tr>{% endfor %}</table>
<table><tr><th>Gender</th><th>Names</th><th>Share</th></tr>
{% for s in b.by_gender %}<tr><td>{{ s.value }}</td><td>{{ s.count }}</td>
<td>{{ "%.0f" | format(s.share * 100) }}%</td></tr>{% endfor %}</table>
{% for w in b.warnings %}<p class="warn">{{ w }}</p>{% endfor %}
{% endfor %}
</body></html>
"""

_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)


def render_html(report: GeneralAssemblyReport) -> str:
    """The report as a printable HTML page; every stored value is escaped."""
    return _ENV.from_string(_TEMPLATE).render(r=report)

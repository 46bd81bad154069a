"""What a simulation needs besides the flows: synthetic contacts and scripted answers."""

from __future__ import annotations

import datetime as dt
import zlib
from typing import Any

from imrf.contacts import SourceRow
from imrf.milestones import EditionCalendar
from imrf.reference import member_states

# How 10,000 synthetic contacts split over the audiences (roughly the real proportions:
# thousands of NGOs, one or two contacts per State, a handful of officers).
SHARES = [
    ("operators", 5), ("pga-office", 5), ("co-chairs", 8), ("co-facilitators", 2),
    ("regional-commissions", 10), ("network", 50), ("un-system", 100), ("igos", 100),
    ("observer-states", 4), ("member-states", 386), ("accredited-stakeholders", 2500),
    ("other-stakeholders", 830), ("ecosoc-ngos", 6000),
]


def synthetic_contacts(count: int) -> list[SourceRow]:
    """`count` fictional contacts (example.org addresses), spread over every audience."""
    total = sum(n for _, n in SHARES)
    states = member_states()
    rows: list[SourceRow] = []
    for audience, share in SHARES:
        for _ in range(max(1, round(share * count / total))):
            i = len(rows)
            if len(rows) >= count:
                break
            state = states[i % len(states)]
            rows.append(SourceRow(line=i + 2, values={
                "email": f"contact{i:06d}@{audience}.example.org",
                "name": f"Synthetic Contact {i}", "organization": f"Demo {audience}",
                "audiences": audience, "country": state.iso3,
                "regional_group": state.regional_group.value if state.regional_group else "",
                "gender": ("female", "male")[i % 2], "language": "en",
            }))
    return rows


def scripted_answers(calendar: EditionCalendar, stage: str, date: dt.date) -> dict[str, Any]:
    """Valid answers to every human step of a stage (what a diligent secretariat enters)."""
    symbol = f"A/{calendar.edition - 1945}/{zlib.crc32(stage.encode()) % 900 + 100}"
    link = f"https://documents.example.org/{calendar.edition}/{stage}"
    pairs = [("KEN", "DEU"), ("MEX", "BGD"), ("POL", "GHA"), ("PHL", "CAN")]
    return {
        "document-issued": {"symbol": symbol, "link": link, "issued_on": date.isoformat()},
        "review-outcome": {"title": f"Outcome of the regional review ({stage})", "link": link,
                           "held_from": date.isoformat(), "held_to": date.isoformat()},
        "objections": {"objections": [], "non_objection_period_closed": True},
        "co-chairs": {"roundtables": [
            {"roundtable": n, "co_chairs": [
                {"state": a, "representative": f"Co-chair {n}a", "gender": "female"},
                {"state": b, "representative": f"Co-chair {n}b", "gender": "male"}]}
            for n, (a, b) in enumerate(pairs, start=1)]},
        "co-facilitators": {"co_facilitators": [
            {"state": "BGD", "representative": "Co-facilitator A", "gender": "male"},
            {"state": "ESP", "representative": "Co-facilitator B", "gender": "female"}]},
        "technical-summaries": {"roundtables_received": [1, 2, 3, 4],
                                "policy_debate_summary_received": True, "link": link},
        "declaration-agreed": {
            "agreed_on": date.isoformat(), "symbol": f"A/RES/{calendar.edition - 1945}/1",
            "link": link, "evaluation_of_progress": True,
            "challenges_and_opportunities": True, "recommendations": True,
            "annex_plenary_summaries": True, "annex_technical_summaries": True,
            "annex_policy_debate_summary": True},
    }

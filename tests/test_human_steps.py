"""Operators' answers at human steps: the checks that the form cannot do (OP7, OP28, OP31, OP40)."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from imrf.human_steps import (
    INPUTS,
    CoChairs,
    DeclarationAgreed,
    DocumentIssued,
    Objections,
    TechnicalSummaries,
    check_answer,
)
from imrf.modalities import load_modalities
from imrf.reference import states

M = load_modalities()
S = states()

BALANCED = {"roundtables": [
    {"roundtable": 1, "co_chairs": [
        {"state": "KEN", "representative": "Rep A", "gender": "female"},
        {"state": "DEU", "representative": "Rep B", "gender": "male"}]},
    {"roundtable": 2, "co_chairs": [
        {"state": "MEX", "representative": "Rep C", "gender": "female"},
        {"state": "BGD", "representative": "Rep D", "gender": "male"}]},
    {"roundtable": 3, "co_chairs": [
        {"state": "POL", "representative": "Rep E", "gender": "female"},
        {"state": "GHA", "representative": "Rep F", "gender": "male"}]},
    {"roundtable": 4, "co_chairs": [
        {"state": "PHL", "representative": "Rep G", "gender": "male"},
        {"state": "CAN", "representative": "Rep H", "gender": "female"}]},
]}


def test_balanced_co_chairs_pass() -> None:
    assert check_answer("co-chairs", CoChairs.model_validate(BALANCED), M, S) == []


def test_pair_from_one_regional_group_is_refused() -> None:
    data = {"roundtables": [dict(rt) for rt in BALANCED["roundtables"]]}
    data["roundtables"][0] = {"roundtable": 1, "co_chairs": [
        {"state": "KEN", "representative": "Rep A", "gender": "female"},
        {"state": "GHA", "representative": "Rep B", "gender": "male"}]}
    problems = check_answer("co-chairs", CoChairs.model_validate(data), M, S)
    assert any("both co-chairs come from the african group" in p for p in problems)
    assert any("3 co-chairs from the african group" in p for p in problems)
    assert not any("weog" in p for p in problems)  # Canada still represents WEOG


def test_gender_imbalance_and_non_member_are_refused() -> None:
    data = {"roundtables": [
        {"roundtable": rt["roundtable"],
         "co_chairs": [dict(p, gender="male") for p in rt["co_chairs"]]}
        for rt in BALANCED["roundtables"]]}
    data["roundtables"][3]["co_chairs"][1]["state"] = "VAT"  # Holy See: an observer State
    problems = check_answer("co-chairs", CoChairs.model_validate(data), M, S)
    assert any("only 0 female co-chair(s)" in p for p in problems)
    assert any("is not a Member State" in p for p in problems)


def test_one_co_chair_where_two_are_needed_is_a_validation_error() -> None:
    data = {"roundtables": [{"roundtable": 1, "co_chairs": [
        {"state": "KEN", "representative": "Rep A", "gender": "female"}]}]}
    with pytest.raises(ValidationError):
        CoChairs.model_validate(data)


def test_objection_from_a_non_member_is_refused() -> None:
    answer = Objections.model_validate({"objections": [
        {"candidate": "NGO X", "state": "PSE", "general_basis": "..."},
        {"candidate": "NGO Y", "state": "FRA"}], "non_objection_period_closed": True})
    problems = check_answer("objections", answer, M, S)
    assert len(problems) == 1 and "'NGO X'" in problems[0] and "not a Member State" in problems[0]


def test_missing_summaries_and_declaration_parts_are_listed() -> None:
    answer = TechnicalSummaries(roundtables_received=[1, 2, 4],
                                policy_debate_summary_received=False)
    problems = check_answer("technical-summaries", answer, M, S)
    assert problems == ["technical summaries still missing for round table(s) 3 (OP31)",
                        "the policy debate summary is still missing (OP35)"]
    declaration = DeclarationAgreed(
        agreed_on=dt.date(2030, 7, 1), symbol="A/RES/84/1", link="https://undocs.org/x",
        evaluation_of_progress=True, challenges_and_opportunities=True, recommendations=False,
        annex_plenary_summaries=True, annex_technical_summaries=True,
        annex_policy_debate_summary=False)
    problems = check_answer("declaration-agreed", declaration, M, S)
    assert [p.split("(")[-1] for p in problems] == ["OP40 iii)", "OP41)"]


@pytest.mark.parametrize("link", ["javascript:alert(1)", "ftp://x", "https://a b"])
def test_links_are_http_only(link: str) -> None:
    with pytest.raises(ValidationError, match="link"):
        DocumentIssued(symbol="A/80/1", link=link, issued_on=dt.date(2030, 1, 1))


def test_every_input_has_a_form_schema() -> None:
    for name, model in INPUTS.items():
        schema = model.model_json_schema()
        assert schema["type"] == "object" and schema["properties"], name

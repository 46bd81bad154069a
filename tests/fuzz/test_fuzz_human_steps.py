"""Fuzzing the run-input forms of the human steps: whatever JSON an operator's form (or a
scripted answer) sends, the outcome is a validation error or a list of problems to show back,
never another exception; and a problem is one line (it becomes an item of a Markdown list on
the run's page)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from flows.human import problems_of
from imrf.human_steps import INPUTS, check_answer
from imrf.modalities import load_modalities
from imrf.reference import states

from .profile import fuzz
from .strategies import mutated_tree, nasty_text, one_line_keys

PERSON = {"state": "FRA", "representative": "Ann Example", "gender": "female"}
OTHER = {"state": "MEX", "representative": "Bo Example", "gender": "male"}
LINK = "https://undocs.org/A/84/100"
VALID: dict[str, dict[str, Any]] = {
    "document-issued": {"symbol": "A/84/100", "link": LINK, "issued_on": "2030-04-01"},
    "review-outcome": {"title": "ECE regional review", "link": LINK,
                       "held_from": "2029-11-01", "held_to": "2029-11-02"},
    "objections": {"objections": [{"candidate": "Jane Doe", "state": "FRA",
                                   "general_basis": "none"}],
                   "non_objection_period_closed": True},
    "co-chairs": {"roundtables": [  # two regional groups a pair, every group, both genders
        {"roundtable": n + 1, "co_chairs": [
            {"state": a, "representative": f"Rep {a}", "gender": "female"},
            {"state": b, "representative": f"Rep {b}", "gender": "male"}]}
        for n, (a, b) in enumerate([("KEN", "DEU"), ("MEX", "BGD"), ("POL", "GHA"),
                                    ("CAN", "PHL")])]},
    "co-facilitators": {"co_facilitators": [PERSON, OTHER]},
    "technical-summaries": {"roundtables_received": [1, 2, 3, 4],
                            "policy_debate_summary_received": True, "link": LINK},
    "declaration-agreed": {"agreed_on": "2030-06-01", "symbol": "A/RES/84/1", "link": LINK,
                           "evaluation_of_progress": True, "challenges_and_opportunities": True,
                           "recommendations": True, "annex_plenary_summaries": True,
                           "annex_technical_summaries": True,
                           "annex_policy_debate_summary": True},
    "input-decision": {"decision": "reject", "reason": "off topic"},
}
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), nasty_text,
              st.sampled_from(["FRA", "XXK", "female", "2030-02-30", "https://x", "A/1", "1"])),
    # Keys without line breaks: a key's line break reaching the page is the xfail test below.
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(one_line_keys, inner, max_size=4),
    max_leaves=12,
)
MODALITIES = "zero-draft-2019"


def test_every_input_has_a_valid_answer_to_mutate() -> None:
    assert sorted(VALID) == sorted(INPUTS)
    for name, answer in VALID.items():
        assert problems_of(name, answer, MODALITIES)[1] == [], name


def assert_outcome_is_shown_back(name: str, raw: Any) -> None:
    answer, problems = problems_of(name, raw, MODALITIES)
    event("accepted" if answer is not None and not problems else
          "problems" if answer is not None else "invalid")
    assert all(isinstance(p, str) and p for p in problems), problems
    assert answer is not None or problems
    for problem in problems:
        assert "\n" not in problem and "\r" not in problem, problem


@fuzz(40)
@given(name=st.sampled_from(sorted(INPUTS)), raw=json_values)
def test_random_json_is_refused_with_problems(name: str, raw: Any) -> None:
    assert_outcome_is_shown_back(name, raw)


@fuzz(150)
@given(data=st.data(), name=st.sampled_from(sorted(VALID)))
def test_mutated_answers_are_accepted_or_shown_back(data: st.DataObject, name: str) -> None:
    assert_outcome_is_shown_back(name, data.draw(mutated_tree(VALID[name], json_values)))


@fuzz(60)
@given(name=st.sampled_from(sorted(INPUTS)), text=st.one_of(st.text(max_size=80),
                                                          st.binary(max_size=80)))
def test_any_json_text_is_a_validation_error_or_an_answer(name: str, text: str | bytes) -> None:
    """What the Prefect API hands the flow starts as JSON text."""
    try:
        answer = INPUTS[name].model_validate_json(text)
    except ValidationError as exc:
        assert exc.errors(include_url=False)
        return
    problems = check_answer(name, answer, load_modalities(MODALITIES), states())
    assert isinstance(problems, list)


@pytest.mark.parametrize("name", sorted(VALID))
def test_a_model_instance_of_the_wrong_step_is_refused(name: str) -> None:
    other = next(n for n in sorted(VALID) if n != name)
    instance: BaseModel = INPUTS[other].model_validate(VALID[other])
    answer, problems = problems_of(name, instance, MODALITIES)
    assert answer is None and problems


def test_an_unknown_key_with_a_line_break_stays_on_its_line() -> None:
    answer, problems = problems_of("input-decision", {
        "decision": "accept", "\n\n## Approved by the President\n[link](https://x)": 1},
        MODALITIES)
    assert answer is None and problems
    assert all("\n" not in problem for problem in problems), problems

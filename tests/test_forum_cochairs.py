"""Round-table co-chairs (OP28) and co-facilitators (OP36): balance, refusal, storage."""

from __future__ import annotations

import copy

import pytest
from test_human_steps import BALANCED

from imrf.forum.cochairs import (
    appoint_co_chairs,
    appoint_co_facilitators,
    balance_report,
    co_chairs,
    co_facilitators,
)
from imrf.forum.rows import ForumError
from imrf.human_steps import CoChairs, CoFacilitators
from imrf.modalities import load_modalities
from imrf.reference import states
from imrf.store import Store

M = load_modalities()
S = states()


def one_group_pair() -> CoChairs:
    data = copy.deepcopy(BALANCED)
    data["roundtables"][0]["co_chairs"][1]["state"] = "NGA"  # Kenya and Nigeria: African
    return CoChairs.model_validate(data)


def test_balance_report_counts_groups_and_genders() -> None:
    report = balance_report(CoChairs.model_validate(BALANCED), M, S)
    assert report.balanced and report.problems == []
    assert report.by_group == {"african": 2, "asia-pacific": 2, "eastern-european": 1,
                               "grulac": 1, "weog": 2}
    assert report.by_gender == {"female": 4, "male": 4}
    assert report.pairs[0].state_names == ["Kenya", "Germany"]
    assert report.pairs[0].groups == ["african", "weog"]


def test_a_pair_from_one_regional_group_is_reported() -> None:
    report = balance_report(one_group_pair(), M, S)
    assert not report.balanced
    assert any("round table 1: both co-chairs come from the african group" in p
               for p in report.problems)
    assert report.by_group["african"] == 3 and report.by_group["weog"] == 1


def test_a_pair_from_one_regional_group_is_refused_and_nothing_is_stored(store: Store) -> None:
    appoint_co_chairs(store, 2030, CoChairs.model_validate(BALANCED), M, S)
    with pytest.raises(ForumError, match="both co-chairs come from the african group"):
        appoint_co_chairs(store, 2030, one_group_pair(), M, S)
    kept = co_chairs(store, 2030)
    assert kept is not None
    assert [p.state for p in kept.roundtables[0].co_chairs] == ["KEN", "DEU"]


def test_appointed_co_chairs_round_trip_and_replace(store: Store) -> None:
    assert co_chairs(store, 2030) is None
    appoint_co_chairs(store, 2030, CoChairs.model_validate(BALANCED), M, S)
    changed = copy.deepcopy(BALANCED)
    changed["roundtables"][3]["co_chairs"][1]["state"] = "AUS"  # WEOG for WEOG
    appoint_co_chairs(store, 2030, CoChairs.model_validate(changed), M, S)
    kept = co_chairs(store, 2030)
    assert kept == CoChairs.model_validate(changed)
    assert co_chairs(store, 2034) is None


def test_co_facilitators_two_different_member_states(store: Store) -> None:
    same = CoFacilitators.model_validate({"co_facilitators": [
        {"state": "IRL", "representative": "Rep A", "gender": "female"},
        {"state": "IRL", "representative": "Rep B", "gender": "male"}]})
    with pytest.raises(ForumError, match="two different Member States"):
        appoint_co_facilitators(store, 2030, same, M, S)
    observer = CoFacilitators.model_validate({"co_facilitators": [
        {"state": "VAT", "representative": "Rep A", "gender": "male"},
        {"state": "SEN", "representative": "Rep B", "gender": "male"}]})
    with pytest.raises(ForumError, match="not a Member State"):
        appoint_co_facilitators(store, 2030, observer, M, S)
    assert co_facilitators(store, 2030) == []
    good = CoFacilitators.model_validate({"co_facilitators": [
        {"state": "IRL", "representative": "Rep A", "gender": "female"},
        {"state": "SEN", "representative": "Rep B", "gender": "male"}]})
    appoint_co_facilitators(store, 2030, good, M, S)
    assert [p.state for p in co_facilitators(store, 2030)] == ["IRL", "SEN"]


def test_the_human_steps_store_their_appointments(store: Store) -> None:
    from imrf.human_steps import store_hook

    answer = CoChairs.model_validate(BALANCED)
    hook = store_hook("co-chairs")
    assert hook is not None and hook.check(store, 2030, answer) == []
    hook.record(store, 2030, answer)
    assert co_chairs(store, 2030) == answer
    facilitators = CoFacilitators.model_validate({"co_facilitators": [
        {"state": "IRL", "representative": "Rep A", "gender": "female"},
        {"state": "SEN", "representative": "Rep B", "gender": "male"}]})
    facilitator_hook = store_hook("co-facilitators")
    assert facilitator_hook is not None
    facilitator_hook.record(store, 2030, facilitators)
    assert [p.state for p in co_facilitators(store, 2030)] == ["IRL", "SEN"]

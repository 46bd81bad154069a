"""The modalities presets load, and broken or contradictory files fail with one clear message."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from imrf.configfile import ConfigError
from imrf.modalities import REQUIRED_MILESTONES, load_modalities
from imrf.reference import commissions, member_states, objectives, states
from imrf.vocabulary import RegionalGroup


def test_zero_draft_is_the_seed_text() -> None:
    m = load_modalities("zero-draft-2019")
    assert m.forum.length_days == 3  # OP3: "The Forum will last for three days."
    assert m.forum.first_edition == 2022 and m.forum.interval_years == 4  # OP2
    assert (m.forum.season.first_month, m.forum.season.last_month) == (1, 6)  # OP2
    assert m.regional_reviews.first_round == 2020  # PP11: "beginning in 2020"
    rule = {r.id: r for r in m.milestones}
    assert rule["sg-report"].due is not None and rule["sg-report"].due.weeks == 6  # OP15
    assert rule["background-notes"].due is not None
    assert rule["background-notes"].due.weeks == 6  # OP29
    assert rule["stakeholder-list"].due is not None
    assert rule["stakeholder-list"].due.months == 3  # OP7
    assert rule["summaries-distributed"].due is not None
    assert rule["summaries-distributed"].due.working_days == 10  # OP35
    assert rule["progress-declaration"].due is not None
    assert rule["progress-declaration"].due.months == 2  # OP37
    for required in REQUIRED_MILESTONES:
        assert rule[required].paragraph.startswith(("OP", "PP"))


def test_adopted_preset_states_only_the_differences() -> None:
    zero, adopted = load_modalities("zero-draft-2019"), load_modalities("a-res-73-326")
    assert adopted.forum.length_days == 4
    sg = {r.id: r for r in adopted.milestones}["sg-report"]
    assert sg.due is not None and sg.due.weeks == 12 and "uncertain" in sg.words
    assert {r.id: r for r in adopted.milestones}["hearing"].basis == "text"
    # Everything not overridden is inherited.
    assert adopted.roundtables == zero.roundtables
    assert {r.id for r in adopted.milestones} == {r.id for r in zero.milestones}
    days = {s.id: (s.day, s.part) for s in adopted.sessions}
    assert days["roundtable-1"] == (1, "morning") and days["roundtable-4"] == (2, "morning")
    assert days["policy-debate"] == (2, "afternoon")
    assert days["opening-session"] == (3, "morning") and days["closing-session"] == (4,
                                                                                    "afternoon")


def test_roundtables_cover_the_23_objectives_once() -> None:
    covered = sorted(o for rt in load_modalities().roundtables for o in rt.objectives)
    assert covered == list(range(1, 24))
    assert len(load_modalities().roundtables) == 4  # OP26


def test_reference_data() -> None:
    assert len(objectives()) == 23
    assert objectives()[23].title == "International cooperation"
    assert sorted(c.value for c in commissions()) == ["eca", "ece", "eclac", "escap", "escwa"]
    members = member_states()
    assert len(members) == 193
    counts = {g: sum(1 for s in members if s.regional_group is g) for g in RegionalGroup}
    assert counts == {RegionalGroup.AFRICAN: 54, RegionalGroup.ASIA_PACIFIC: 54,
                      RegionalGroup.EASTERN_EUROPEAN: 23, RegionalGroup.GRULAC: 33,
                      RegionalGroup.WEOG: 29}
    assert len(states()) == 195


def _broken(config: Path, edit: object) -> str:
    path = config / "modalities" / "zero-draft-2019.yaml"
    data = yaml.safe_load(path.read_text())
    edit(data)  # type: ignore[operator]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    load_modalities.cache_clear()
    with pytest.raises(ConfigError) as caught:
        load_modalities("zero-draft-2019", config)
    load_modalities.cache_clear()
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(path)) or "zero-draft-2019.yaml" in message
    return message


def _rule(data: dict, rule_id: str) -> dict:  # type: ignore[type-arg]
    return next(r for r in data["milestones"] if r["id"] == rule_id)


def test_unknown_key_is_named(config_copy: Path) -> None:
    message = _broken(config_copy, lambda d: _rule(d, "sg-report").update(weeks_before=6))
    assert "milestones[sg-report].weeks_before: unknown key" in message


def test_negative_offset_is_refused(config_copy: Path) -> None:
    message = _broken(config_copy, lambda d: _rule(d, "sg-report")["due"].update(weeks=-6))
    assert "milestones[sg-report].due.weeks" in message
    assert "greater than or equal to 0" in message


def test_hearing_after_the_forum_is_contradictory(config_copy: Path) -> None:
    def hearing_after(d: dict) -> None:  # type: ignore[type-arg]
        rule = _rule(d, "hearing")
        rule["start"] = rule["end"] = {"after": "forum-end", "days": 1}

    message = _broken(config_copy, hearing_after)
    assert "milestones[hearing]" in message
    assert "before-forum" in message and "not before forum-start" in message


def test_roundtable_mapping_must_cover_each_objective_once(config_copy: Path) -> None:
    message = _broken(config_copy, lambda d: d["roundtables"][0]["objectives"].append(4))
    assert "roundtables" in message and "objective 4" in message and "exactly once" in message


def test_roundtable_mapping_must_cover_every_objective(config_copy: Path) -> None:
    message = _broken(config_copy, lambda d: d["roundtables"][3]["objectives"].remove(23))
    assert "objectives 23 are in no round table" in message


def test_missing_required_milestone(config_copy: Path) -> None:
    message = _broken(config_copy, lambda d: d["milestones"].remove(_rule(d, "sg-report")))
    assert "required milestone 'sg-report' is missing" in message


def test_session_beyond_the_forum_length(config_copy: Path) -> None:
    message = _broken(config_copy, lambda d: d["forum"].update(length_days=2))
    assert "beyond the forum's 2 days" in message


def test_invalid_yaml_names_the_line(config_copy: Path) -> None:
    path = config_copy / "modalities" / "zero-draft-2019.yaml"
    path.write_text("id: x\nforum: [unclosed\n")
    load_modalities.cache_clear()
    with pytest.raises(ConfigError, match=r"zero-draft-2019.yaml: line \d+: invalid YAML"):
        load_modalities("zero-draft-2019", config_copy)
    load_modalities.cache_clear()


def test_unknown_preset_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown modalities preset 'nope'.*zero-draft-2019"):
        load_modalities("nope")


def test_extends_cycle_is_refused(config_copy: Path) -> None:
    path = config_copy / "modalities" / "zero-draft-2019.yaml"
    path.write_text("extends: a-res-73-326\n" + path.read_text())
    load_modalities.cache_clear()
    with pytest.raises(ConfigError, match="makes a cycle"):
        load_modalities("a-res-73-326", config_copy)
    load_modalities.cache_clear()

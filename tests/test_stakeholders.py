"""The PGA list of other stakeholders (OP7, footnote 4): candidates, balance, circulation,
objections (confidential, audited), the final list and the report to the General Assembly."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from imrf.calendar import build_calendar
from imrf.cli.main import app
from imrf.contacts import SourceRow
from imrf.forum.balance import balance_report
from imrf.forum.objections import STEP_HOOK, ObjectionRegistry
from imrf.forum.participation import ParticipationError
from imrf.forum.stakeholders import StakeholderList, circulation_deadline
from imrf.forum.stakeholders_report import general_assembly_report, render_html
from imrf.human_steps import Objection, Objections, store_hook
from imrf.store import Store
from imrf.store.tables_participation import objection_disclosures

EDITION = 2030
MARKUP = "<script>alert('x')</script> {{ 7*7 }}"
CAL = build_calendar(EDITION)


def candidate(name: str, organization: str = "Org", kind: str = "ngo", gender: str = "female",
              country: str = "", group: str = "") -> dict[str, str]:
    return {"name": name, "organization": organization, "organization_type": kind,
            "gender": gender, "country": country, "regional_group": group}


def fill(store: Store) -> StakeholderList:
    pga = StakeholderList(store)
    report = pga.import_rows(EDITION, [SourceRow(line=i + 2, values=v) for i, v in enumerate([
        candidate(MARKUP, country="KEN"), candidate("Bo", "Uni", "academia", "male", "FRA"),
        candidate("Cy", "Union", "trade-union", "female", "BRA"),
        candidate("Di", "Youth", "youth-organization", "other", group="asia-pacific"),
    ])])
    assert report.imported == 4 and not report.errors
    return pga


def test_markup_in_a_name_is_stored_as_text_and_escaped_in_html(store: Store) -> None:
    fill(store)
    report = general_assembly_report(store, EDITION)
    assert report.proposed[0].name == MARKUP
    html = render_html(report)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; {{ 7*7 }}" in html
    assert "49" not in html


def test_bad_rows_and_duplicates_are_reported_by_line_and_field(store: Store) -> None:
    pga = fill(store)
    report = pga.import_rows(EDITION, [SourceRow(line=i + 2, values=v) for i, v in enumerate([
        candidate("  bo ", "UNI", "academia", "male", "FRA"),  # Bo again: its spelling updated
        candidate("Eve", kind="pirates", gender="x"),
        candidate("Fay", country="FRA", group="african"),
        candidate("Gus"),
        candidate("Ha\x07l", country="KEN"),
        candidate("Ida", country="KEN"),
        candidate("IDA", country="KEN"),
    ])] + [SourceRow(line=9, values=candidate("Jo", country="KEN"), extra=("surplus",))])
    assert (report.imported, report.updated, report.unchanged) == (1, 1, 0)
    assert [(e.line, e.field) for e in report.errors] == [
        (3, "organization_type"), (3, "gender"), (3, "regional_group"), (4, "regional_group"),
        (5, "regional_group"), (6, "name"), (8, "row"), (9, "row")]
    assert "does not match France (weog)" in report.errors[3].reason
    assert "duplicate candidate: same as line 7" in report.errors[6].reason
    with pytest.raises(ParticipationError, match=r"duplicate candidate: .* already on the 2030 "
                                                 r"list as #2"):
        pga.add(EDITION, candidate("BO", "uni", "academia", "male", "FRA"))
    assert len(pga.candidates(EDITION)) == 5


def test_circulation_no_later_than_three_months_before_the_forum(store: Store) -> None:
    pga = fill(store)
    deadline = circulation_deadline(CAL)
    assert CAL.forum_start == dt.date(2030, 5, 14) and deadline == dt.date(2030, 2, 14)
    with pytest.raises(ParticipationError, match=r"1 day\(s\) late: OP7 requires it no later "
                                                 "than 2030-02-14"):
        pga.circulate(EDITION, on=deadline + dt.timedelta(days=1), calendar=CAL, actor="PGA")
    assert pga.circulation(EDITION) is None
    record = pga.circulate(EDITION, on=deadline, calendar=CAL, actor="PGA")
    assert (record.late, record.candidates) == (False, 4)
    with pytest.raises(ParticipationError, match="already circulated on 2030-02-14"):
        pga.circulate(EDITION, on=deadline, calendar=CAL, actor="PGA")
    with pytest.raises(ParticipationError, match="no name can be added after it"):
        pga.add(EDITION, candidate("Late", country="KEN"))
    updated = pga.import_rows(EDITION, [SourceRow(2, candidate("Bo", "Uni", "ngo", "male",
                                                                "FRA")),
                                        SourceRow(3, candidate("New", country="KEN"))])
    assert updated.updated == 1 and [(e.line, e.field) for e in updated.errors] == [(3, "row")]


def test_late_circulation_is_recorded_only_when_accepted(store: Store) -> None:
    pga = fill(store)
    record = pga.circulate(EDITION, on=dt.date(2030, 3, 1), calendar=CAL, actor="PGA",
                           accept_late=True)
    assert record.late and pga.circulation(EDITION) == record


def test_objections_refuse_non_members_and_unknown_names_all_or_nothing(store: Store) -> None:
    fill(store)
    registry = ObjectionRegistry(store)
    bad = [Objection(candidate="Bo", state="FRA"), Objection(candidate="Bo", state="VAT"),
           Objection(candidate="Nobody", state="DEU"), Objection(candidate="#2", state="ZZZ")]
    problems = registry.problems(EDITION, bad)
    assert problems == [
        "objection to 'Bo' (footnote 4): Holy See (VAT) is not a Member State",
        "objection to 'Nobody': 'Nobody' is not on the PGA list",
        "objection to '#2' (footnote 4): ZZZ is not a known State code"]
    with pytest.raises(ParticipationError, match="Holy See"):
        registry.record(EDITION, bad, source="cli", actor="PGA office")
    assert registry.final_list(EDITION).not_retained == []  # nothing half-written


def test_final_list_and_the_presidents_overrule(store: Store) -> None:
    fill(store)
    registry = ObjectionRegistry(store)
    registry.record(EDITION, [Objection(candidate="bo (uni)", state="FRA", general_basis="b1"),
                              Objection(candidate="#3", state="DEU")], source="cli", actor="x")
    registry.record(EDITION, [Objection(candidate="Bo", state="FRA", general_basis="b2")],
                    source="cli", actor="x")  # again: updates, not duplicates
    with pytest.raises(ParticipationError, match="no objection to overrule"):
        registry.overrule(EDITION, "Di", reason="r", actor="PGA")
    registry.overrule(EDITION, "Cy", reason="Balance of trade unions", actor="PGA")
    lists = registry.final_list(EDITION)
    assert [c.name for c in lists.final] == [MARKUP, "Cy", "Di"]
    assert [c.name for c in lists.not_retained] == ["Bo"]
    assert [c.name for c in lists.kept_by_decision] == ["Cy"]
    report = general_assembly_report(store, EDITION)
    dumped = report.model_dump_json()
    # The report to the General Assembly never names an objecting State or its basis.
    assert "FRA" not in dumped.replace('"country":"FRA"', "") and "b2" not in dumped
    assert "DEU" not in dumped and "b2" not in render_html(report)


def test_objections_are_disclosed_only_with_an_audit_row(store: Store) -> None:
    fill(store)
    registry = ObjectionRegistry(store)
    registry.record(EDITION, [Objection(candidate="Bo", state="FRA", general_basis="basis")],
                    source="cli", actor="x")
    assert registry.disclosures(EDITION) == []
    with pytest.raises(ParticipationError, match="Holy See \\(VAT\\) is not a Member State"):
        registry.disclose(EDITION, requested_by="VAT", actor="Officer", reason="asked")
    assert registry.disclosures(EDITION) == []
    shown = registry.disclose(EDITION, requested_by="bra", actor="Officer", reason="NV 12")
    assert [(o.candidate, o.state, o.general_basis) for o in shown] == [("Bo", "FRA", "basis")]
    registry.disclose(EDITION, requested_by="PGA-office", actor="Chef", reason="decision")
    audit = registry.disclosures(EDITION)
    assert [(d.actor, d.requested_by, d.objections, d.reason) for d in audit] == [
        ("Officer", "BRA", 1, "NV 12"), ("Chef", "pga-office", 1, "decision")]
    with store.unit_of_work(read_only=True) as uow:
        count = uow.connection.execute(select(func.count()).select_from(objection_disclosures))
        assert count.scalar_one() == 2


def test_balance_report_warns_on_geography_and_gender() -> None:
    rows = [("weog", "male", "ngo")] * 6 + [("african", "female", "academia")] * 3 + [
        ("grulac", "male", "diaspora")]
    report = balance_report(EDITION, "proposed", rows)
    shares = {s.value: (s.count, s.share) for s in report.by_regional_group}
    assert shares["weog"] == (6, 0.6) and shares["asia-pacific"] == (0, 0.0)
    assert report.total == 10
    text = "\n".join(report.warnings)
    assert "weog: 6 of 10 (60%), over 40%" in text
    assert "asia-pacific: 0 of 10 (0%), under 10%" in text
    assert "women: 3 of 10 (30%), under 40%" in text
    balanced = balance_report(EDITION, "final", [
        (g, gender, "ngo") for g in ("african", "asia-pacific", "eastern-european", "grulac",
                                     "weog") for gender in ("female", "male")])
    assert balanced.warnings == []


def test_the_objections_human_step_is_checked_and_recorded_here(store: Store) -> None:
    fill(store)
    assert store_hook("objections") is STEP_HOOK
    unknown = Objections(objections=[Objection(candidate="Nobody", state="FRA")],
                         non_objection_period_closed=True)
    assert STEP_HOOK.check(store, EDITION, unknown) == [
        "objection to 'Nobody': 'Nobody' is not on the PGA list"]
    good = Objections(objections=[Objection(candidate="Di", state="KEN", general_basis="g")],
                      non_objection_period_closed=True)
    assert STEP_HOOK.check(store, EDITION, good) == []
    STEP_HOOK.record(store, EDITION, good)
    STEP_HOOK.record(store, EDITION, good)  # a resumed flow records it again: no duplicate
    shown = ObjectionRegistry(store).disclose(EDITION, requested_by="pga-office", actor="t",
                                              reason="test")
    assert [(o.candidate, o.state, o.source) for o in shown] == [("Di", "KEN", "human-step")]


# --- the command line -----------------------------------------------------------------------


@pytest.fixture
def cli_env(cli_data_dir: Path) -> Path:
    return cli_data_dir.parent


def test_cli_hostile_cases(cli_env: Path) -> None:
    runner = CliRunner()
    path = cli_env / "list.csv"
    path.write_text("name,organization,organization_type,gender,country\n"
                    f"\"{MARKUP}\",Org,ngo,female,KEN\nBo,Uni,academia,male,FRA\n"
                    "Bo,UNI,academia,male,FRA\nCy,X,pirates,female,KEN\n", encoding="utf-8")
    result = runner.invoke(app, ["stakeholders", "import", str(path), "--edition", "2030",
                                 "--format", "json"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["imported"] == 2 and [e["line"] for e in report["errors"]] == [4, 5]

    result = runner.invoke(app, ["stakeholders", "object", "--edition", "2030", "--actor", "me",
                                 "--candidate", "Bo", "--state", "VAT"])
    assert result.exit_code == 2
    assert result.stderr.strip() == ("imrf: error: objection to 'Bo' (footnote 4): Holy See "
                                     "(VAT) is not a Member State")
    ok = runner.invoke(app, ["stakeholders", "object", "--edition", "2030", "--actor", "me",
                             "--candidate", "Bo", "--state", "FRA", "--basis", "secret"])
    assert ok.exit_code == 0 and "secret" not in ok.stdout

    report_html = runner.invoke(app, ["stakeholders", "report", "--edition", "2030",
                                      "--format", "html"])
    assert report_html.exit_code == 0 and "<script>" not in report_html.stdout
    assert "secret" not in report_html.stdout and "FRA" not in report_html.stdout

    missing = runner.invoke(app, ["stakeholders", "objections", "--edition", "2030"])
    assert missing.exit_code == 2  # --actor, --requested-by and --reason are required
    shown = runner.invoke(app, ["stakeholders", "objections", "--edition", "2030", "--actor",
                                "Officer", "--requested-by", "DEU", "--reason", "NV 7",
                                "--format", "json"])
    assert shown.exit_code == 0 and json.loads(shown.stdout)[0]["general_basis"] == "secret"
    audit = runner.invoke(app, ["stakeholders", "disclosures", "--edition", "2030",
                                "--format", "json"])
    assert [d["requested_by"] for d in json.loads(audit.stdout)] == ["DEU"]

    late = runner.invoke(app, ["stakeholders", "circulate", "--edition", "2030", "--actor",
                               "PGA", "--on", "2030-04-01"])
    assert late.exit_code == 2 and "late" in late.stderr and "Traceback" not in late.output
    bad_file = runner.invoke(app, ["stakeholders", "import", str(cli_env / "none.csv"),
                                   "--edition", "2030"])
    assert bad_file.exit_code == 2 and "no such file" in bad_file.stderr

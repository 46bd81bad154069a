"""`imrf programme` and the forum's commands: the programme's content, its HTML (markup shown
as text), the refusals with one line and exit 2."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
from test_human_steps import BALANCED
from typer.testing import CliRunner

from imrf.calendar import build_calendar
from imrf.cli.main import app
from imrf.forum import programme
from imrf.forum.speakers import Inscription
from imrf.human_steps import CoChairs
from imrf.modalities import load_modalities
from imrf.reference import member_states, objectives, states

MARKUP = "<script>alert('x')</script> & <b>Bold</b>"
runner = CliRunner()


def built(records: programme.Records, edition: int = 2030) -> programme.Programme:
    cal = build_calendar(edition)
    return programme.build(cal, load_modalities(cal.modalities), records, states=states(),
                           objectives=objectives(), as_of=dt.date(edition, 4, 1))


def test_days_sessions_roundtables_opening_and_speakers() -> None:
    chairs = CoChairs.model_validate(BALANCED)
    p = built(programme.Records(co_chairs=chairs, inscriptions=[
        Inscription(state="KEN", level="head-of-state", speaker="President")]))
    assert [d.number for d in p.days] == [1, 2, 3]  # OP3 (zero draft for 2030)
    day1 = [s.id for s in p.days[0].sessions]
    assert day1 == ["opening-session", "roundtable-1", "general-debate", "roundtable-2"]
    debate = next(s for s in p.days[0].sessions if s.id == "general-debate")
    assert f"{debate.start:%H:%M}" == "15:00" and debate.track == "plenary"
    assert next(s for s in p.days[0].sessions if s.id == "roundtable-1").track == "parallel"
    assert [o.number for o in p.roundtables[0].objectives] == [2, 5, 6, 12, 18]
    assert p.roundtables[0].co_chair_states == ["Kenya", "Germany"]
    assert len(p.opening) == 5 and p.opening_paragraph == "OP22"
    assert p.speakers.scheduled[0].state_name == "Kenya"
    assert p.warnings == []


def test_warnings_for_missing_co_chairs_and_overflow() -> None:
    items = [Inscription(state=s.iso3, level="minister", speaker="x")
             for s in member_states()[:185]]
    p = built(programme.Records(inscriptions=items))
    assert any("does not fit" in w for w in p.warnings)
    assert any("co-chairs not yet appointed for round table(s) 1, 2, 3, 4" in w
               for w in p.warnings)


def test_markup_in_names_is_rendered_as_text() -> None:
    data = json.loads(json.dumps(BALANCED))
    data["roundtables"][0]["co_chairs"][0]["representative"] = MARKUP
    p = built(programme.Records(co_chairs=CoChairs.model_validate(data), inscriptions=[
        Inscription(state="KEN", level="minister", speaker=MARKUP)]))
    html = programme.to_html(p)
    assert "<script>" not in html and "<b>Bold</b>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &lt;b&gt;Bold&lt;/b&gt;" in html
    assert "@media print" in html
    assert json.loads(programme.to_json(p))["speakers"]["scheduled"][0]["speaker"] == MARKUP


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("IMRF_") and name != "IMRF_CONFIG_DIR":
            monkeypatch.delenv(name)
    monkeypatch.setenv("IMRF_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def test_cli_programme_html_and_json(data_dir: Path) -> None:
    cochairs = data_dir / "co-chairs.json"
    data = json.loads(json.dumps(BALANCED))
    data["roundtables"][0]["co_chairs"][0]["representative"] = MARKUP
    cochairs.write_text(json.dumps(data))
    result = runner.invoke(app, ["roundtables", "co-chairs", str(cochairs), "--edition", "2030"])
    assert result.exit_code == 0, result.output
    assert "balanced" in result.output
    out = data_dir / "programme.html"
    result = runner.invoke(app, ["programme", "--edition", "2030", "--format", "html",
                                 "--output", str(out), "--as-of", "2030-04-01"])
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert "&lt;script&gt;" in html and "<script>" not in html
    result = runner.invoke(app, ["programme", "--edition", "2030", "--format", "json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["roundtables"][0]["co_chairs"][0]["representative"] == \
        MARKUP


def test_cli_refusals_are_one_line_with_exit_2(data_dir: Path) -> None:
    result = runner.invoke(app, ["programme", "--edition", "2031", "--format", "json"])
    assert result.exit_code == 2 and "not a forum year" in result.stderr
    data = json.loads(json.dumps(BALANCED))
    data["roundtables"][0]["co_chairs"][1]["state"] = "NGA"
    bad = data_dir / "bad.json"
    bad.write_text(json.dumps(data))
    result = runner.invoke(app, ["roundtables", "co-chairs", str(bad), "--edition", "2030"])
    assert result.exit_code == 2
    assert "both co-chairs come from the african group" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output
    result = runner.invoke(app, ["roundtables", "balance", "--edition", "2030"])
    assert result.exit_code == 2 and "no co-chairs are appointed" in result.stderr
    result = runner.invoke(app, ["speakers", "inscribe", "--edition", "2030", "--state", "EU",
                                 "--level", "minister", "--speaker", "x"])
    assert result.exit_code == 2 and "--state" in result.stderr


def test_cli_speakers_overflow_exits_1_with_the_warning(data_dir: Path) -> None:
    path = data_dir / "speakers.csv"
    rows = [f"{s.iso3},minister,Minister of {s.name}" for s in member_states()[:185]]
    path.write_text("state,level,speaker\n" + "\n".join(rows) + "\n")
    result = runner.invoke(app, ["speakers", "import", str(path), "--edition", "2030"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["speakers", "import", str(path), "--edition", "2030"])
    assert result.exit_code == 2 and "already inscribed" in result.stderr
    result = runner.invoke(app, ["speakers", "list", "--edition", "2030"])
    assert result.exit_code == 1
    assert "OVERFLOW" in result.stdout and "does not fit" in result.stderr

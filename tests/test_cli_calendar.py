"""`imrf calendar` as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from imrf.cli.main import app

runner = CliRunner()


def test_json_shape() -> None:
    result = runner.invoke(app, ["calendar", "--edition", "2026", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["edition"] == 2026 and data["modalities"] == "a-res-73-326"
    assert data["forum"] == {"start": "2026-05-05", "end": "2026-05-08"}
    by_id = {m["id"]: m for m in data["milestones"]}
    assert by_id["sg-report"]["due"] is not None and by_id["sg-report"]["start"] is None
    assert by_id["hearing"]["start"] == by_id["hearing"]["end"] == "2026-05-04"
    for milestone in data["milestones"]:
        assert set(milestone) >= {"id", "title", "paragraph", "kind", "start", "end", "due",
                                  "audiences"}


def test_forum_start_and_modalities_override(tmp_path: Path) -> None:
    out = tmp_path / "cal.json"
    result = runner.invoke(app, ["calendar", "--forum-start", "2030-05-21", "--modalities",
                                 "a-res-73-326", "--format", "json", "--output", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["forum"] == {"start": "2030-05-21", "end": "2030-05-24"}


def test_table_is_readable() -> None:
    result = runner.invoke(app, ["calendar", "--edition", "2030"])
    assert result.exit_code == 0
    assert "IMRF 2030" in result.stdout and "Secretary-General's report" in result.stdout
    assert "OP15" in result.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--edition", "2027"], "2027 is not a forum year"),
    (["--forum-start", "2030-07-02"], "not during the first semester of the year (OP2"),
    (["--forum-start", "2030-02-30"], "'2030-02-30' is not a date in the form YYYY-MM-DD"),
    (["--edition", "2030", "--modalities", "nope"], "unknown modalities preset 'nope'"),
    ([], "give --edition YEAR or --forum-start YYYY-MM-DD"),
])
def test_bad_input_is_one_line_exit_2(args: list[str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "imrf.cli.main", "calendar", *args],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_calendar_does_not_import_prefect() -> None:
    code = ("import sys; from imrf.cli.main import app; "
            "from typer.testing import CliRunner; "
            "CliRunner().invoke(app, ['calendar', '--edition', '2026', '--format', 'json']); "
            "print('prefect' in sys.modules, 'sqlalchemy' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.split() == ["False", "False"]


def test_ics_is_valid_and_stable(tmp_path: Path) -> None:
    import icalendar

    first, second = tmp_path / "a.ics", tmp_path / "b.ics"
    for out in (first, second):
        result = runner.invoke(app, ["calendar", "--edition", "2030", "--format", "ics",
                                     "--output", str(out)])
        assert result.exit_code == 0, result.output
    assert first.read_bytes() == second.read_bytes()
    cal = icalendar.Calendar.from_ical(first.read_bytes())
    events = list(cal.walk("VEVENT"))
    uids = [str(e["UID"]) for e in events]
    assert len(events) == 28 and len(set(uids)) == 28
    assert "imrf-2030-sg-report@imrf-orchestrator" in uids
    hearing = next(e for e in events if str(e["UID"]).startswith("imrf-2030-hearing@"))
    assert hearing["DTSTART"].params["TZID"] == "America/New_York"

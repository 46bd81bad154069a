"""`imrf inputs` as an operator runs it: add, list, accept, reject, status; one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from imrf.cli.main import app
from imrf.contacts import ContactRegistry, read_csv
from imrf.settings import load_settings
from imrf.store import open_store

KENYA = "amara.okonkwo@mission-ken.example.int"  # in config/contacts-sample.csv


@pytest.fixture
def data_dir(cli_data_dir: Path, config_copy: Path) -> Path:
    """No SendGrid key (e-mail goes to the outbox), the sample contacts imported."""
    store = open_store(load_settings())
    try:
        assert not ContactRegistry(store).import_rows(
            read_csv(config_copy / "contacts-sample.csv")).errors
    finally:
        store.dispose()
    return cli_data_dir


@pytest.fixture
def pdf(tmp_path: Path) -> Path:
    path = tmp_path / "VNR Kenya.pdf"
    path.write_bytes(b"%PDF-1.7\nKenya\n%%EOF\n")
    return path


def inputs(*args: str) -> Result:
    return CliRunner().invoke(app, ["inputs", *args])


def add(*args: str, submitter: str = KENYA, level: str = "national") -> Result:
    return inputs("add", "--edition", "2030", "--submitter", submitter, "--level", level,
                  "--objective", "5", "--objective", "1", "--title", "<b>Review</b>",
                  "--language", "en", "--format", "json", *args)


def as_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def one_line_error(result: Result) -> str:
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("imrf: error: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.output
    return result.stderr


def outbox(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "outbox").glob("*.eml"))


def test_a_known_contact_is_accepted_and_acknowledged_once(data_dir: Path, pdf: Path) -> None:
    added = as_json(add("--file", str(pdf), "--state", "ken"))
    assert (added["id"], added["status"], added["state"]) == ("2030-ken-1", "accepted", "KEN")
    assert added["objectives"] == [1, 5]
    assert added["document"]["filename"] == "VNR Kenya.pdf"
    assert added["acknowledgement"]["sent"] == 1
    [message] = outbox(data_dir)
    assert KENYA in message.name
    # The same document again: refused, naming the input it already is; nothing sent.
    error = one_line_error(add("--file", str(pdf), "--state", "KEN"))
    assert "the same document is already input 2030-ken-1 (accepted)" in error
    assert len(outbox(data_dir)) == 1
    again = inputs("accept", "2030-ken-1")
    assert again.exit_code == 0 and "acknowledgement already sent" in again.stdout


def test_an_unknown_submitter_is_held_until_an_operator_decides(data_dir: Path) -> None:
    held = as_json(add("--link", "https://example.org/gfmd.pdf", submitter="chair@gfmd.org",
                       level="global"))
    assert held["status"] == "held" and held["acknowledgement"] is None
    assert "not in the contact registry" in held["reason"]
    assert outbox(data_dir) == []
    listed = as_json(inputs("list", "--edition", "2030", "--status", "held", "--format", "json"))
    assert [i["id"] for i in listed] == ["2030-global-1"]
    accepted = inputs("accept", "2030-global-1", "--by", "ines")
    assert accepted.exit_code == 0, accepted.output
    assert "2030-global-1: accepted" in accepted.stdout
    assert "acknowledgement sent to chair@gfmd.org" in accepted.stdout
    rejected = as_json(inputs("reject", "2030-global-1", "--reason", "withdrawn by the GFMD",
                              "--format", "json"))
    assert (rejected["status"], rejected["reason"]) == ("rejected", "withdrawn by the GFMD")
    assert "is rejected: only held inputs can be accepted" in one_line_error(
        inputs("accept", "2030-global-1"))
    assert as_json(inputs("list", "--edition", "2030", "--status", "accepted",
                          "--format", "json")) == []


def test_status_prints_the_tracker(data_dir: Path, pdf: Path) -> None:
    add("--file", str(pdf), "--state", "KEN")
    status = as_json(inputs("status", "--edition", "2030", "--format", "json"))
    assert status["member_states"] == {"submitted": 1, "missing": 192}
    assert set(status["by_level"]) == {"national", "regional", "global", "stakeholder"}
    assert status["by_regional_group"]["african"] == {"members": 54, "submitted": 1,
                                                      "missing": 53}
    assert len(status["missing"]) == 192 + 5
    table = inputs("status", "--edition", "2030")
    assert table.exit_code == 0
    assert "Member States 1 submitted, 192 missing" in table.stdout


@pytest.mark.parametrize(("args", "message"), [
    (("--state", "KEN"), "give either --file PATH or --link URL"),
    (("--state", "KEN", "--link", "javascript:alert(1)"), "--link: must be an http(s) link"),
    (("--state", "KEN", "--link", "https://e.org/x", "--objective", "24"), "--objective"),
    (("--link", "https://e.org/x"), "state: a national input names its Member State"),
    (("--state", "ZZZ", "--link", "https://e.org/x"), "ZZZ is not a known"),
    (("--state", "KEN", "--link", "https://e.org/x", "--language", "english!"),
     "--language: 'english!' is not a language tag"),
])
def test_bad_input_is_one_line(data_dir: Path, args: tuple[str, ...], message: str) -> None:
    assert message in one_line_error(add(*args))


def test_a_disguised_program_is_refused_and_nothing_stored(data_dir: Path,
                                                           tmp_path: Path) -> None:
    fake = tmp_path / "report.pdf"
    fake.write_bytes(b"MZ\x90\x00" + b"\x00" * 64)
    error = one_line_error(add("--file", str(fake), "--state", "KEN"))
    assert "report.pdf: the content is a Windows program" in error
    assert as_json(inputs("list", "--edition", "2030", "--format", "json")) == []
    assert not (data_dir / "inputs").exists()


def test_unknown_input_and_edition(data_dir: Path) -> None:
    assert "no input '2030-ken-9'" in one_line_error(inputs("accept", "2030-ken-9"))
    assert "2031 is not a forum year" in one_line_error(
        inputs("add", "--edition", "2031", "--submitter", KENYA, "--level", "global",
               "--objective", "1", "--title", "T", "--language", "en", "--link",
               "https://e.org/x"))

"""`imrf site build`, the rebuild flow and the local server, on a real store."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from imrf.cli.main import app
from imrf.contacts import ContactRegistry, SourceRow
from imrf.inputs.intake import NewInput
from imrf.inputs.registry import InputRegistry
from imrf.settings import load_settings
from imrf.site.serve import SiteServer
from imrf.store import open_store

PDF = b"%PDF-1.7\nnational review\n%%EOF\n"
KENYA = "amara@mission-ken.example.int"
STRANGER = "someone@unknown.example.org"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("IMRF_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("IMRF_DATABASE_URL", raising=False)
    monkeypatch.delenv("SENDGRID_API_KEY", raising=False)
    from tasks import context

    context.reset()
    yield tmp_path / "data"
    context.reset()


@pytest.fixture
def registered(data_dir: Path) -> None:
    """An accepted national input with a stored PDF and a hostile title; one held input."""
    store = open_store(load_settings())
    try:
        row = SourceRow(line=2, values={"email": KENYA, "name": "Amara",
                                        "organization": "Mission of Kenya",
                                        "audiences": "member-states", "country": "KEN"})
        assert not ContactRegistry(store).import_rows([row]).errors
        registry = InputRegistry(store, data_dir=data_dir)
        accepted = registry.add(NewInput.model_validate({
            "edition": 2030, "level": "national", "submitter": KENYA, "state": "KEN",
            "objectives": [7], "title": "<script>alert(1)</script> review",
            "language": "en"}), content=PDF, filename="VNR Kenya.pdf")
        assert accepted.status.value == "accepted"
        held = registry.add(NewInput.model_validate({
            "edition": 2030, "level": "stakeholder", "submitter": STRANGER,
            "organization": "Unknown", "objectives": [1], "title": "Not reviewed yet",
            "language": "en", "link": "https://example.org/x"}))
        assert held.status.value == "held"
    finally:
        store.dispose()


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, ["site", "build", *args])


def one_line_error(result: Result) -> str:
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("imrf: error: ") and result.stderr.count("\n") == 1
    return result.stderr


def test_build_publishes_accepted_inputs_from_the_registry(registered: None,
                                                           tmp_path: Path) -> None:
    result = invoke("--edition", "2030", "--output", str(tmp_path / "site"))
    assert result.exit_code == 0, result.output
    assert "IMRF 2030: 1 inputs published" in result.stdout
    edition = tmp_path / "site" / "2030"
    index = (edition / "index.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; review" in index
    assert "<script>" not in index and "Not reviewed yet" not in index
    (document,) = (edition / "documents").rglob("*.pdf")
    assert document.read_bytes() == PDF and document.name.endswith("-VNR-Kenya.pdf")
    again = invoke("--edition", "2030", "--output", str(tmp_path / "site"))
    assert "0 written" in again.stdout and "0 copied" in again.stdout


def test_default_output_is_the_data_dir_site(registered: None, data_dir: Path) -> None:
    assert invoke("--edition", "2030").exit_code == 0
    assert (data_dir / "site" / "2030" / "objective" / "7" / "index.html").exists()


def test_bad_input_is_one_line(data_dir: Path, tmp_path: Path) -> None:
    assert "2027 is not a forum year" in one_line_error(
        invoke("--edition", "2027", "--output", str(tmp_path / "s")))
    a_file = tmp_path / "file.html"
    a_file.write_text("keep")
    assert "is a file" in one_line_error(invoke("--edition", "2030", "--output", str(a_file)))
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    assert "other files" in one_line_error(invoke("--edition", "2030", "--output", str(mine)))
    assert a_file.read_text() == "keep" and [p.name for p in mine.iterdir()] == ["notes.txt"]


def test_server_serves_pages_but_no_manifest_nor_listing(registered: None,
                                                         tmp_path: Path) -> None:
    invoke("--edition", "2030", "--output", str(tmp_path / "site"))
    server = SiteServer(tmp_path / "site", port=0)
    try:
        with urllib.request.urlopen(server.url + "2030/index.html") as response:
            assert response.status == 200
            assert response.headers["X-Content-Type-Options"] == "nosniff"
        for hidden in ("2030/.manifest.json", "2030/%2emanifest.json", "2030/inputs/"):
            with pytest.raises(urllib.error.HTTPError) as error:
                urllib.request.urlopen(server.url + hidden)
            assert error.value.code == 404, hidden
    finally:
        server.stop()

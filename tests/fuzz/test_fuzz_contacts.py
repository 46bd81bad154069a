"""Fuzzing the contacts CSV import: every bad file is refused in one line naming the file,
every bad row is reported by line and field, and a refused file leaves the store as it was."""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st
from sqlalchemy import select
from typer.testing import CliRunner

from imrf.cli.main import app
from imrf.contacts import (
    COLUMNS,
    ContactFileError,
    ContactRegistry,
    RowError,
    SourceRow,
    parse_rows,
    read_csv,
)
from imrf.store import Store
from imrf.store.tables import contact_audiences, contacts

from .profile import fuzz
from .strategies import nasty_text

SAMPLE = Path(__file__).resolve().parents[2] / "config" / "contacts-sample.csv"
FIELD_LIMIT = csv.field_size_limit()
ENCODINGS = ["utf-8", "utf-8-sig", "latin-1", "cp1252", "utf-16", "utf-16-le", "utf-16-be"]
NUMBER = itertools.count()


def snapshot(store: Store) -> tuple[list[Any], list[Any]]:
    """Everything the import may write, in a stable order."""
    with store.unit_of_work(read_only=True) as uow:
        people = uow.connection.execute(select(contacts).order_by(contacts.c.email)).all()
        links = uow.connection.execute(select(contact_audiences).order_by(
            contact_audiences.c.contact_id, contact_audiences.c.audience)).all()
    return [tuple(row) for row in people], [tuple(row) for row in links]


def assert_one_line_naming(message: str, path: Path) -> None:
    assert message.startswith(f"{path}: "), message
    assert "\n" not in message and "\r" not in message and "Traceback" not in message


def assert_row_errors_are_actionable(errors: list[Any], last_line: int) -> None:
    for error in errors:
        assert 2 <= error.line <= last_line, error
        assert error.field in (*COLUMNS, "row"), error
        assert error.reason and "\n" not in error.reason and "\r" not in error.reason, error


# --- random bytes ---------------------------------------------------------------------------

HEADER = ",".join(COLUMNS).encode()
byte_files = st.one_of(
    st.binary(max_size=600),
    st.builds(lambda body: HEADER + b"\n" + body, st.binary(max_size=600)),
    st.builds(lambda bom, body: bom + HEADER + b"\r\n" + body,
              st.sampled_from([b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x00"]),
              st.binary(max_size=300)),
)


@fuzz(300)
@given(data=byte_files)
@example(data=HEADER + b"\na@example.org,\"unterminated,x,igos\nb@example.org,B,O,igos\n")
@example(data=HEADER + b"\na@example.org,A\x00,O,igos\n")
@example(data="email,name\n".encode("utf-16"))
@example(data=HEADER + b"\n" + b"a@example.org," + b"x" * (FIELD_LIMIT + 1) + b",O,igos\n")
def test_any_bytes_are_rows_or_one_line_naming_the_file(tmp_path_factory: pytest.TempPathFactory,
                                                        data: bytes) -> None:
    path = tmp_path_factory.mktemp("bytes") / "contacts.csv"
    path.write_bytes(data)
    try:
        rows = read_csv(path)
    except ContactFileError as exc:
        assert_one_line_naming(str(exc), path)
        event("file refused")
        return
    parsed = parse_rows(rows)  # never raises, whatever the cells hold
    assert_row_errors_are_actionable(parsed.errors, data.count(b"\n") + data.count(b"\r") + 1)
    assert len(parsed.contacts) + len({e.line for e in parsed.errors}) <= len(rows)


# --- structured CSV through the CLI, with the store compared before and after ---------------

header_cells = st.lists(
    st.one_of(st.sampled_from(COLUMNS), st.sampled_from(COLUMNS).map(str.upper),
              st.sampled_from(COLUMNS).map(lambda c: f" {c} "), st.sampled_from(
                  ["mail", "e-mail", "", "email;name", "\ufeffemail", "name\x00"])),
    min_size=0, max_size=10,
)
good_header = st.permutations(list(COLUMNS))
cells = st.one_of(
    nasty_text,
    st.sampled_from(["ok@example.org", "OK@Example.ORG", "a@b", "x@example.org;y@example.org",
                     "igos", "igos;ecosoc-ngos", "member-states;nope", "FRA", "fr", "weog",
                     "female"]),
    st.sampled_from([FIELD_LIMIT + 1, 250, 301]).map(lambda n: "x" * n),
)


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[bytes, str, bool]:
    """(file bytes, encoding, whether the text is well-formed CSV written by csv.writer)."""
    header = draw(st.one_of(good_header, good_header, header_cells))
    width = max(len(header), 1)
    rows = draw(st.lists(st.lists(cells, min_size=0, max_size=width + 2), max_size=6))
    for number, row in enumerate(rows):  # mostly valid addresses, so rows reach the store
        if row and draw(st.booleans()):
            row[0] = f"fuzz{next(NUMBER)}-{number}@example.org"
    terminator = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    well_formed = draw(st.booleans())
    if well_formed:
        out = io.StringIO()
        quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
        csv.writer(out, lineterminator=terminator, quoting=quoting).writerows([header, *rows])
        text = out.getvalue()
    else:  # hand-joined: stray quotes and separators inside cells stay unescaped
        text = terminator.join(",".join(r) for r in [header, *rows]) + terminator
    encoding = draw(st.sampled_from(["utf-8"] * 4 + ENCODINGS))
    return text.encode(encoding, errors="replace"), encoding, well_formed


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A store with the sample contacts in it, and the settings that point the CLI at it."""
    root = tmp_path_factory.mktemp("cli")
    env = {"IMRF_DATABASE_URL": f"sqlite:///{root / 'imrf.db'}",
           "IMRF_CONFIG_DIR": str(Path(__file__).resolve().parents[2] / "config"),
           "IMRF_DATA_DIR": str(root / "data")}
    result = CliRunner().invoke(app, ["contacts", "import", str(SAMPLE)], env=env)
    assert result.exit_code == 0, result.output
    yield env


@pytest.fixture(scope="module")
def cli_store(cli_env: dict[str, str]) -> Iterator[Store]:
    store = Store(cli_env["IMRF_DATABASE_URL"])
    yield store
    store.dispose()


@fuzz(80)
@given(file=csv_files())
def test_cli_import_of_any_csv_refuses_reports_or_imports(
    cli_env: dict[str, str], cli_store: Store, tmp_path_factory: pytest.TempPathFactory,
    file: tuple[bytes, str, bool],
) -> None:
    data, encoding, _ = file
    path = tmp_path_factory.mktemp("csv") / "contacts.csv"
    path.write_bytes(data)
    before = snapshot(cli_store)
    result = CliRunner().invoke(app, ["contacts", "import", str(path), "--format", "json"],
                                env=cli_env)
    assert result.exit_code in (0, 1, 2), (result.exit_code, result.output, result.exception)
    event(f"exit code {result.exit_code}")
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    after = snapshot(cli_store)
    if result.exit_code == 2:
        message = result.stderr.removeprefix("imrf: error: ").rstrip("\n")
        assert_one_line_naming(message, path)
        assert result.stdout == ""
        assert after == before  # nothing half-written
        return
    # UTF-16 is never mistaken for UTF-8 (its BOM or its NULs give it away).
    assert encoding not in {"utf-16", "utf-16-le", "utf-16-be"} or not data.strip(b"\x00")
    report = json.loads(result.stdout)
    assert (result.exit_code == 1) == bool(report["errors"])
    assert_row_errors_are_actionable([RowError.model_validate(e) for e in report["errors"]],
                                     data.count(b"\n") + data.count(b"\r") + 1)
    assert len(after[0]) == len(before[0]) + report["imported"]
    # What was stored is one line of text per field: fit for a mail header.
    for row in after[0]:
        for value in row:
            assert not isinstance(value, str) or not any(
                ord(ch) < 32 or 0x7F <= ord(ch) <= 0x9F for ch in value), row


# --- nothing half-written when the database fails mid-import ------------------------------


def test_a_failure_between_the_two_tables_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(f"sqlite:///{tmp_path / 'imrf.db'}")
    store.ensure_schema()
    registry = ContactRegistry(store)
    registry.import_rows(read_csv(SAMPLE))
    before = snapshot(store)

    import imrf.contacts

    real = imrf.contacts.bulk_insert
    calls = itertools.count()

    def failing_second_insert(*args: Any, **kwargs: Any) -> Any:
        if next(calls) == 1:  # the contacts are written; the audiences fail
            raise RuntimeError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(imrf.contacts, "bulk_insert", failing_second_insert)
    rows = [SourceRow(2, {"email": "new@example.org", "name": "New", "organization": "O",
                          "audiences": "igos"}),
            SourceRow(3, {"email": before[0][0][1], "name": "Renamed", "organization": "O",
                          "audiences": "igos;ecosoc-ngos"})]
    with pytest.raises(RuntimeError, match="disk full"):
        registry.import_rows(rows)
    assert snapshot(store) == before
    store.dispose()

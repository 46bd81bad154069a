"""The contact registry: CSV reading, row validation, upserts, lookups, the CLI."""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from imrf.cli.main import app
from imrf.contacts import (
    Addressee,
    ContactFileError,
    ContactRegistry,
    ContactRow,
    SourceRow,
    parse_rows,
    read_csv,
)
from imrf.store import Store
from imrf.vocabulary import Audience, RegionalGroup

SAMPLE = Path(__file__).resolve().parents[1] / "config" / "contacts-sample.csv"
HEADER = "email,name,organization,audiences,country,regional_group,gender,language\n"


@pytest.fixture
def registry(store: Store) -> ContactRegistry:
    return ContactRegistry(store)


def write(tmp_path: Path, body: str, name: str = "contacts.csv") -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8", newline="")
    return path


def rows_of(body: str, tmp_path: Path) -> list[SourceRow]:
    return read_csv(write(tmp_path, body))


# --- the sample file ------------------------------------------------------------------------


def test_sample_file_imports_cleanly_and_covers_every_audience(registry: ContactRegistry) -> None:
    report = registry.import_rows(read_csv(SAMPLE))
    assert report.errors == []
    assert report.imported == registry.count() >= 35
    found = registry.all_contacts()
    assert {a for c in found for a in c.audiences} == set(Audience)
    assert len({c.regional_group for c in found} - {None}) == len(RegionalGroup)
    assert len({c.gender for c in found} - {None}) >= 3
    assert len({c.language for c in found} - {None}) >= 4
    # Fictional: reserved example domains only.
    assert all(c.email.rsplit("@", 1)[1].split(".")[-2] == "example" for c in found)


def test_reimporting_the_same_file_changes_nothing(registry: ContactRegistry) -> None:
    first = registry.import_rows(read_csv(SAMPLE))
    again = registry.import_rows(read_csv(SAMPLE))
    assert (again.imported, again.updated, again.unchanged) == (0, 0, first.imported)
    assert registry.count() == first.imported


# --- good rows -----------------------------------------------------------------------------


def test_values_are_stored_as_given_and_normalized_where_documented(
    registry: ContactRegistry, tmp_path: Path
) -> None:
    body = HEADER + (
        ' Ana.Lima@Example.ORG ,  Ana <b>Lima</b> {{ x }} ,"Org, ""quoted""",'
        ' network ; IGOS;network ,bra,GRULAC,female,pt-BR\n'
        "solo@example.org,Solo,,operators,,,,\n"
    )
    report = registry.import_rows(rows_of(body, tmp_path))
    assert report.errors == [] and report.imported == 2
    ana, solo = registry.all_contacts()
    assert ana == ContactRow(
        email="ana.lima@example.org", name="Ana <b>Lima</b> {{ x }}",
        organization='Org, "quoted"', audiences=(Audience.IGOS, Audience.NETWORK),
        country="BRA", regional_group=RegionalGroup.GRULAC, gender="female", language="pt-BR",
    )
    assert solo == ContactRow(email="solo@example.org", name="Solo", organization="",
                              audiences=(Audience.OPERATORS,))


def test_optional_columns_may_be_absent(registry: ContactRegistry, tmp_path: Path) -> None:
    body = "Name,EMAIL,audiences,organization\nBo,bo@example.org,igos,IO\n"
    report = registry.import_rows(rows_of(body, tmp_path))
    assert report.imported == 1
    assert registry.all_contacts()[0].country is None


def test_a_byte_order_mark_and_crlf_line_ends_are_accepted(
    registry: ContactRegistry, tmp_path: Path
) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(("\ufeff" + HEADER + "x@example.org,X,O,igos,,,,\n").replace(
        "\n", "\r\n").encode("utf-8"))
    assert registry.import_rows(read_csv(path)).imported == 1


# --- bad rows ------------------------------------------------------------------------------

BAD_ROWS = [
    ("not-an-address,A,O,igos,,,,", "email", "not a valid e-mail address"),
    (",A,O,igos,,,,", "email", "required"),
    ("a@b@example.org,A,O,igos,,,,", "email", "not a valid e-mail address"),
    ("a@localhost,A,O,igos,,,,", "email", "not a valid e-mail address"),
    ("b@example.org,,O,igos,,,,", "name", "required"),
    ("c@example.org,C,O,,,,,", "audiences", "required"),
    ("d@example.org,D,O,igos;martians,,,,", "audiences", "unknown audience(s) 'martians'"),
    ("e@example.org,E,O,igos,France,,,", "country", "not an ISO 3166-1 alpha-3 code"),
    ("f@example.org,F,O,igos,,nordic,,", "regional_group", "unknown regional group 'nordic'"),
    ("g@example.org,G,O,igos,,,,english", "language", "not a language tag"),
    (f"h@example.org,{'H' * 201},O,igos,,,,", "name", "longer than 200 characters"),
    (f"i@example.org,I,{'O' * 301},igos,,,,", "organization", "longer than 300 characters"),
    ('j@example.org,"J\nK",O,igos,,,,', "name", "U+000A"),
    ("k@example.org,K\u2028L,O,igos,,,,", "name", "U+2028"),
    ("l@example.org,L\x00,O,igos,,,,", "name", "U+0000"),
    ("m@example.org,M,O,igos,,,,,surplus", "row", "beyond the header"),
]


@pytest.mark.parametrize(("line", "field", "reason"), BAD_ROWS)
def test_each_kind_of_bad_row_is_reported_and_the_good_rows_imported(
    registry: ContactRegistry, tmp_path: Path, line: str, field: str, reason: str
) -> None:
    body = f"{HEADER}good1@example.org,G1,O,igos,,,,\n{line}\ngood2@example.org,G2,O,igos,,,,\n"
    report = registry.import_rows(rows_of(body, tmp_path))
    assert report.imported == 2 and report.rejected == 1
    [error] = report.errors
    assert (error.line, error.field) == (3, field)
    assert reason in error.reason
    assert [c.email for c in registry.all_contacts()] == ["good1@example.org", "good2@example.org"]


def test_all_errors_of_a_row_are_reported_with_lines_counted_across_quoted_newlines(
    tmp_path: Path,
) -> None:
    body = HEADER + (
        'a@example.org,"Two\nLines",O,igos,,,,\n'  # lines 2-3
        "\n"  # line 4, blank: skipped
        "bad,,O,aliens,XX,west,,\n"  # line 5
    )
    parsed = parse_rows(rows_of(body, tmp_path))
    assert parsed.contacts == []
    assert [(e.line, e.field) for e in parsed.errors] == [
        (2, "name"), (5, "email"), (5, "name"), (5, "audiences"), (5, "country"),
        (5, "regional_group"),
    ]


def test_a_later_duplicate_address_is_reported_and_the_first_row_kept(
    registry: ContactRegistry, tmp_path: Path
) -> None:
    body = HEADER + "dup@example.org,First,O,igos,,,,\nDUP@Example.org,Second,O,network,,,,\n"
    report = registry.import_rows(rows_of(body, tmp_path))
    assert report.imported == 1
    [error] = report.errors
    assert (error.line, error.field) == (3, "email")
    assert "duplicate of line 2" in error.reason
    [contact] = registry.all_contacts()
    assert (contact.name, contact.audiences) == ("First", (Audience.IGOS,))


# --- re-import -----------------------------------------------------------------------------


def test_reimport_updates_by_case_insensitive_address_and_replaces_audiences(
    registry: ContactRegistry, tmp_path: Path
) -> None:
    first = HEADER + (
        "Ana@Example.org,Ana,Old Org,igos;network,,,,en\n"
        "bo@example.org,Bo,Org,igos,,,,\n"
    )
    registry.import_rows(rows_of(first, tmp_path))
    second = HEADER + (
        "ana@EXAMPLE.org,Ana,New Org,network;co-chairs,PER,grulac,,es\n"
        "bo@example.org,Bo,Org,igos,,,,\n"
        "cy@example.org,Cy,Org,operators,,,,\n"
    )
    report = registry.import_rows(rows_of(second, tmp_path))
    assert (report.imported, report.updated, report.unchanged) == (1, 1, 1)
    assert registry.count() == 3
    ana = registry.all_contacts()[0]
    assert ana.email == "ana@example.org"
    assert ana.organization == "New Org" and ana.language == "es"
    assert ana.audiences == (Audience.CO_CHAIRS, Audience.NETWORK)
    assert registry.contacts_for([Audience.IGOS])[0].email == "bo@example.org"


# --- lookups -------------------------------------------------------------------------------


def test_contacts_for_audiences_and_filters(registry: ContactRegistry) -> None:
    registry.import_rows(read_csv(SAMPLE))
    everyone = registry.all_contacts()
    wanted = {Audience.CO_CHAIRS, Audience.PGA_OFFICE}
    found = registry.contacts_for([Audience.CO_CHAIRS, Audience.PGA_OFFICE])
    assert found == [c for c in everyone if wanted & set(c.audiences)]
    assert len(found) >= 3
    african = registry.contacts_for([Audience.MEMBER_STATES],
                                    regional_group=RegionalGroup.AFRICAN)
    assert african and all(c.regional_group is RegionalGroup.AFRICAN for c in african)
    assert [c.email for c in registry.contacts_for([Audience.MEMBER_STATES], country="ken")] == [
        "amara.okonkwo@mission-ken.example.int"
    ]
    french = registry.contacts_for(list(Audience), language="fr")
    assert french and all(c.language == "fr" for c in french)
    assert registry.contacts_for([]) == []


def test_recipients_for_are_the_same_people_with_what_a_message_needs(
    registry: ContactRegistry,
) -> None:
    registry.import_rows(read_csv(SAMPLE))
    lookups: list[tuple[list[Audience], dict[str, object]]] = [
        ([Audience.CO_CHAIRS, Audience.PGA_OFFICE], {}),
        ([Audience.MEMBER_STATES], {"regional_group": RegionalGroup.AFRICAN}),
        ([Audience.MEMBER_STATES], {"country": "ken"}),
        (list(Audience), {"language": "fr"}),
        (list(Audience), {}),
        ([], {}),
    ]
    for audiences, filters in lookups:
        contacts = registry.contacts_for(audiences, **filters)  # type: ignore[arg-type]
        found = registry.recipients_for(audiences, **filters)  # type: ignore[arg-type]
        assert found == [Addressee(c.email, c.name, c.organization) for c in contacts]
        assert [r.email for r in found] == sorted(r.email for r in found)
    assert len(registry.recipients_for(list(Audience))) == registry.count()


def test_looked_up_contacts_equal_the_imported_ones(registry: ContactRegistry) -> None:
    parsed = parse_rows(read_csv(SAMPLE)).contacts
    registry.import_rows(read_csv(SAMPLE))
    by_email = {c.email: c for c in registry.all_contacts()}
    assert all(by_email[c.email] == c for c in parsed)
    assert any(c.regional_group is not None for c in by_email.values())
    assert all(c.regional_group is None or isinstance(c.regional_group, RegionalGroup)
               for c in by_email.values())


# --- file-level errors ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "empty"),
        (b"email,name,organization\nx@example.org,X,O\n", "missing required column(s) audiences"),
        (b"email,name,organization,audiences,region\n", "unknown column(s) 'region'"),
        (b"email,name,email,organization,audiences\n", "email appear more than once"),
        (HEADER.encode() + b"x@example.org,Caf\xe9,O,igos,,,,\n",
         "not UTF-8 text (byte 0xe9 on line 2)"),
        (HEADER.encode("utf-16-le"), "UTF-16 or binary"),
        (HEADER.encode() + b'x@example.org,"unterminated,O,igos\n', "not valid CSV"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not UTF-8 text"),
    ],
)
def test_file_level_errors_name_the_file(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "contacts.csv"
    path.write_bytes(content)
    with pytest.raises(ContactFileError) as info:
        read_csv(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert "\n" not in message


def test_missing_file_and_directory_name_the_path(tmp_path: Path) -> None:
    with pytest.raises(ContactFileError, match="no such file"):
        read_csv(tmp_path / "absent.csv")
    with pytest.raises(ContactFileError, match="cannot read"):
        read_csv(tmp_path)


# --- 10,000 rows ---------------------------------------------------------------------------


def ten_thousand_rows() -> str:
    audiences = [a.value for a in Audience]
    lines = [HEADER]
    for i in range(10_000):
        pair = f"{audiences[i % 13]};{audiences[(i * 7 + 3) % 13]}"
        lines.append(f"person{i}@example.org,Person {i},Org {i % 300},{pair},FRA,weog,,fr\n")
    return "".join(lines)


def test_ten_thousand_rows_import_and_reimport(registry: ContactRegistry,
                                                tmp_path: Path) -> None:
    # The import's speed is measured by `make bench` (notify), not asserted here.
    path = write(tmp_path, ten_thousand_rows())
    report = registry.import_rows(read_csv(path))
    assert (report.imported, report.errors) == (10_000, [])
    again = registry.import_rows(read_csv(path))
    assert again.unchanged == 10_000
    found = registry.contacts_for([Audience.NETWORK, Audience.IGOS])
    assert len(found) == len({c.email for c in registry.all_contacts()
                              if {Audience.NETWORK, Audience.IGOS} & set(c.audiences)})


# --- hostile input -------------------------------------------------------------------------

HOSTILE = st.lists(
    st.one_of(
        st.sampled_from([
            "\r\n", "\r", "\n", "\x00", "\x1b[31m", "\u2028", "\u0085", "\ufeff", "\u202e",
            "<script>alert(1)</script>", "{{ 7*7 }}", "{% include '/etc/passwd' %}", "${x}",
            '"', "'", ",", ";", "\\", "  ", "\t", "é", "Zoë", "Nguyễn", "أمينة", "👩🏽‍💻",
            "=cmd|' /C calc'!A0",
        ]),
        st.text(max_size=6),
    ),
    max_size=8,
).map("".join)


def csv_text(records: list[list[str]]) -> str:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(HEADER.strip().split(","))
    writer.writerows(records)
    return out.getvalue()


RUNS = itertools.count()


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('hostile') / 'imrf.db'}")
    yield store
    store.dispose()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fields=st.lists(st.tuples(HOSTILE, HOSTILE, HOSTILE, HOSTILE), min_size=1, max_size=6),
)
@example(fields=[("Ana\r\nBcc: x@example.org", "<b>Org</b>", "{{ g }}", "igos;network")])
def test_hostile_strings_are_imported_verbatim_or_reported(
    hostile_store: Store, tmp_path_factory: pytest.TempPathFactory,
    fields: list[tuple[str, str, str, str]],
) -> None:
    registry = ContactRegistry(hostile_store)
    run = next(RUNS)  # each example gets addresses of its own in the shared store
    records = [[f"h{i}-{run}@example.org", name, org, audiences or "igos", "", "", gender, ""]
               for i, (name, org, gender, audiences) in enumerate(fields)]
    path = tmp_path_factory.mktemp("csv") / "hostile.csv"
    path.write_text(csv_text(records), encoding="utf-8", newline="")
    rows = read_csv(path)
    # The CSV layer itself is verbatim.
    assert [[row.values[c] for c in HEADER.strip().split(",")] for row in rows] == records

    report = registry.import_rows(rows)  # never raises for what a cell holds
    rejected = {error.line for error in report.errors}
    stored = {c.email: c for c in registry.all_contacts()}
    assert report.imported == len(rows) - len(rejected)
    for row, (email, name, org, _, _, _, gender, _) in zip(rows, records, strict=True):
        if row.line in rejected:
            assert email not in stored
        else:
            contact = stored[email]
            assert contact.name == name.strip()
            assert contact.organization == org.strip()
            assert contact.gender == (gender.strip() or None)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["email", "name", "organization", "audiences", "country",
                                        "regional_group", "gender", "language", "other"]),
                       HOSTILE))
def test_any_row_is_either_a_contact_or_row_errors(values: dict[str, str]) -> None:
    parsed = parse_rows([SourceRow(7, values)])
    assert (len(parsed.contacts) == 1) != bool(parsed.errors)
    assert all(error.line == 7 and error.reason for error in parsed.errors)


# --- the CLI -------------------------------------------------------------------------------


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    config = tmp_path / "config"
    config.mkdir()
    return {"IMRF_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
            "IMRF_CONFIG_DIR": str(config), "IMRF_DATA_DIR": str(tmp_path / "data")}


def test_cli_import_then_list(cli_env: dict[str, str]) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["contacts", "import", str(SAMPLE)], env=cli_env)
    assert result.exit_code == 0, result.output
    assert "imported, 0 updated, 0 unchanged, 0 row(s) rejected" in result.stdout
    result = runner.invoke(app, ["contacts", "import", str(SAMPLE), "--format", "json"],
                           env=cli_env)
    assert result.exit_code == 0
    assert json.loads(result.stdout)["updated"] == 0
    result = runner.invoke(app, ["contacts", "list", "--audience", "co-chairs", "--format",
                                 "json"], env=cli_env)
    assert result.exit_code == 0
    listed = json.loads(result.stdout)
    assert listed and all("co-chairs" in c["audiences"] for c in listed)
    result = runner.invoke(app, ["contacts", "list"], env=cli_env)
    assert result.exit_code == 0 and "contact(s)" in result.stdout


def test_cli_reports_rejected_rows_with_exit_code_1(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    path = write(tmp_path, HEADER + "ok@example.org,Ok,O,igos,,,,\nbad,[red]X[/red],O,igos,,,,\n")
    result = CliRunner().invoke(app, ["contacts", "import", str(path)], env=cli_env)
    assert result.exit_code == 1
    assert "1 imported" in result.stdout and "1 row(s) rejected" in result.stdout
    assert "not a valid e-mail address" in result.stdout
    result = CliRunner().invoke(app, ["contacts", "import", str(path), "--format", "json"],
                                env=cli_env)
    assert result.exit_code == 1
    assert json.loads(result.stdout)["errors"][0] == {
        "line": 3, "field": "email", "reason": json.loads(result.stdout)["errors"][0]["reason"]
    }


def test_cli_file_error_is_one_line_with_exit_code_2(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    path = write(tmp_path, "mail,name\n")
    result = CliRunner().invoke(app, ["contacts", "import", str(path)], env=cli_env)
    assert result.exit_code == 2
    assert result.stderr.strip().startswith(f"imrf: error: {path}: unknown column(s) 'mail'")
    assert result.stderr.count("\n") == 1 and result.stdout == ""


def test_cli_bad_settings_are_one_line_with_exit_code_2(cli_env: dict[str, str]) -> None:
    env = cli_env | {"IMRF_DATABASE_URL": "postgresql+psycopg://u:pw-zz9@127.0.0.1:1/x"}
    result = CliRunner().invoke(app, ["contacts", "list"], env=env)
    assert result.exit_code == 2
    assert "cannot open database" in result.stderr and "pw-zz9" not in result.stderr

"""The contact registry: who receives the cycle's messages, and the CSV importer that feeds it.

A CSV file has the columns ``email,name,organization,audiences`` (audiences separated by
``;``) and optionally ``country,regional_group,gender,language``. :func:`read_csv` turns a file
into numbered rows or refuses the whole file (not UTF-8, not CSV, a required column missing);
:func:`parse_rows` validates rows without touching the database;
:meth:`ContactRegistry.import_rows` stores the good rows (one transaction, bulk upserts) and
reports the bad ones by line, field and reason.

Values are stored as given, surrounding whitespace stripped (so HTML, ``{{ }}``, quotes and
any script arrive verbatim: escaping is the renderer's job); control characters and line
breaks are refused, because names go into mail headers. Country codes are upper-cased and
regional groups and audiences lower-cased. The e-mail address is stored lower-cased, so a
re-import that differs only in case updates the same contact. When one file holds an
address twice, the first row is imported and the later one is reported as a duplicate (so
the report shows the conflict instead of silently picking a winner).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, computed_field
from sqlalchemy import RowMapping, bindparam, delete, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement

from imrf.store import Store
from imrf.store.bulk import bulk_insert, chunks
from imrf.store.tables import contact_audiences, contacts
from imrf.vocabulary import Audience, RegionalGroup

REQUIRED_COLUMNS = ("email", "name", "organization", "audiences")
OPTIONAL_COLUMNS = ("country", "regional_group", "gender", "language")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
_LIMITS = {"name": 200, "organization": 300, "gender": 50}
_COUNTRY = re.compile(r"^[A-Z]{3}$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
# Control characters (Unicode category Cc), line/paragraph separators (Zl, Zp) and unpaired
# surrogates (Cs): a value goes into mail headers and must stay on one line.
_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
# RFC 2047 encoded words: Python's email package (3.11.7 here) decodes one in a display
# name and writes the decoded CR/LF into the header, opening a header of its own.
_ENCODED_WORD = re.compile(r"=\?[^?\s]*\?[bBqQ]\?[^?\s]*\?=")
_AUDIENCES = {audience.value: audience for audience in Audience}
_AUDIENCE_ORDER = {audience: index for index, audience in enumerate(Audience)}


class ContactFileError(ValueError):
    """The file as a whole cannot be imported; the message is one line naming the file."""


class SourceRow(NamedTuple):
    """One CSV record: the line it starts on, its values by column, any cells beyond the header."""

    line: int
    values: Mapping[str, str | None]
    extra: tuple[str, ...] = ()


class RowError(BaseModel):
    model_config = ConfigDict(frozen=True)

    line: int
    field: str
    reason: str


class ContactRow(BaseModel):
    """A contact as stored in the registry."""

    model_config = ConfigDict(frozen=True)

    email: str  # lower-cased
    name: str
    organization: str
    audiences: tuple[Audience, ...]  # in the vocabulary's order, no duplicates
    country: str | None = None  # ISO 3166-1 alpha-3
    regional_group: RegionalGroup | None = None
    gender: str | None = None
    language: str | None = None


class Addressee(NamedTuple):
    """What a message needs of a contact (see :meth:`ContactRegistry.recipients_for`)."""

    email: str  # lower-cased
    name: str
    organization: str


class ImportReport(BaseModel):
    """What an import did: counts of contacts written and the rows it refused."""

    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def rejected(self) -> int:
        """How many rows were refused (a row may have several errors)."""
        return len({error.line for error in self.errors})


class ParsedRows(NamedTuple):
    contacts: list[ContactRow]
    errors: list[RowError]


# --- reading a file -------------------------------------------------------------------------


def read_csv(
    path: Path,
    *,
    required: Sequence[str] = REQUIRED_COLUMNS,
    optional: Sequence[str] = OPTIONAL_COLUMNS,
) -> list[SourceRow]:
    """Read a CSV file (UTF-8, an optional BOM) into numbered rows.

    The columns default to the contacts'; other registries (e.g. the stakeholder list) pass
    their own ``required`` and ``optional`` columns.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ContactFileError(f"{path}: no such file") from None
    except OSError as exc:
        raise ContactFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ContactFileError(
            f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line})"
        ) from None
    # strict: an unterminated quote must refuse the file, not swallow the rows after it.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = _header(path, next(reader, None), tuple(required), tuple(optional))
        return list(_records(reader, header))
    except csv.Error as exc:
        raise ContactFileError(f"{path}: line {reader.line_num}: not valid CSV: {exc}") from None


def _header(path: Path, cells: list[str] | None, required: tuple[str, ...] = REQUIRED_COLUMNS,
            optional: tuple[str, ...] = OPTIONAL_COLUMNS) -> list[str]:
    known = required + optional
    expected = ",".join(required)
    if not cells or not any(cell.strip() for cell in cells):
        raise ContactFileError(f"{path}: empty: expected a header line {expected}")
    if any("\x00" in cell for cell in cells):
        raise ContactFileError(f"{path}: NUL characters in the header: UTF-16 or binary, not UTF-8")
    header = [cell.strip().lower() for cell in cells]
    unknown = [name for name in header if name not in known]
    if unknown:
        raise ContactFileError(
            f"{path}: unknown column(s) {', '.join(map(repr, unknown))}; "
            f"known columns: {', '.join(known)}"
        )
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise ContactFileError(f"{path}: column(s) {', '.join(repeated)} appear more than once")
    missing = [name for name in required if name not in header]
    if missing:
        raise ContactFileError(
            f"{path}: missing required column(s) {', '.join(missing)} "
            f"(is it a CSV file with the header {expected}?)"
        )
    return header


def _records(reader: Any, header: list[str]) -> Iterator[SourceRow]:
    start = reader.line_num + 1
    for record in reader:
        if any(cell.strip() for cell in record):
            values = dict(zip(header, record, strict=False))
            yield SourceRow(start, values, tuple(record[len(header) :]))
        start = reader.line_num + 1


# --- validating rows (pure) ---------------------------------------------------------------


def parse_rows(rows: Iterable[SourceRow]) -> ParsedRows:
    """Validate rows; return the good contacts (one per address) and every problem found."""
    contacts_by_email: dict[str, tuple[int, ContactRow]] = {}
    errors: list[RowError] = []
    for row in rows:
        contact, problems = _parse_row(row)
        if contact is not None and contact.email in contacts_by_email:
            first = contacts_by_email[contact.email][0]
            problems = [("email", f"duplicate of line {first} ({contact.email}); row skipped")]
        if problems:
            errors.extend(RowError(line=row.line, field=f, reason=r) for f, r in problems)
        elif contact is not None:
            contacts_by_email[contact.email] = (row.line, contact)
    return ParsedRows([contact for _, contact in contacts_by_email.values()], errors)


def _parse_row(row: SourceRow) -> tuple[ContactRow | None, list[tuple[str, str]]]:
    problems: list[tuple[str, str]] = []
    if any(cell.strip() for cell in row.extra):
        problems.append(("row", f"{len(row.extra)} cell(s) beyond the header's columns"))
    values: dict[str, Any] = {}
    for column in COLUMNS:
        raw = row.values.get(column) or ""
        value = raw.strip()
        if value and (bad := _forbidden_character(value)):
            problems.append((column, f"contains {bad}, which is not allowed"))
            continue
        try:
            values[column] = _CHECKS[column](value)
        except ValueError as exc:
            problems.append((column, str(exc)))
    if problems:
        return None, problems
    return ContactRow(**values), []


def _forbidden_character(value: str) -> str | None:
    found = _FORBIDDEN.search(value)
    if found is None:
        return None
    return f"the control or line-break character U+{ord(found.group()):04X}"


def _email(value: str) -> str:
    if not value:
        raise ValueError("required")
    try:
        checked = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"not a valid e-mail address: {exc}") from None
    return checked.normalized.lower()


def _text(column: str, *, required: bool) -> Any:
    def check(value: str) -> str | None:
        if not value:
            if required:
                raise ValueError("required")
            return "" if column == "organization" else None
        if len(value) > _LIMITS[column]:
            raise ValueError(f"longer than {_LIMITS[column]} characters")
        if _ENCODED_WORD.search(value):
            raise ValueError("contains an encoded word (=?charset?q?...?=), which mail software "
                             "decodes: it could hide a line break in a mail header")
        return value

    return check


def _audiences(value: str) -> tuple[Audience, ...]:
    names = {name.strip().lower() for name in value.split(";") if name.strip()}
    if not names:
        raise ValueError("required: one or more audiences separated by ';'")
    unknown = sorted(names - _AUDIENCES.keys())
    if unknown:
        known = ", ".join(_AUDIENCES)
        raise ValueError(f"unknown audience(s) {', '.join(map(repr, unknown))}; known: {known}")
    return _ordered(names)


def _ordered(names: Iterable[str]) -> tuple[Audience, ...]:
    """Audiences in the vocabulary's order, so equal sets compare equal."""
    return tuple(sorted((_AUDIENCES[name] for name in names), key=_AUDIENCE_ORDER.__getitem__))


def _country(value: str) -> str | None:
    if not value:
        return None
    if not _COUNTRY.match(value.upper()):
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-3 code (three letters)")
    return value.upper()


def _regional_group(value: str) -> RegionalGroup | None:
    if not value:
        return None
    try:
        return RegionalGroup(value.lower())
    except ValueError:
        known = ", ".join(g.value for g in RegionalGroup)
        raise ValueError(f"unknown regional group {value!r}; known: {known}") from None


def _language(value: str) -> str | None:
    if not value:
        return None
    if len(value) > 35 or not _LANGUAGE.match(value):
        raise ValueError(f"{value!r} is not a language tag such as 'en', 'fr' or 'pt-BR'")
    return value


_CHECKS: dict[str, Any] = {
    "email": _email,
    "name": _text("name", required=True),
    "organization": _text("organization", required=False),
    "audiences": _audiences,
    "country": _country,
    "regional_group": _regional_group,
    "gender": _text("gender", required=False),
    "language": _language,
}


# --- the registry -----------------------------------------------------------------------------

_FIELDS = ("name", "organization", "country", "regional_group", "gender", "language")


class ContactRegistry:
    """The contacts in the store; every method is one transaction."""

    def __init__(self, store: Store) -> None:
        self._store = store

    @property
    def store(self) -> Store:
        return self._store

    def import_rows(self, rows: Iterable[SourceRow]) -> ImportReport:
        """Validate ``rows``, upsert the good ones (by e-mail) and report the rest."""
        parsed = parse_rows(rows)
        with self._store.unit_of_work() as uow:
            imported, updated, unchanged = _upsert(uow.connection, parsed.contacts)
            uow.commit()
        errors = sorted(parsed.errors, key=lambda e: e.line)
        return ImportReport(imported=imported, updated=updated, unchanged=unchanged, errors=errors)

    def contacts_for(
        self,
        audiences: Iterable[Audience],
        *,
        regional_group: RegionalGroup | None = None,
        country: str | None = None,
        language: str | None = None,
    ) -> list[ContactRow]:
        """Contacts in any of ``audiences`` (and the given group/country/language), by e-mail."""
        conditions = _conditions(audiences, regional_group, country, language)
        return [] if conditions is None else self._select(conditions)

    def recipients_for(
        self,
        audiences: Iterable[Audience],
        *,
        regional_group: RegionalGroup | None = None,
        country: str | None = None,
        language: str | None = None,
    ) -> list[Addressee]:
        """Who :meth:`contacts_for` returns, as just what a message needs (one query).

        For a fan-out to thousands: no audiences and no model per contact to build.
        """
        conditions = _conditions(audiences, regional_group, country, language)
        if conditions is None:
            return []
        query = (
            select(contacts.c.email, contacts.c.name, contacts.c.organization)
            .where(*conditions)
            .order_by(contacts.c.email)
        )
        with self._store.unit_of_work(read_only=True) as uow:
            rows = uow.connection.execute(query).all()
        return list(map(Addressee._make, rows))

    def all_contacts(self) -> list[ContactRow]:
        """Every contact, by e-mail."""
        return self._select([])

    def count(self) -> int:
        """How many contacts the registry holds."""
        with self._store.unit_of_work(read_only=True) as uow:
            return uow.connection.execute(select(func.count()).select_from(contacts)).scalar_one()

    def _select(self, conditions: Sequence[ColumnElement[bool]]) -> list[ContactRow]:
        with self._store.unit_of_work(read_only=True) as uow:
            conn = uow.connection
            query = select(contacts).where(*conditions).order_by(contacts.c.email)
            rows = conn.execute(query).mappings().all()
            ids = select(contacts.c.id).where(*conditions)
            pairs = conn.execute(
                select(contact_audiences.c.contact_id, contact_audiences.c.audience).where(
                    contact_audiences.c.contact_id.in_(ids)
                )
            ).all()
        by_contact: dict[int, set[str]] = {}
        for contact_id, audience in pairs:
            by_contact.setdefault(contact_id, set()).add(audience)
        return [_contact(row, by_contact.get(row["id"], set())) for row in rows]


def _conditions(
    audiences: Iterable[Audience],
    regional_group: RegionalGroup | None,
    country: str | None,
    language: str | None,
) -> list[ColumnElement[bool]] | None:
    """The WHERE clause of a lookup; None when no audience is asked for (nobody matches)."""
    wanted = sorted({Audience(a).value for a in audiences})
    if not wanted:
        return None
    members = select(contact_audiences.c.contact_id).where(
        contact_audiences.c.audience.in_(wanted)
    )
    conditions: list[ColumnElement[bool]] = [contacts.c.id.in_(members)]
    if regional_group is not None:
        conditions.append(contacts.c.regional_group == RegionalGroup(regional_group).value)
    if country is not None:
        conditions.append(contacts.c.country == country.upper())
    if language is not None:
        conditions.append(contacts.c.language == language)
    return conditions


def _contact(row: RowMapping, audiences: set[str]) -> ContactRow:
    # Every stored value was validated on import; only the enums need rebuilding, so the
    # model is not validated again (a 10,000-contact lookup spent 100 ms on that).
    group = row["regional_group"]
    return ContactRow.model_construct(
        email=row["email"],
        audiences=_ordered(audiences),
        name=row["name"],
        organization=row["organization"],
        country=row["country"],
        regional_group=None if group is None else RegionalGroup(group),
        gender=row["gender"],
        language=row["language"],
    )


def _existing(conn: Connection, emails: Sequence[str]) -> dict[str, tuple[int, ContactRow]]:
    found: dict[str, tuple[int, ContactRow]] = {}
    for chunk in chunks(emails):
        query = (
            select(contacts, contact_audiences.c.audience)
            .outerjoin(contact_audiences, contact_audiences.c.contact_id == contacts.c.id)
            .where(contacts.c.email.in_(chunk))
        )
        rows: dict[str, tuple[RowMapping, set[str]]] = {}
        for row in conn.execute(query).mappings():
            _, audiences = rows.setdefault(row["email"], (row, set()))
            if row["audience"] is not None:
                audiences.add(row["audience"])
        for email, (row, audiences) in rows.items():
            found[email] = (row["id"], _contact(row, audiences))
    return found


def _upsert(conn: Connection, rows: Sequence[ContactRow]) -> tuple[int, int, int]:
    """Write ``rows`` (unique e-mails); return (imported, updated, unchanged)."""
    existing = _existing(conn, [row.email for row in rows])
    new = [row for row in rows if row.email not in existing]
    changed = [row for row in rows if row.email in existing and existing[row.email][1] != row]
    written = new + changed
    if written:
        now = datetime.now(UTC)
        values = [
            {"email": r.email, "created_at": now, "updated_at": now}
            | {f: getattr(r, f) for f in _FIELDS}
            for r in written
        ]
        written_ids = bulk_insert(
            conn, contacts, values,
            conflict=["email"], update=[*_FIELDS, "updated_at"], returning=["email", "id"],
        )
        ids = {row.email: row.id for row in written_ids}
        _write_audiences(conn, [*new, *changed], existing, ids)
    return len(new), len(changed), len(rows) - len(written)


def _write_audiences(
    conn: Connection,
    written: Sequence[ContactRow],
    existing: Mapping[str, tuple[int, ContactRow]],
    ids: Mapping[str, int],
) -> None:
    added: list[dict[str, Any]] = []
    removed: list[dict[str, Any]] = []
    for row in written:
        before = set(existing[row.email][1].audiences) if row.email in existing else set()
        after = set(row.audiences)
        added += [{"contact_id": ids[row.email], "audience": a.value} for a in after - before]
        removed += [{"cid": ids[row.email], "aud": a.value} for a in before - after]
    if removed:
        conn.execute(
            delete(contact_audiences).where(
                contact_audiences.c.contact_id == bindparam("cid"),
                contact_audiences.c.audience == bindparam("aud"),
            ),
            removed,
        )
    bulk_insert(conn, contact_audiences, added, conflict=["audience", "contact_id"])

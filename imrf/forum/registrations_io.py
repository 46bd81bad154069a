"""Rows in and out of the participation registries: validation by field, upserts by key.

The three registries (registrations, the PGA list, delegations) read CSV files through
:func:`imrf.contacts.read_csv` and share what follows: a row is checked field by field (each
problem named by line and field), a key that appears twice in one file keeps the first row
and reports the later one, and the good rows are upserted in one transaction with counts of
imported, updated and unchanged rows (:class:`imrf.contacts.ImportReport`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import Table, bindparam, select, tuple_, update
from sqlalchemy.engine import Connection

from imrf.contacts import RowError, SourceRow
from imrf.store.bulk import bulk_insert, chunks

Check = Callable[[str | None], Any]
Problems = list[tuple[str, str]]


class Parsed(NamedTuple):
    rows: list[dict[str, Any]]  # checked values by column, one per key, in file order
    lines: list[int]  # the line of each row
    errors: list[RowError]


def check_values(values: Mapping[str, str | None],
                 checks: Mapping[str, Check]) -> tuple[dict[str, Any], Problems]:
    """Each column's value through its check; the problems as (field, reason)."""
    checked: dict[str, Any] = {}
    problems: Problems = []
    for column, check in checks.items():
        try:
            checked[column] = check(values.get(column))
        except ValueError as exc:
            problems.append((column, str(exc)))
    return checked, problems


def parse_rows(rows: Iterable[SourceRow], build: Callable[[Mapping[str, str | None]],
               tuple[dict[str, Any], Problems]], key: Callable[[dict[str, Any]], str],
               what: str) -> Parsed:
    """Validate ``rows`` with ``build``; a second row with the same ``key`` is reported."""
    first: dict[str, tuple[int, dict[str, Any]]] = {}
    errors: list[RowError] = []
    for row in rows:
        values, problems = build(row.values)
        if any(cell.strip() for cell in row.extra):
            problems.append(("row", f"{len(row.extra)} cell(s) beyond the header's columns"))
        if not problems:
            k = key(values)
            if k in first:
                problems = [("row", f"duplicate {what}: same as line {first[k][0]}; row "
                             "skipped")]
            else:
                first[k] = (row.line, values)
        errors += [RowError(line=row.line, field=f, reason=r) for f, r in problems]
    return Parsed([values for _, values in first.values()],
                  [line for line, _ in first.values()], sorted(errors, key=lambda e: e.line))


def upsert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]], *,
           keys: Sequence[str], fields: Sequence[str]) -> tuple[int, int, int]:
    """Insert new rows and update changed ones by ``keys``; (imported, updated, unchanged).

    ``rows`` carry the ``keys`` and ``fields`` columns; timestamps are set here.
    """
    key_columns = [table.c[k] for k in keys]
    existing: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    wanted = [tuple(r[k] for k in keys) for r in rows]
    for chunk in chunks(wanted):
        query = select(*key_columns, *(table.c[f] for f in fields)).where(
            tuple_(*key_columns).in_(chunk))
        for found in conn.execute(query):
            existing[tuple(found[: len(keys)])] = tuple(found[len(keys):])
    now = datetime.now(UTC)
    new = [r | {"created_at": now, "updated_at": now} for r, k in zip(rows, wanted, strict=True)
           if k not in existing]
    changed = [r for r, k in zip(rows, wanted, strict=True)
               if k in existing and existing[k] != tuple(r[f] for f in fields)]
    if new:
        bulk_insert(conn, table, new, conflict=list(keys), returning=["id"])
    if changed:
        statement = update(table).where(*(table.c[k] == _param(k) for k in keys)).values(
            {f: _param(f) for f in fields} | {"updated_at": now})
        conn.execute(statement, [{f"p_{c}": r[c] for c in (*keys, *fields)} for r in changed])
    return len(new), len(changed), len(rows) - len(new) - len(changed)


def _param(column: str) -> Any:
    return bindparam(f"p_{column}")

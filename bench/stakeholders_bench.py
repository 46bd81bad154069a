"""Issue 6: a PGA list of 2,000 candidates built and balance-checked (OP7), target < 1 s.

Each repeat starts from a fresh SQLite store and times what an operator's
``imrf stakeholders import`` then ``imrf stakeholders balance`` do: read the CSV file
(``read_csv``), validate and upsert the 2,000 rows in one transaction
(``StakeholderList.import_rows``), read the list back and build the balance report.

The baseline, measured in the same run, is the naive way: one ``StakeholderList.add`` per
candidate (a transaction and a duplicate check per row), timed on 100 candidates and
extrapolated linearly to 2,000. A second figure shows the balance check alone.
"""

from __future__ import annotations

import csv
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import Figure

CANDIDATES = 2_000
BASELINE_SAMPLE = 100
REPEATS = 5
TARGET_S = 1.0
EDITION = 2030
_TYPES = ["ngo", "academia", "private-sector", "trade-union", "migrant-organization",
          "youth-organization", "diaspora"]
_COUNTRIES = ["KEN", "NGA", "IND", "CHN", "POL", "UKR", "BRA", "MEX", "FRA", "DEU", "PHL"]
_GENDERS = ["female", "male", "female", "other"]


def _rows(count: int) -> list[dict[str, str]]:
    return [{"name": f"Candidate {i} <Ünïcode & co>", "organization": f"Organization {i % 700}",
             "organization_type": _TYPES[i % len(_TYPES)], "gender": _GENDERS[i % 4],
             "country": _COUNTRIES[i % len(_COUNTRIES)]} for i in range(count)]


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def run() -> list[Figure]:
    from imrf.contacts import read_csv
    from imrf.forum import stakeholders
    from imrf.forum.objections import ObjectionRegistry
    from imrf.forum.stakeholders_report import balance_of
    from imrf.reference import states
    from imrf.store import Store

    states()  # reference data loaded once, as in a running process
    tmp = Path(tempfile.mkdtemp(prefix="imrf-stakeholders-bench-"))
    source = tmp / "candidates.csv"
    _write(source, _rows(CANDIDATES))

    def fresh(name: str) -> Store:
        store = Store(f"sqlite:///{tmp / name}")
        store.ensure_schema()
        return store

    built: list[float] = []
    balance_only: list[float] = []
    warnings = 0
    for repeat in range(REPEATS + 1):
        store = fresh(f"bulk-{repeat}.db")
        start = time.perf_counter()
        rows = read_csv(source, required=stakeholders.REQUIRED_COLUMNS,
                        optional=stakeholders.OPTIONAL_COLUMNS)
        report = stakeholders.StakeholderList(store).import_rows(EDITION, rows)
        middle = time.perf_counter()
        lists = ObjectionRegistry(store).final_list(EDITION)
        balance = balance_of(EDITION, "proposed", lists.proposed)
        end = time.perf_counter()
        store.dispose()
        assert report.imported == CANDIDATES and balance.total == CANDIDATES, report
        warnings = len(balance.warnings)
        if repeat:  # the first run warms caches (templates, SQLAlchemy compilation)
            built.append(end - start)
            balance_only.append(end - middle)

    naive = fresh("naive.db")
    pga = stakeholders.StakeholderList(naive)
    sample = _rows(BASELINE_SAMPLE)
    start = time.perf_counter()
    for values in sample:
        pga.add(EDITION, values)
    per_row = (time.perf_counter() - start) / BASELINE_SAMPLE
    naive.dispose()

    median = statistics.median(built)
    return [
        Figure(f"PGA list of {CANDIDATES:,} candidates: CSV, import, balance",
               median, baseline=f"one add() per row (x{CANDIDATES // BASELINE_SAMPLE} of "
               f"{BASELINE_SAMPLE})", baseline_s=per_row * CANDIDATES, target_s=TARGET_S,
               extra=f"{warnings} balance warning(s)"),
        Figure(f"  of which: read the list back + balance report ({CANDIDATES:,})",
               statistics.median(balance_only)),
    ]

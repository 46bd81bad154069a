"""`imrf simulate` from the shell, with no server configured: it boots Prefect's temporary
server in the background while it starts up, and stops it when it is done."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest

pytestmark = pytest.mark.prefect
REPO = Path(__file__).resolve().parents[2]
IMRF = str(Path(sys.executable).with_name("imrf"))


def test_simulate_boots_a_temporary_server_and_stops_it(
        tmp_path: Path, child_env: Callable[..., dict[str, str]]) -> None:
    data, cache = tmp_path / "data", tmp_path / "cache"
    env = child_env(IMRF_DATA_DIR=str(data), IMRF_CACHE_DIR=str(cache),
                    PREFECT_LOGGING_LEVEL="WARNING")

    def simulate(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [IMRF, "simulate", "--from", "2030-05-11", "--to", "2030-05-20", *args],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=280, check=False)

    sample = REPO / "config" / "contacts-sample.csv"
    first = simulate("--contacts", str(sample), "--format", "json")
    assert first.returncode == 0, first.stderr[-2000:]
    result = json.loads(first.stdout)
    assert result["stage_runs"] and {r["state"] for r in result["stage_runs"]} == {"Completed"}
    assert result["emails"]["sent"] > 0 and result["duplicates"] == 0
    assert len(list((data / "outbox").glob("*.eml"))) == result["emails"]["sent"]
    # The server ran on the data directory's Prefect database, and is gone.
    prefect_home = data / "prefect"
    assert (prefect_home / "prefect.db").exists()
    ca_file = prefect_home / "loopback-ca.pem"
    assert ca_file.read_text(encoding="ascii").count("BEGIN CERTIFICATE") == 1
    assert not _servers_on(prefect_home)
    # The migrated database kept for the next new data directory holds none of this run.
    [template] = cache.glob("prefect-*.db")
    with closing(sqlite3.connect(template)) as db:
        assert db.execute("SELECT count(*) FROM alembic_version").fetchone()[0] == 1
        assert db.execute("SELECT count(*) FROM flow_run").fetchone()[0] == 0

    again = simulate("--format", "json")
    assert again.returncode == 0, again.stderr[-2000:]
    repeated = json.loads(again.stdout)
    # Nothing new: reminders the ledger has settled are not even fanned out again.
    assert repeated["emails"]["sent"] == 0 and repeated["duplicates"] == 0
    assert len(list((data / "outbox").glob("*.eml"))) == result["emails"]["sent"]
    assert not _servers_on(prefect_home)


def _servers_on(prefect_home: Path) -> list[int]:
    """Processes still running a Prefect server on this Prefect home."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            environ = (proc / "environ").read_bytes()
        except OSError:
            continue
        if b"create_app" in cmdline and \
                f"PREFECT_HOME={prefect_home}".encode() in environ:
            found.append(int(proc.name))
    return found

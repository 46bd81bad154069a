"""The embedded default's Prefect settings, computed without importing Prefect."""

from __future__ import annotations

import importlib.metadata
import os
import sqlite3
import ssl
from contextlib import closing
from pathlib import Path

import pytest

from imrf.prefect_env import (
    TemporaryServer,
    apply_defaults,
    database_template,
    default_database,
    local_env,
    save_template,
    seed_database,
)


def test_local_env_keeps_everything_under_the_data_dir(tmp_path: Path) -> None:
    env = local_env(tmp_path, port=4321)
    assert env["PREFECT_HOME"] == str(tmp_path / "prefect")
    assert env["PREFECT_API_URL"] == env["PREFECT_UI_API_URL"] == "http://127.0.0.1:4321/api"
    assert env["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false" and env["DO_NOT_TRACK"] == "1"


def test_users_api_url_also_points_the_ui(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # Bug seen in the browser: a UI served on 4311 called 4200's API and showed nothing.
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4311/api")
    monkeypatch.delenv("PREFECT_UI_API_URL", raising=False)
    monkeypatch.delenv("PREFECT_HOME", raising=False)
    apply_defaults(local_env(tmp_path))
    assert os.environ["PREFECT_API_URL"] == "http://127.0.0.1:4311/api"
    assert os.environ["PREFECT_UI_API_URL"] == "http://127.0.0.1:4311/api"
    assert os.environ["PREFECT_HOME"] == str(tmp_path / "prefect")


def test_users_own_settings_win(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_HOME", "/srv/prefect")
    monkeypatch.setenv("PREFECT_UI_API_URL", "https://imrf.example.org/api")
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    apply_defaults(local_env(tmp_path))
    assert os.environ["PREFECT_HOME"] == "/srv/prefect"
    assert os.environ["PREFECT_UI_API_URL"] == "https://imrf.example.org/api"
    assert os.environ["PREFECT_API_URL"] == "http://127.0.0.1:4200/api"


def test_the_temporary_servers_clients_get_a_one_certificate_ca_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PREFECT_API_SSL_CERT_FILE", raising=False)
    ca_file = TemporaryServer._one_certificate(tmp_path)
    assert ca_file is not None
    assert ca_file.read_text(encoding="ascii").count("-----BEGIN CERTIFICATE-----") == 1
    assert ssl.create_default_context(cafile=str(ca_file)).cert_store_stats()["x509_ca"] == 1
    # A CA file the user chose is theirs: nothing is written, Prefect reads theirs.
    monkeypatch.setenv("PREFECT_API_SSL_CERT_FILE", "/etc/ssl/mine.pem")
    assert TemporaryServer._one_certificate(tmp_path / "other") is None
    assert not (tmp_path / "other").exists()


def test_the_database_template_is_per_prefect_version_in_the_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    version = importlib.metadata.version("prefect")
    monkeypatch.delenv("IMRF_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert database_template() == tmp_path / "xdg" / "imrf" / f"prefect-{version}.db"
    monkeypatch.setenv("IMRF_CACHE_DIR", str(tmp_path / "mine"))
    assert database_template() == tmp_path / "mine" / f"prefect-{version}.db"


def test_only_prefects_default_database_is_seeded(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "home"))
    for name in ("PREFECT_API_DATABASE_CONNECTION_URL", "PREFECT_SERVER_DATABASE_CONNECTION_URL",
                 "PREFECT_SERVER_DATABASE_DRIVER", "PREFECT_SERVER_DATABASE_NAME",
                 "PREFECT_SERVER_DATABASE_HOST"):
        monkeypatch.delenv(name, raising=False)
    assert default_database() == tmp_path / "home" / "prefect.db"
    monkeypatch.setenv("PREFECT_SERVER_DATABASE_CONNECTION_URL",
                       "postgresql+asyncpg://127.0.0.1/prefect")
    assert default_database() is None


def _wal_database(path: Path, rows: int) -> sqlite3.Connection:
    """A database in WAL mode whose last rows are still in the WAL (the connection stays
    open, as a running server's would)."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    conn.execute("CREATE TABLE runs (n INTEGER)")
    conn.executemany("INSERT INTO runs VALUES (?)", [(n,) for n in range(rows)])
    conn.commit()
    return conn


def _rows(path: Path) -> int:
    with closing(sqlite3.connect(path)) as conn:
        return int(conn.execute("SELECT count(*) FROM runs").fetchone()[0])


def test_a_running_servers_database_is_saved_whole_and_seeds_new_homes(tmp_path: Path) -> None:
    database, template = tmp_path / "first" / "prefect.db", tmp_path / "cache" / "prefect.db"
    database.parent.mkdir()
    with closing(_wal_database(database, 3)):
        assert save_template(database, template)
    assert _rows(template) == 3
    assert not list(template.parent.glob(".*"))  # no partial file left behind
    # A template is written once: a later server's database does not replace it.
    other = tmp_path / "other.db"
    with closing(_wal_database(other, 5)):
        assert not save_template(other, template)
    assert _rows(template) == 3

    new_home = tmp_path / "second" / "prefect.db"
    assert seed_database(new_home, template)
    assert _rows(new_home) == 3
    # A home with a database keeps it.
    assert not seed_database(other, template)
    assert _rows(other) == 5
    # No template yet: nothing to seed, Prefect migrates a new file itself.
    assert not seed_database(tmp_path / "third" / "prefect.db", tmp_path / "absent.db")
    assert not (tmp_path / "third").exists()


class _BootedServer:
    """Stands in for the uvicorn process: "migrates" a new database file when started."""

    def __init__(self, database: Path) -> None:
        if not database.exists():
            with closing(sqlite3.connect(database)) as conn:
                conn.execute("CREATE TABLE flow_run (id TEXT)")
                conn.commit()

    def poll(self) -> None:
        return None

    def terminate(self) -> None:
        pass

    def wait(self, timeout: float | None = None) -> int:
        return 0


@pytest.mark.parametrize("existing_runs", [0, 2])
def test_only_a_database_this_boot_created_becomes_the_template(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, existing_runs: int) -> None:
    home, cache = tmp_path / "home", tmp_path / "cache"
    home.mkdir()
    monkeypatch.setenv("PREFECT_HOME", str(home))
    monkeypatch.setenv("IMRF_CACHE_DIR", str(cache))
    for name in ("PREFECT_API_URL", "PREFECT_API_SSL_CERT_FILE",  # the server sets them
                 "PREFECT_API_DATABASE_CONNECTION_URL", "PREFECT_SERVER_DATABASE_CONNECTION_URL"):
        monkeypatch.delenv(name, raising=False)
    if existing_runs:  # a data directory that has run simulations before
        with closing(sqlite3.connect(home / "prefect.db")) as conn:
            conn.execute("CREATE TABLE flow_run (id TEXT)")
            conn.executemany("INSERT INTO flow_run VALUES (?)", [("a",), ("b",)])
            conn.commit()
    monkeypatch.setattr("imrf.prefect_env.subprocess.Popen",
                        lambda *args, **kwargs: _BootedServer(home / "prefect.db"))
    monkeypatch.setattr("imrf.prefect_env.healthy", lambda *args, **kwargs: True)
    server = TemporaryServer(home / "server.log")
    server.wait()
    server.stop()
    templates = list(cache.glob("prefect-*.db"))
    if existing_runs:
        assert templates == []  # somebody's runs are never copied into new data directories
    else:
        [template] = templates
        with closing(sqlite3.connect(template)) as conn:
            assert conn.execute("SELECT count(*) FROM flow_run").fetchone()[0] == 0

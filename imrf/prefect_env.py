"""The embedded default's Prefect environment: a local server on 127.0.0.1 with SQLite.

No Prefect import here: this only computes environment variables and starts/stops processes,
so the CLI can set Prefect's settings before Prefect is first imported.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from contextlib import closing
from pathlib import Path

DEFAULT_PORT = 4200


def local_env(data_dir: Path, port: int = DEFAULT_PORT) -> dict[str, str]:
    """Settings for a local server whose database lives under the data directory."""
    api = f"http://127.0.0.1:{port}/api"
    return {
        "PREFECT_HOME": str(data_dir / "prefect"),
        "PREFECT_API_URL": api,
        "PREFECT_UI_API_URL": api,  # without it a UI on another port than 4200 shows nothing
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    }


def apply_defaults(env: dict[str, str]) -> None:
    """Set each variable the user has not set already (theirs win).

    A PREFECT_API_URL the user chose is also the UI's API unless they set PREFECT_UI_API_URL:
    the default would send a UI served on their port to 4200's API, where nothing answers.
    """
    chosen_api = os.environ.get("PREFECT_API_URL")
    if chosen_api and "PREFECT_UI_API_URL" in env:
        os.environ.setdefault("PREFECT_UI_API_URL", chosen_api)
    for key, value in env.items():
        os.environ.setdefault(key, value)


def healthy(api_url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=timeout) as answer:  # noqa: S310
            return bool(answer.status == 200)
    except OSError:
        return False


def start_server(api_url: str, log: Path, *, wait: float = 120.0) -> subprocess.Popen[bytes]:
    """Start `prefect server start` on the API URL's port (through :mod:`imrf.prefect_server`,
    for its SQLite transactions); wait until it answers."""
    port = api_url.rsplit(":", 1)[1].split("/")[0]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "imrf.prefect_server", "server", "start",
             "--host", "127.0.0.1", "--port", port],
            stdout=out, stderr=subprocess.STDOUT, env=os.environ.copy(),
        )
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if healthy(api_url):
            return process
        if process.poll() is not None:
            raise RuntimeError(f"the Prefect server stopped at start-up; see {log}")
        time.sleep(0.5)
    process.terminate()
    raise RuntimeError(f"the Prefect server did not answer within {wait:.0f} s; see {log}")


class TemporaryServer:
    """Prefect's temporary server (the one ``get_client`` starts when no API is configured),
    started in the background so the caller's own start-up overlaps with the server's.

    Prefect starts it on first use and waits for it: importing its server modules into the
    client and booting it (migrating a new SQLite file) took 20 to 30 s of a simulation here,
    with nothing else running meanwhile. This runs the same uvicorn command (UI off, the
    ephemeral set of services), with Prefect's app from :mod:`imrf.prefect_server`, on a free
    127.0.0.1 port and points ``PREFECT_API_URL`` at it;
    :meth:`wait` blocks until it answers, :meth:`stop` ends it.

    A new data directory's database starts as a copy of a migrated one kept in the user's
    cache (:func:`database_template`): migrating a new SQLite file is most of a boot (11 s
    against 3.5 s here). The first boot with this Prefect version saves that copy.
    """

    def __init__(self, log: Path) -> None:
        if importlib.util.find_spec("prefect") is None:
            raise RuntimeError("Prefect is not installed")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.api_url = f"http://127.0.0.1:{port}/api"
        self.log = log
        log.parent.mkdir(parents=True, exist_ok=True)
        # (database, template) to save once the server answers. Only a database this boot
        # creates may become the template: one that exists already holds somebody's runs.
        self._template_to_save: tuple[Path, Path] | None = None
        database, template = default_database(), database_template()
        if database is not None and template is not None and not database.exists() \
                and not seed_database(database, template):
            self._template_to_save = (database, template)
        env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
               "PREFECT__SERVER_FINAL": "1"}
        env.pop("PREFECT_API_URL", None)
        with log.open("ab") as out:
            self.process: subprocess.Popen[bytes] | None = subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", "uvicorn", "--app-dir",
                 str(Path(__file__).parent.parent), "--factory",
                 "imrf.prefect_server:create_app", "--host", "127.0.0.1",
                 "--port", str(port), "--log-level", "error", "--lifespan", "on"],
                stdout=out, stderr=subprocess.STDOUT, env=env,
            )
        os.environ["PREFECT_API_URL"] = self.api_url
        self._ca_file = self._one_certificate(log.parent)
        if self._ca_file is not None:
            os.environ["PREFECT_API_SSL_CERT_FILE"] = str(self._ca_file)

    @staticmethod
    def _one_certificate(folder: Path) -> Path | None:
        """A CA file of one certificate for Prefect's clients of this plain-HTTP server.

        Prefect builds a TLS context from its CA file for every client it makes, one per
        subflow: with certifi's whole bundle that took 74 ms each here, 5 s of a simulation's
        75 stage runs, for a loopback server that never speaks TLS. None (Prefect's default
        then) if the user chose a CA file or certifi's bundle cannot be read.
        """
        if "PREFECT_API_SSL_CERT_FILE" in os.environ:
            return None
        spec = importlib.util.find_spec("certifi")
        bundle = Path(spec.origin).with_name("cacert.pem") if spec and spec.origin else None
        try:
            text = bundle.read_text(encoding="ascii") if bundle else ""
        except OSError:
            return None
        end = "-----END CERTIFICATE-----"
        start = text.find("-----BEGIN CERTIFICATE-----")
        stop = text.find(end, start)
        if start < 0 or stop < 0:
            return None
        target = folder / "loopback-ca.pem"
        target.write_text(text[start:stop + len(end)] + "\n", encoding="ascii")
        return target

    def wait(self, timeout: float = 120.0) -> None:
        """Block until the server answers; raise (naming the log) if it stops or is late."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if healthy(self.api_url, timeout=1.0):
                if self._template_to_save is not None:
                    save_template(*self._template_to_save)
                    self._template_to_save = None
                return
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"the temporary Prefect server stopped at start-up; "
                                   f"see {self.log}")
            time.sleep(0.1)
        raise RuntimeError(f"the temporary Prefect server did not answer within "
                           f"{timeout:.0f} s; see {self.log}")

    def stop(self) -> None:
        stop(self.process, grace=5.0)
        self.process = None
        if os.environ.get("PREFECT_API_URL") == self.api_url:
            del os.environ["PREFECT_API_URL"]
        if self._ca_file is not None and \
                os.environ.get("PREFECT_API_SSL_CERT_FILE") == str(self._ca_file):
            del os.environ["PREFECT_API_SSL_CERT_FILE"]


# Settings that move Prefect's database away from $PREFECT_HOME/prefect.db.
_DATABASE_SETTINGS = ("PREFECT_API_DATABASE_CONNECTION_URL",
                      "PREFECT_SERVER_DATABASE_CONNECTION_URL", "PREFECT_SERVER_DATABASE_DRIVER",
                      "PREFECT_SERVER_DATABASE_NAME", "PREFECT_SERVER_DATABASE_HOST")


def default_database() -> Path | None:
    """Prefect's SQLite file when the environment leaves it at its default
    ($PREFECT_HOME/prefect.db); None when a setting names another database."""
    if any(os.environ.get(name) for name in _DATABASE_SETTINGS):
        return None
    home = os.environ.get("PREFECT_HOME")
    return Path(home) / "prefect.db" if home else None


def database_template() -> Path | None:
    """Where a migrated, empty Prefect database for this Prefect version is kept:
    ``$IMRF_CACHE_DIR`` (default ``$XDG_CACHE_HOME/imrf``, ``~/.cache/imrf``)."""
    try:
        version = importlib.metadata.version("prefect")
    except importlib.metadata.PackageNotFoundError:
        return None
    cache = os.environ.get("IMRF_CACHE_DIR")
    if cache:
        folder = Path(cache)
    else:
        folder = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "imrf"
    return folder / f"prefect-{version}.db"


def seed_database(database: Path, template: Path) -> bool:
    """Copy ``template`` to ``database`` if there is no database yet; True if copied.

    Prefect still checks the copy's migrations when it boots, so a template left by an
    older Prefect only costs the migrations it lacks.
    """
    if database.exists() or not template.is_file():
        return False
    database.parent.mkdir(parents=True, exist_ok=True)
    partial = database.with_name(f".{database.name}.{os.getpid()}")
    try:
        shutil.copyfile(template, partial)
        os.replace(partial, database)
    except OSError:
        partial.unlink(missing_ok=True)
        return False
    return True


def save_template(database: Path, template: Path) -> bool:
    """Keep a consistent copy of a freshly migrated ``database`` as ``template`` (SQLite's
    backup, safe while the server runs); False if it could not be written.

    Called once the server answers: its migrations and block registrations are done and no
    flow has run yet. A cache that cannot be written only costs the next boot its speed.
    """
    if template.exists():
        return False
    partial = template.with_name(f".{template.name}.{os.getpid()}")
    try:
        template.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)) \
                as source, closing(sqlite3.connect(partial)) as copy:
            source.backup(copy)
        os.replace(partial, template)
    except (OSError, sqlite3.Error):
        partial.unlink(missing_ok=True)
        return False
    return True


def stop(process: subprocess.Popen[bytes] | None, *, grace: float = 20.0) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()

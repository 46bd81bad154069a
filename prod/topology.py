"""The production topology on one machine: PostgreSQL, a Prefect server, a work pool, workers.

`make up-prod` (`python -m prod up`) brings it up, `make down-prod` stops it, `python -m prod
status` says what runs. Every piece is what a multi-machine set-up runs (docs/production.md):

- PostgreSQL from Debian's packages, in its own cluster (`pg_createcluster`, port 5433) so a
  restart of it disturbs no other database on the machine; two databases: one for Prefect's
  server, one for the domain store.
- `prefect server start` on 127.0.0.1:4300 with `PREFECT_SERVER_DATABASE_CONNECTION_URL`
  (asyncpg) and `PREFECT_SERVER_API_AUTH_STRING`; every client sends `PREFECT_API_AUTH_STRING`.
- A process work pool `imrf`, `prefect deploy --all` from deployments/prefect.yaml, an
  automation that marks a run whose heartbeats stopped (a dead worker) as Crashed.
- The SendGrid key in the Secret block `imrf-sendgrid-api-key`: workers get no key in their
  environment. Without SENDGRID_API_KEY at `up`, a local fake SendGrid stands in for it.
- Two `prefect worker start --pool imrf` processes with `IMRF_DATABASE_URL` (psycopg).

Process ids and logs are under `.imrf/prod/`. No Prefect import at module level: the
environment must be set before Prefect reads its settings.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
POOL = "imrf"
SECRET_BLOCK = "imrf-sendgrid-api-key"  # noqa: S105 (the block tasks/context.py reads)
ZOMBIE_AUTOMATION = "imrf: crash runs whose heartbeats stopped"
HEARTBEAT_SECONDS = 30  # Prefect's minimum
ZOMBIE_AFTER_SECONDS = 75  # two heartbeats missed and a half


class TopologyError(RuntimeError):
    """A piece of the topology could not be started; the message says which and where."""


@dataclass(frozen=True)
class Topology:
    """Names, ports and folders of one production topology on this machine."""

    name: str = "prod"  # the folder under .imrf/
    server_port: int = 4300
    pg_cluster: str = "imrfprod"
    pg_port: int = 5433
    prefect_db: str = "imrf_prefect"
    store_db: str = "imrf_store"
    workers: int = 2
    fake_sendgrid_port: int = 3300  # used when no SENDGRID_API_KEY is given
    repo: Path = field(default=REPO)

    @property
    def dir(self) -> Path:
        return self.repo / ".imrf" / self.name

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}/api"

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"

    def pg_url(self, database: str, driver: str = "") -> str:
        scheme = f"postgresql+{driver}" if driver else "postgresql"
        return f"{scheme}://postgres@127.0.0.1:{self.pg_port}/{database}"

    @property
    def store_url(self) -> str:
        return self.pg_url(self.store_db, "psycopg")

    @property
    def auth_string(self) -> str:
        """The shared auth string, made once and kept readable by the owner only."""
        path = self.dir / "auth-string"
        if not path.exists():
            self.dir.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(f"imrf:{secrets.token_urlsafe(24)}")
        return path.read_text().strip()

    def client_env(self) -> dict[str, str]:
        """What every client of the server needs: CLI, workers, tests."""
        return {
            "PREFECT_API_URL": self.api_url,
            "PREFECT_API_AUTH_STRING": self.auth_string,
            "PREFECT_UI_URL": self.ui_url,
            "PREFECT_HOME": str(self.dir / "client-home"),
            # Shared by the workers of this machine: a suspended run resumes on either.
            "PREFECT_LOCAL_STORAGE_PATH": str(self.dir / "results"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
        }

    def server_env(self) -> dict[str, str]:
        return {
            **self.client_env(),
            "PREFECT_HOME": str(self.dir / "server-home"),
            "PREFECT_SERVER_DATABASE_CONNECTION_URL": self.pg_url(self.prefect_db, "asyncpg"),
            "PREFECT_SERVER_API_AUTH_STRING": self.auth_string,
            "PREFECT_UI_API_URL": self.api_url,
            "PREFECT_API_URL": self.api_url,
        }

    def worker_env(self, sendgrid_host: str) -> dict[str, str]:
        return {
            **self.client_env(),
            "IMRF_DATABASE_URL": self.store_url,
            "IMRF_DATA_DIR": str(self.dir / "data"),
            "IMRF_SENDGRID_HOST": sendgrid_host,
            "IMRF_UI_URL": self.ui_url,
            # The sender's backoff notes ("SendGrid rate limit reached (429); retrying…") go
            # to the run's log in the UI.
            "PREFECT_LOGGING_EXTRA_LOGGERS": "imrf",
            "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": str(HEARTBEAT_SECONDS),
            "IMRF_REPO": str(self.repo),
        }


def _env(extra: Mapping[str, str], drop: tuple[str, ...] = ()) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("PREFECT_")}
    env.update(extra)
    return env


def _run(argv: list[str], *, env: Mapping[str, str] | None = None, check: bool = True,
         quiet: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(  # noqa: S603
        argv, env=dict(env) if env is not None else None, cwd=REPO, text=True,
        capture_output=quiet, check=False,
    )
    if check and result.returncode != 0:
        tail = ((result.stderr or "") + (result.stdout or "")).strip().splitlines()[-5:]
        raise TopologyError(f"{' '.join(argv[:4])}… exited {result.returncode}: "
                            + " | ".join(tail))
    return result


# --- PostgreSQL (Debian's packages, a cluster of its own) -----------------------------------


def _pg_version() -> str:
    versions = sorted((p.name for p in Path("/usr/lib/postgresql").glob("*")
                       if (p / "bin" / "postgres").exists()), key=int)
    if not versions:
        raise TopologyError("no PostgreSQL server under /usr/lib/postgresql")
    return versions[-1]


def install_postgresql() -> None:
    """Install Debian's PostgreSQL when it is missing (root only, as on CI)."""
    if shutil.which("pg_createcluster") and Path("/usr/lib/postgresql").exists():
        return
    if os.geteuid() != 0:
        raise TopologyError("PostgreSQL is not installed: sudo apt-get install postgresql")
    print("installing PostgreSQL from Debian's packages…", flush=True)
    _run(["apt-get", "update", "-qq"])
    _run(["apt-get", "install", "-y", "-qq", "postgresql"],
         env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def _cluster_status(topo: Topology) -> str | None:
    """"online", "down" or None when the cluster does not exist."""
    found = _run(["pg_lsclusters", "--no-header"], check=False)
    for line in found.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[1] == topo.pg_cluster:
            return parts[3]
    return None


def ensure_postgresql(topo: Topology) -> None:
    """The topology's cluster, created (trust on 127.0.0.1 only) and started."""
    install_postgresql()
    version = _pg_version()
    status = _cluster_status(topo)
    if status is None:
        if os.geteuid() != 0:
            raise TopologyError(f"create the cluster first: sudo pg_createcluster {version} "
                                f"{topo.pg_cluster} --port {topo.pg_port}")
        _run(["pg_createcluster", version, topo.pg_cluster, "--port", str(topo.pg_port),
              "-o", "listen_addresses=localhost", "-o", "max_connections=200",
              "--", "--auth-local=trust", "--auth-host=trust"])
        status = "down"
    if status != "online":
        _run(["pg_ctlcluster", version, topo.pg_cluster, "start"])
    _wait(lambda: _pg_ready(topo), 60, f"PostgreSQL cluster {topo.pg_cluster}")
    for database in (topo.prefect_db, topo.store_db):
        create_database(topo, database)


def _pg_ready(topo: Topology) -> bool:
    import psycopg

    try:
        with psycopg.connect(topo.pg_url("postgres"), connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


def create_database(topo: Topology, database: str, *, fresh: bool = False) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(topo.pg_url("postgres"), autocommit=True) as conn:
        if fresh:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(database)))
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                        (database,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


def restart_postgresql(topo: Topology) -> None:
    """`pg_ctlcluster VERSION CLUSTER restart` (this machine has no systemd as PID 1)."""
    _run(["pg_ctlcluster", _pg_version(), topo.pg_cluster, "restart", "-m", "fast"])


# --- processes --------------------------------------------------------------------------------


def _pid_file(topo: Topology, name: str) -> Path:
    return topo.dir / f"{name}.pid"


def _log(topo: Topology, name: str) -> Path:
    return topo.dir / f"{name}.log"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):  # a zombie child of ours counts as gone
        if Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z"):
            return False
    return True


def pid_of(topo: Topology, name: str) -> int | None:
    path = _pid_file(topo, name)
    if not path.exists():
        return None
    pid = int(path.read_text().strip() or 0)
    return pid if pid and _alive(pid) else None


def _spawn(topo: Topology, name: str, argv: list[str], env: Mapping[str, str]) -> int:
    topo.dir.mkdir(parents=True, exist_ok=True)
    with _log(topo, name).open("ab") as out:
        process = subprocess.Popen(  # noqa: S603
            argv, env=dict(env), cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
    _pid_file(topo, name).write_text(str(process.pid))
    return process.pid


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (a worker's flow-run processes), from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            ppid = int(stat.read_text().split(") ", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def stop_process(topo: Topology, name: str, *, sig: int = signal.SIGTERM,
                 grace: float = 20.0) -> bool:
    """Stop a process we started, and everything below it; False when it was not running."""
    pid = pid_of(topo, name)
    if pid is None:
        _pid_file(topo, name).unlink(missing_ok=True)
        return False
    family = [pid, *descendants(pid)]
    for member in family:
        with contextlib.suppress(ProcessLookupError):
            os.kill(member, sig)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_alive(p) for p in family):
        _reap(family)
        time.sleep(0.2)
    for member in family:
        if _alive(member):
            with contextlib.suppress(ProcessLookupError):
                os.kill(member, signal.SIGKILL)
    _reap(family)
    _pid_file(topo, name).unlink(missing_ok=True)
    return True


def kill_worker(topo: Topology, number: int) -> list[int]:
    """SIGKILL a worker and the flow runs it started, as a machine dying would."""
    pid = pid_of(topo, f"worker-{number}")
    if pid is None:
        return []
    family = [pid, *descendants(pid)]
    for member in family:
        with contextlib.suppress(ProcessLookupError):
            os.kill(member, signal.SIGKILL)
    _reap(family)
    return family


def _reap(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)


def _wait(ready: object, timeout: float, what: str, *, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():  # type: ignore[operator]
            return
        time.sleep(0.5)
    raise TopologyError(f"{what} not ready within {timeout:.0f} s"
                        + (f"; see {log}" if log else ""))


def healthy(topo: Topology) -> bool:
    try:
        with urllib.request.urlopen(f"{topo.api_url}/health", timeout=2) as answer:  # noqa: S310
            return bool(answer.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def start_server(topo: Topology) -> None:
    if pid_of(topo, "server") is not None and healthy(topo):
        return
    if healthy(topo):
        raise TopologyError(f"something else answers on port {topo.server_port}")
    _spawn(topo, "server", [PYTHON, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                            "--port", str(topo.server_port)], _env(topo.server_env()))
    _wait(lambda: healthy(topo) or pid_of(topo, "server") is None, 180,
          "the Prefect server", log=_log(topo, "server"))
    if pid_of(topo, "server") is None:
        raise TopologyError(f"the Prefect server stopped at start-up; see {_log(topo, 'server')}")


def restart_server(topo: Topology) -> None:
    stop_process(topo, "server")
    start_server(topo)


def start_sendgrid(topo: Topology, key: str) -> str:
    """The local fake SendGrid (when no real key was given); its base URL."""
    host = f"http://127.0.0.1:{topo.fake_sendgrid_port}"
    if pid_of(topo, "sendgrid") is None:
        _spawn(topo, "sendgrid", [PYTHON, "-m", "imrf.devtools.fake_sendgrid", "--port",
                                  str(topo.fake_sendgrid_port), "--key", key, "--quiet"],
               _env({}))
    return host


def start_worker(topo: Topology, number: int, sendgrid_host: str) -> None:
    name = f"worker-{number}"
    if pid_of(topo, name) is not None:
        return
    _spawn(topo, name, [PYTHON, "-m", "prefect", "worker", "start", "--pool", POOL, "--type",
                        "process", "--name", f"imrf-{topo.name}-{number}"],
           _env(topo.worker_env(sendgrid_host), drop=("SENDGRID_API_KEY",)))


def online_workers(topo: Topology) -> set[str]:
    """Names of the pool's workers the server heard from lately."""
    from prefect import get_client

    with get_client(sync_client=True) as client:
        return {w.name for w in client.read_workers_for_work_pool(POOL)
                if w.status is not None and w.status.value == "ONLINE"}


def wait_for_workers(topo: Topology, numbers: range | None = None) -> None:
    """Until every worker polls the pool (or one of them died at start-up)."""
    numbers = numbers or range(1, topo.workers + 1)
    wanted = {f"imrf-{topo.name}-{n}" for n in numbers}

    def ready() -> bool:
        dead = [n for n in numbers if pid_of(topo, f"worker-{n}") is None]
        if dead:
            raise TopologyError(f"worker {dead[0]} stopped at start-up; see "
                                f"{_log(topo, f'worker-{dead[0]}')}")
        return wanted <= online_workers(topo)

    _wait(ready, 120, "the workers")


def sendgrid_host_file(topo: Topology) -> Path:
    return topo.dir / "sendgrid-host"


# --- the server's contents (through Prefect's client: environment set by the caller) ---------


def apply_client_env(topo: Topology) -> None:
    """Point this process's Prefect client at the topology (before Prefect is imported)."""
    for key in [k for k in os.environ if k.startswith("PREFECT_")]:
        del os.environ[key]
    os.environ.update(topo.client_env())


def deploy(topo: Topology) -> None:
    env = _env({**topo.client_env(), "IMRF_REPO": str(topo.repo)})
    _run([PYTHON, "-m", "prefect", "work-pool", "create", POOL, "--type", "process",
          "--overwrite"], env=env)
    _run([PYTHON, "-m", "prefect", "--no-prompt", "deploy", "--all", "--prefect-file",
          "deployments/prefect.yaml"], env=env)


def store_secret(key: str) -> None:
    from prefect.blocks.system import Secret

    Secret(value=key).save(SECRET_BLOCK, overwrite=True)


def stored_secret() -> str | None:
    from prefect.blocks.system import Secret

    try:
        value = Secret.load(SECRET_BLOCK, _sync=True).get()  # type: ignore[call-arg]
    except ValueError:
        return None
    return value if isinstance(value, str) else None


def ensure_zombie_automation() -> None:
    """A run whose heartbeats stop (its worker died) is marked Crashed, for the operator to
    see and retry; a suspended run, which has no process, is left alone."""
    from datetime import timedelta

    from prefect.automations import Automation
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import EventTrigger, Posture

    with contextlib.suppress(ValueError):
        if Automation.read(name=ZOMBIE_AUTOMATION) is not None:
            return
    ends = ("Completed", "Failed", "Cancelled", "Crashed", "Suspended", "Paused", "Cancelling")
    Automation(
        name=ZOMBIE_AUTOMATION,
        description="A worker died under a flow run: its heartbeats stopped. Mark the run "
                    "Crashed; retry it from its page (or `prefect flow-run retry ID`).",
        trigger=EventTrigger(
            after={"prefect.flow-run.heartbeat"},
            expect={"prefect.flow-run.heartbeat", *(f"prefect.flow-run.{s}" for s in ends)},
            match={"prefect.resource.id": ["prefect.flow-run.*"]},
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=timedelta(seconds=ZOMBIE_AFTER_SECONDS),
        ),
        actions=[ChangeFlowRunState(
            state=StateType.CRASHED,
            message=f"No heartbeat for {ZOMBIE_AFTER_SECONDS} s: its worker died.")],
    ).create()


# --- up, down, status ---------------------------------------------------------------------------


def up(topo: Topology, *, sendgrid_host: str | None = None,
       sendgrid_key: str | None = None) -> str:
    """Bring everything up (idempotent); return the SendGrid host the workers use.

    ``sendgrid_host`` given: that server (e.g. a test's own fake), with ``sendgrid_key``.
    Otherwise SENDGRID_API_KEY from the environment with IMRF_SENDGRID_HOST (real SendGrid),
    or, without a key, a local fake SendGrid with a key made up here.
    """
    topo.dir.mkdir(parents=True, exist_ok=True)
    say = print
    say(f"PostgreSQL cluster {topo.pg_cluster} on 127.0.0.1:{topo.pg_port}…", flush=True)
    ensure_postgresql(topo)
    say(f"Prefect server on {topo.ui_url} (log {_log(topo, 'server')})…", flush=True)
    start_server(topo)
    apply_client_env(topo)
    say("work pool, deployments, automation, Secret block…", flush=True)
    deploy(topo)
    ensure_zombie_automation()
    key = sendgrid_key or os.environ.get("SENDGRID_API_KEY")
    if sendgrid_host is None:
        if key:
            sendgrid_host = os.environ.get("IMRF_SENDGRID_HOST", "https://api.sendgrid.com")
        else:
            # A fake already running keeps the key it was started with (the block's).
            key = stored_secret() or f"SG.local-{secrets.token_urlsafe(16)}"
            sendgrid_host = start_sendgrid(topo, key)
    if key:
        store_secret(key)
    sendgrid_host_file(topo).write_text(sendgrid_host)
    for number in range(1, topo.workers + 1):
        start_worker(topo, number, sendgrid_host)
    wait_for_workers(topo)
    say(f"{topo.workers} workers on pool {POOL!r}; e-mail through {sendgrid_host}", flush=True)
    return sendgrid_host


def down(topo: Topology, *, stop_postgresql: bool = False) -> None:
    names = [f"worker-{n}" for n in range(1, topo.workers + 1)] + ["server", "sendgrid"]
    for name in names:
        if stop_process(topo, name):
            print(f"stopped {name}", flush=True)
    if stop_postgresql and _cluster_status(topo) == "online":
        _run(["pg_ctlcluster", _pg_version(), topo.pg_cluster, "stop"])
        print(f"stopped PostgreSQL cluster {topo.pg_cluster}", flush=True)


def status(topo: Topology) -> dict[str, object]:
    report: dict[str, object] = {
        "postgresql": _cluster_status(topo) or "absent",
        "server": {"pid": pid_of(topo, "server"), "healthy": healthy(topo),
                   "ui": topo.ui_url},
        "workers": {f"worker-{n}": pid_of(topo, f"worker-{n}")
                    for n in range(1, topo.workers + 1)},
        "fake_sendgrid": pid_of(topo, "sendgrid"),
        "logs": str(topo.dir),
    }
    return report


@contextlib.contextmanager
def running(topo: Topology, **options: str) -> Iterator[str]:
    """``up`` for the length of a block (tests, benchmarks); ``down`` after it."""
    try:
        yield up(topo, **options)
    finally:
        down(topo)


def main(argv: list[str]) -> int:
    topo = Topology()
    command = argv[0] if argv else "status"
    try:
        if command == "up":
            up(topo)
            print(f"UI: {topo.ui_url} (auth string in {topo.dir / 'auth-string'}); "
                  f"`make down-prod` stops it", flush=True)
        elif command == "down":
            down(topo, stop_postgresql="--postgresql" in argv)
        elif command == "status":
            print(json.dumps(status(topo), indent=2))
        else:
            print("usage: python -m prod up|down [--postgresql]|status", file=sys.stderr)
            return 2
    except TopologyError as error:
        print(f"prod {command}: {error}", file=sys.stderr)
        return 1
    return 0

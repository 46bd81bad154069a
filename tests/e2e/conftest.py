"""The operators' UI end to end: `imrf run` as an operator starts it, and headless Chromium.

These tests start a real Prefect server and take about a minute, so they run only when asked
for (`make e2e`, `pytest tests/e2e` or `pytest -m e2e`), never in the default `pytest` run.

Screenshots and the server's output go to a temporary folder that is kept, and named at the
end, when a test failed (or always, with IMRF_E2E_KEEP=1).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
E2E_DIR = Path(__file__).resolve().parent
CHROMIUM = Path(os.environ.get("IMRF_E2E_CHROMIUM", "/usr/bin/chromium"))
# As the machine's notes prescribe: without the background-networking flags Chromium keeps
# dialling Google's hosts, which this closed network refuses. Playwright adds --headless and
# a fresh temporary --user-data-dir itself (it refuses --user-data-dir among the args).
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
READY_LINE = "Serving the deployments"
START_TIMEOUT = 150.0  # seen here: about 60 s from start to READY_LINE on 2 cores
DEVELOPER_PORT = 4200  # `make run`'s port: never taken by the tests


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Leave the e2e modules out unless the run names tests/e2e or selects the e2e marker."""
    if collection_path.suffix != ".py" or not collection_path.name.startswith("test_"):
        return None
    if "e2e" in (config.getoption("markexpr") or "").replace("not e2e", ""):
        return None
    for arg in config.args:
        target = Path(arg.split("::")[0]).resolve()
        if target == E2E_DIR or E2E_DIR in target.parents:
            return None
    return True


@dataclass
class Artifacts:
    """Where screenshots and logs go; kept when something failed."""

    path: Path
    failed: bool = False
    shots: list[Path] = field(default_factory=list)


_artifacts: Artifacts | None = None
_run: Any = None  # the session's ImrfRun, for the timings in the summary


@pytest.fixture(scope="session")
def artifacts() -> Iterator[Artifacts]:
    global _artifacts
    _artifacts = Artifacts(Path(tempfile.mkdtemp(prefix="imrf-e2e-")))
    yield _artifacts


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.failed:
        item.stash[_failed_key] = True
        if _artifacts is not None:
            _artifacts.failed = True
    return report


_failed_key = pytest.StashKey[bool]()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _run is not None and (ready := _run.seen(READY_LINE)) is not None:
        terminalreporter.write_line(
            f"e2e: imrf run served after {ready:.1f} s; stopped by {_run.stopped_by or '?'} "
            f"in {_run.stop_seconds:.1f} s")
    if _artifacts is None:
        return
    if _artifacts.failed or os.environ.get("IMRF_E2E_KEEP"):
        terminalreporter.write_line(
            f"e2e screenshots and logs kept in {_artifacts.path}", yellow=True, bold=True)
    else:
        shutil.rmtree(_artifacts.path, ignore_errors=True)


def free_port() -> int:
    """A port nothing listens on, other than the developer's 4200."""
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port != DEVELOPER_PORT:
            return port


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1.0)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class ImrfRun:
    """`imrf run` in its own process group, as in an operator's terminal."""

    process: subprocess.Popen[str]
    port: int
    log: Path
    started: float
    lines: list[tuple[float, str]] = field(default_factory=list)
    stopped_by: str = ""
    stop_seconds: float = 0.0
    READY_LINE = READY_LINE

    def listening(self) -> bool:
        return port_open(self.port)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return "\n".join(line for _, line in self.lines)

    def seen(self, text: str) -> float | None:
        """Seconds after the start at which a line containing `text` appeared."""
        return next((t for t, line in self.lines if text in line), None)

    def group_alive(self) -> bool:
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def stop(self) -> str:
        """Ctrl-C, then SIGTERM, then SIGKILL; return which one stopped everything."""
        if self.stopped_by:
            return self.stopped_by
        began = time.monotonic()
        # A terminal's Ctrl-C reaches the whole foreground process group: the CLI, the
        # Prefect server and the serving process alike.
        steps = [("SIGINT", lambda: os.killpg(self.process.pid, signal.SIGINT), 40.0),
                 ("SIGTERM", lambda: self.process.send_signal(signal.SIGTERM), 20.0),
                 ("SIGKILL", lambda: os.killpg(self.process.pid, signal.SIGKILL), 10.0)]
        for name, send, grace in steps:
            with contextlib.suppress(ProcessLookupError):
                send()
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and (self.process.poll() is None
                                                   or self.group_alive()):
                time.sleep(0.2)
            if self.process.poll() is not None and not self.group_alive():
                self.stopped_by, self.stop_seconds = name, time.monotonic() - began
                return name
        self.stopped_by = "nothing"
        return self.stopped_by


def _reader(run: ImrfRun) -> None:
    assert run.process.stdout is not None
    with run.log.open("w", encoding="utf-8") as log:
        for line in run.process.stdout:
            elapsed = time.monotonic() - run.started
            run.lines.append((elapsed, line.rstrip("\n")))
            log.write(f"[{elapsed:7.2f}s] {line}")
            log.flush()


def _default_sigint() -> None:
    # A shell starts background jobs with SIGINT ignored, and Python keeps an inherited
    # SIG_IGN: restore the default so Ctrl-C (SIGINT) reaches `imrf run` as in a terminal.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture(scope="session")
def imrf_run(tmp_path_factory: pytest.TempPathFactory, artifacts: Artifacts,
             child_env: Callable[..., dict[str, str]]) -> Iterator[ImrfRun]:
    """`imrf run` on a free port with its own data and Prefect home, until it serves."""
    root = tmp_path_factory.mktemp("imrf-run")
    port = free_port()
    imrf = Path(sys.executable).with_name("imrf")
    # Only the API URL, as an operator would set it: `imrf run` must point the UI there too.
    env = child_env(
        IMRF_DATA_DIR=str(root / "data"), PREFECT_HOME=str(root / "prefect"),
        PREFECT_API_URL=f"http://127.0.0.1:{port}/api", DO_NOT_TRACK="1",
        PREFECT_SERVER_ANALYTICS_ENABLED="false", PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        [str(imrf), "run"], cwd=REPO, env=env, text=True, bufsize=1,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True, preexec_fn=_default_sigint,
    )
    global _run
    run = _run = ImrfRun(process, port, artifacts.path / "imrf-run.log", time.monotonic())
    threading.Thread(target=_reader, args=(run,), daemon=True).start()
    try:
        deadline = run.started + START_TIMEOUT
        while run.seen(READY_LINE) is None:
            if process.poll() is not None:
                pytest.fail(f"imrf run exited with {process.returncode} before serving:\n"
                            f"{run.output()}")
            if time.monotonic() > deadline:
                pytest.fail(f"imrf run did not print {READY_LINE!r} within "
                            f"{START_TIMEOUT:.0f} s:\n{run.output()}")
            time.sleep(0.2)
        yield run
    finally:
        run.stop()
        server_log = root / "data" / "logs" / "prefect-server.log"
        if server_log.exists():
            shutil.copy(server_log, artifacts.path / "prefect-server.log")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make e2e` installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                              args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any, artifacts: Artifacts, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh page as an operator in New York sees it; a screenshot when the test fails."""
    context = browser.new_context(viewport={"width": 1400, "height": 900},
                                  timezone_id="America/New_York", locale="en-US")
    page = context.new_page()
    page.set_default_timeout(30_000)  # clicks and navigation; expect() sets its own
    try:
        yield page
    finally:
        if request.node.stash.get(_failed_key, False):
            shot = artifacts.path / f"FAILED-{request.node.name}.png"
            with contextlib.suppress(Exception):
                page.screenshot(path=str(shot), full_page=True)
                artifacts.shots.append(shot)
        context.close()


@pytest.fixture
def screenshot(page: Any, artifacts: Artifacts) -> Any:
    """screenshot(name): save the whole page as <name>.png in the artifacts folder."""

    def take(name: str) -> Path:
        shot = artifacts.path / f"{name}.png"
        page.screenshot(path=str(shot), full_page=True)
        artifacts.shots.append(shot)
        return shot

    return take

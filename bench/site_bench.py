"""Issue 5 (OP14): the inputs website for 5,000 inputs, built in full and rebuilt after one.

Figures: a full build into an empty folder (target < 10 s) with the peak RSS of a process
that does only that; a rebuild after one new input (target < 2 s) against the full build
measured in the same run; a rebuild with nothing new.
"""

from __future__ import annotations

import datetime as dt
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bench.common import PYTHON, Figure

if TYPE_CHECKING:
    from imrf.inputs.models import Submission
    from imrf.site import SiteReport

INPUTS = 5_000
EDITION = 2030


def _inputs(count: int = INPUTS, extra: int = 0) -> list[Submission]:
    from imrf.site.sample import sample_submissions

    inputs = sample_submissions(count, edition=EDITION)
    # Each extra input is newer than all the others: it goes to the top of every list.
    return inputs + [s.model_copy(update={"id": f"late-{n}", "received_on": dt.date(2030, 4, 1)})
                     for n, s in enumerate(sample_submissions(extra, edition=EDITION, seed=7))]


def _build(output: Path, inputs: list[Submission] | None = None) -> SiteReport:
    from imrf.calendar import build_calendar
    from imrf.site import build_site

    blob = output.parent / "blob.pdf"
    if not blob.exists():
        blob.write_bytes(b"%PDF-1.7\n" + b"x" * 20_000)
    return build_site(edition=EDITION, submissions=_inputs() if inputs is None else inputs,
                      calendar=build_calendar(EDITION), output=output,
                      documents=lambda s: blob)


def _timed(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median wall time and median CPU time of this process (the machine is shared: the
    CPU time shows the work itself when other jobs stretch the wall time)."""
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def _peak_rss_mb(work: Path) -> tuple[float, float]:
    """Peak RSS of a fresh process building the site, and of one only importing."""
    code = ("import resource, sys; from pathlib import Path; from bench.site_bench import "
            "_build; {} print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    results = []
    for body in ("_build(Path(sys.argv[1]));", "import imrf.site, imrf.calendar;"):
        out = subprocess.run([PYTHON, "-c", code.format(body), str(work / "rss" / "site")],
                             check=True, capture_output=True, text=True).stdout
        results.append(int(out.split()[-1]) / 1024)
    return results[0], results[1]


def run() -> list[Figure]:
    work = Path(tempfile.mkdtemp(prefix="imrf-site-bench-"))
    try:
        (work / "rss").mkdir()
        peak, imports = _peak_rss_mb(work)
        inputs = _inputs()
        fresh = iter(range(100))

        def full() -> None:
            output = work / f"full-{next(fresh)}" / "site"
            output.parent.mkdir()
            _build(output, inputs)

        full_s, full_cpu = _timed(full, repeats=3)
        output = work / "incremental" / "site"
        output.parent.mkdir()
        _build(output, inputs)
        growing = [_inputs(extra=n) for n in range(1, 6)]  # made before the clock starts
        reports: list[SiteReport] = []

        def one_more() -> None:
            reports.append(_build(output, growing[len(reports)]))

        incremental_s, incremental_cpu = _timed(one_more, repeats=5)
        nothing_s, nothing_cpu = _timed(lambda: _build(output, growing[-1]), repeats=3)
        last = reports[-1]
        return [
            Figure(f"site: full build, {INPUTS:,} inputs ({last.pages:,} pages, "
                   f"{last.documents:,} documents)", full_s, target_s=10.0,
                   extra=f"CPU {full_cpu:.1f} s | peak RSS {peak:.0f} MB "
                         f"(imports alone {imports:.0f} MB)"),
            Figure("site: rebuild after one new input", incremental_s,
                   baseline="full build", baseline_s=full_s, target_s=2.0,
                   extra=f"CPU {incremental_cpu:.2f} s | {last.written} pages written"),
            Figure("site: rebuild, nothing new", nothing_s,
                   baseline="full build", baseline_s=full_s, extra=f"CPU {nothing_cpu:.2f} s"),
        ]
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    for figure in run():
        print(figure.line())
    sys.exit(0)

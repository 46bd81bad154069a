"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass
class Figure:
    name: str
    median_s: float
    baseline: str | None = None
    baseline_s: float | None = None
    target_s: float | None = None
    extra: str = ""

    def line(self) -> str:
        text = f"{self.name:<58} median {self.median_s * 1000:9.1f} ms"
        if self.baseline_s:
            text += f" | {self.baseline}: {self.baseline_s * 1000:8.1f} ms"
            text += f" | ratio {self.median_s / self.baseline_s:6.2f}x"
        if self.target_s is not None:
            verdict = "OK" if self.median_s <= self.target_s else "OVER TARGET"
            text += f" | target < {self.target_s:g} s: {verdict}"
        if self.extra:
            text += f" | {self.extra}"
        return text


def median_time(fn: Callable[[], object], repeats: int = 5) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def median_process_time(argv: Sequence[str], repeats: int = 5) -> float:
    def run() -> None:
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)

    run()  # warm the file system cache; not counted
    return median_time(run, repeats)


PYTHON = sys.executable

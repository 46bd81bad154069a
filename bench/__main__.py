"""`python -m bench [name ...]`: run the benchmarks and print their figures."""

from __future__ import annotations

import importlib
import sys

SUITES = ["calendar", "notify", "simulate"]


def main(argv: list[str]) -> int:
    chosen = argv or SUITES
    for name in chosen:
        module = importlib.import_module(f"bench.{name}_bench")
        print(f"== {name}")
        for figure in module.run():
            print("  " + figure.line(), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

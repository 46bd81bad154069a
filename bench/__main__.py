"""`python -m bench [name ...]`: run the benchmarks and print their figures."""

from __future__ import annotations

import importlib
import sys

SUITES = ["calendar", "notify", "simulate", "site", "stakeholders", "speakers", "prod"]


def main(argv: list[str]) -> int:
    chosen = argv or SUITES
    for name in chosen:
        try:
            module = importlib.import_module(f"bench.{name}_bench")
        except ModuleNotFoundError as exc:
            if exc.name != f"bench.{name}_bench":
                raise
            print(f"== {name}: no such suite (bench/{name}_bench.py)")
            continue
        print(f"== {name}")
        for figure in module.run():
            print("  " + figure.line(), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

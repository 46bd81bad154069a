"""How many examples each fuzz test runs, and how reproducibly.

``make test`` (and CI) runs a bounded number of examples per test, derandomized: the same
inputs every run, so a failure in CI is a failure on every machine, and nothing is read from
or written to ``.hypothesis/``. ``IMRF_FUZZ_EXAMPLES=N`` is the deeper profile: N random
examples per test, failures saved in ``.hypothesis/`` and replayed first next time::

    IMRF_FUZZ_EXAMPLES=2000 .venv/bin/pytest tests/fuzz -p no:cacheprovider
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_DEEP = os.environ.get("IMRF_FUZZ_EXAMPLES", "").strip()
# Fuzz tests share module-scoped stores and temporary directories on purpose (a fresh
# database per example would be most of the run time).
_SUPPRESSED = [HealthCheck.too_slow, HealthCheck.data_too_large,
               HealthCheck.function_scoped_fixture]


def fuzz(examples: int) -> settings:
    """``examples`` derandomized examples, or IMRF_FUZZ_EXAMPLES random ones when set."""
    if _DEEP:
        if not _DEEP.isdigit() or int(_DEEP) < 1:
            raise ValueError(f"IMRF_FUZZ_EXAMPLES={_DEEP!r}: expected a positive whole number")
        return settings(max_examples=int(_DEEP), deadline=None, derandomize=False,
                        suppress_health_check=_SUPPRESSED)
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=_SUPPRESSED)

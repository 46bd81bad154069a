"""`python -m prod up|down|status`: the production topology on this machine."""

from __future__ import annotations

import sys

from prod.topology import main

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""The site's Jinja2 environment: compiled once per process, autoescaping everything.

Every template of ``imrf/templates/site`` is HTML or XML, so autoescape is on for all of them
(a submitter's ``<script>`` becomes ``&lt;script&gt;``). Undefined names are errors.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

import jinja2

TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "site"


@cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        auto_reload=False)


@cache
def style_sheet() -> bytes:
    return (TEMPLATES / "style.css").read_bytes()


@cache
def templates_fingerprint() -> str:
    """Changes whenever a template or the style sheet changes: every page is then rebuilt."""
    digest = hashlib.sha256()
    for path in sorted(TEMPLATES.iterdir()):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()

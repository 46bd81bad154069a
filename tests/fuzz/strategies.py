"""Hostile values the fuzz and attack-surface tests draw from."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import event
from hypothesis import strategies as st

# Strings an attacker (or a careless spreadsheet) puts into a field.
NASTY = [
    "", " ", "\x00", "\r", "\n", "\r\n", "\t", "\x0b", "\x0c", "\x1b[31m", "\x7f", "\x85",
    "\u2028", "\u2029", "\u202e", "\ufeff", "\U0001f600", '"', "'", '""', ",",
    ";", "\\", "=HYPERLINK(\"http://evil.example\",\"x\")", "+1+1", "-1", "@SUM(A1)",
    "{{ 7*7 }}", "{% raw %}", "{% endraw %}", "{{ config }}", "${7*7}", "<script>alert(1)</script>",
    "<b>", "&amp;", "&#x3C;", "]]>", "<!--", "\r\nBcc: victim@example.org",
    "\nX-Injected: 1", "=?utf-8?q?=0D=0ABcc:_victim@example.org?=",
    "=?utf-8?b?DQpCY2M6IHZpY3RpbUBleGFtcGxlLm9yZw==?=", "-imrf-name-html-",
    "../../etc/passwd", "..\\..\\windows", "%00", "%0d%0a", "[red]x[/red]", "A" * 300,
]

# Keys of a form or file: hostile, but on one line (what a line break in a key does is tested
# on its own).
one_line_keys = st.one_of(
    st.sampled_from([s for s in NASTY if "\n" not in s and "\r" not in s]),
    st.text(st.characters(exclude_characters="\r\n"), min_size=1, max_size=12),
)

nasty_text = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=40),
    st.lists(st.sampled_from(NASTY), min_size=1, max_size=4).map("".join),
    st.builds(lambda a, b: a + b, st.text(max_size=10), st.sampled_from(NASTY)),
)


def slots(node: Any) -> list[tuple[Any, Any]]:
    """Every (container, key or index) in a tree of dicts and lists, parents first."""
    found: list[tuple[Any, Any]] = []
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, child in items:
        found.append((node, key))
        if isinstance(child, dict | list) and child:
            found.extend(slots(child))
    return found


@st.composite
def mutated_tree(draw: st.DrawFn, original: Any, values: st.SearchStrategy[Any],
                 keys: st.SearchStrategy[str] = one_line_keys) -> Any:
    """A copy of ``original`` with one to three mutations: a key or item deleted, a value
    replaced by one of ``values`` (wrong types, hostile text), a key renamed or added, a list
    item doubled."""
    data = copy.deepcopy(original)
    for _ in range(draw(st.integers(1, 3))):
        places = slots(data)
        if not places:
            break
        container, key = places[draw(st.integers(0, len(places) - 1))]
        how = draw(st.sampled_from(["delete", "replace", "rename", "add", "double"]))
        event(f"tree: {how}")
        if how == "delete":
            del container[key]
        elif how == "replace":
            container[key] = draw(values)
        elif how == "rename" and isinstance(container, dict):
            container[f"{key}{draw(st.sampled_from(['x', '_', ' ', '2']))}"] = container.pop(key)
        elif how == "add" and isinstance(container, dict):
            container[draw(keys)] = draw(values)
        elif isinstance(container, list):
            container.append(copy.deepcopy(container[key]))
    return data

"""Hostile values the fuzz and attack-surface tests draw from."""

from __future__ import annotations

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

nasty_text = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=40),
    st.lists(st.sampled_from(NASTY), min_size=1, max_size=4).map("".join),
    st.builds(lambda a, b: a + b, st.text(max_size=10), st.sampled_from(NASTY)),
)

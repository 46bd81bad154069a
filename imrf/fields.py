"""Validated field types shared by the models at the boundaries (forms, files, the registry).

Each is a pydantic ``Annotated`` type, so a model that uses it refuses a bad value with the
field's name in the error.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field


def _http_url(value: str) -> str:
    if not value.lower().startswith(("https://", "http://")):
        raise ValueError("must be an http(s) link")
    if any(ch.isspace() or ord(ch) < 32 for ch in value):
        raise ValueError("must not contain spaces or control characters")
    return value


# A link someone gave us: only http(s), nothing a browser would run (javascript:, data:).
HttpLink = Annotated[str, Field(max_length=2000), AfterValidator(_http_url)]
Iso3 = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 3166 alpha-3 code")]

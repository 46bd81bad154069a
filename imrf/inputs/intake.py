"""What a submitter gives with an input: the metadata of ``imrf inputs add`` and of a sidecar.

A sidecar file ``<document>.yaml`` (or ``.json``) in the drop folder holds these keys::

    edition: 2030
    level: national            # national, regional, global or stakeholder
    submitter: jane@mission.example.int
    state: KEN                 # national inputs: the Member State (ISO alpha-3)
    commission: eca            # regional inputs: the commission
    objectives: [1, 5, 23]
    title: "Voluntary national review"
    language: en
    # optional: submitter_name, organization, link (instead of a file), received_on
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import yaml
from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from imrf.configfile import format_validation_error
from imrf.fields import HttpLink
from imrf.inputs.models import Level, Objective
from imrf.inputs.validation import InputRefused
from imrf.vocabulary import Commission

_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
SIDECAR_SUFFIXES = (".yaml", ".yml", ".json")


class NewInput(BaseModel):
    """The metadata of one input as submitted (validated; the registry checks the rest)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    edition: int = Field(ge=2020, le=2999)
    level: Level
    submitter: str = Field(max_length=320, description="The submitter's e-mail address")
    submitter_name: str | None = Field(default=None, min_length=1, max_length=200)
    organization: str | None = Field(default=None, min_length=1, max_length=300)
    state: str | None = Field(default=None, description="ISO 3166 alpha-3 (national inputs)")
    commission: Commission | None = None
    objectives: tuple[Objective, ...] = Field(min_length=1)
    title: str = Field(min_length=1, max_length=500)
    language: str = Field(min_length=2, max_length=35)
    link: HttpLink | None = None
    received_on: dt.date | None = None

    @field_validator("submitter")
    @classmethod
    def _email(cls, value: str) -> str:
        try:
            return validate_email(value, check_deliverability=False).normalized.lower()
        except EmailNotValidError as exc:
            raise ValueError(f"not a valid e-mail address: {exc}") from None

    @field_validator("submitter_name", "organization", "title")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        if value is not None and (found := _ONE_LINE.search(value)):
            raise ValueError(f"contains the control character U+{ord(found.group()):04X}")
        return value

    @field_validator("state")
    @classmethod
    def _state(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not re.fullmatch(r"[A-Za-z]{3}", value):
            raise ValueError(f"{value!r} is not an ISO 3166 alpha-3 code (three letters)")
        return value.upper()

    @field_validator("objectives")
    @classmethod
    def _sorted(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(sorted(set(value)))

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        if not _LANGUAGE.fullmatch(value):
            raise ValueError(f"{value!r} is not a language tag such as 'en', 'fr' or 'pt-BR'")
        return value


def parse_new_input(data: Any, *, where: str) -> NewInput:
    """Validate metadata, or InputRefused naming ``where``, the key and the problem."""
    try:
        return NewInput.model_validate(data)
    except ValidationError as exc:
        raise InputRefused(format_validation_error(where, data, exc)) from None


def read_sidecar(path: Path) -> NewInput:
    """A sidecar's metadata (YAML or JSON), or InputRefused naming the file."""
    where = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputRefused(f"{where}: not UTF-8 text") from None
    except OSError as exc:
        raise InputRefused(f"{where}: cannot read: {exc.strerror or exc}") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise InputRefused(f"{where}: line {exc.lineno}: invalid JSON: {exc.msg}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}:" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise InputRefused(f"{where}:{line} invalid YAML: {problem}") from None
    except RecursionError:
        raise InputRefused(f"{where}: nested too deeply to be metadata") from None
    except ValueError as exc:  # what the parser cannot represent: 2030-02-30, huge numbers
        problem = " ".join(str(exc).split())[:200]
        raise InputRefused(f"{where}: a value cannot be read: {problem}") from None
    if not isinstance(data, dict):
        raise InputRefused(f"{where}: expected a mapping of metadata keys (edition, level, "
                           "submitter, objectives, title, language...)")
    return parse_new_input(data, where=where)

"""Reading the project's data files (YAML) into pydantic models with errors a person can act on.

Every failure becomes one `ConfigError` whose message names the file, the key path and the
problem, e.g. ``config/modalities/x.yaml: milestones[sg-report].due.weeks: must be >= 0``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class ConfigError(ValueError):
    """A data file is missing, malformed or contradictory."""


class _Loader(yaml.SafeLoader):
    """``yaml.safe_load``'s loader, where a scalar Python refuses (a date 2022-13-45, an
    integer of 5,000 digits) is a YAML error with its line, not a bare ValueError."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, OverflowError) as exc:
            shown = str(node.value)[:40] if isinstance(node, yaml.ScalarNode) else node.tag
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {shown!r}: {exc}", node.start_mark) from None


def default_config_dir() -> Path:
    """The `config/` directory: `IMRF_CONFIG_DIR`, else the one beside the package."""
    env = os.environ.get("IMRF_CONFIG_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1] / "config"


def display_path(path: Path) -> str:
    """A path relative to the working directory when it is below it (shorter messages)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def load_yaml(path: Path) -> Any:
    """Parse a YAML file, turning I/O and syntax errors into a one-line ConfigError."""
    where = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{where}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: cannot read: {exc}") from None
    try:
        loader = _Loader(text)
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f": line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{where}{line}: invalid YAML: {problem}") from None
    except RecursionError:
        raise ConfigError(f"{where}: invalid YAML: nested too deeply") from None


def _labelled_location(data: Any, loc: tuple[int | str, ...]) -> str:
    """Render a pydantic error location, naming list items by their `id` when they have one."""
    parts: list[str] = []
    node = data
    for item in loc:
        if isinstance(item, int):
            label = str(item)
            if isinstance(node, list) and 0 <= item < len(node):
                node = node[item]
                if isinstance(node, dict) and isinstance(node.get("id"), str):
                    label = node["id"]
            else:
                node = None
            parts.append(f"[{label}]")
        else:
            node = node.get(item) if isinstance(node, dict) else None
            parts.append(f".{item}" if parts else str(item))
    return "".join(parts) or "(top level)"


def format_validation_error(where: str, data: Any, exc: ValidationError) -> str:
    """The first problem of a ValidationError as `file: key: problem` (plus a count of others)."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    # Skip pydantic's internal tags (e.g. the union member or `function-after[...]`).
    loc = tuple(p for p in first["loc"] if not (isinstance(p, str) and "[" in p))
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    elif first["type"] == "missing":
        message = "required key is missing"
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    return f"{where}: {_labelled_location(data, loc)}: {message}{more}"


def validate_file_data(model: type[M], data: Any, path: Path) -> M:
    """Validate parsed data against `model`, raising ConfigError with file and key."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(display_path(path), data, exc)) from None


def load_model(model: type[M], path: Path) -> M:
    return validate_file_data(model, load_yaml(path), path)

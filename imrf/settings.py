"""Runtime settings: environment variables over an optional ``settings.toml``.

Precedence (highest first): keyword arguments, environment variables, ``settings.toml`` in the
config directory (``IMRF_CONFIG_DIR``, default the repository's ``config/``), defaults.
``settings.toml`` uses the field names below as flat keys.

The SendGrid key and the database URL (which may hold a password) are ``SecretStr``: they
show as ``**********`` in a repr, in ``str()`` and in ``model_dump_json()``, and
:func:`load_settings` never copies the input value of a secret into its error message.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import (
    AliasChoices,
    EmailStr,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"
SETTINGS_FILE = "settings.toml"
ENV_PREFIX = "IMRF_"
# Fields read from an environment variable that does not follow the IMRF_ prefix.
_ENV_NAMES = {"sendgrid_api_key": "SENDGRID_API_KEY"}
_SECRET_FIELDS = frozenset({"sendgrid_api_key", "database_url"})


class SettingsError(ValueError):
    """A setting is malformed; the message is one line naming the field and where it is set."""


def settings_file() -> Path:
    """Where the optional settings file is looked for (``$IMRF_CONFIG_DIR/settings.toml``)."""
    config_dir = os.environ.get(f"{ENV_PREFIX}CONFIG_DIR") or str(DEFAULT_CONFIG_DIR)
    return Path(config_dir).expanduser() / SETTINGS_FILE


def env_name(field: str) -> str:
    """The environment variable that sets ``field``."""
    return _ENV_NAMES.get(field, f"{ENV_PREFIX}{field.upper()}")


class Settings(BaseSettings):
    """Everything the orchestrator reads from its environment."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    data_dir: Path = Path(".imrf")
    # A secret too: a PostgreSQL URL may carry a password.
    database_url: SecretStr = SecretStr("")  # empty: SQLite file under data_dir
    sendgrid_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("SENDGRID_API_KEY", "sendgrid_api_key"),
    )
    sendgrid_host: str = "https://api.sendgrid.com"
    sendgrid_sandbox: bool = False
    from_email: EmailStr = "no-reply@imrf.example.org"
    from_name: str = "IMRF Secretariat (demo)"
    outbox_dir: Path = Path()  # empty: data_dir/outbox
    ui_url: str = "http://127.0.0.1:4200"
    config_dir: Path = DEFAULT_CONFIG_DIR
    modalities: str = Field(default="zero-draft-2019", pattern=r"^[a-z0-9][a-z0-9._-]*$")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=settings_file())
        return (init_settings, env_settings, toml)

    @field_validator("sendgrid_host", "ui_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("from_name")
    @classmethod
    def _one_line(cls, value: str) -> str:
        # The name goes into a From: header.
        if any(ch in value for ch in "\r\n\0"):
            raise ValueError("must not contain line breaks or NUL")
        return value

    @model_validator(mode="before")
    @classmethod
    def _derive_paths(cls, data: Any) -> Any:
        # Resolved once, here, so a later chdir cannot move the database or the outbox.
        if not isinstance(data, dict):
            return data
        raw = data.get("data_dir") or ".imrf"
        if not isinstance(raw, str | Path):
            return data  # field validation reports the bad type
        data_dir = Path(raw).expanduser().resolve()
        data["data_dir"] = data_dir
        if not data.get("database_url"):
            data["database_url"] = f"sqlite:///{data_dir / 'imrf.db'}"
        if not data.get("outbox_dir"):
            data["outbox_dir"] = data_dir / "outbox"
        return data

    @field_validator("outbox_dir", "config_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()


def load_settings(**overrides: Any) -> Settings:
    """Build the settings, turning any problem into a one-line :class:`SettingsError`."""
    try:
        return Settings(**overrides)
    except tomllib.TOMLDecodeError as exc:
        message = f"{settings_file()}: not valid TOML: {exc}"
    except ValidationError as exc:
        message = "; ".join(_describe(err) for err in exc.errors())
    # Raised outside the except blocks, so the ValidationError (whose text holds the
    # input values, secrets included) does not travel along as __context__.
    raise SettingsError(message)


def _describe(err: Any) -> str:
    loc = err.get("loc") or ("?",)
    name = str(loc[0])
    field = next(
        (f for f in Settings.model_fields if name in {f, env_name(f), f.upper()}), None
    )
    if err.get("type") == "extra_forbidden" or field is None:
        return f"unknown setting {name!r} in {settings_file()}"
    where = f"{env_name(field)} or {field!r} in {settings_file()}"
    message = f"invalid setting {field} ({where}): {err.get('msg', 'invalid value')}"
    if field not in _SECRET_FIELDS and "input" in err:
        message += f" (got {str(err['input'])[:80]!r})"
    return message.replace("\n", " ")

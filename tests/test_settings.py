"""Settings: defaults, environment over settings.toml, one-line errors, secrets that never leak."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from imrf.settings import DEFAULT_CONFIG_DIR, Settings, SettingsError, load_settings

KEY = "SG.do-not-leak-7c1e5a9b"
DB_PASSWORD = "pg-pass-8e2f0d"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No IMRF_* or SendGrid variables from the outside; an empty config dir; cwd = tmp."""
    for name in list(os.environ):
        if name.upper().startswith("IMRF_") or name.upper() == "SENDGRID_API_KEY":
            monkeypatch.delenv(name)
    config = tmp_path / "config"
    config.mkdir()
    monkeypatch.setenv("IMRF_CONFIG_DIR", str(config))
    monkeypatch.chdir(tmp_path)
    return config


def write_toml(config: Path, body: str) -> Path:
    path = config / "settings.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_defaults_live_under_the_data_dir_in_the_working_directory(tmp_path: Path) -> None:
    settings = load_settings()
    data = (tmp_path / ".imrf").resolve()
    assert settings.data_dir == data
    assert settings.database_url.get_secret_value() == f"sqlite:///{data / 'imrf.db'}"
    assert settings.outbox_dir == data / "outbox"
    assert settings.sendgrid_api_key is None
    assert settings.sendgrid_host == "https://api.sendgrid.com"
    assert settings.sendgrid_sandbox is False
    assert settings.ui_url == "http://127.0.0.1:4200"
    assert settings.modalities == "zero-draft-2019"
    assert "@" in settings.from_email and settings.from_name


def test_default_config_dir_is_the_repository_config() -> None:
    assert Path(__file__).resolve().parents[1] / "config" == DEFAULT_CONFIG_DIR
    os.environ.pop("IMRF_CONFIG_DIR")
    assert load_settings().config_dir == DEFAULT_CONFIG_DIR


def test_environment_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("IMRF_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SENDGRID_API_KEY", KEY)
    monkeypatch.setenv("IMRF_SENDGRID_SANDBOX", "true")
    monkeypatch.setenv("IMRF_SENDGRID_HOST", "http://127.0.0.1:8025/")
    monkeypatch.setenv("IMRF_UI_URL", "https://imrf.example.org/ui/")
    monkeypatch.setenv("IMRF_FROM_EMAIL", "secretariat@example.org")
    monkeypatch.setenv("IMRF_MODALITIES", "a-res-73-326")
    settings = load_settings()
    assert settings.data_dir == tmp_path / "data"
    assert settings.outbox_dir == tmp_path / "data" / "outbox"
    assert settings.database_url.get_secret_value().endswith(str(tmp_path / "data" / "imrf.db"))
    assert settings.sendgrid_api_key is not None
    assert settings.sendgrid_api_key.get_secret_value() == KEY
    assert settings.sendgrid_sandbox is True
    assert settings.sendgrid_host == "http://127.0.0.1:8025"  # no trailing slash to double
    assert settings.ui_url == "https://imrf.example.org/ui"
    assert settings.from_email == "secretariat@example.org"
    assert settings.modalities == "a-res-73-326"


def test_database_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/imrf"
    monkeypatch.setenv("IMRF_DATABASE_URL", url)
    assert load_settings().database_url.get_secret_value() == url


def test_settings_toml_is_read_and_the_environment_wins(
    monkeypatch: pytest.MonkeyPatch, clean_environment: Path, tmp_path: Path
) -> None:
    write_toml(clean_environment, f"""
from_name = "Secretariat of the Forum"
sendgrid_sandbox = true
outbox_dir = "{tmp_path / 'mail'}"
ui_url = "http://127.0.0.1:4300"
""")
    monkeypatch.setenv("IMRF_UI_URL", "http://127.0.0.1:4400")
    settings = load_settings()
    assert settings.from_name == "Secretariat of the Forum"
    assert settings.sendgrid_sandbox is True
    assert settings.outbox_dir == tmp_path / "mail"
    assert settings.ui_url == "http://127.0.0.1:4400"


def test_keyword_overrides_win_over_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMRF_MODALITIES", "a-res-73-326")
    assert load_settings(modalities="zero-draft-2019").modalities == "zero-draft-2019"


def test_malformed_toml_is_one_line_naming_the_file(clean_environment: Path) -> None:
    path = write_toml(clean_environment, 'from_name = "unterminated\nui_url = 3\n')
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert message.startswith(f"{path}: not valid TOML")
    assert "line 1" in message and "\n" not in message


@pytest.mark.parametrize(
    ("variable", "value", "field"),
    [
        ("IMRF_SENDGRID_SANDBOX", "perhaps", "sendgrid_sandbox"),
        ("IMRF_UI_URL", "ftp://example.org", "ui_url"),
        ("IMRF_FROM_EMAIL", "not-an-address", "from_email"),
        ("IMRF_MODALITIES", "../../etc/passwd", "modalities"),
        ("IMRF_FROM_NAME", "Forum\r\nBcc: victim@example.org", "from_name"),
    ],
)
def test_bad_environment_value_names_the_field_and_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, field: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert f"invalid setting {field} ({variable} or '{field}' in " in message
    assert "\n" not in message


def test_unknown_key_in_toml_is_named(clean_environment: Path) -> None:
    write_toml(clean_environment, 'sendgird_api_key = "x"\n')
    with pytest.raises(SettingsError, match=r"unknown setting 'sendgird_api_key' in .*settings"):
        load_settings()


def test_bad_value_in_toml_names_the_field(clean_environment: Path) -> None:
    write_toml(clean_environment, 'sendgrid_sandbox = "sometimes"\n')
    with pytest.raises(SettingsError, match=r"invalid setting sendgrid_sandbox .*boolean"):
        load_settings()


def _everything_printable(settings: Settings) -> str:
    return "\n".join([
        repr(settings), str(settings), settings.model_dump_json(),
        str(settings.model_dump()), str(settings.model_dump(mode="json")),
        repr(settings.sendgrid_api_key), str(settings.sendgrid_api_key),
        repr(settings.database_url), f"{settings.database_url}",
    ])


def test_secrets_never_appear_in_repr_str_or_dumps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENDGRID_API_KEY", KEY)
    monkeypatch.setenv(
        "IMRF_DATABASE_URL", f"postgresql+psycopg://imrf:{DB_PASSWORD}@127.0.0.1/imrf"
    )
    printed = _everything_printable(load_settings())
    assert KEY not in printed
    assert DB_PASSWORD not in printed
    assert "**********" in printed


def test_secrets_never_appear_in_error_messages(
    monkeypatch: pytest.MonkeyPatch, clean_environment: Path
) -> None:
    # The key is set while another field is broken ...
    monkeypatch.setenv("SENDGRID_API_KEY", KEY)
    monkeypatch.setenv("IMRF_SENDGRID_SANDBOX", "perhaps")
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert KEY not in str(info.value) and KEY not in repr(info.value)
    # Not even as the chained exception a traceback or a logger would print.
    assert info.value.__cause__ is None and info.value.__context__ is None
    # ... and the key itself is malformed (a number in settings.toml).
    monkeypatch.delenv("SENDGRID_API_KEY")
    monkeypatch.delenv("IMRF_SENDGRID_SANDBOX")
    write_toml(clean_environment, "sendgrid_api_key = 987654321987\n")
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert "sendgrid_api_key" in str(info.value)
    assert "987654321987" not in str(info.value) and info.value.__context__ is None

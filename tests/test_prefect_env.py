"""The embedded default's Prefect settings, computed without importing Prefect."""

from __future__ import annotations

import os
import ssl
from pathlib import Path

import pytest

from imrf.prefect_env import TemporaryServer, apply_defaults, local_env


def test_local_env_keeps_everything_under_the_data_dir(tmp_path: Path) -> None:
    env = local_env(tmp_path, port=4321)
    assert env["PREFECT_HOME"] == str(tmp_path / "prefect")
    assert env["PREFECT_API_URL"] == env["PREFECT_UI_API_URL"] == "http://127.0.0.1:4321/api"
    assert env["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false" and env["DO_NOT_TRACK"] == "1"


def test_users_api_url_also_points_the_ui(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # Bug seen in the browser: a UI served on 4311 called 4200's API and showed nothing.
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4311/api")
    monkeypatch.delenv("PREFECT_UI_API_URL", raising=False)
    monkeypatch.delenv("PREFECT_HOME", raising=False)
    apply_defaults(local_env(tmp_path))
    assert os.environ["PREFECT_API_URL"] == "http://127.0.0.1:4311/api"
    assert os.environ["PREFECT_UI_API_URL"] == "http://127.0.0.1:4311/api"
    assert os.environ["PREFECT_HOME"] == str(tmp_path / "prefect")


def test_users_own_settings_win(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_HOME", "/srv/prefect")
    monkeypatch.setenv("PREFECT_UI_API_URL", "https://imrf.example.org/api")
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    apply_defaults(local_env(tmp_path))
    assert os.environ["PREFECT_HOME"] == "/srv/prefect"
    assert os.environ["PREFECT_UI_API_URL"] == "https://imrf.example.org/api"
    assert os.environ["PREFECT_API_URL"] == "http://127.0.0.1:4200/api"


def test_the_temporary_servers_clients_get_a_one_certificate_ca_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PREFECT_API_SSL_CERT_FILE", raising=False)
    ca_file = TemporaryServer._one_certificate(tmp_path)
    assert ca_file is not None
    assert ca_file.read_text(encoding="ascii").count("-----BEGIN CERTIFICATE-----") == 1
    assert ssl.create_default_context(cafile=str(ca_file)).cert_store_stats()["x509_ca"] == 1
    # A CA file the user chose is theirs: nothing is written, Prefect reads theirs.
    monkeypatch.setenv("PREFECT_API_SSL_CERT_FILE", "/etc/ssl/mine.pem")
    assert TemporaryServer._one_certificate(tmp_path / "other") is None
    assert not (tmp_path / "other").exists()

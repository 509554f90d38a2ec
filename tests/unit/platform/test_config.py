"""Settings come from the environment and from secret files, read when asked for, not at import."""

from __future__ import annotations

from pathlib import Path

import pytest

from kairos.platform.config import Settings, TransportKind, load_settings


def test_settings_come_from_kairos_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAIROS_TRANSPORT", "inprocess")
    monkeypatch.setenv("KAIROS_BASE_PORT", "9000")
    monkeypatch.setenv("KAIROS_SERVICE_URLS", '{"chat": "http://chat.internal:80"}')

    settings = load_settings()

    assert settings.transport == TransportKind.IN_PROCESS
    assert settings.service_port("gateway") == 9000
    assert settings.service_port("monitoring") == 9007
    assert settings.service_url("chat") == "http://chat.internal:80"
    assert settings.service_url("identity") == "http://127.0.0.1:9001"


def test_an_empty_variable_counts_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAIROS_TRANSPORT", "")
    monkeypatch.setenv("KAIROS_DATABASE_URL", "")

    settings = load_settings()

    assert settings.transport == TransportKind.RABBITMQ
    assert settings.database_url is None


def test_secrets_are_read_from_files_and_the_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "kairos_database_url").write_text("postgresql://kairos:from-file@db:5432/postgres")
    (tmp_path / "kairos_rabbitmq_url").write_text("amqp://u:from-file@mq:5672/")
    monkeypatch.setenv("KAIROS_SECRETS_DIR", str(tmp_path))
    monkeypatch.setenv("KAIROS_RABBITMQ_URL", "amqp://u:from-env@mq:5672/")

    settings = load_settings()

    assert settings.database_url is not None
    assert settings.database_url.get_secret_value() == "postgresql://kairos:from-file@db:5432/postgres"
    assert settings.rabbitmq_url.get_secret_value() == "amqp://u:from-env@mq:5672/"
    assert "from-file" not in repr(settings)  # secrets never show in logs or tracebacks


def test_the_jwks_url_follows_the_issuer_unless_set() -> None:
    assert Settings(auth_issuer="https://id.example/api/v1/identity").jwks_url == (
        "https://id.example/api/v1/identity/jwks"
    )
    assert Settings(auth_jwks_url="http://identity:8001/keys").jwks_url == "http://identity:8001/keys"

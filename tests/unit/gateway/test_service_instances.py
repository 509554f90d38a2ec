"""``KAIROS_SERVICE_URLS``: one URL or a list of URLs per service, read from the environment."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from kairos.platform.config import DEFAULT_RATE_LIMITS, Settings, load_settings


def test_a_service_may_have_several_instances_and_a_single_url_still_means_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "KAIROS_SERVICE_URLS",
        '{"appointments": ["http://10.0.0.5:8002", "http://10.0.0.6:8002"], "chat": "http://chat:8003"}',
    )

    settings = load_settings()

    assert settings.service_instances("appointments") == ("http://10.0.0.5:8002", "http://10.0.0.6:8002")
    assert settings.service_instances("chat") == ("http://chat:8003",)
    assert settings.service_url("appointments") == "http://10.0.0.5:8002"
    assert settings.service_instances("identity") == ("http://127.0.0.1:8001",)


def test_a_service_with_an_empty_list_of_instances_is_a_configuration_error() -> None:
    with pytest.raises(ValidationError, match="no instance URL for chat"):
        Settings(service_urls={"chat": ()})


def test_rate_limit_rules_come_from_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "KAIROS_GATEWAY_RATE_LIMITS",
        '[{"name": "uploads", "path": "/api/v1/documents/", "methods": ["post"], "user": "5/minute"}]',
    )

    (rule,) = load_settings().gateway_rate_limits

    assert (rule.name, rule.path, rule.methods, rule.user, rule.address) == (
        "uploads",
        "/api/v1/documents/",
        ("POST",),
        "5/minute",
        None,
    )
    monkeypatch.delenv("KAIROS_GATEWAY_RATE_LIMITS")
    assert load_settings().gateway_rate_limits == DEFAULT_RATE_LIMITS

"""``kairos appointments domains put|list|show``: domains registered at run time from the command line, as an
operator scripts it, against a migrated appointments database; the API then serves what the command stored."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from kairos.platform.config import Settings
from kairos.platform.testing.infrastructure import unique_name
from tests.conftest import POSTGRES_URL, TEST_KEYRING

pytestmark = pytest.mark.integration

PHYSIOTHERAPY: dict[str, Any] = {
    "label": "Physiotherapy",
    "terminology": {"client": "patient", "professional": "physiotherapist"},
    "appointment_types": [
        {"code": "assessment", "label": "First assessment", "duration_minutes": 45},
        {"code": "session", "label": "Session", "duration_minutes": 30, "capacity": 4},
    ],
    "form_schema": {
        "type": "object",
        "properties": {"injury": {"type": "string", "title": "Where does it hurt?", "maxLength": 200}},
        "required": ["injury"],
        "additionalProperties": False,
    },
    "reason_codes": ["fully_booked", "needs_referral"],
}


@pytest.fixture(scope="module")
def environment(base_settings: Settings) -> dict[str, str]:
    environment = {
        **os.environ,
        "KAIROS_DATABASE_URL": POSTGRES_URL,
        "KAIROS_DATABASE_PREFIX": f"{base_settings.database_prefix}{unique_name('domains')}_",
        "KAIROS_ENCRYPTION_KEYS": TEST_KEYRING.to_json(),
        "KAIROS_LOG_LEVEL": "WARNING",
    }
    migrated = kairos(environment, "migrate", "appointments")
    assert migrated.returncode == 0, migrated.stderr
    return environment


def kairos(environment: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kairos", *args],
        input=stdin,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _with_defaults_filled(shown: dict[str, Any]) -> dict[str, Any]:
    """What was put, as the service reads it back: every field the file left out has its default."""
    return {name: shown[name] for name in ("label", "terminology", "reason_codes", "form_schema")}


def test_an_operator_registers_a_domain_from_standard_input_then_changes_it(environment: dict[str, str]) -> None:
    created = kairos(environment, "appointments", "domains", "put", "physiotherapy", stdin=json.dumps(PHYSIOTHERAPY))
    assert created.returncode == 0, created.stderr
    first = json.loads(created.stdout)
    assert (first["name"], first["version"]) == ("physiotherapy", 1)
    assert _with_defaults_filled(first) == {name: PHYSIOTHERAPY[name] for name in _with_defaults_filled(first)}
    assert [kind["capacity"] for kind in first["appointment_types"]] == [1, 4]

    changed = kairos(
        environment,
        "appointments",
        "domains",
        "put",
        "physiotherapy",
        stdin=json.dumps({**PHYSIOTHERAPY, "label": "Physiotherapy and rehabilitation"}),
    )
    assert changed.returncode == 0, changed.stderr
    assert json.loads(changed.stdout)["version"] == 2

    shown = kairos(environment, "appointments", "domains", "show", "physiotherapy")
    assert shown.returncode == 0, shown.stderr
    assert (json.loads(shown.stdout)["label"], json.loads(shown.stdout)["version"]) == (
        "Physiotherapy and rehabilitation",
        2,
    )
    listed = kairos(environment, "appointments", "domains", "list")
    assert listed.returncode == 0, listed.stderr
    assert "physiotherapy" in {domain["name"] for domain in json.loads(listed.stdout)}


def test_a_configuration_from_a_file_is_read_as_the_api_reads_it(environment: dict[str, str], tmp_path: Any) -> None:
    path = tmp_path / "legal-aid.json"
    path.write_text(json.dumps({**PHYSIOTHERAPY, "label": "Legal aid"}))
    created = kairos(environment, "appointments", "domains", "put", "legal-aid", "--file", str(path))
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["label"] == "Legal aid"


def test_an_invalid_configuration_is_refused_with_the_reason_and_nothing_is_stored(environment: dict[str, str]) -> None:
    broken = {**PHYSIOTHERAPY, "appointment_types": [{"code": "session", "label": "Session", "duration_minutes": -5}]}
    refused = kairos(environment, "appointments", "domains", "put", "broken", stdin=json.dumps(broken))
    assert refused.returncode == 2
    assert "duration_minutes" in refused.stderr
    assert kairos(environment, "appointments", "domains", "show", "broken").returncode == 1

    not_json = kairos(environment, "appointments", "domains", "put", "broken", stdin="{not json")
    assert not_json.returncode == 2
    assert "not a valid domain configuration" in not_json.stderr


def test_a_name_the_api_would_not_take_is_refused(environment: dict[str, str]) -> None:
    refused = kairos(environment, "appointments", "domains", "put", "Not A Name", stdin=json.dumps(PHYSIOTHERAPY))
    assert refused.returncode == 2
    assert "lower-case" in refused.stderr

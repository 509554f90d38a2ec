"""``kairos users create`` and ``kairos clients create``, as an operator runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import psycopg
import pytest
from sqlalchemy import make_url

from kairos.platform.config import Settings
from kairos.platform.testing.infrastructure import unique_name
from tests.conftest import POSTGRES_URL, TEST_KEYRING

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def environment(base_settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "KAIROS_DATABASE_URL": POSTGRES_URL,
        "KAIROS_DATABASE_PREFIX": f"{base_settings.database_prefix}{unique_name('cli')}_",
        "KAIROS_ENCRYPTION_KEYS": TEST_KEYRING.to_json(),
        "KAIROS_LOG_LEVEL": "WARNING",
    }


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


def test_an_operator_creates_a_user_with_the_password_on_standard_input(environment: dict[str, str]) -> None:
    created = kairos(
        environment,
        "users",
        "create",
        "--email",
        "New.Person@Example.org",
        "--role",
        "operator",
        stdin="sea glass under the pier\n",
    )
    assert created.returncode == 0, created.stderr
    output = json.loads(created.stdout)
    assert output["email"] == "new.person@example.org"
    assert output["roles"] == ["operator"]
    assert "sea glass" not in created.stdout + created.stderr
    database = make_url(POSTGRES_URL).set(database=f"{environment['KAIROS_DATABASE_PREFIX']}identity")
    with psycopg.connect(database.render_as_string(hide_password=False)) as connection:
        published = connection.execute(
            "SELECT data FROM outbox WHERE type = 'identity.user.registered' AND subject = %s",
            (f"user:{output['user_id']}",),
        ).fetchall()
    assert [row[0]["roles"] for row in published] == [["operator"]]

    again = kairos(
        environment,
        "users",
        "create",
        "--email",
        "new.person@example.org",
        "--role",
        "patient",
        stdin="another fine pass phrase\n",
    )
    assert again.returncode == 2
    assert "refused" in again.stderr


def test_a_weak_password_is_refused_with_its_reasons_only(environment: dict[str, str]) -> None:
    refused = kairos(
        environment, "users", "create", "--email", "weak@example.org", "--role", "patient", stdin="password123\n"
    )
    assert refused.returncode == 2
    assert "too_short" in refused.stderr
    assert "password123" not in refused.stderr


def test_an_operator_registers_a_service_client_and_gets_its_secret_once(environment: dict[str, str]) -> None:
    created = kairos(
        environment,
        "clients",
        "create",
        "--name",
        "Reporting",
        "--grant",
        "client_credentials",
        "--scope",
        "system/*.read",
    )
    assert created.returncode == 0, created.stderr
    output = json.loads(created.stdout)
    assert set(output) == {"client_id", "client_secret"}
    assert len(output["client_secret"]) >= 40


@pytest.mark.parametrize(
    "arguments",
    [
        ["--grant", "password"],
        ["--grant", "implicit"],
        ["--grant", "authorization_code"],  # no redirect URI
        ["--grant", "client_credentials", "--public"],
    ],
)
def test_clients_the_profile_forbids_are_refused(environment: dict[str, str], arguments: list[str]) -> None:
    refused = kairos(environment, "clients", "create", "--name", "Bad", *arguments)
    assert refused.returncode == 2
    assert "refused" in refused.stderr

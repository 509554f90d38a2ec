"""A booking from search to cancellation, through the gateway of the all-in-one shape as `make run` starts it,
with real tokens from identity (issue 5 §10 "full flows through the gateway").

People sign in as a browser does: the authorization-code flow with PKCE (Authlib's client) and identity's own
sign-in pages (the demo password; the practice's people set up the TOTP second factor on their first
sign-in, with codes from pyotp). A backend client registered with `kairos clients create` reads FHIR
appointments with a client-credentials token. One process start for the whole module.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin

import httpx
import icalendar
import jwt
import pyotp
import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client

from kairos.identity.demo import DEMO_PASSWORD, WEB_CLIENT_ID
from tests.e2e.processes import ROOT, KairosProcess, free_base_port

pytestmark = pytest.mark.e2e

PATIENT = "patient@demo.kairos.test"
DOCTOR = "doctor@harbour.demo.kairos.test"
RECEPTION = "reception@harbour.demo.kairos.test"
API = "/api/v1/appointments"
ANSWERS = {"reason": "A cough for three weeks", "insurance_number": "AB123456", "first_visit": True}


@dataclass(frozen=True)
class Kairos:
    gateway: str
    process: KairosProcess
    reporting_client: dict[str, str]  # client_id, client_secret of a client-credentials client
    metadata: dict[str, Any]  # identity's OpenID Provider metadata


@pytest.fixture(scope="module")
def kairos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kairos]:
    tmp_path = tmp_path_factory.mktemp("flows")
    base_port = free_base_port()
    gateway = f"http://127.0.0.1:{base_port}"
    env = {
        "KAIROS_DATA_DIR": str(tmp_path / "data"),
        "KAIROS_BASE_PORT": str(base_port),  # the demo web client's redirect URIs follow it
        "KAIROS_LOG_LEVEL": "WARNING",
        "KAIROS_DATABASE_URL": "",
        "KAIROS_TRANSPORT": "",
    }
    process = KairosProcess(["run"], env, tmp_path / "kairos.log")
    # As an operator registers a reporting backend: before the start, on the same data directory.
    created = subprocess.run(
        [
            sys.executable,
            "-m",
            "kairos",
            "clients",
            "create",
            "--name",
            "Reporting",
            "--grant",
            "client_credentials",
            "--scope",
            "system/*.read",
        ],
        cwd=ROOT,
        env=process.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    reporting = json.loads(created.stdout)
    process.start()
    try:
        process.wait_ready(f"{gateway}/health/ready")
        metadata = httpx.get(f"{gateway}/api/v1/identity/.well-known/openid-configuration").json()
        yield Kairos(gateway, process, reporting, metadata)
        assert process.interrupt() == 0
    finally:
        process.kill()


@dataclass(frozen=True)
class Person:
    subject: str
    token: str

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def hidden_fields(page: str) -> dict[str, str]:
    return {
        name: html.unescape(value) for name, value in re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', page)
    }


def sign_in(kairos: Kairos, email: str) -> Person:
    """Sign in through identity's pages in a 'browser', as the web app's client (authorization code + PKCE)."""
    verifier = generate_token(64)
    with (
        OAuth2Client(
            client_id=WEB_CLIENT_ID,
            redirect_uri=f"{kairos.gateway}/auth/callback",
            scope="openid profile email offline_access",
            code_challenge_method="S256",
            token_endpoint_auth_method="none",
        ) as client,
        httpx.Client() as browser,
    ):
        url, _ = client.create_authorization_url(kairos.metadata["authorization_endpoint"], code_verifier=verifier)
        to_sign_in = browser.get(url)
        assert to_sign_in.status_code == 303, to_sign_in.text
        page = browser.get(urljoin(str(to_sign_in.url), to_sign_in.headers["location"]))
        assert page.status_code == 200, page.text
        signed_in = browser.post(
            urljoin(str(page.url), "sign-in"),
            data={**hidden_fields(page.text), "email": email, "password": DEMO_PASSWORD},
        )
        assert signed_in.status_code == 303, signed_in.text
        after = urljoin(str(signed_in.url), signed_in.headers["location"])
        if "/mfa/enrol" in after:  # the practice's people: an authenticator app, set up on the first sign-in
            enrolment = browser.get(after)
            secret = re.search(r'class="secret"><code>([A-Z2-7 ]+)</code>', enrolment.text)
            assert secret is not None, enrolment.text
            code = pyotp.TOTP(secret.group(1).replace(" ", "")).now()
            confirmed = browser.post(urljoin(after, "enrol"), data={**hidden_fields(enrolment.text), "code": code})
            assert confirmed.status_code == 200, confirmed.text
            onwards = re.search(r'<a class="button" href="([^"]+)"', confirmed.text)
            assert onwards is not None
            after = urljoin(after, html.unescape(onwards.group(1)))
        back = browser.get(after)
        assert back.status_code == 302, back.text
        token = client.fetch_token(
            kairos.metadata["token_endpoint"], authorization_response=back.headers["location"], code_verifier=verifier
        )
    access_token = token["access_token"]
    return Person(jwt.decode(access_token, options={"verify_signature": False})["sub"], access_token)


def test_a_booking_from_the_directory_to_its_cancellation(kairos: Kairos) -> None:
    gateway = httpx.Client(base_url=kairos.gateway, timeout=30)
    patient = sign_in(kairos, PATIENT)

    # The patient finds the doctor in the directory, and her free times.
    directory = gateway.get(f"{API}/directory", params={"q": "Haddad", "appointment_type": "consultation"})
    assert directory.status_code == 200, directory.text
    [doctor] = directory.json()["items"]
    [resource] = [item for item in doctor["resources"] if item["domain"] == "medical"]
    now = datetime.now(UTC)
    slots = gateway.get(
        f"{API}/resources/{resource['id']}/slots",
        params={
            "appointment_type": "consultation",
            "from": (now + timedelta(days=3)).isoformat(),  # beyond the 24 h cancellation cut-off
            "to": (now + timedelta(days=17)).isoformat(),
            "zone": "Europe/Paris",
        },
    )
    assert slots.status_code == 200, slots.text
    slot = slots.json()[0]

    # It is held while the form is filled in, then requested with the domain's custom fields.
    domain = gateway.get(f"{API}/domains/medical").json()
    assert set(ANSWERS) <= set(domain["form_schema"]["properties"])
    held = gateway.post(
        f"{API}/resources/{resource['id']}/holds",
        json={"appointment_type": "consultation", "starts_at": slot["starts_at"]},
        headers=patient.bearer,
    )
    assert held.status_code == 201, held.text
    requested = gateway.post(
        f"{API}/appointments",
        json={
            "resource_id": resource["id"],
            "appointment_type": "consultation",
            "starts_at": slot["starts_at"],
            "hold_id": held.json()["id"],
            "message": "Could we also renew my prescription?",
            "answers": ANSWERS,
        },
        headers=patient.bearer,
    )
    assert requested.status_code == 201, requested.text
    appointment_id = requested.json()["id"]
    assert requested.json()["status"] == "pending"

    # The doctor sees it waiting; the reception approves it with the batch endpoint.
    doctor_person = sign_in(kairos, DOCTOR)
    pending = gateway.get(f"{API}/appointments", params={"status": "pending"}, headers=doctor_person.bearer)
    assert pending.status_code == 200, pending.text
    assert appointment_id in [item["id"] for item in pending.json()["items"]]
    reception = sign_in(kairos, RECEPTION)
    decided = gateway.post(
        f"{API}/appointments/decisions",
        json={"decisions": [{"appointment_id": appointment_id, "decision": "approve"}]},
        headers=reception.bearer,
    )
    assert decided.status_code == 200, decided.text
    [result] = decided.json()["results"]
    assert result["outcome"] == "ok", result
    assert result["appointment"]["status"] == "booked"

    # The patient sees it booked, and takes it into a calendar.
    seen = gateway.get(f"{API}/appointments/{appointment_id}", headers=patient.bearer)
    assert seen.json()["status"] == "booked"
    ics = gateway.get(f"{API}/appointments/{appointment_id}.ics", headers=patient.bearer)
    assert ics.status_code == 200, ics.text
    assert ics.headers["content-type"].startswith("text/calendar")
    [event] = icalendar.Calendar.from_ical(ics.content).walk("VEVENT")
    assert str(event["UID"]) == f"{appointment_id}@appointments.kairos"
    assert str(event["STATUS"]) == "CONFIRMED"
    assert event.decoded("DTSTART") == datetime.fromisoformat(slot["starts_at"])

    # Cancelled by the patient within the policy; the history tells every step and who took it.
    cancelled = gateway.post(
        f"{API}/appointments/{appointment_id}/cancellation",
        json={"reason": "I feel better"},
        headers=patient.bearer,
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    history = gateway.get(f"{API}/appointments/{appointment_id}/history", headers=patient.bearer)
    assert history.status_code == 200, history.text
    assert [(entry["kind"], entry["actor"]) for entry in history.json()] == [
        ("requested", patient.subject),
        ("approved", reception.subject),
        ("cancelled", patient.subject),
    ]
    assert history.json()[-1]["reason"] == "I feel better"

    # A reporting backend with a client-credentials token finds it in the FHIR facade.
    token = httpx.post(
        kairos.metadata["token_endpoint"],
        data={"grant_type": "client_credentials", "scope": "system/*.read"},
        auth=(kairos.reporting_client["client_id"], kairos.reporting_client["client_secret"]),
    )
    assert token.status_code == 200, token.text
    found = gateway.get(
        "/fhir/R4/Appointment",
        params={"patient": patient.subject},
        headers={"Authorization": f"Bearer {token.json()['access_token']}", "Accept": "application/fhir+json"},
    )
    assert found.status_code == 200, found.text
    bundle = found.json()
    assert bundle["resourceType"] == "Bundle"
    assert appointment_id in [entry["resource"]["id"] for entry in bundle["entry"]]
    gateway.close()

"""GDPR export and erasure as sagas across every service (docs/privacy.md), on the real PostgreSQL: identity over real
HTTP, every participating service as its own runtime on its own database, all joined by one in-process transport
through their outboxes and inboxes, as in the all-in-one shape.

A patient with an appointment asks for an export: every service answers, a restart of identity mid-saga loses
nothing, the download assembles identity's data and the appointment (message decrypted) for the patient only.
Another patient asks for erasure: the account is locked at once, the appointment pseudonymised (no row holds the
patient's id, REST and FHIR show the pseudonym), then identity wipes the account and keeps a receipt.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select, text, update

from kairos.appointments import service as appointments_service
from kairos.appointments.repository import Resource
from kairos.contracts.events.privacy import ExportReady
from kairos.identity.domain.roles import Role
from kairos.identity.privacy import check_requests
from kairos.identity.repository import load_account_record
from kairos.identity.service import create_client
from kairos.identity.tables import (
    browser_sessions,
    client_grants,
    data_request_answers,
    data_subject_requests,
    external_identities,
    identity_providers,
    organisations,
    passkeys,
    profiles,
    refresh_tokens,
    users,
)
from kairos.platform.aio import cancel_and_wait
from kairos.platform.auth.principal import Principal
from kairos.platform.config import Settings
from kairos.platform.db.engine import database_url
from kairos.platform.events.envelope import Envelope
from kairos.platform.events.inprocess import InProcessTransport
from kairos.platform.ids import new_id
from kairos.platform.runtime import ServiceRuntime
from kairos.platform.serve import serve
from kairos.platform.testing.infrastructure import unique_name
from kairos.platform.testing.issuer import TestIssuer
from kairos.services import definition
from tests.integration.identity.conftest import REDIRECT_URI, Provider, SignedIn, create_person, sign_in

pytestmark = pytest.mark.integration

PARTICIPANTS = ("appointments", "chat", "documents", "notifications", "assistant", "monitoring")
MESSAGE = "Chest pain since Monday"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class World:
    """Identity and every participant, on one in-process transport; identity served on a fixed port."""

    settings: Settings  # the participants' (tokens from the test issuer)
    identity_settings: Settings  # identity's own issuer
    port: int
    transport: InProcessTransport = field(default_factory=lambda: InProcessTransport(retry_delays=(0.2, 0.4)))
    runtimes: dict[str, ServiceRuntime] = field(default_factory=dict)
    paused: set[str] = field(default_factory=set)
    provider: Provider | None = None
    _serving: tuple[asyncio.Event, asyncio.Task[None]] | None = None

    @property
    def identity(self) -> ServiceRuntime:
        return self.runtimes["identity"]

    def _runtime(self, name: str) -> ServiceRuntime:
        settings = self.identity_settings if name == "identity" else self.settings
        return ServiceRuntime(
            definition(name), settings=settings, database_url=database_url(settings, name), transport=self.transport
        )

    async def start_participants(self) -> None:
        for name in PARTICIPANTS:
            self.runtimes[name] = self._runtime(name)
            await self.runtimes[name].migrate()
        await self.runtimes["appointments"].seed_demo()
        for name in PARTICIPANTS:
            await self.runtimes[name].start()
        await self.transport.start()

    async def start_identity(self, *, first: bool = False) -> None:
        """Identity on its database and port; ``first``: migrated, demo data and the web client made."""
        if not first:  # a new instance, subscribed to the transport in place of the stopped one
            self.runtimes["identity"] = self._runtime("identity")
        runtime = self.runtimes["identity"]
        web_client_id = self.provider.web_client_id if self.provider else ""
        if first:
            await runtime.seed_demo()
            async with runtime.unit_of_work() as uow:
                web = await create_client(
                    uow=uow,
                    name="Kairos web",
                    grant_types=frozenset({"authorization_code", "refresh_token"}),
                    redirect_uris=(REDIRECT_URI,),
                    public=True,
                    first_party=True,
                )
                await uow.commit()
            web_client_id = web.client_id
        await runtime.start()
        stop = asyncio.Event()
        serving = asyncio.create_task(serve(runtime.app, host="127.0.0.1", port=self.port, stop=stop))
        self._serving = (stop, serving)
        issuer = self.identity_settings.auth_issuer
        async with httpx.AsyncClient() as client:
            for _ in range(200):
                try:
                    metadata = (await client.get(f"{issuer}/.well-known/openid-configuration")).json()
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.05)
        self.provider = Provider(issuer, metadata, web_client_id, "", "", runtime)

    async def stop_identity(self) -> None:
        assert self._serving is not None
        stop, serving = self._serving
        stop.set()
        await serving
        await cancel_and_wait([serving])
        await self.identity.stop()
        self._serving = None

    async def pause(self, name: str) -> None:
        """Stop a service's relay: what it handles still commits, its answers wait in its outbox."""
        await self.runtimes[name].stop()
        self.paused.add(name)

    async def resume(self, name: str) -> None:
        """A new instance of a paused service: its relay publishes what waited."""
        self.runtimes[name] = self._runtime(name)
        await self.runtimes[name].start()
        self.paused.discard(name)

    async def stop(self) -> None:
        if self._serving is not None:
            await self.stop_identity()
        for name in PARTICIPANTS:
            if name not in self.paused:
                await self.runtimes[name].stop()
        await self.transport.stop()

    async def call(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with httpx.AsyncClient() as client:
            return await client.request(
                method, f"{self.identity_settings.auth_issuer}{path}", headers=headers, **kwargs
            )

    async def waiting_only_for_appointments(self, request_id: str) -> None:
        """Until every other service has answered (each answers on its own relay's time; bounded wait)."""
        for _ in range(200):
            async with self.identity.sessionmaker() as session:
                answered = set(
                    await session.scalars(
                        select(data_request_answers.c.service).where(
                            data_request_answers.c.request_id == uuid.UUID(request_id)
                        )
                    )
                )
            if answered == set(PARTICIPANTS) - {"appointments"}:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"answered so far: {sorted(answered)}")

    async def settled(self, request_id: str, token: str | None = None, *, status: str) -> dict[str, Any]:
        """The request once it reached ``status`` (events are handled asynchronously; bounded wait)."""
        for _ in range(200):
            async with self.identity.sessionmaker() as session:
                row = (
                    (
                        await session.execute(
                            select(data_subject_requests).where(data_subject_requests.c.id == uuid.UUID(request_id))
                        )
                    )
                    .mappings()
                    .one()
                )
            if row["status"] == status:
                return dict(row)
            await asyncio.sleep(0.05)
        raise AssertionError(f"request {request_id} is {row['status']}, not {status}")


@pytest.fixture(scope="module")
async def world(base_settings: Settings) -> AsyncIterator[World]:
    port = _free_port()
    prefix = f"{base_settings.database_prefix}{unique_name('gdpr')}_"
    settings = base_settings.model_copy(update={"database_prefix": prefix})
    identity_settings = settings.model_copy(
        update={"auth_issuer": f"http://127.0.0.1:{port}/api/v1/identity", "auth_jwks_url": None}
    )
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv("KAIROS_APPOINTMENTS_GRPC_PORT", "0")  # no gRPC server in these tests
        running = World(settings, identity_settings, port)
        # Every consumer subscribes before any relay publishes, as in the all-in-one shape.
        running.runtimes["identity"] = running._runtime("identity")
        await running.identity.migrate()
        await running.start_participants()
        await running.start_identity(first=True)
        try:
            yield running
        finally:
            await running.stop()


async def patient_with_appointment(world: World) -> tuple[SignedIn, uuid.UUID]:
    """A new patient, signed in, with a requested appointment (message and answers) at a practice's resource."""
    assert world.provider is not None
    person = await sign_in(world.provider, await create_person(world.provider, Role.PATIENT))
    appointments = world.runtimes["appointments"]
    async with appointments.unit_of_work() as uow:
        resource = await uow.appointments.add_resource(
            Resource(
                id=new_id(),
                resource_no=0,
                organisation_id=uuid.uuid4(),
                kind="professional",
                display_name="Dr. Test",
                zone="Europe/Paris",
                user_id=None,
            )
        )
        await uow.commit()
    starts_at = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    appointment = await appointments_service.request_appointment(
        uow=appointments.unit_of_work(),
        by=Principal(subject=str(person.user_id), permissions=frozenset({"appointments:request"})),
        resource_id=resource.id,
        appointment_type="consultation",
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=20),
        message=MESSAGE,
        answers={"reason": "chest pain"},
    )
    return person, appointment.id


async def test_an_export_assembles_every_part_and_survives_a_restart_of_identity(world: World) -> None:
    person, appointment_id = await patient_with_appointment(world)
    await world.pause("appointments")

    asked = await world.call("POST", "/me/data-requests", person.access_token, json={"kind": "export"})
    assert asked.status_code == 201, asked.text
    request_id = asked.json()["id"]
    await world.waiting_only_for_appointments(request_id)
    waiting = (await world.call("GET", f"/me/data-requests/{request_id}", person.access_token)).json()
    assert waiting["waiting_for"] == ["appointments"]
    assert waiting["download_url"] is None
    early = await world.call("GET", f"/me/data-requests/{request_id}/download", person.access_token)
    assert early.status_code == 409, early.text

    # Identity stops mid-saga; a new instance (same database, same port) and appointments' own restart finish it.
    await world.stop_identity()
    await world.start_identity()
    await world.resume("appointments")
    await world.settled(request_id, status="complete")

    downloaded = await world.call("GET", f"/me/data-requests/{request_id}/download", person.access_token)
    assert downloaded.status_code == 200, downloaded.text
    assert downloaded.headers["content-disposition"].startswith("attachment")
    document = downloaded.json()
    assert document["format"] == "kairos.data-export/1"
    assert document["identity"]["account"]["email"] == person.email
    assert document["identity"]["sessions"], "the sessions signed in"
    assert set(document["services"]) == set(PARTICIPANTS)
    assert document["services"]["chat"] == {}  # holds nothing, and said so
    trail = document["services"]["monitoring"]  # who accessed the person's data (Art. 15(1)(c))
    assert trail["more_entries_held"] is False
    assert all(entry["service"] and entry["action"] and entry["resource_type"] for entry in trail["audit_entries"])
    [exported] = document["services"]["appointments"]["appointments"]
    assert exported["id"] == str(appointment_id)
    assert (exported["message"], exported["answers"]) == (MESSAGE, {"reason": "chest pain"})
    assert [step["by"] for step in exported["history"]] == ["patient"]


async def test_the_export_goes_to_its_subject_only(world: World) -> None:
    person, _ = await patient_with_appointment(world)
    assert world.provider is not None
    other = await sign_in(world.provider, await create_person(world.provider, Role.PATIENT))
    request_id = (await world.call("POST", "/me/data-requests", person.access_token, json={"kind": "export"})).json()[
        "id"
    ]
    await world.settled(request_id, status="complete")

    for path in (f"/me/data-requests/{request_id}", f"/me/data-requests/{request_id}/download"):
        refused = await world.call("GET", path, other.access_token)
        assert refused.status_code == 404, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
    assert (await world.call("GET", f"/me/data-requests/{request_id}/download")).status_code == 401
    assert (await world.call("GET", f"/me/data-requests/{request_id}/download", person.access_token)).status_code == 200


async def test_asking_twice_returns_the_open_request_and_bad_input_is_a_problem(world: World) -> None:
    person, _ = await patient_with_appointment(world)
    await world.pause("appointments")
    try:
        first = await world.call("POST", "/me/data-requests", person.access_token, json={"kind": "export"})
        again = await world.call("POST", "/me/data-requests", person.access_token, json={"kind": "export"})
        assert (first.status_code, again.status_code) == (201, 200)
        assert first.json()["id"] == again.json()["id"]
    finally:
        await world.resume("appointments")
    bad = await world.call("POST", "/me/data-requests", person.access_token, json={"kind": "everything"})
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")


async def test_a_duplicate_answer_is_not_counted_twice(world: World) -> None:
    person, _ = await patient_with_appointment(world)
    await world.pause("appointments")
    try:
        request_id = (
            await world.call("POST", "/me/data-requests", person.access_token, json={"kind": "export"})
        ).json()["id"]
        await world.waiting_only_for_appointments(request_id)
        consumer = world.identity.consumer
        assert consumer is not None
        # chat answers again, as a new event (not a redelivery the inbox would drop): still one answer of chat's.
        again = ExportReady(
            service="chat", request_id=uuid.UUID(request_id), data={"x": 1}, prepared_at=datetime.now(UTC)
        )
        envelope = Envelope(
            id=new_id(),
            type=again.event_type,
            occurred_at=datetime.now(UTC),
            producer="chat",
            subject=f"data-request:{request_id}",
            data=again.model_dump(mode="json"),
        )
        assert (await consumer.handle(envelope)).value == "handled"
        assert (await consumer.handle(envelope)).value == "duplicate"  # the inbox
        state = (await world.call("GET", f"/me/data-requests/{request_id}", person.access_token)).json()
        assert state["status"] == "collecting"
        assert state["waiting_for"] == ["appointments"]
    finally:
        await world.resume("appointments")
    await world.settled(request_id, status="complete")
    document = (await world.call("GET", f"/me/data-requests/{request_id}/download", person.access_token)).json()
    assert document["services"]["chat"] == {}  # the first answer stands


async def test_erasure_needs_a_recent_sign_in(world: World) -> None:
    person, _ = await patient_with_appointment(world)
    async with world.identity.sessionmaker() as session:
        await session.execute(
            update(browser_sessions)
            .where(browser_sessions.c.id == person.session_id)
            .values(created_at=datetime.now(UTC) - timedelta(minutes=11))
        )
        await session.commit()

    refused = await world.call("POST", "/me/data-requests", person.access_token, json={"kind": "erasure"})

    assert refused.status_code == 401, refused.text
    assert refused.json()["type"] == "urn:kairos:problem:reauthentication-required"
    still = await world.call("GET", "/me/profile", person.access_token)
    assert still.status_code == 200  # nothing was locked


async def test_erasure_locks_pseudonymises_then_wipes_and_keeps_a_receipt(world: World, issuer: TestIssuer) -> None:
    person, appointment_id = await patient_with_appointment(world)
    subject = str(person.user_id)
    await world.call("PATCH", "/me/profile", person.access_token, json={"given_name": "Noor", "phone": "+33612345678"})
    await world.pause("appointments")
    try:
        asked = await world.call("POST", "/me/data-requests", person.access_token, json={"kind": "erasure"})
        assert asked.status_code == 201, asked.text
        request_id = asked.json()["id"]
        # Locked at once: the token no longer works, and the password no longer signs in.
        assert (await world.call("GET", "/me/profile", person.access_token)).status_code == 401
        async with world.identity.sessionmaker() as session:
            account = await load_account_record(session, world.identity.cipher, user_id=person.user_id)
        assert account is not None
        assert account.disabled_at is not None
        assert account.erased_at is None  # identity erases last, once every service has answered
        assert account.email == person.email
        await world.waiting_only_for_appointments(request_id)
    finally:
        await world.resume("appointments")
    await world.settled(request_id, status="complete")

    # Appointments: no row holds the patient's id any more; message and answers gone; the record kept.
    appointments = world.runtimes["appointments"]
    async with appointments.engine.connect() as connection:
        for table in ("appointments", "appointment_events", "seats"):
            dump = (await connection.execute(text(f"SELECT json_agg(t)::text FROM {table} t"))).scalar_one()
            assert subject not in dump, table
        pseudonym = (
            await connection.execute(text("SELECT patient FROM appointments WHERE id = :id"), {"id": appointment_id})
        ).scalar_one()
    assert pseudonym.startswith("erased-")
    async with appointments.unit_of_work() as uow:
        kept = await uow.appointments.get(appointment_id)
    assert (kept.patient, kept.message, kept.answers) == (pseudonym, None, {})
    operator = {"Authorization": f"Bearer {issuer.token(sub='operator-1', roles=['operator'], scope='user/*.read')}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=appointments.app), base_url="http://t") as client:
        rest = await client.get(f"/api/v1/appointments/appointments/{appointment_id}", headers=operator)
        fhir = await client.get(f"/fhir/R4/Appointment/{appointment_id}", headers=operator)
    assert rest.status_code == 200, rest.text
    assert rest.json()["patient"] == pseudonym
    assert fhir.status_code == 200, fhir.text
    actors = [participant["actor"]["reference"] for participant in fhir.json()["participant"]]
    assert f"Patient/{pseudonym}" in actors
    assert MESSAGE not in rest.text + fhir.text

    # Identity: the account wiped and marked erased; sign-in refused; the receipt kept, nothing personal in it.
    async with world.identity.sessionmaker() as session:
        account = (await session.execute(select(users).where(users.c.id == person.user_id))).mappings().one()
        opened = await load_account_record(session, world.identity.cipher, user_id=person.user_id)
        profile = (await session.execute(select(profiles).where(profiles.c.user_id == person.user_id))).first()
    assert account["erased_at"] is not None
    assert account["password_hash"] is None
    assert opened is not None
    assert opened.email == f"erased-{person.user_id}@erased.invalid"
    assert opened.display_name == "Erased account"
    assert profile is None
    operator_token = await _operator_token(world)
    receipt = await world.call("GET", f"/data-requests/{request_id}/receipt", operator_token)
    assert receipt.status_code == 200, receipt.text
    statements = receipt.json()["statements"]
    assert set(statements) == {*PARTICIPANTS, "identity"}
    [kept_records] = statements["appointments"]["anonymised"]
    assert "CSP R.1112-7" in kept_records["why"]
    assert statements["chat"] == {"deleted": [], "anonymised": [], "completed_at": statements["chat"]["completed_at"]}
    [kept_trail] = statements["monitoring"]["anonymised"]
    assert "audit trail" in kept_trail["what"]
    assert "Art. 5(2)" in kept_trail["why"]
    assert person.email not in receipt.text
    assert "Noor" not in receipt.text
    refused = await world.call("GET", f"/data-requests/{request_id}/receipt", (await _patient_token(world)))
    assert refused.status_code == 403


async def test_an_overdue_request_fails_naming_who_did_not_answer(world: World) -> None:
    person, _ = await patient_with_appointment(world)
    await world.pause("appointments")
    try:
        request_id = (
            await world.call("POST", "/me/data-requests", person.access_token, json={"kind": "export"})
        ).json()["id"]
        await world.waiting_only_for_appointments(request_id)
        async with world.identity.sessionmaker() as session:
            await session.execute(
                update(data_subject_requests)
                .where(data_subject_requests.c.id == uuid.UUID(request_id))
                .values(deadline=datetime.now(UTC) - timedelta(seconds=1))
            )
            await session.commit()
        result = await check_requests(uow=world.identity.unit_of_work())
        assert result.failed == 1
    finally:
        await world.resume("appointments")
    failed = await world.settled(request_id, status="failed")
    assert failed["failure_reason"] == "no answer by the deadline from: appointments"
    await asyncio.sleep(0.5)  # the late answer arrives, and is kept without reopening the request
    assert (await world.settled(request_id, status="failed"))["status"] == "failed"


async def _operator_token(world: World) -> str:
    assert world.provider is not None
    return (await sign_in(world.provider, "operator@demo.kairos.test")).access_token


async def _patient_token(world: World) -> str:
    assert world.provider is not None
    return (await sign_in(world.provider, await create_person(world.provider, Role.PATIENT))).access_token


# --- sign-in methods, third-party applications and tokens ------------------------------------------------------


async def _give_sign_in_methods(world: World, user_id: uuid.UUID) -> str:
    """A third-party application the person allowed, a passkey and a link to an organisation's identity provider,
    as the consent page, the passkey ceremony and a federated sign-in leave them; the application's client id."""
    now = datetime.now(UTC)
    async with world.identity.unit_of_work() as uow:
        diary = await create_client(
            uow=uow,
            name="Health diary",
            grant_types=frozenset({"authorization_code", "refresh_token"}),
            redirect_uris=("https://diary.example/callback",),
        )
        organisation = await uow.session.scalar(select(organisations.c.id).order_by(organisations.c.name).limit(1))
        provider_id = new_id()
        await uow.session.execute(
            insert(identity_providers).values(
                id=provider_id,
                organisation_id=organisation,
                display_name="Harbour Entra ID",
                kind="entra",
                issuer="https://login.microsoftonline.com/organizations/v2.0",
                tenant="organizations",
                allowed_tenants=[str(uuid.uuid4())],
                client_id="harbour-app",
                client_secret=b"sealed elsewhere",
                allowed_email_domains=[],
                default_role="patient",
                is_jit_allowed=False,
                created_at=now,
            )
        )
        await uow.session.execute(
            insert(external_identities).values(
                provider_id=provider_id, subject=f"{uuid.uuid4()}:{uuid.uuid4()}", user_id=user_id, linked_at=now
            )
        )
        await uow.session.execute(
            insert(client_grants).values(
                id=new_id(),
                user_id=user_id,
                client_id=diary.client_id,
                scopes=["openid", "offline_access"],
                granted_at=now,
            )
        )
        await uow.session.execute(
            insert(passkeys).values(
                credential_id=uuid.uuid4().bytes,
                user_id=user_id,
                id=new_id(),
                name="Phone",
                public_key=b"cose key",
                sign_count=0,
                created_at=now,
            )
        )
        await uow.commit()
    return diary.client_id


async def test_an_export_includes_sign_in_methods_applications_and_tokens(world: World) -> None:
    person, _ = await patient_with_appointment(world)
    diary = await _give_sign_in_methods(world, person.user_id)

    request_id = (await world.call("POST", "/me/data-requests", person.access_token, json={"kind": "export"})).json()[
        "id"
    ]
    await world.settled(request_id, status="complete")
    downloaded = await world.call("GET", f"/me/data-requests/{request_id}/download", person.access_token)

    exported = downloaded.json()["identity"]
    [application] = exported["third_party_applications"]
    assert (application["client_id"], application["name"], application["revoked_at"]) == (diary, "Health diary", None)
    [link] = exported["identity_provider_links"]
    assert link["provider"] == "Harbour Entra ID"
    [passkey] = exported["passkeys"]
    assert passkey["name"] == "Phone"
    assert "public_key" not in passkey
    assert [token["client_id"] for token in exported["refresh_tokens"]] == [world.provider.web_client_id]  # type: ignore[union-attr]
    assert person.refresh_token not in downloaded.text  # only a digest is held, and not given


async def test_erasure_revokes_applications_at_once_and_deletes_links_and_passkeys(world: World) -> None:
    person, _ = await patient_with_appointment(world)
    diary = await _give_sign_in_methods(world, person.user_id)
    await world.pause("appointments")
    try:
        asked = await world.call("POST", "/me/data-requests", person.access_token, json={"kind": "erasure"})
        assert asked.status_code == 201, asked.text
        request_id = asked.json()["id"]
        async with world.identity.sessionmaker() as session:
            grant = (
                await session.execute(select(client_grants).where(client_grants.c.user_id == person.user_id))
            ).one()
            tokens = (
                await session.execute(select(refresh_tokens).where(refresh_tokens.c.user_id == person.user_id))
            ).all()
        assert grant.client_id == diary
        assert grant.revoked_at is not None  # the application stops acting for the person at once
        assert tokens
        assert all(token.revoked_at is not None for token in tokens)
    finally:
        await world.resume("appointments")
    await world.settled(request_id, status="complete")

    async with world.identity.sessionmaker() as session:
        for table in (client_grants, passkeys, external_identities, refresh_tokens, browser_sessions):
            left = (await session.execute(select(table).where(table.c.user_id == person.user_id))).all()
            assert left == [], table.name
    operator_token = await _operator_token(world)
    statement = (await world.call("GET", f"/data-requests/{request_id}/receipt", operator_token)).json()["statements"][
        "identity"
    ]
    for deleted in ("passkeys (1)", "links to identity providers (1)", "third-party application grants (1)"):
        assert deleted in statement["deleted"]

"""The GDPR sagas with the services apart, as in production: each service its own runtime with its own connection to
the real RabbitMQ (a vhost of this module's own), every request and answer crossing the broker. A service stopped
mid-saga finds the request waiting in its durable queue when it is back; identity stopped mid-saga finds the answers
waiting in its own, and completes the request (docs/privacy.md, "Survives restarts")."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from kairos.identity.tables import data_request_answers
from kairos.platform.config import Settings
from kairos.platform.db.engine import database_url
from kairos.platform.events.rabbitmq import RabbitMqTransport
from kairos.platform.runtime import ServiceRuntime
from kairos.platform.testing.infrastructure import create_vhost, delete_vhost, unique_name
from kairos.services import definition
from tests.conftest import RABBITMQ_URL
from tests.integration.privacy.test_data_subject_requests import (
    MESSAGE,
    PARTICIPANTS,
    World,
    _free_port,
    patient_with_appointment,
)

pytestmark = pytest.mark.integration


class ServiceProcess(ServiceRuntime):
    """A service as its own process runs it: its connection to the broker opened at start and closed at stop, so
    that while it is down what is sent to it waits in its queues."""

    async def start(self) -> None:
        await self.transport.start()
        await super().start()

    async def stop(self) -> None:
        await super().stop()
        await self.transport.stop()


@dataclass
class ServicesApart(World):
    rabbitmq_url: str = ""

    @property
    def broker(self) -> RabbitMqTransport:
        transport = self.runtimes["chat"].transport
        assert isinstance(transport, RabbitMqTransport)
        return transport

    def _runtime(self, name: str) -> ServiceRuntime:
        settings = self.identity_settings if name == "identity" else self.settings
        return ServiceProcess(
            definition(name),
            settings=settings,
            database_url=database_url(settings, name),
            transport=RabbitMqTransport(url=self.rabbitmq_url, retry_delays=(0.2, 0.4)),
        )

    async def start_participants(self) -> None:
        for name in PARTICIPANTS:
            self.runtimes[name] = self._runtime(name)
            await self.runtimes[name].migrate()
        await self.runtimes["appointments"].seed_demo()
        for name in PARTICIPANTS:
            await self.runtimes[name].start()

    async def stop(self) -> None:
        if self._serving is not None:
            await self.stop_identity()
        for name in PARTICIPANTS:
            if name not in self.paused:
                await self.runtimes[name].stop()

    async def waiting_in_queue(self, consumer: str) -> int:
        """Once at least one event waits in ``consumer``'s queue at the broker (bounded wait): how many."""
        for _ in range(200):
            depth = await self.broker.queue_depth(consumer)
            if depth:
                return depth
            await asyncio.sleep(0.05)
        raise AssertionError(f"nothing waits for {consumer}")


@pytest.fixture(scope="module")
async def world(base_settings: Settings) -> AsyncIterator[ServicesApart]:
    vhost = f"kairos-test-{unique_name('gdpr-broker')}"
    create_vhost(vhost)
    port = _free_port()
    prefix = f"{base_settings.database_prefix}{unique_name('gdprmq')}_"
    settings = base_settings.model_copy(update={"database_prefix": prefix})
    identity_settings = settings.model_copy(
        update={"auth_issuer": f"http://127.0.0.1:{port}/api/v1/identity", "auth_jwks_url": None}
    )
    try:
        with pytest.MonkeyPatch.context() as environment:
            environment.setenv("KAIROS_APPOINTMENTS_GRPC_PORT", "0")  # no gRPC server in these tests
            running = ServicesApart(
                settings, identity_settings, port, rabbitmq_url=f"{RABBITMQ_URL.rstrip('/')}/{vhost}"
            )
            running.runtimes["identity"] = running._runtime("identity")
            await running.identity.migrate()
            await running.start_participants()
            await running.start_identity(first=True)
            try:
                yield running
            finally:
                await running.stop()
    finally:
        delete_vhost(vhost)


async def test_an_export_crosses_the_broker_and_survives_restarts_of_a_participant_and_of_identity(
    world: ServicesApart,
) -> None:
    person, appointment_id = await patient_with_appointment(world)
    await world.pause("appointments")  # down: the request will wait in its queue

    asked = await world.call("POST", "/me/data-requests", person.access_token, json={"kind": "export"})
    assert asked.status_code == 201, asked.text
    request_id = asked.json()["id"]
    await world.waiting_only_for_appointments(request_id)
    assert await world.waiting_in_queue("appointments") >= 1

    # Identity goes down too; appointments comes back, takes the request from its queue and answers: the answer
    # waits in identity's queue until a new identity instance takes it and completes the saga.
    await world.stop_identity()
    await world.resume("appointments")
    assert await world.waiting_in_queue("identity") >= 1
    await world.start_identity()
    await world.settled(request_id, status="complete")

    document = (await world.call("GET", f"/me/data-requests/{request_id}/download", person.access_token)).json()
    assert set(document["services"]) == set(PARTICIPANTS)
    [exported] = document["services"]["appointments"]["appointments"]
    assert (exported["id"], exported["message"]) == (str(appointment_id), MESSAGE)


async def test_an_erasure_crosses_the_broker_and_completes_after_a_participant_restarts(
    world: ServicesApart,
) -> None:
    person, appointment_id = await patient_with_appointment(world)
    await world.pause("appointments")
    try:
        asked = await world.call("POST", "/me/data-requests", person.access_token, json={"kind": "erasure"})
        assert asked.status_code == 201, asked.text
        request_id = asked.json()["id"]
        await world.waiting_only_for_appointments(request_id)
        assert (await world.call("GET", "/me/profile", person.access_token)).status_code == 401  # locked at once
    finally:
        await world.resume("appointments")
    completed = await world.settled(request_id, status="complete")
    assert completed["identity_statement"] is not None  # identity wiped the account last

    async with world.runtimes["appointments"].unit_of_work() as uow:
        kept = await uow.appointments.get(appointment_id)
    assert kept.patient.startswith("erased-")
    assert kept.patient != str(person.user_id)
    async with world.identity.sessionmaker() as session:
        answered = set(
            await session.scalars(
                select(data_request_answers.c.service).where(data_request_answers.c.request_id == uuid.UUID(request_id))
            )
        )
    assert answered == set(PARTICIPANTS)

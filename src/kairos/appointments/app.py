"""Builds the appointments service from platform parts."""

import asyncio

import structlog
from fastapi import FastAPI

from kairos.appointments import calendars, directory, fhir, fhir_schedule, personal_data, privacy, waitlist
from kairos.appointments.api import router
from kairos.appointments.bulk_api import router as bulk_router
from kairos.appointments.bulk_changes import AlreadyUndone, ChangedSince
from kairos.appointments.calendar_api import router as calendar_router
from kairos.appointments.calendar_fetch import AddressRefused, CalendarFetchFailed
from kairos.appointments.demo import load_demo_data
from kairos.appointments.directory_api import router as directory_router
from kairos.appointments.domain.appointment import IllegalTransition, NotYet, ReasonRequired
from kairos.appointments.domain.availability import InvalidAvailability
from kairos.appointments.domain.calendars import InvalidCalendar
from kairos.appointments.domain.configuration import (
    AnswersRejected,
    CutoffPassed,
    InvalidConfiguration,
    RescheduleLimitReached,
    UnknownAppointmentType,
)
from kairos.appointments.domain.notifications import InvalidNotificationRule
from kairos.appointments.domain.waitlist import InvalidWaitlistEntry
from kairos.appointments.grpc_server import grpc_port, start_grpc, stop_grpc
from kairos.appointments.holds import TooManyHolds
from kairos.appointments.live import LiveSlots
from kairos.appointments.live_api import router as live_router
from kairos.appointments.repository import AppointmentsUnitOfWork, ConcurrentChange, NotFound, TimeTaken
from kairos.appointments.seats import HoldNotUsable, SeatRefused
from kairos.appointments.service import Forbidden, MissingEnd, NoSchedule, NotOffered
from kairos.appointments.settings import AppointmentsSettings
from kairos.appointments.workflow import MissingTime
from kairos.appointments.workflow_api import router as workflow_router
from kairos.platform.aio import cancel_and_wait
from kairos.platform.db.engine import asyncpg_dsn
from kairos.platform.http import problems
from kairos.platform.runtime import ServiceDefinition, ServiceRuntime

problems.register(TimeTaken, status=409, slug="time-taken", title="This time is no longer free")
problems.register(ConcurrentChange, status=409, slug="concurrent-change", title="The appointment changed meanwhile")
problems.register(IllegalTransition, status=409, slug="illegal-transition", title="Not possible in this status")
problems.register(ReasonRequired, status=422, slug="reason-required", title="A reason is required")
problems.register(NotFound, status=404, slug="not-found", title="Not Found")
problems.register(Forbidden, status=403, slug="forbidden", title="Forbidden")
problems.register(AnswersRejected, status=422, slug="answers-rejected", title="The form's answers are not valid")
problems.register(UnknownAppointmentType, status=422, slug="unknown-appointment-type", title="No such appointment type")
problems.register(
    InvalidConfiguration, status=422, slug="invalid-configuration", title="The configuration is not valid"
)
problems.register(
    InvalidNotificationRule, status=422, slug="invalid-notification-rule", title="The notification rule is not valid"
)
problems.register(NotOffered, status=422, slug="not-offered", title="This time is not offered")
problems.register(NoSchedule, status=404, slug="no-schedule", title="No working hours yet")
problems.register(InvalidAvailability, status=422, slug="invalid-availability", title="Not a valid availability")
problems.register(MissingEnd, status=422, slug="missing-end", title="The appointment needs an end")
problems.register(CutoffPassed, status=409, slug="cutoff-passed", title="Too close to the start to change")
problems.register(
    RescheduleLimitReached, status=409, slug="reschedule-limit", title="Moved as often as the policy allows"
)
problems.register(NotYet, status=409, slug="too-early", title="The appointment has not started")
problems.register(HoldNotUsable, status=409, slug="hold-not-usable", title="The hold cannot be used")
problems.register(SeatRefused, status=409, slug="time-taken", title="This time is no longer free")
problems.register(TooManyHolds, status=409, slug="too-many-holds", title="Too many slots held at once")
problems.register(MissingTime, status=422, slug="missing-time", title="A new time is needed")
problems.register(InvalidWaitlistEntry, status=422, slug="invalid-waitlist-entry", title="Not a valid waitlist entry")
problems.register(InvalidCalendar, status=422, slug="invalid-calendar", title="Not a readable iCalendar object")
problems.register(CalendarFetchFailed, status=422, slug="calendar-unreachable", title="The calendar could not be read")
problems.register(
    AddressRefused, status=422, slug="calendar-address-refused", title="The calendar's address is not allowed"
)
problems.register(ChangedSince, status=409, slug="changed-since", title="Changed again since this bulk change")
problems.register(AlreadyUndone, status=409, slug="already-undone", title="This bulk change was undone already")


log = structlog.get_logger(__name__)


STREAMS_GRACE_SECONDS = 5


def configure(app: FastAPI, runtime: ServiceRuntime) -> None:
    """The FHIR R4 facade lives at /fhir/R4, beside (not under) /api/v1/appointments, where FHIR clients look.
    Schedule and Slot come first: the facade's own router ends with a catch-all for what it does not offer."""
    app.include_router(fhir_schedule.router)
    app.include_router(fhir.router)
    app.state.fhir_routers = [fhir_schedule.router, fhir.router]
    app.state.appointments_settings = AppointmentsSettings()  # read now, when the service is built
    app.state.live_slots = LiveSlots(asyncpg_dsn(runtime.database_url))
    app.state.background = []
    app.state.grpc = None  # the gRPC interface, once started (grpc_server.py)
    # Served alone (distributed shape), a stop cancels requests still running after a few seconds: an open
    # slot stream (Server-Sent Events) must not hold the process (see kairos.platform.serve).
    app.state.server_options = {"timeout_graceful_shutdown": STREAMS_GRACE_SECONDS}


async def start(runtime: ServiceRuntime) -> None:
    state = runtime.app.state
    await seal_legacy_personal_data(runtime)
    await state.live_slots.start()
    refreshing = calendars.refresh_periodically(runtime.unit_of_work, state.appointments_settings)  # type: ignore[arg-type]
    state.background.append(asyncio.create_task(refreshing, name="appointments-calendar-refresh"))
    lapsed_offers = waitlist.pass_on_lapsed_offers_periodically(runtime.unit_of_work)  # type: ignore[arg-type]
    state.background.append(asyncio.create_task(lapsed_offers, name="appointments-waitlist-offers"))
    port = grpc_port(state.appointments_settings, runtime.settings.base_port)
    if port:
        state.grpc = await start_grpc(
            host=runtime.settings.host,
            port=port,
            verifier=runtime.verifier,
            unit_of_work=runtime.unit_of_work,  # type: ignore[arg-type]
        )


async def seal_legacy_personal_data(runtime: ServiceRuntime) -> None:
    """Seal the plaintext messages and answers left by rows written before migration 0007, in batches."""
    while True:
        async with runtime.unit_of_work() as uow:
            sealed = await personal_data.seal_legacy(uow.session, uow.cipher)
            await uow.commit()
        if sealed == 0:
            return
        log.info("appointments.legacy_personal_data_sealed", rows=sealed)


async def stop(runtime: ServiceRuntime) -> None:
    state = runtime.app.state
    if state.grpc is not None:
        await stop_grpc(state.grpc, grace=state.appointments_settings.grpc_grace_seconds)
        state.grpc = None
    await cancel_and_wait(state.background)
    state.background.clear()
    await state.live_slots.stop()


definition = ServiceDefinition(
    name="appointments",
    title="Appointments",
    description="Domains, schedules, free slots, requests and decisions, and each appointment's history.",
    # The calendar routes come first: /appointments/{id}.ics must not be taken for an appointment id.
    routers=[calendar_router, router, workflow_router, directory_router, live_router, bulk_router],
    handlers=privacy.register(directory.handlers),  # the directory's read model, and the GDPR sagas
    unit_of_work=AppointmentsUnitOfWork,
    migrations="kairos.appointments:migrations",
    seed_demo=load_demo_data,
    configure_app=configure,
    on_start=start,
    on_stop=stop,
)

"""Builds the appointments service from platform parts."""

from fastapi import FastAPI

from kairos.appointments import fhir
from kairos.appointments.api import router
from kairos.appointments.demo import load_demo_data
from kairos.appointments.domain.appointment import IllegalTransition, ReasonRequired
from kairos.appointments.domain.availability import InvalidAvailability
from kairos.appointments.domain.configuration import AnswersRejected, InvalidConfiguration, UnknownAppointmentType
from kairos.appointments.repository import AppointmentsUnitOfWork, ConcurrentChange, NotFound, TimeTaken
from kairos.appointments.service import Forbidden, MissingEnd, NoSchedule, NotOffered
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
problems.register(NotOffered, status=422, slug="not-offered", title="This time is not offered")
problems.register(NoSchedule, status=404, slug="no-schedule", title="No working hours yet")
problems.register(InvalidAvailability, status=422, slug="invalid-availability", title="Not a valid availability")
problems.register(MissingEnd, status=422, slug="missing-end", title="The appointment needs an end")


def mount_fhir(app: FastAPI, runtime: ServiceRuntime) -> None:
    """The FHIR R4 facade lives at /fhir/R4, beside (not under) /api/v1/appointments, where FHIR clients look."""
    app.include_router(fhir.router)


definition = ServiceDefinition(
    name="appointments",
    title="Appointments",
    description="Domains, schedules, free slots, requests and decisions, and each appointment's history.",
    routers=[router],
    unit_of_work=AppointmentsUnitOfWork,
    migrations="kairos.appointments:migrations",
    seed_demo=load_demo_data,
    configure_app=mount_fhir,
)

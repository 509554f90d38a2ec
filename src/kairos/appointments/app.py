"""Builds the appointments service from platform parts."""

from kairos.appointments.api import router
from kairos.platform.runtime import ServiceDefinition

definition = ServiceDefinition(
    name="appointments",
    title="Appointments",
    description="Domains, schedules, free slots, requests and decisions, and each appointment's history.",
    routers=[router],
    migrations="kairos.appointments:migrations",
)

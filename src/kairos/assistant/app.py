"""Builds the assistant service from platform parts."""

from kairos.assistant.api import router
from kairos.platform.runtime import ServiceDefinition

definition = ServiceDefinition(
    name="assistant",
    title="Booking assistant",
    description="Dialogs that find a professional, hold a slot and request an appointment in conversation.",
    routers=[router],
    migrations="kairos.assistant:migrations",
)

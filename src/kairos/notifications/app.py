"""Builds the notifications service from platform parts."""

from kairos.notifications.api import router
from kairos.platform.runtime import ServiceDefinition

definition = ServiceDefinition(
    name="notifications",
    title="Notifications",
    description="Deliveries over e-mail, SMS and push; reminders, preferences and templates.",
    routers=[router],
    migrations="kairos.notifications:migrations",
)

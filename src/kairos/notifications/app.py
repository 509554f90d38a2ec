"""Builds the notifications service from platform parts."""

from kairos.notifications.api import router
from kairos.platform.db.uow import UnitOfWork
from kairos.platform.events import EventHandlers
from kairos.platform.privacy import answer_holding_nothing
from kairos.platform.runtime import ServiceDefinition

definition = ServiceDefinition(
    name="notifications",
    title="Notifications",
    description="Deliveries over e-mail, SMS and push; reminders, preferences and templates.",
    routers=[router],
    # It holds no personal data yet: it answers the GDPR sagas with nothing (docs/privacy.md).
    handlers=answer_holding_nothing(EventHandlers[UnitOfWork]()),
    migrations="kairos.notifications:migrations",
)

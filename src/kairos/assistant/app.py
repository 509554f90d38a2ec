"""Builds the assistant service from platform parts."""

from kairos.assistant.api import router
from kairos.platform.db.uow import UnitOfWork
from kairos.platform.events import EventHandlers
from kairos.platform.privacy import answer_holding_nothing
from kairos.platform.runtime import ServiceDefinition

definition = ServiceDefinition(
    name="assistant",
    title="Booking assistant",
    description="Dialogs that find a professional, hold a slot and request an appointment in conversation.",
    routers=[router],
    # It holds no personal data yet: it answers the GDPR sagas with nothing (docs/privacy.md).
    handlers=answer_holding_nothing(EventHandlers[UnitOfWork]()),
    migrations="kairos.assistant:migrations",
)

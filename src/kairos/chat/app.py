"""Builds the chat service from platform parts."""

from kairos.chat.api import router
from kairos.platform.db.uow import UnitOfWork
from kairos.platform.events import EventHandlers
from kairos.platform.privacy import answer_holding_nothing
from kairos.platform.runtime import ServiceDefinition

definition = ServiceDefinition(
    name="chat",
    title="Chat",
    description="Conversations between patients and practices: participants, messages and presence.",
    routers=[router],
    # It holds no personal data yet: it answers the GDPR sagas with nothing (docs/privacy.md).
    handlers=answer_holding_nothing(EventHandlers[UnitOfWork]()),
    migrations="kairos.chat:migrations",
)

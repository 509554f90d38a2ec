"""Builds the documents service from platform parts."""

from kairos.documents.api import router
from kairos.platform.db.uow import UnitOfWork
from kairos.platform.events import EventHandlers
from kairos.platform.privacy import answer_holding_nothing
from kairos.platform.runtime import ServiceDefinition

definition = ServiceDefinition(
    name="documents",
    title="Documents",
    description="Files and their versions, templates, generated documents, share links and extraction results.",
    routers=[router],
    # It holds no personal data yet: it answers the GDPR sagas with nothing (docs/privacy.md).
    handlers=answer_holding_nothing(EventHandlers[UnitOfWork]()),
    migrations="kairos.documents:migrations",
)

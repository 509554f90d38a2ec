"""Builds the chat service from platform parts."""

from kairos.chat.api import router
from kairos.platform.runtime import ServiceDefinition

definition = ServiceDefinition(
    name="chat",
    title="Chat",
    description="Conversations between patients and practices: participants, messages and presence.",
    routers=[router],
    migrations="kairos.chat:migrations",
)

"""Builds the documents service from platform parts."""

from kairos.documents.api import router
from kairos.platform.runtime import ServiceDefinition

definition = ServiceDefinition(
    name="documents",
    title="Documents",
    description="Files and their versions, templates, generated documents, share links and extraction results.",
    routers=[router],
    migrations="kairos.documents:migrations",
)

"""Builds the identity service from platform parts."""

from kairos.identity.api import router
from kairos.platform.runtime import ServiceDefinition

definition = ServiceDefinition(
    name="identity",
    title="Identity",
    description="Users, credentials, MFA, the OpenID Connect provider, roles, profiles, consents and GDPR requests.",
    routers=[router],
    migrations="kairos.identity:migrations",
)

"""Builds the identity service from platform parts."""

from __future__ import annotations

from fastapi import FastAPI

from kairos.identity import admin_api, mfa_api, sessions_api
from kairos.identity.api import router
from kairos.identity.demo import load_demo_data
from kairos.identity.domain.passwords import PasswordNotAccepted
from kairos.identity.service import AccountExists, InvalidClient
from kairos.identity.state import create_state
from kairos.platform.http import problems
from kairos.platform.runtime import ServiceDefinition, ServiceRuntime

problems.register(AccountExists, status=409, slug="account-exists", title="An account with this e-mail exists")
problems.register(InvalidClient, status=422, slug="invalid-client", title="The client registration is not valid")
problems.register(PasswordNotAccepted, status=422, slug="password-not-accepted", title="The password is not accepted")


def configure(app: FastAPI, runtime: ServiceRuntime) -> None:
    app.state.identity = create_state(runtime)


async def start(runtime: ServiceRuntime) -> None:
    await runtime.app.state.identity.start()


async def stop(runtime: ServiceRuntime) -> None:
    await runtime.app.state.identity.stop()


definition = ServiceDefinition(
    name="identity",
    title="Identity",
    description="Users, credentials, MFA, the OpenID Connect provider, roles, profiles, consents and GDPR requests.",
    routers=[router, sessions_api.router, admin_api.router, mfa_api.router],
    migrations="kairos.identity:migrations",
    configure_app=configure,
    on_start=start,
    on_stop=stop,
    seed_demo=load_demo_data,
)

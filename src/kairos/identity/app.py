"""Builds the identity service from platform parts."""

from __future__ import annotations

from fastapi import FastAPI

from kairos.identity import (
    accounts_api,
    admin_api,
    consents_api,
    federation_api,
    grants_api,
    mfa_api,
    passkeys_api,
    privacy,
    privacy_api,
    profiles_api,
    roles_api,
    sessions_api,
)
from kairos.identity.access import NotAllowed
from kairos.identity.api import router
from kairos.identity.demo import load_demo_data
from kairos.identity.domain.consents import NoConsentToWithdraw, OutdatedVersion, UnknownPurpose
from kairos.identity.domain.passwords import PasswordNotAccepted
from kairos.identity.domain.profiles import MandatoryChannel
from kairos.identity.domain.verification import IllegalTransition, IncompleteCredentials, InvalidExpiry, ReasonRequired
from kairos.identity.federation import Federation, OpenIdProviders
from kairos.identity.memberships import LastDomainAdmin
from kairos.identity.profiles import UnknownProfessionalProfile
from kairos.identity.purge import Purger
from kairos.identity.service import AccountExists, InvalidClient
from kairos.identity.state import create_state
from kairos.identity.verification_check import VerificationChecker
from kairos.platform.http import problems
from kairos.platform.runtime import ServiceDefinition, ServiceRuntime

problems.register(AccountExists, status=409, slug="account-exists", title="An account with this e-mail exists")
problems.register(InvalidClient, status=422, slug="invalid-client", title="The client registration is not valid")
problems.register(PasswordNotAccepted, status=422, slug="password-not-accepted", title="The password is not accepted")
# Profiles, professional verification, role management, consents.
problems.register(NotAllowed, status=403, slug="forbidden", title="Forbidden")
problems.register(LastDomainAdmin, status=409, slug="last-domain-admin", title="The organisation needs a domain admin")
problems.register(UnknownProfessionalProfile, status=404, slug="not-found", title="Not Found")
problems.register(IllegalTransition, status=409, slug="illegal-transition", title="Not possible in this status")
problems.register(
    IncompleteCredentials, status=422, slug="incomplete-credentials", title="The credentials are incomplete"
)
problems.register(InvalidExpiry, status=422, slug="invalid-expiry", title="The expiry is not valid")
problems.register(ReasonRequired, status=422, slug="reason-required", title="A reason is required")
problems.register(MandatoryChannel, status=422, slug="mandatory-channel", title="This channel cannot be turned off")
problems.register(UnknownPurpose, status=422, slug="unknown-purpose", title="No such purpose")
problems.register(OutdatedVersion, status=422, slug="outdated-version", title="Not the current version")
problems.register(NoConsentToWithdraw, status=404, slug="not-found", title="Not Found")


def configure(app: FastAPI, runtime: ServiceRuntime) -> None:
    app.state.identity = create_state(runtime)
    app.state.verification_checker = VerificationChecker(runtime)
    app.state.purger = Purger(runtime)  # expired consent pages, codes, tokens, sessions…
    # The redirect URI organisations register at their identity providers.
    callback = f"{runtime.settings.auth_issuer.rstrip('/')}/federation/callback"
    app.state.federation = Federation(providers=OpenIdProviders(), redirect_uri=callback)
    app.state.privacy_settings = privacy.PrivacySettings()  # read now, when the service is built
    app.state.privacy_checker = privacy.PrivacyChecker(runtime)


async def start(runtime: ServiceRuntime) -> None:
    await runtime.app.state.identity.start()
    runtime.app.state.verification_checker.start()
    runtime.app.state.purger.start()
    runtime.app.state.privacy_checker.start()


async def stop(runtime: ServiceRuntime) -> None:
    await runtime.app.state.privacy_checker.stop()
    await runtime.app.state.purger.stop()
    await runtime.app.state.verification_checker.stop()
    await runtime.app.state.identity.stop()


definition = ServiceDefinition(
    name="identity",
    title="Identity",
    description="Users, credentials, MFA, the OpenID Connect provider, roles, profiles, consents and GDPR requests.",
    routers=[
        router,
        sessions_api.router,
        admin_api.router,
        mfa_api.router,
        profiles_api.router,
        roles_api.router,
        consents_api.router,
        accounts_api.router,
        federation_api.router,
        passkeys_api.router,
        privacy_api.router,
        grants_api.router,
    ],
    handlers=privacy.handlers,  # the answers of the GDPR export and erasure sagas
    migrations="kairos.identity:migrations",
    configure_app=configure,
    on_start=start,
    on_stop=stop,
    seed_demo=load_demo_data,
)

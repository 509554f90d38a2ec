"""Organisations' identity providers, under ``/api/v1/identity``: their registration, changes and removal (domain
admins and operators, ``roles:manage`` in the organisation) and the sign-in pages that go through them
(``/federation/…``).

The provider sends the browser back to ``<issuer>/federation/callback``: the redirect URI an organisation
registers for Kairos at its provider (in Entra ID: the app registration's "Web" redirect URI).
"""

from __future__ import annotations

import secrets
import uuid
from typing import Annotated
from urllib.parse import urlencode

import structlog
from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from kairos.identity import federation, pages
from kairos.identity.api import CSRF_COOKIE, State
from kairos.identity.domain.federation import InvalidProvider, Outcome, TokenRefused, session_methods
from kairos.identity.federation import (
    AttemptNotUsable,
    Federation,
    ProviderChangeInvalid,
    ProviderRecord,
    ProviderUnreachable,
    UnknownProvider,
)
from kairos.identity.federation_schemas import IdentityProviderCreate, IdentityProviderRead, IdentityProviderUpdate
from kairos.identity.profiles_api import Cipher
from kairos.identity.service import AccountExists
from kairos.identity.sessions import EmailNotVerified, Sessions, SignInFailed
from kairos.identity.sessions_api import IdentityCaller, Me
from kairos.identity.sign_in_flow import (
    attempt_address,
    refusal_notice,
    safe_next,
    set_device_cookie,
    set_session_cookie,
    step_location,
)
from kairos.identity.state import IdentityState
from kairos.identity.throttle import DEVICE_COOKIE, SignInThrottled
from kairos.platform.db.uow import UnitOfWork
from kairos.platform.http import problems
from kairos.platform.runtime import unit_of_work

log = structlog.get_logger(__name__)

router = APIRouter(tags=["federation"])

problems.register(InvalidProvider, status=422, slug="invalid-identity-provider", title="The provider is not valid")
problems.register(UnknownProvider, status=404, slug="not-found", title="Not Found")
problems.register(
    ProviderChangeInvalid, status=422, slug="invalid-identity-provider", title="The provider is not valid"
)

FEDERATION_COOKIE = "kairos_federation"  # the state of this browser's sign-in at a provider
FEDERATION_COOKIE_SECONDS = int(federation.LINK_LIFETIME.total_seconds())

Uow = Annotated[UnitOfWork, Depends(unit_of_work)]
CsrfToken = Annotated[str, Form(max_length=100)]
Next = Annotated[str, Form(max_length=4000)]

_REFUSALS = {
    Outcome.REFUSE_NO_ACCOUNT: "federation_no_account",
    Outcome.REFUSE_ADDRESS_TAKEN: "federation_address_taken",
    Outcome.REFUSE_DISABLED: "federation_disabled",
}


def federation_of(request: Request) -> Federation:
    found: Federation = request.app.state.federation
    return found


FederationDep = Annotated[Federation, Depends(federation_of)]


def provider_read(record: ProviderRecord) -> IdentityProviderRead:
    return IdentityProviderRead(
        id=record.id,
        organisation_id=record.organisation_id,
        display_name=record.display_name,
        kind=record.kind,
        issuer=record.issuer,
        tenant=record.tenant,
        allowed_tenants=list(record.allowed_tenants),
        client_id=record.client_id,
        allowed_email_domains=list(record.allowed_email_domains),
        default_role=record.default_role,
        is_jit_allowed=record.is_jit_allowed,
        is_enabled=record.is_enabled,
        created_at=record.created_at,
        updated_at=record.updated_at,
    )


# --- registration --------------------------------------------------------------------------------------------


@router.post("/organisations/{organisation_id}/identity-providers", status_code=201)
async def register_identity_provider(
    organisation_id: uuid.UUID, body: IdentityProviderCreate, me: Me, caller: IdentityCaller, uow: Uow, cipher: Cipher
) -> IdentityProviderRead:
    """Register the organisation's own identity provider (Entra ID or OpenID Connect; ``roles:manage``)."""
    record = await federation.register_provider(
        uow=uow,
        by=caller,
        actor_id=me.id,
        organisation_id=organisation_id,
        display_name=body.display_name,
        kind=body.kind,
        issuer=body.issuer,
        tenant=body.tenant,
        authority=body.authority,
        allowed_tenants=body.allowed_tenants,
        client_id=body.client_id,
        client_secret=body.client_secret.get_secret_value(),
        allowed_email_domains=body.allowed_email_domains,
        default_role=body.default_role,
        is_jit_allowed=body.is_jit_allowed,
        cipher=cipher,
    )
    return provider_read(record)


@router.get("/organisations/{organisation_id}/identity-providers")
async def list_identity_providers(
    organisation_id: uuid.UUID, me: Me, caller: IdentityCaller, uow: Uow
) -> list[IdentityProviderRead]:
    """The organisation's identity providers, enabled or not (``roles:manage``); secrets are never shown."""
    records = await federation.list_providers(uow=uow, by=caller, actor_id=me.id, organisation_id=organisation_id)
    return [provider_read(record) for record in records]


@router.get("/organisations/{organisation_id}/identity-providers/{provider_id}")
async def read_identity_provider(
    organisation_id: uuid.UUID, provider_id: uuid.UUID, me: Me, caller: IdentityCaller, uow: Uow
) -> IdentityProviderRead:
    """One of the organisation's identity providers (``roles:manage``)."""
    record = await federation.read_provider(
        uow=uow, by=caller, actor_id=me.id, organisation_id=organisation_id, provider_id=provider_id
    )
    return provider_read(record)


@router.patch("/organisations/{organisation_id}/identity-providers/{provider_id}")
async def update_identity_provider(
    organisation_id: uuid.UUID,
    provider_id: uuid.UUID,
    body: IdentityProviderUpdate,
    me: Me,
    caller: IdentityCaller,
    uow: Uow,
    cipher: Cipher,
) -> IdentityProviderRead:
    """Change a provider's registration, or disable (``is_enabled: false``) or enable it (``roles:manage``)."""
    record = await federation.update_provider(
        uow=uow,
        by=caller,
        actor_id=me.id,
        organisation_id=organisation_id,
        provider_id=provider_id,
        changes=body.changes(),
        cipher=cipher,
    )
    return provider_read(record)


@router.delete("/organisations/{organisation_id}/identity-providers/{provider_id}", status_code=204)
async def delete_identity_provider(
    organisation_id: uuid.UUID, provider_id: uuid.UUID, me: Me, caller: IdentityCaller, uow: Uow
) -> None:
    """Remove a provider and its links (``roles:manage``); the accounts it made stay, with their memberships."""
    await federation.delete_provider(
        uow=uow, by=caller, actor_id=me.id, organisation_id=organisation_id, provider_id=provider_id
    )


# --- signing in ----------------------------------------------------------------------------------------------


@router.get("/federation/{provider_id}/start", response_model=None)
async def start(
    request: Request, provider_id: uuid.UUID, identity: State, found: FederationDep, next: str = ""
) -> Response:
    """Send the browser to sign in at the provider (authorization code, PKCE S256, state and nonce)."""
    browser = await Sessions(identity.runtime, identity.hasher).current(request)
    try:
        started = await found.start(
            uow=identity.runtime.unit_of_work(),
            cipher=identity.runtime.cipher,
            provider_id=provider_id,
            next_url=safe_next(request, next),
            session_id=browser.id if browser is not None and browser.pending_step is None else None,
        )
    except UnknownProvider:
        return _message(request, "federation_failed", 404)
    except ProviderUnreachable as error:
        log.warning("identity.federation_unreachable", provider_id=str(provider_id), reason=str(error))
        return _message(request, "federation_unreachable", 502)
    response = RedirectResponse(started.authorization_url, 303)
    response.set_cookie(
        FEDERATION_COOKIE,
        started.state,
        max_age=FEDERATION_COOKIE_SECONDS,
        httponly=True,
        samesite="lax",  # sent on the provider's top-level redirect back to us
        secure=request.url.scheme == "https",
        path=identity.cookie_path,
    )
    return response


@router.post("/federation/discover", response_model=None)
async def discover(
    request: Request,
    identity: State,
    csrf_token: CsrfToken = "",
    email: Annotated[str, Form(max_length=320)] = "",
    next: Next = "",
) -> Response:
    """From a typed work address to the sign-in of the organisation trusted for its domain."""
    if not _csrf_ok(request, csrf_token):
        return _message(request, "csrf_failed", 403)
    choices = await federation.sign_in_choices(uow=identity.runtime.unit_of_work(), email=email)
    if not choices:
        return _message(request, "federation_no_provider", 404)
    query = f"?{urlencode({'next': safe_next(request, next)})}" if safe_next(request, next) else ""
    return RedirectResponse(f"{identity.issuer}/federation/{choices[0].id}/start{query}", 303)


@router.get("/federation/callback", response_model=None)
async def callback(
    request: Request,
    identity: State,
    found: FederationDep,
    state: str = "",
    code: str = "",
    error: str = "",
) -> Response:
    """Where the provider sends the browser back: check its answer, then sign in, link or create the account."""
    expected = request.cookies.get(FEDERATION_COOKIE, "")
    if not state or not expected or not secrets.compare_digest(expected, state):
        return _message(request, "federation_failed", 400)  # not this browser's attempt (login CSRF)
    if error or not code:
        log.info("identity.federation_declined", error=error[:100])
        return _message(request, "federation_failed", 401)
    sessions = Sessions(identity.runtime, identity.hasher)
    browser = await sessions.current(request)
    signed_in = (browser.id, browser.user_id) if browser is not None and browser.pending_step is None else None
    try:
        answered = await found.finish(
            uow=identity.runtime.unit_of_work(),
            cipher=identity.runtime.cipher,
            state=state,
            code=code,
            signed_in_session=signed_in,
        )
    except (AttemptNotUsable, UnknownProvider):
        return _message(request, "federation_failed", 400)
    except AccountExists:  # someone took the address between the check and the insert
        return _message(request, "federation_address_taken", 409)
    except TokenRefused as refused:
        log.warning("identity.federated_token_refused", reason=str(refused))
        return _message(request, "federation_failed", 403)
    except ProviderUnreachable as unreachable:
        log.warning("identity.federation_unreachable", reason=str(unreachable))
        return _message(request, "federation_failed", 502)
    target = answered.next_url
    if answered.outcome in _REFUSALS:
        response = _message(request, _REFUSALS[answered.outcome], 403)
    elif answered.outcome is Outcome.PROVE_TO_LINK:
        return RedirectResponse(f"{identity.issuer}/federation/link?lang={pages.language(request)}", 303)
    elif answered.outcome is Outcome.LINK_SIGNED_IN:
        response = RedirectResponse(target or f"{identity.issuer}/signed-in", 303)
    else:
        assert answered.user_id is not None
        opened = await sessions.open_proven(
            user_id=answered.user_id,
            methods=session_methods(answered.person),
            has_second_factor=answered.person.did_multi_factor,
            user_agent=request.headers.get("user-agent", ""),
        )
        step = opened.session.pending_step
        response = RedirectResponse(
            step_location(identity, step, target) if step else target or f"{identity.issuer}/signed-in", 303
        )
        set_session_cookie(response, request, identity, opened.cookie)
    response.delete_cookie(FEDERATION_COOKIE, path=identity.cookie_path)
    return response


@router.get("/federation/link", response_class=HTMLResponse)
async def link_page(request: Request, identity: State) -> Response:
    """Asks for the password of the Kairos account that has the provider's address, to link the two."""
    pending = await federation.pending_link(
        identity.runtime.unit_of_work(), state=request.cookies.get(FEDERATION_COOKIE, "")
    )
    if pending is None:
        return _message(request, "federation_link_expired", 410)
    return _link_form(request, identity, email=pending.email)


@router.post("/federation/link", response_model=None)
async def link_with_password(
    request: Request,
    identity: State,
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: CsrfToken = "",
) -> Response:
    """Prove the Kairos account with its password (throttled as any sign-in), then link it and sign in."""
    if not _csrf_ok(request, csrf_token):
        return _message(request, "csrf_failed", 403)
    state = request.cookies.get(FEDERATION_COOKIE, "")
    pending = await federation.pending_link(identity.runtime.unit_of_work(), state=state)
    if pending is None:
        return _message(request, "federation_link_expired", 410)
    try:
        opened = await Sessions(identity.runtime, identity.hasher).sign_in(
            email=pending.email,
            password=password,
            user_agent=request.headers.get("user-agent", ""),
            address=attempt_address(request, identity),
            device_cookie=request.cookies.get(DEVICE_COOKIE, ""),
            policy=identity.throttle_policy,
            clock=identity.clock,
        )
    except SignInThrottled as throttled:
        message, retry_after = refusal_notice(request, throttled.refusal, now=identity.clock.now())
        return _link_form(request, identity, email=pending.email, error=message, status=429, headers=retry_after)
    except SignInFailed:
        error = pages.text(request, "sign_in_failed")
        return _link_form(request, identity, email=pending.email, error=error, status=401)
    except EmailNotVerified:
        return _link_form(request, identity, email=pending.email, error=pages.text(request, "unverified"), status=403)
    if not await federation.complete_link(identity.runtime.unit_of_work(), state=state, pending=pending):
        return _message(request, "federation_link_expired", 410)
    log.info("identity.external_identity_linked", provider_id=str(pending.provider_id), user_id=str(pending.user_id))
    step = opened.session.pending_step
    target = pending.next_url
    response = RedirectResponse(
        step_location(identity, step, target) if step else target or f"{identity.issuer}/signed-in", 303
    )
    set_session_cookie(response, request, identity, opened.cookie)
    if opened.device_cookie:
        set_device_cookie(response, request, identity, opened.device_cookie)
    response.delete_cookie(FEDERATION_COOKIE, path=identity.cookie_path)
    return response


# --- helpers -----------------------------------------------------------------------------------------------


def _link_form(
    request: Request,
    identity: IdentityState,
    *,
    email: str,
    error: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = pages.render(
        request,
        "federation_link.html",
        {"email": email, "error": error, "csrf_token": token},
        status=status,
        headers=headers,
    )
    response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", path=identity.cookie_path)
    return response


def _message(request: Request, key: str, status: int) -> Response:
    return pages.render(request, "error.html", {"message": pages.text(request, key)}, status=status)


def _csrf_ok(request: Request, submitted: str) -> bool:
    expected = request.cookies.get(CSRF_COOKIE)
    return bool(expected) and secrets.compare_digest(expected or "", submitted)

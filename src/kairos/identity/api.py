"""The identity service's HTTP API, under ``/api/v1/identity``: the OpenID Connect provider's endpoints
and the sign-in page. Authlib's grants run in a worker thread (see ``oauth.py``)."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

import jwt
from authlib.oauth2 import OAuth2Error
from authlib.oidc.core.errors import ConsentRequiredError
from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import Headers

from kairos.identity import pages
from kairos.identity.consent_pages import ConsentPrompt, render_consent_page
from kairos.identity.domain.client_grants import ConsentDecision, decide_consent
from kairos.identity.federation import ProviderChoice, sign_in_choices
from kairos.identity.grants import current_grant, open_pending_consent
from kairos.identity.oauth import (
    SCOPES_SUPPORTED,
    Account,
    HttpRequest,
    HttpResponse,
    KairosRequest,
    load_account,
    load_client,
    revoke_session_tokens,
    user_info,
)
from kairos.identity.sessions import SESSION_COOKIE, EmailNotVerified, Sessions, SignInFailed
from kairos.identity.sign_in_flow import (
    attempt_address,
    refusal_notice,
    safe_next,
    set_device_cookie,
    step_location,
)
from kairos.identity.state import IdentityState
from kairos.identity.tables import access_tokens
from kairos.identity.throttle import DEVICE_COOKIE, SignInThrottled
from kairos.platform import audit
from kairos.platform.auth.principal import bearer_token, unauthenticated
from kairos.platform.auth.tokens import InvalidToken

router = APIRouter(tags=["identity"])

CSRF_COOKIE = "kairos_csrf"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def identity_state(request: Request) -> IdentityState:
    found: IdentityState = request.app.state.identity
    return found


State = Annotated[IdentityState, Depends(identity_state)]


async def _http(request: Request) -> HttpRequest:
    form: list[tuple[str, str]] = []
    if request.method == "POST":
        submitted = await request.form()
        form = [(name, value) for name, value in submitted.multi_items() if isinstance(value, str)]
    return HttpRequest(
        method=request.method,
        url=str(request.url),
        headers=Headers(raw=request.headers.raw),  # case-insensitive, as Authlib expects
        query=list(request.query_params.multi_items()),
        form=form,
    )


def _response(result: HttpResponse, *, extra: dict[str, str] | None = None) -> Response:
    headers = dict(result.headers)
    headers.update(extra or {})
    body = result.body if isinstance(result.body, bytes) else result.body.encode()
    media = headers.pop("Content-Type", None) or ("application/json" if body.startswith(b"{") else None)
    return Response(body, status_code=result.status, headers=headers, media_type=media)


async def _run(identity: IdentityState, work: Any) -> Any:
    return await asyncio.to_thread(identity.server.run, work)


@router.get("/.well-known/openid-configuration")
async def discovery(identity: State) -> dict[str, Any]:
    """OpenID Provider metadata (OpenID Connect Discovery 1.0, RFC 8414)."""
    issuer = identity.issuer
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "userinfo_endpoint": f"{issuer}/userinfo",
        "jwks_uri": f"{issuer}/jwks",
        "revocation_endpoint": f"{issuer}/revoke",
        "introspection_endpoint": f"{issuer}/introspect",
        "end_session_endpoint": f"{issuer}/logout",
        "scopes_supported": SCOPES_SUPPORTED,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "code_challenge_methods_supported": ["S256"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "claims_supported": ["sub", "name", "email", "email_verified", "locale", "zoneinfo"],
        "authorization_response_iss_parameter_supported": True,
    }


@router.get("/jwks")
async def jwks(identity: State) -> JSONResponse:
    """The public keys that sign tokens, current and recently retired (RFC 7517)."""
    return JSONResponse(identity.keys.jwks(), headers={"Cache-Control": "public, max-age=300"})


@router.get("/authorize", response_model=None)
async def authorize(request: Request, identity: State) -> Response:
    """Authorization endpoint: authorization code flow with PKCE (S256)."""
    http = await _http(request)
    browser = await Sessions(identity.runtime, identity.hasher).current(request)

    def decide(session: Session) -> tuple[str, Any]:
        oauth_request = KairosRequest(http, session)
        # The person, when signed in completely: ``prompt=none`` then needs no login (OIDC Core §3.1.2.1).
        signed_in = None
        if browser is not None and browser.pending_step is None:
            signed_in = load_account(session, browser.user_id)
        try:
            grant = identity.server.get_consent_grant(oauth_request, end_user=signed_in)
        except OAuth2Error as error:
            if error.redirect_uri:
                return "response", identity.server.authorization_error(oauth_request, error)
            return "error", error
        if browser is None:
            return "sign-in", None
        if browser.pending_step is not None:
            return "step", browser.pending_step
        account = signed_in
        if account is None:
            return "sign-in", None
        asked = consent_asked(session, oauth_request, grant, account=account, session_id=browser.id)
        if asked is not None:
            return asked
        oauth_request.user = account
        oauth_request.session_id = browser.id
        oauth_request.auth_time = browser.created_at
        oauth_request.amr = list(browser.methods)
        return "response", identity.server.create_authorization_response(oauth_request, grant_user=account, grant=grant)

    outcome, result = await _run(identity, decide)
    if outcome == "sign-in":
        return RedirectResponse(f"{identity.issuer}/sign-in?{urlencode({'next': _path_and_query(request)})}", 303)
    if outcome == "step":
        return RedirectResponse(step_location(identity, result, _path_and_query(request)), 303)
    if outcome == "error":
        return pages.render(request, "error.html", {"message": result.description or result.error}, status=400)
    if outcome == "consent":
        return render_consent_page(request, result, cookie_path=identity.cookie_path)
    return _response(result)


def consent_asked(
    session: Session, oauth_request: KairosRequest, grant: Any, *, account: Account, session_id: uuid.UUID
) -> tuple[str, Any] | None:
    """For a third-party client: the consent page to show, or ``consent_required`` under ``prompt=none``; None
    when the request may go on (a first-party client, or a grant that covers the scopes asked)."""
    client = oauth_request.client
    scopes = tuple(client.get_allowed_scope(oauth_request.payload.scope).split())
    decision = decide_consent(
        is_first_party=client.first_party,
        grant=None if client.first_party else current_grant(session, user_id=account.id, client_id=client.client_id),
        requested=scopes,
        prompts=(oauth_request.payload.data.get("prompt") or "").split(),
    )
    if decision is ConsentDecision.GRANTED:
        return None
    if decision is ConsentDecision.REQUIRED:
        error = ConsentRequiredError(redirect_uri=grant.redirect_uri, state=oauth_request.payload.state)
        return "response", grant.server.authorization_error(oauth_request, error)
    ticket = open_pending_consent(
        session,
        session_id=session_id,
        user_id=account.id,
        client_id=client.client_id,
        scopes=scopes,
        authorization_query=urlsplit(oauth_request.uri).query,
    )
    return "consent", ConsentPrompt(ticket, client.name, scopes, account.display_name)


def _path_and_query(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_page(
    request: Request, identity: State, next: str = "", organisation: uuid.UUID | None = None
) -> Response:
    """The sign-in page; with ``organisation``, also a button for each of its identity providers."""
    providers = await sign_in_choices(uow=identity.runtime.unit_of_work(), organisation_id=organisation)
    return _sign_in_form(request, identity, next_url=next, providers=providers)


def _sign_in_form(
    request: Request,
    identity: State,
    *,
    next_url: str,
    error: str | None = None,
    status: int | None = None,
    headers: dict[str, str] | None = None,
    resend_email: str | None = None,
    providers: list[ProviderChoice] | None = None,
) -> Response:
    token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = pages.render(
        request,
        "sign_in.html",
        {"next": next_url, "csrf_token": token, "error": error, "resend_email": resend_email, "providers": providers},
        status=status or (401 if error else 200),
        headers=headers,
    )
    response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", path=identity.cookie_path)
    return response


@router.post("/sign-in", response_model=None)
async def sign_in(
    request: Request,
    identity: State,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str, Form(max_length=100)],
    next: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Check a password, throttled, and open a browser session (which may owe a second-factor step)."""
    expected = request.cookies.get(CSRF_COOKIE)
    if not expected or not secrets.compare_digest(expected, csrf_token):
        return pages.render(request, "error.html", {"message": pages.text(request, "csrf_failed")}, status=403)
    try:
        opened = await Sessions(identity.runtime, identity.hasher).sign_in(
            email=email,
            password=password,
            user_agent=request.headers.get("user-agent", ""),
            address=attempt_address(request, identity),
            device_cookie=request.cookies.get(DEVICE_COOKIE, ""),
            policy=identity.throttle_policy,
            clock=identity.clock,
        )
    except SignInThrottled as throttled:
        message, retry_after = refusal_notice(request, throttled.refusal, now=identity.clock.now())
        return _sign_in_form(request, identity, next_url=next, error=message, status=429, headers=retry_after)
    except SignInFailed:
        return _sign_in_form(request, identity, next_url=next, error=pages.text(request, "sign_in_failed"))
    except EmailNotVerified:
        # Only someone who knows the password learns this; the page offers the confirmation link again.
        error = pages.text(request, "unverified")
        return _sign_in_form(request, identity, next_url=next, error=error, status=403, resend_email=email)
    target = safe_next(request, next)
    step = opened.session.pending_step
    response = RedirectResponse(
        step_location(identity, step, target) if step else target or f"{identity.issuer}/signed-in", 303
    )
    response.set_cookie(
        SESSION_COOKIE,
        opened.cookie,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path=identity.cookie_path,
    )
    if opened.device_cookie:
        set_device_cookie(response, request, identity, opened.device_cookie)
    return response


@router.get("/signed-in", response_class=HTMLResponse)
async def signed_in(request: Request) -> Response:
    """Shown after a sign-in that did not come from an application."""
    return pages.render(request, "message.html", {"message": pages.text(request, "signed_in")})


@router.post("/token")
async def token(request: Request, identity: State) -> Response:
    """Token endpoint: authorization_code, refresh_token and client_credentials grants."""
    http = await _http(request)
    result = await _run(identity, lambda session: identity.server.create_token_response(KairosRequest(http, session)))
    return _response(result, extra=NO_STORE)


@router.post("/revoke")
async def revoke(request: Request, identity: State) -> Response:
    """Token revocation (RFC 7009)."""
    http = await _http(request)
    result = await _run(
        identity, lambda session: identity.server.create_endpoint_response("revocation", KairosRequest(http, session))
    )
    return _response(result)


@router.post("/introspect")
async def introspect(request: Request, identity: State) -> Response:
    """Token introspection (RFC 7662)."""
    http = await _http(request)
    result = await _run(
        identity,
        lambda session: identity.server.create_endpoint_response("introspection", KairosRequest(http, session)),
    )
    return _response(result, extra=NO_STORE)


@router.get("/userinfo", operation_id="userinfo_get")
@router.post("/userinfo", operation_id="userinfo_post")
async def userinfo(request: Request, identity: State) -> dict[str, Any]:
    """The signed-in user's claims, as the access token's scope allows (OIDC Core §5.3)."""
    token_value = bearer_token(request)
    if token_value is None:
        raise unauthenticated("an access token is required")
    try:
        principal = await identity.verifier.verify(token_value)
    except InvalidToken as error:
        raise unauthenticated(str(error)) from error

    def read(session: Session) -> dict[str, Any] | None:
        revoked = session.scalar(
            select(access_tokens.c.revoked_at).where(access_tokens.c.jti == principal.claims.get("jti"))
        )
        if revoked is not None or "openid" not in principal.scopes:
            return None
        account = load_account(session, uuid.UUID(principal.subject))
        return None if account is None else dict(user_info(account, " ".join(principal.scopes)))

    claims = await _run(identity, read)
    if claims is None:
        raise unauthenticated("the token is revoked, lacks the openid scope, or its user is gone")
    # The claims released to a client are personal data read: audited before they are answered (fail closed).
    async with identity.runtime.unit_of_work() as uow:
        audit.record(
            uow,
            actor=principal,
            action="read",
            resource_type="identity.claims",
            resource_id=principal.subject,
            data_subject=principal.subject,
            fields=tuple(name for name in claims if name != "sub"),
            purpose="userinfo",
        )
        await uow.commit()
    return claims


@router.get("/logout", response_model=None)
async def logout(
    request: Request,
    identity: State,
    post_logout_redirect_uri: str | None = None,
    client_id: str | None = None,
    id_token_hint: str | None = None,
    state: str | None = None,
) -> Response:
    """RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): ends the browser session."""
    browser = await Sessions(identity.runtime, identity.hasher).current(request)
    audience = client_id or _audience_of(id_token_hint)

    def end(session: Session) -> str | None:
        if browser is not None:
            revoke_session_tokens(session, browser.id, at=browser.now())
        if post_logout_redirect_uri and audience:
            client = load_client(session, audience)
            if client is not None and post_logout_redirect_uri in client.post_logout_redirect_uris:
                return post_logout_redirect_uri
        return None

    target = await _run(identity, end)
    if browser is not None:
        await Sessions(identity.runtime, identity.hasher).end(browser)
    if target:
        query = urlencode({"state": state}) if state else ""
        response: Response = RedirectResponse(f"{target}{'?' + query if query else ''}", 303)
    else:
        response = pages.render(request, "message.html", {"message": pages.text(request, "signed_out")})
    response.delete_cookie(SESSION_COOKIE, path=identity.cookie_path)
    return response


def _audience_of(id_token: str | None) -> str | None:
    if not id_token:
        return None
    try:
        audience = jwt.decode(id_token, options={"verify_signature": False}).get("aud")
    except jwt.PyJWTError:
        return None
    return audience[0] if isinstance(audience, list) and audience else audience if isinstance(audience, str) else None

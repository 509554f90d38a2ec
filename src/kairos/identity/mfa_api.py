"""The second sign-in step and TOTP enrolment: server-rendered pages under ``/api/v1/identity``; and a person's
own second factors in JSON (``/me/mfa``: what is set up; new recovery codes), with an access token.

After a correct password, a session that owes a step is sent here (``kairos.identity.sessions``): to
``/sign-in/code`` for a TOTP or recovery code, or to ``/mfa/enrol`` when the user's role requires a second
factor they have not set up. Forms carry the same double-submit CSRF token as the sign-in form. The web app
sends people to ``/mfa/enrol?next=/account``: ``next`` may name a path of this origin (``safe_next``).
"""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import urlencode

import segno
import structlog
from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from kairos.identity import pages
from kairos.identity.api import CSRF_COOKIE, State
from kairos.identity.domain.mfa import SignInStep
from kairos.identity.mfa import AMR_ONE_TIME_CODE, Authenticators, Enrolment, NoAuthenticator, NotEnrolling
from kairos.identity.repository import load_account_record
from kairos.identity.sessions import BrowserSession, Sessions
from kairos.identity.sessions_api import IdentityCaller, Me
from kairos.identity.sign_in_flow import refusal_notice, safe_next, set_session_cookie, step_location
from kairos.identity.state import IdentityState
from kairos.identity.tables import passkeys
from kairos.identity.throttle import SignInThrottle, SignInThrottled
from kairos.platform import audit
from kairos.platform.db.uow import UnitOfWork
from kairos.platform.http import problems
from kairos.platform.http.problems import ProblemError
from kairos.platform.runtime import unit_of_work

log = structlog.get_logger(__name__)

router = APIRouter(tags=["identity"])

problems.register(
    NoAuthenticator, status=409, slug="no-authenticator", title="No authenticator app is set up for the account"
)

Uow = Annotated[UnitOfWork, Depends(unit_of_work)]

TOTP_ISSUER = "Kairos"
OWING_A_CODE: frozenset[SignInStep | None] = frozenset({SignInStep.CODE})
# A complete session may add an authenticator; a pending one only when enrolling is the step it owes.
MAY_ENROL: frozenset[SignInStep | None] = frozenset({None, SignInStep.ENROL})

Code = Annotated[str, Form(max_length=64)]
CsrfToken = Annotated[str, Form(max_length=100)]  # missing is refused like wrong: 403, not 422
Next = Annotated[str, Form(max_length=4000)]


@router.get("/sign-in/code", response_class=HTMLResponse)
async def code_page(request: Request, identity: State, next: str = "") -> Response:
    """The page asking for a second-factor code after the password."""
    browser = await _session_owing(request, identity, next, steps=OWING_A_CODE)
    if isinstance(browser, Response):
        return browser
    return _form(request, identity, "code.html", {"next": safe_next(request, next)})


@router.post("/sign-in/code", response_model=None)
async def submit_code(
    request: Request, identity: State, code: Code, csrf_token: CsrfToken = "", next: Next = ""
) -> Response:
    """Check a TOTP or recovery code and complete the sign-in."""
    if not _csrf_ok(request, csrf_token):
        return _csrf_failed(request)
    browser = await _session_owing(request, identity, next, steps=OWING_A_CODE)
    if isinstance(browser, Response):
        return browser
    target = safe_next(request, next)
    at = identity.clock.now()
    async with identity.runtime.unit_of_work() as uow:
        throttle = SignInThrottle(uow.session, identity.throttle_policy)
        try:
            streak = await throttle.code_attempt(browser.user_id, at=at)
        except SignInThrottled as throttled:
            message, headers = refusal_notice(request, throttled.refusal, now=at)
            return _form(request, identity, "code.html", {"next": target, "error": message}, 429, headers)
        if not await Authenticators(uow.session, identity.runtime.cipher).verify(browser.user_id, code, at=at):
            await throttle.code_failed(browser.user_id, streak, at=at)
            await uow.commit()
            log.info("identity.second_factor_refused", user_id=str(browser.user_id))
            error = pages.text(request, "code_wrong")
            return _form(request, identity, "code.html", {"next": target, "error": error}, 401)
        await throttle.code_succeeded(browser.user_id)
        await uow.commit()
    cookie = await Sessions(identity.runtime, identity.hasher).complete_step(browser, method=AMR_ONE_TIME_CODE)
    response = RedirectResponse(target or f"{identity.issuer}/signed-in", 303)
    set_session_cookie(response, request, identity, cookie)
    return response


@router.get("/mfa/enrol", response_class=HTMLResponse)
async def enrolment_page(request: Request, identity: State, next: str = "") -> Response:
    """The page setting up an authenticator app: a QR code, its key in text, and a first code to confirm."""
    browser = await _session_owing(request, identity, next, steps=MAY_ENROL)
    if isinstance(browser, Response):
        return browser
    try:
        enrolment = await _enrolment(identity, browser)
    except NotEnrolling:
        return pages.render(request, "message.html", {"message": pages.text(request, "already_enrolled")})
    return _enrolment_form(request, identity, enrolment, next_url=safe_next(request, next))


@router.post("/mfa/enrol", response_model=None)
async def confirm_enrolment(
    request: Request, identity: State, code: Code, csrf_token: CsrfToken = "", next: Next = ""
) -> Response:
    """Confirm an authenticator app with its first code; shows the recovery codes, once."""
    if not _csrf_ok(request, csrf_token):
        return _csrf_failed(request)
    browser = await _session_owing(request, identity, next, steps=MAY_ENROL)
    if isinstance(browser, Response):
        return browser
    target = safe_next(request, next)
    async with identity.runtime.unit_of_work() as uow:
        try:
            codes = await Authenticators(uow.session, identity.runtime.cipher).confirm(
                browser.user_id, code, at=identity.clock.now()
            )
        except NotEnrolling:
            return pages.render(request, "message.html", {"message": pages.text(request, "already_enrolled")})
        await uow.commit()
    if codes is None:
        enrolment = await _enrolment(identity, browser)
        error = pages.text(request, "enrol_wrong")
        return _enrolment_form(request, identity, enrolment, next_url=target, error=error, status=401)
    log.info("identity.totp_enrolled", user_id=str(browser.user_id))
    response = pages.render(
        request,
        "recovery_codes.html",
        {"codes": codes, "continue_to": target or f"{identity.issuer}/signed-in"},
    )
    if browser.pending_step is SignInStep.ENROL:
        # The first code proves the new factor: this sign-in has done both steps.
        cookie = await Sessions(identity.runtime, identity.hasher).complete_step(browser, method=AMR_ONE_TIME_CODE)
        set_session_cookie(response, request, identity, cookie)
    return response


# --- a person's own second factors, in JSON ---------------------------------------------------------------


class SecondFactorsRead(BaseModel):
    totp_enrolled: bool = Field(description="an authenticator app is set up (confirmed with a first code)")
    recovery_codes_left: int = Field(description="recovery codes not used yet")
    passkeys: int = Field(description="passkeys registered (listed by GET /me/passkeys)")
    required: bool = Field(description="a role the person holds requires a second factor at sign-in")


class RecoveryCodesCreate(BaseModel):
    code: str = Field(
        min_length=1, max_length=64, description="a current authenticator code, or an unused recovery code"
    )


class RecoveryCodesRead(BaseModel):
    codes: list[str] = Field(description="the new recovery codes, shown this once; every earlier one stops working")


@router.get("/me/mfa", tags=["mfa"])
async def read_my_second_factors(me: Me, uow: Uow, identity: State) -> SecondFactorsRead:
    """Your second factors: whether an authenticator app is set up, recovery codes left, passkeys."""
    async with uow:
        authenticators = Authenticators(uow.session, identity.runtime.cipher)
        return SecondFactorsRead(
            totp_enrolled=await authenticators.has_totp(me.id),
            recovery_codes_left=await authenticators.recovery_codes_left(me.id),
            passkeys=await uow.session.scalar(select(func.count()).where(passkeys.c.user_id == me.id)) or 0,
            required=await authenticators.requires_mfa(me.id),
        )


@router.post("/me/mfa/recovery-codes", tags=["mfa"], status_code=201)
async def regenerate_my_recovery_codes(
    body: RecoveryCodesCreate, me: Me, caller: IdentityCaller, uow: Uow, identity: State
) -> RecoveryCodesRead:
    """New recovery codes in place of all earlier ones, proven with a current authenticator or recovery code."""
    at = identity.clock.now()
    async with uow:
        throttle = SignInThrottle(uow.session, identity.throttle_policy)
        try:
            streak = await throttle.code_attempt(me.id, at=at)
        except SignInThrottled as throttled:
            until = throttled.refusal.until
            headers = {"Retry-After": str(max(1, int((until - at).total_seconds())))} if until else None
            raise ProblemError(
                429, "throttled", "Too Many Requests", "too many wrong codes: wait before trying again", headers=headers
            ) from throttled
        codes = await Authenticators(uow.session, identity.runtime.cipher).regenerate_recovery_codes(
            me.id, body.code, at=at
        )
        if codes is None:
            await throttle.code_failed(me.id, streak, at=at)
            await uow.commit()
            log.info("identity.second_factor_refused", user_id=str(me.id))
            raise ProblemError(
                422, "code-wrong", "The code is not right", "give a current code of your authenticator app"
            )
        await throttle.code_succeeded(me.id)
        audit.record(
            uow,
            actor=caller,
            action="update",
            resource_type="identity.recovery_codes",
            resource_id=me.id,
            data_subject=me.id,
            fields=("code_hash",),
        )
        await uow.commit()
    log.info("identity.recovery_codes_regenerated", user_id=str(me.id))
    return RecoveryCodesRead(codes=codes)


# --- helpers -----------------------------------------------------------------------------------------------


async def _session_owing(
    request: Request, identity: IdentityState, next_url: str, *, steps: frozenset[SignInStep | None]
) -> BrowserSession | Response:
    """The browser's session when what it still owes is one of ``steps``; otherwise where it should go instead."""
    browser = await Sessions(identity.runtime, identity.hasher).current(request)
    if browser is None:
        return _to_sign_in(identity, next_url)
    if browser.pending_step in steps:
        return browser
    if browser.pending_step is not None:
        return RedirectResponse(step_location(identity, browser.pending_step, safe_next(request, next_url)), 303)
    return RedirectResponse(safe_next(request, next_url) or f"{identity.issuer}/signed-in", 303)


def _to_sign_in(identity: IdentityState, next_url: str) -> Response:
    query = f"?{urlencode({'next': next_url})}" if next_url else ""
    return RedirectResponse(f"{identity.issuer}/sign-in{query}", 303)


async def _enrolment(identity: IdentityState, browser: BrowserSession) -> Enrolment:
    async with identity.runtime.unit_of_work() as uow:
        account = await load_account_record(uow.session, uow.cipher, user_id=browser.user_id)
        enrolment = await Authenticators(uow.session, identity.runtime.cipher).enrolment(
            browser.user_id,
            account=account.email if account is not None else str(browser.user_id),
            issuer=TOTP_ISSUER,
            at=identity.clock.now(),
        )
        await uow.commit()
    return enrolment


def _enrolment_form(
    request: Request,
    identity: IdentityState,
    enrolment: Enrolment,
    *,
    next_url: str,
    error: str | None = None,
    status: int = 200,
) -> Response:
    qr_svg = segno.make(enrolment.uri, error="m").svg_inline(scale=4, border=2, title=pages.text(request, "qr_label"))
    context: dict[str, object] = {
        "next": next_url,
        "error": error,
        "qr_svg": qr_svg,
        "secret_groups": " ".join(enrolment.secret[i : i + 4] for i in range(0, len(enrolment.secret), 4)),
    }
    return _form(request, identity, "enrol.html", context, status)


def _form(
    request: Request,
    identity: IdentityState,
    template: str,
    context: dict[str, object],
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
    if template == "code.html":  # its passkey button runs a script (kairos.identity.passkeys_api)
        headers = {"Content-Security-Policy": pages.SCRIPTED_PAGE_POLICY, **(headers or {})}
    response = pages.render(request, template, {**context, "csrf_token": token}, status=status, headers=headers)
    response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", path=identity.cookie_path)
    return response


def _csrf_ok(request: Request, submitted: str) -> bool:
    expected = request.cookies.get(CSRF_COOKIE)
    return bool(expected) and secrets.compare_digest(expected or "", submitted)


def _csrf_failed(request: Request) -> Response:
    return pages.render(request, "error.html", {"message": pages.text(request, "csrf_failed")}, status=403)

"""Registration, e-mail confirmation and password reset: server-rendered pages under ``/api/v1/identity``.

Forms carry the double-submit CSRF token of the sign-in form. Links in mails open a page with a button
rather than acting on GET, so that mail scanners fetching links do not use them up. The use cases are in
``kairos.identity.accounts``.
"""

from __future__ import annotations

import math
import re
import secrets
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse

from kairos.identity import accounts, pages
from kairos.identity.accounts import MailRequestsThrottled
from kairos.identity.api import CSRF_COOKIE, State
from kairos.identity.domain.account_tokens import TokenNotValid, TokenPurpose
from kairos.identity.domain.passwords import PasswordCheck, PasswordNotAccepted
from kairos.identity.schemas import EMAIL_PATTERN
from kairos.identity.sign_in_flow import attempt_address, safe_next
from kairos.identity.state import IdentityState

router = APIRouter(tags=["identity"])

# Missing fields are handled like wrong ones (the page says what to fix; a missing CSRF token is a 403).
Email = Annotated[str, Form(max_length=320)]
Name = Annotated[str, Form(max_length=200)]
Password = Annotated[str, Form(max_length=1024)]
CsrfToken = Annotated[str, Form(max_length=100)]
Token = Annotated[str, Form(max_length=100)]
Next = Annotated[str, Form(max_length=4000)]

_EMAIL = re.compile(EMAIL_PATTERN)


@router.get("/register", response_class=HTMLResponse)
async def registration_page(request: Request, identity: State, next: str = "") -> Response:
    """The page creating a patient account."""
    return _form(request, identity, "register.html", {"next": safe_next(request, next)})


@router.post("/register", response_model=None)
async def register(
    request: Request,
    identity: State,
    email: Email = "",
    name: Name = "",
    password: Password = "",
    csrf_token: CsrfToken = "",
    next: Next = "",
) -> Response:
    """Create an account waiting for its e-mail address to be confirmed, and send the link."""
    if not _csrf_ok(request, csrf_token):
        return _csrf_failed(request)
    target = safe_next(request, next)
    context: dict[str, Any] = {"next": target, "email": email, "name": name}
    errors = [
        *([] if _EMAIL.match(email.strip()) else [pages.text(request, "email_invalid")]),
        *([] if name.strip() else [pages.text(request, "name_missing")]),
    ]
    if errors:
        return _form(request, identity, "register.html", {**context, "errors": errors}, status=422)
    try:
        await accounts.register(
            identity=identity,
            email=email,
            display_name=name,
            password=password,
            language=pages.language(request),
            address=attempt_address(request, identity),
            next_url=target,
        )
    except PasswordNotAccepted as refused:
        errors = _password_problems(request, refused)
        return _form(request, identity, "register.html", {**context, "errors": errors}, status=422)
    except MailRequestsThrottled as throttled:
        return _throttled(request, identity, "register.html", context, throttled)
    message = pages.text(request, "registered").format(email=email.strip())
    return _notice(request, title=pages.text(request, "registered_title"), message=message)


@router.post("/verify-email/resend", response_model=None)
async def resend_verification(
    request: Request, identity: State, email: Email = "", csrf_token: CsrfToken = "", next: Next = ""
) -> Response:
    """Send the confirmation link again (the same answer for every address)."""
    if not _csrf_ok(request, csrf_token):
        return _csrf_failed(request)
    try:
        await accounts.resend_verification(
            identity=identity,
            email=email,
            address=attempt_address(request, identity),
            next_url=safe_next(request, next),
        )
    except MailRequestsThrottled as throttled:
        return _notice(
            request,
            message=_wait_message(request, identity, throttled),
            status=429,
            headers=_retry(identity, throttled),
        )
    return _notice(request, title=pages.text(request, "registered_title"), message=pages.text(request, "resent"))


@router.get("/verify-email", response_class=HTMLResponse)
async def verification_page(request: Request, identity: State, token: str = "") -> Response:
    """The page a confirmation link opens: one button confirms the address."""
    try:
        await accounts.check_link(identity=identity, token=token, purpose=TokenPurpose.VERIFY_EMAIL)
    except TokenNotValid:
        return _link_invalid(request, identity)
    return _form(request, identity, "verify_email.html", {"token": token})


@router.post("/verify-email", response_model=None)
async def verify_email(request: Request, identity: State, token: Token = "", csrf_token: CsrfToken = "") -> Response:
    """Confirm the e-mail address; then sign in, back into the application's request if there was one."""
    if not _csrf_ok(request, csrf_token):
        return _csrf_failed(request)
    try:
        next_url = await accounts.verify_email(identity=identity, token=token)
    except TokenNotValid:
        return _link_invalid(request, identity)
    return _notice(
        request,
        title=pages.text(request, "verified_title"),
        message=pages.text(request, "verified"),
        link=(_sign_in_url(request, identity, next_url), pages.text(request, "continue_to_sign_in")),
    )


@router.get("/forgot-password", response_class=HTMLResponse)
async def forgot_password_page(request: Request, identity: State, next: str = "") -> Response:
    """The page asking for a password-reset link."""
    return _form(request, identity, "forgot_password.html", {"next": safe_next(request, next)})


@router.post("/forgot-password", response_model=None)
async def forgot_password(
    request: Request, identity: State, email: Email = "", csrf_token: CsrfToken = "", next: Next = ""
) -> Response:
    """Mail a reset link to the account using the address, if any (the same answer for every address)."""
    if not _csrf_ok(request, csrf_token):
        return _csrf_failed(request)
    target = safe_next(request, next)
    if not _EMAIL.match(email.strip()):
        context = {"next": target, "email": email, "errors": [pages.text(request, "email_invalid")]}
        return _form(request, identity, "forgot_password.html", context, status=422)
    try:
        await accounts.request_password_reset(
            identity=identity, email=email, address=attempt_address(request, identity), next_url=target
        )
    except MailRequestsThrottled as throttled:
        return _throttled(request, identity, "forgot_password.html", {"next": target, "email": email}, throttled)
    message = pages.text(request, "reset_sent").format(email=email.strip())
    return _notice(request, title=pages.text(request, "reset_sent_title"), message=message)


@router.get("/reset-password", response_class=HTMLResponse)
async def reset_password_page(request: Request, identity: State, token: str = "") -> Response:
    """The page a reset link opens: the new password."""
    try:
        await accounts.check_link(identity=identity, token=token, purpose=TokenPurpose.RESET_PASSWORD)
    except TokenNotValid:
        return _link_invalid(request, identity)
    return _form(request, identity, "reset_password.html", {"token": token})


@router.post("/reset-password", response_model=None)
async def reset_password(
    request: Request, identity: State, token: Token = "", password: Password = "", csrf_token: CsrfToken = ""
) -> Response:
    """Set a new password with a reset link; every session of the account ends."""
    if not _csrf_ok(request, csrf_token):
        return _csrf_failed(request)
    try:
        next_url = await accounts.reset_password(identity=identity, token=token, password=password)
    except TokenNotValid:
        return _link_invalid(request, identity)
    except PasswordNotAccepted as refused:
        errors = _password_problems(request, refused)
        return _form(request, identity, "reset_password.html", {"token": token, "errors": errors}, status=422)
    return _notice(
        request,
        title=pages.text(request, "password_changed_title"),
        message=pages.text(request, "password_changed"),
        link=(_sign_in_url(request, identity, next_url), pages.text(request, "continue_to_sign_in")),
    )


# --- helpers -----------------------------------------------------------------------------------------------


def _password_problems(request: Request, refused: PasswordNotAccepted) -> list[str]:
    check: PasswordCheck = refused.check
    return [
        pages.text(request, f"problem_{problem.value}").format(
            minimum=check.minimum_length, maximum=check.maximum_length
        )
        for problem in check.problems
    ]


def _sign_in_url(request: Request, identity: IdentityState, next_url: str) -> str:
    query = {"lang": pages.language(request), **({"next": next_url} if next_url else {})}
    return f"{identity.issuer}/sign-in?{urlencode(query)}"


def _link_invalid(request: Request, identity: IdentityState) -> Response:
    return _notice(
        request,
        title=pages.text(request, "link_invalid_title"),
        message=pages.text(request, "link_invalid"),
        link=(f"{identity.issuer}/forgot-password?lang={pages.language(request)}", pages.text(request, "forgot_link")),
        status=400,
        alert=True,
    )


def _wait_message(request: Request, identity: IdentityState, throttled: MailRequestsThrottled) -> str:
    seconds = _seconds_until(identity, throttled)
    return pages.text(request, "too_many_requests").format(wait=pages.duration(request, seconds))


def _seconds_until(identity: IdentityState, throttled: MailRequestsThrottled) -> int:
    return max(1, math.ceil((throttled.until - identity.clock.now()).total_seconds()))


def _retry(identity: IdentityState, throttled: MailRequestsThrottled) -> dict[str, str]:
    return {"Retry-After": str(_seconds_until(identity, throttled))}


def _throttled(
    request: Request,
    identity: IdentityState,
    template: str,
    context: dict[str, Any],
    throttled: MailRequestsThrottled,
) -> Response:
    errors = [_wait_message(request, identity, throttled)]
    return _form(request, identity, template, {**context, "errors": errors}, 429, _retry(identity, throttled))


def _notice(
    request: Request,
    *,
    message: str,
    title: str | None = None,
    link: tuple[str, str] | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
    alert: bool = False,
) -> Response:
    context = {"title": title, "message": message, "link": link, "alert": alert or status >= 400}
    return pages.render(request, "notice.html", context, status=status, headers=headers)


def _form(
    request: Request,
    identity: IdentityState,
    template: str,
    context: dict[str, Any],
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = pages.render(request, template, {**context, "csrf_token": token}, status=status, headers=headers)
    response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", path=identity.cookie_path)
    return response


def _csrf_ok(request: Request, submitted: str) -> bool:
    expected = request.cookies.get(CSRF_COOKIE)
    return bool(expected) and secrets.compare_digest(expected or "", submitted)


def _csrf_failed(request: Request) -> Response:
    return pages.render(request, "error.html", {"message": pages.text(request, "csrf_failed")}, status=403)

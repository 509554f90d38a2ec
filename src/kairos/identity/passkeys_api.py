"""Passkeys, under ``/api/v1/identity``: a person's own (``/me/passkeys``: register, list, rename, remove; an
access token), and signing in with one (``/sign-in/passkey``: JSON for the page's script, by the browser
session's cookie, with the CSRF token in an ``X-CSRF-Token`` header) — as the second step after a password, or
alone without one.

A ceremony is two calls: ``…/options`` gives the ``publicKey`` options for ``navigator.credentials.create()`` or
``.get()`` and a ``challenge_id``; the second call sends the authenticator's answer (its JSON form, WebAuthn
Level 3 ``toJSON()``) with that id.
"""

from __future__ import annotations

import functools
import secrets
import uuid
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from kairos.identity import passkeys
from kairos.identity.api import CSRF_COOKIE, State
from kairos.identity.domain.mfa import SignInStep
from kairos.identity.domain.passkeys import AMR_HARDWARE_KEY, TooManyPasskeys, relying_party, sign_in_methods
from kairos.identity.passkeys import Ceremony, Passkey, PasskeyRefused, UnknownPasskey
from kairos.identity.sessions import Sessions
from kairos.identity.sessions_api import Me
from kairos.identity.sign_in_flow import safe_next, set_session_cookie, step_location
from kairos.identity.state import IdentityState
from kairos.platform.db.uow import UnitOfWork
from kairos.platform.http import problems
from kairos.platform.http.problems import ProblemError
from kairos.platform.runtime import unit_of_work

log = structlog.get_logger(__name__)

router = APIRouter(tags=["passkeys"])

problems.register(PasskeyRefused, status=422, slug="passkey-refused", title="The passkey was not accepted")
problems.register(UnknownPasskey, status=404, slug="not-found", title="Not Found")
problems.register(TooManyPasskeys, status=409, slug="too-many-passkeys", title="The account has too many passkeys")

CSRF_HEADER = "X-CSRF-Token"

Uow = Annotated[UnitOfWork, Depends(unit_of_work)]


class CeremonyRead(BaseModel):
    challenge_id: uuid.UUID
    public_key: dict[str, Any] = Field(description="the publicKey options for navigator.credentials")


class PasskeyCreate(BaseModel):
    challenge_id: uuid.UUID
    name: str = Field(min_length=1, max_length=100, description='what the person calls it ("work laptop")')
    credential: dict[str, Any] = Field(description="the PublicKeyCredential's JSON form (RegistrationResponseJSON)")


class PasskeyUpdate(BaseModel):
    name: str = Field(min_length=1, max_length=100, description="what the person calls it")


class PasskeyRead(BaseModel):
    id: uuid.UUID
    name: str
    transports: list[str]
    created_at: datetime
    last_used_at: datetime | None


class PasskeySignIn(BaseModel):
    challenge_id: uuid.UUID
    credential: dict[str, Any] = Field(description="the PublicKeyCredential's JSON form (AuthenticationResponseJSON)")
    next: str = Field(default="", max_length=4000)


class SignedInRead(BaseModel):
    location: str = Field(description="where the browser goes next")


def _ceremony(ceremony: Ceremony) -> CeremonyRead:
    return CeremonyRead(challenge_id=ceremony.challenge_id, public_key=ceremony.options)


def _read(passkey: Passkey) -> PasskeyRead:
    return PasskeyRead(
        id=passkey.id,
        name=passkey.name,
        transports=list(passkey.transports),
        created_at=passkey.created_at,
        last_used_at=passkey.last_used_at,
    )


# --- a person's passkeys -----------------------------------------------------------------------------------


@router.post("/me/passkeys/registration-options")
async def passkey_registration_options(me: Me, uow: Uow, identity: State) -> CeremonyRead:
    """Start registering a passkey: options for navigator.credentials.create()."""
    return _ceremony(await passkeys.registration_options(uow=uow, rp=relying_party(identity.issuer), user_id=me.id))


@router.post("/me/passkeys", status_code=201)
async def register_passkey(body: PasskeyCreate, me: Me, uow: Uow, identity: State) -> PasskeyRead:
    """Finish registering a passkey with the authenticator's answer."""
    passkey = await passkeys.register(
        uow=uow,
        rp=relying_party(identity.issuer),
        user_id=me.id,
        challenge_id=body.challenge_id,
        name=body.name,
        credential=body.credential,
    )
    log.info("identity.passkey_registered", user_id=str(me.id))
    return _read(passkey)


@router.get("/me/passkeys")
async def list_my_passkeys(me: Me, uow: Uow) -> list[PasskeyRead]:
    """Your passkeys."""
    return [_read(passkey) for passkey in await passkeys.list_passkeys(uow=uow, user_id=me.id)]


@router.patch("/me/passkeys/{passkey_id}")
async def rename_my_passkey(passkey_id: uuid.UUID, body: PasskeyUpdate, me: Me, uow: Uow) -> PasskeyRead:
    """Rename one of your passkeys."""
    return _read(await passkeys.rename_passkey(uow=uow, user_id=me.id, passkey_id=passkey_id, name=body.name))


@router.delete("/me/passkeys/{passkey_id}", status_code=204)
async def remove_my_passkey(passkey_id: uuid.UUID, me: Me, uow: Uow) -> None:
    """Remove one of your passkeys."""
    await passkeys.remove_passkey(uow=uow, user_id=me.id, passkey_id=passkey_id)


# --- signing in with one -----------------------------------------------------------------------------------

PASSKEY_SCRIPT = Path(__file__).with_name("static") / "passkey.js"


@functools.cache
def _script() -> bytes:
    return PASSKEY_SCRIPT.read_bytes()  # once: a small file shipped with the code


@router.get("/assets/passkey.js", include_in_schema=False)
async def passkey_script() -> Response:
    """The second-step page's passkey button."""
    return Response(
        _script(),
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
    )


@router.post("/sign-in/passkey/options")
async def passkey_sign_in_options(request: Request, identity: State) -> CeremonyRead:
    """Options for navigator.credentials.get(): the account's passkeys when a password was given and a second
    step is owed, else any passkey of the person's (signing in without a password)."""
    _require_csrf(request)
    user_id = await _owing_second_factor(request, identity)
    return _ceremony(
        await passkeys.authentication_options(
            uow=identity.runtime.unit_of_work(), rp=relying_party(identity.issuer), user_id=user_id
        )
    )


@router.post("/sign-in/passkey", response_model=SignedInRead)
async def sign_in_with_passkey(request: Request, body: PasskeySignIn, identity: State) -> Response:
    """Check the authenticator's answer and complete the sign-in; where the browser goes next."""
    _require_csrf(request)
    sessions = Sessions(identity.runtime, identity.hasher)
    browser = await sessions.current(request)
    owing = browser is not None and browser.pending_step is SignInStep.CODE
    used = await passkeys.authenticate(
        uow=identity.runtime.unit_of_work(),
        rp=relying_party(identity.issuer),
        challenge_id=body.challenge_id,
        credential=body.credential,
        user_id=browser.user_id if owing and browser is not None else None,
    )
    target = safe_next(request, body.next)
    if owing and browser is not None:
        cookie = await sessions.complete_step(browser, method=AMR_HARDWARE_KEY)
        location = target or f"{identity.issuer}/signed-in"
    else:
        opened = await sessions.open_proven(
            user_id=used.user_id,
            methods=sign_in_methods(user_verified=used.user_verified),
            has_second_factor=used.user_verified,
            user_agent=request.headers.get("user-agent", ""),
        )
        cookie = opened.cookie
        step = opened.session.pending_step
        location = step_location(identity, step, target) if step else target or f"{identity.issuer}/signed-in"
    log.info("identity.passkey_sign_in", user_id=str(used.user_id), second_step=owing)
    response = JSONResponse({"location": location}, headers={"Cache-Control": "no-store"})
    set_session_cookie(response, request, identity, cookie)
    return response


async def _owing_second_factor(request: Request, identity: IdentityState) -> uuid.UUID | None:
    browser = await Sessions(identity.runtime, identity.hasher).current(request)
    return browser.user_id if browser is not None and browser.pending_step is SignInStep.CODE else None


def _require_csrf(request: Request) -> None:
    expected = request.cookies.get(CSRF_COOKIE)
    submitted = request.headers.get(CSRF_HEADER, "")
    if not expected or not secrets.compare_digest(expected, submitted):
        raise ProblemError(403, "csrf", "Forbidden", f"the {CSRF_HEADER} header must repeat the form's CSRF token")

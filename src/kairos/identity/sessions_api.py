"""A person's own sessions, under ``/api/v1/identity/me/sessions``: the devices signed in, and signing one
or all of them out (with the refresh tokens obtained in them).

Also how identity's own API knows its caller (``IdentityCaller``): the platform's ``CurrentPrincipal``
would fetch identity's JWKS from identity over HTTP and cannot tell a revoked token; here the token is
verified with identity's own keys in memory and its record must not be revoked.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy import and_, exists, or_, select

from kairos.identity import service
from kairos.identity.api import State
from kairos.identity.repository import open_user_agent
from kairos.identity.schemas import SessionRead
from kairos.identity.service import UnknownSession
from kairos.identity.sessions import IDLE_TIMEOUT
from kairos.identity.tables import access_tokens, browser_sessions, refresh_tokens
from kairos.platform.auth.principal import BEARER_CHALLENGE, Principal, bearer_token, unauthenticated
from kairos.platform.auth.tokens import InvalidToken
from kairos.platform.db.uow import UnitOfWork
from kairos.platform.http import problems
from kairos.platform.http.pagination import Page, PageRequest, keyset, page_of, page_request
from kairos.platform.http.problems import ProblemError
from kairos.platform.runtime import unit_of_work

router = APIRouter(tags=["sessions"])

problems.register(UnknownSession, status=404, slug="not-found", title="Not Found")

Uow = Annotated[UnitOfWork, Depends(unit_of_work)]
PageDep = Annotated[PageRequest, Depends(page_request)]


async def identity_caller(request: Request, identity: State) -> Principal:
    """The verified caller of an identity route; a revoked token (RFC 7009, a signed-out session) is refused."""
    token = bearer_token(request)
    if token is None:
        raise ProblemError(
            401,
            "unauthenticated",
            "Unauthorized",
            "This endpoint needs an access token",
            headers={"WWW-Authenticate": BEARER_CHALLENGE},
        )
    try:
        principal = await identity.verifier.verify(token)
    except InvalidToken as error:
        raise unauthenticated(str(error)) from error
    jti = principal.claims.get("jti")
    if not isinstance(jti, str):
        raise unauthenticated("the token has no identifier")
    async with identity.runtime.sessionmaker() as session:
        record = (
            await session.execute(
                select(access_tokens.c.user_id, access_tokens.c.revoked_at).where(access_tokens.c.jti == jti)
            )
        ).first()
    if record is None or record.revoked_at is not None:
        raise unauthenticated("the token is revoked")
    request.state.principal = principal  # what the platform's CurrentPrincipal answers for the rest of the request
    return principal


IdentityCaller = Annotated[Principal, Depends(identity_caller)]


@dataclass(frozen=True)
class SignedInUser:
    id: uuid.UUID
    session_id: uuid.UUID | None  # the browser session the token was obtained in, when it is known


async def signed_in_user(principal: IdentityCaller, identity: State) -> SignedInUser:
    """The person an access token speaks for; a client's own token (client credentials) speaks for nobody."""
    family = select(access_tokens.c.family_id).where(access_tokens.c.jti == principal.claims["jti"])
    # Tokens of one grant share a family; its refresh tokens record the session the grant was made in.
    session_of_family = (
        select(refresh_tokens.c.session_id)
        .where(refresh_tokens.c.family_id == family.scalar_subquery(), refresh_tokens.c.session_id.is_not(None))
        .limit(1)
        .scalar_subquery()
    )
    async with identity.runtime.sessionmaker() as session:
        record = (
            await session.execute(
                select(access_tokens.c.user_id, session_of_family.label("session_id")).where(
                    access_tokens.c.jti == principal.claims["jti"]
                )
            )
        ).first()
    if record is None:  # its record went between the two reads
        raise unauthenticated("the token is revoked")
    if record.user_id is None or str(record.user_id) != principal.subject:
        raise ProblemError(403, "forbidden", "Forbidden", "This endpoint is for a person's token, not a client's")
    return SignedInUser(record.user_id, record.session_id)


Me = Annotated[SignedInUser, Depends(signed_in_user)]


@router.get("/me/sessions")
async def list_my_sessions(me: Me, uow: Uow, page: PageDep) -> Page[SessionRead]:
    """Your sessions: every browser (device) still signed in, oldest first."""
    now = datetime.now(UTC)
    # A session is listed while anything obtained in it still works: within its timeouts (the web app's refresh
    # tokens end with them), or holding a live refresh token of a third-party application allowed offline access.
    holds_refresh_token = exists().where(
        refresh_tokens.c.session_id == browser_sessions.c.id,
        refresh_tokens.c.revoked_at.is_(None),
        refresh_tokens.c.rotated_at.is_(None),
        refresh_tokens.c.expires_at > now,
    )
    within_timeouts = and_(browser_sessions.c.expires_at > now, browser_sessions.c.last_seen_at > now - IDLE_TIMEOUT)
    query = select(
        browser_sessions.c.id,
        browser_sessions.c.created_at,
        browser_sessions.c.last_seen_at,
        browser_sessions.c.expires_at,
        browser_sessions.c.user_agent,
    ).where(
        browser_sessions.c.user_id == me.id,
        browser_sessions.c.revoked_at.is_(None),
        or_(within_timeouts, holds_refresh_token),
    )
    async with uow:
        rows = (
            (await uow.session.execute(keyset(query, [browser_sessions.c.created_at, browser_sessions.c.id], page)))
            .mappings()
            .all()
        )
    items, next_cursor = page_of(rows, page, key=lambda row: (row["created_at"], row["id"]))
    return Page(
        items=[
            SessionRead(
                **{**row, "user_agent": await open_user_agent(uow.cipher, row["id"], row["user_agent"])},
                is_current=row["id"] == me.session_id,
            )
            for row in items
        ],
        next_cursor=next_cursor,
    )


@router.delete("/me/sessions/{session_id}", status_code=204)
async def revoke_my_session(session_id: uuid.UUID, me: Me, uow: Uow) -> None:
    """Sign one of your sessions out, and revoke the tokens obtained in it."""
    await service.revoke_session(uow=uow, user_id=me.id, session_id=session_id)


@router.delete("/me/sessions", status_code=204)
async def revoke_my_sessions(me: Me, uow: Uow, keep_current: bool = False) -> None:
    """Sign all your sessions out (or all but the current one), and revoke the tokens obtained in them."""
    await service.revoke_sessions(uow=uow, user_id=me.id, keep=me.session_id if keep_current else None)

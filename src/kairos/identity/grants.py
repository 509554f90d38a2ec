"""Use cases of third-party applications' grants: the consent page's ticket, the person's answer, their list of
grants and revoking one. Decisions are the domain's (``kairos.identity.domain.client_grants``); every access to a
grant is audited.

A consent page answers one authorization request in one browser session: the page carries a random ticket whose
digest is stored with the request (``pending_consents``), the session and the scopes shown; the answer is accepted
once, from that session, before the ticket expires (RFC 9700 §4.7: no answer can be replayed, nor moved to
another request or another person's browser). The code is then issued for the request stored, not for anything
the form says.

The OAuth worker thread reads and opens tickets with its synchronous session (``current_grant``,
``open_pending_consent``); the rest runs in the service's asynchronous unit of work.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import RowMapping, insert, select, update
from sqlalchemy.orm import Session

from kairos.identity.domain.client_grants import ClientGrant, NoGrantToRevoke, widened_scopes
from kairos.identity.oauth import revoke_family
from kairos.identity.tables import client_grants, oauth_clients, pending_consents, refresh_tokens
from kairos.platform import audit
from kairos.platform.auth.principal import Principal
from kairos.platform.db.uow import UnitOfWork
from kairos.platform.http.pagination import PageRequest, keyset, page_of
from kairos.platform.ids import new_id

RESOURCE = "identity.client_grant"
CONSENT_PAGE_LIFETIME = timedelta(minutes=10)


class ConsentNotPending(Exception):
    """The consent form answers no request awaiting an answer in this browser session (used, expired, another's)."""


@dataclass(frozen=True)
class PendingConsent:
    user_id: uuid.UUID
    client_id: str
    scopes: tuple[str, ...]
    authorization_query: str


@dataclass(frozen=True)
class GrantListing:
    grant: ClientGrant
    client_name: str


def _digest(ticket: str) -> bytes:
    return hashlib.sha256(ticket.encode()).digest()


def _grant(row: RowMapping) -> ClientGrant:
    return ClientGrant(
        user_id=row["user_id"],
        client_id=row["client_id"],
        scopes=frozenset(row["scopes"]),
        granted_at=row["granted_at"],
        revoked_at=row["revoked_at"],
    )


# --- in the OAuth worker thread ----------------------------------------------------------------------------------


def current_grant(session: Session, *, user_id: uuid.UUID, client_id: str) -> ClientGrant | None:
    row = (
        session.execute(
            select(client_grants).where(
                client_grants.c.user_id == user_id,
                client_grants.c.client_id == client_id,
                client_grants.c.revoked_at.is_(None),
            )
        )
        .mappings()
        .first()
    )
    return None if row is None else _grant(row)


def open_pending_consent(
    session: Session,
    *,
    session_id: uuid.UUID,
    user_id: uuid.UUID,
    client_id: str,
    scopes: tuple[str, ...],
    authorization_query: str,
) -> str:
    """Record the request a consent page is about to ask about; the ticket its form carries."""
    ticket = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    session.execute(
        insert(pending_consents).values(
            ticket_hash=_digest(ticket),
            session_id=session_id,
            user_id=user_id,
            client_id=client_id,
            scopes=list(scopes),
            authorization_query=authorization_query,
            created_at=now,
            expires_at=now + CONSENT_PAGE_LIFETIME,
        )
    )
    return ticket


# --- the person's answer, their list, revoking -------------------------------------------------------------------


async def answer_consent(*, uow: UnitOfWork, ticket: str, session_id: uuid.UUID, allow: bool) -> PendingConsent:
    """Use up the ticket of a consent page shown in ``session_id``; when ``allow``, grant what the page asked."""
    async with uow:
        row = (
            (
                await uow.session.execute(
                    select(pending_consents).where(pending_consents.c.ticket_hash == _digest(ticket)).with_for_update()
                )
            )
            .mappings()
            .first()
        )
        now = uow.clock.now()
        if row is None or row["session_id"] != session_id or row["used_at"] is not None or row["expires_at"] <= now:
            raise ConsentNotPending("no consent page awaits this answer")
        await uow.session.execute(
            update(pending_consents).where(pending_consents.c.ticket_hash == row["ticket_hash"]).values(used_at=now)
        )
        pending = PendingConsent(row["user_id"], row["client_id"], tuple(row["scopes"]), row["authorization_query"])
        if allow:
            await _grant_scopes(uow, pending, at=now)
        await uow.commit()
    return pending


async def _grant_scopes(uow: UnitOfWork, pending: PendingConsent, *, at: datetime) -> None:
    row = (
        (
            await uow.session.execute(
                select(client_grants)
                .where(
                    client_grants.c.user_id == pending.user_id,
                    client_grants.c.client_id == pending.client_id,
                    client_grants.c.revoked_at.is_(None),
                )
                .with_for_update()
            )
        )
        .mappings()
        .first()
    )
    scopes = sorted(widened_scopes(None if row is None else _grant(row), pending.scopes))
    if row is None:
        grant_id = new_id()
        await uow.session.execute(
            insert(client_grants).values(
                id=grant_id, user_id=pending.user_id, client_id=pending.client_id, scopes=scopes, granted_at=at
            )
        )
    else:
        grant_id = row["id"]
        await uow.session.execute(
            update(client_grants).where(client_grants.c.id == grant_id).values(scopes=scopes, granted_at=at)
        )
    audit.record(
        uow,
        actor=str(pending.user_id),  # the person answers for themselves, in their browser
        action="create" if row is None else "update",
        resource_type=RESOURCE,
        resource_id=grant_id,
        data_subject=pending.user_id,
        fields=("client_id", "scopes"),
    )


async def list_grants(
    *, uow: UnitOfWork, by: Principal, user_id: uuid.UUID, page: PageRequest
) -> tuple[list[GrantListing], str | None]:
    """The applications the person allows now, oldest grant first; the reading is audited."""
    async with uow:
        query = (
            select(client_grants, oauth_clients.c.name)
            .join(oauth_clients, oauth_clients.c.client_id == client_grants.c.client_id)
            .where(client_grants.c.user_id == user_id, client_grants.c.revoked_at.is_(None))
        )
        rows = (
            (await uow.session.execute(keyset(query, [client_grants.c.granted_at, client_grants.c.id], page)))
            .mappings()
            .all()
        )
        items, next_cursor = page_of(rows, page, key=lambda row: (row["granted_at"], row["id"]))
        for row in items:
            audit.record(
                uow,
                actor=by,
                action="read",
                resource_type=RESOURCE,
                resource_id=row["id"],
                data_subject=user_id,
                fields=("client_id", "scopes", "granted_at"),
            )
        await uow.commit()
    return [GrantListing(_grant(row), row["name"]) for row in items], next_cursor


async def revoke_grant(*, uow: UnitOfWork, by: Principal, user_id: uuid.UUID, client_id: str) -> ClientGrant:
    """Take back what the person allowed an application, and revoke the refresh (and access) tokens it holds for
    them: it keeps nothing it could go on using."""
    async with uow:
        row = (
            (
                await uow.session.execute(
                    select(client_grants)
                    .where(
                        client_grants.c.user_id == user_id,
                        client_grants.c.client_id == client_id,
                        client_grants.c.revoked_at.is_(None),
                    )
                    .with_for_update()
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            raise NoGrantToRevoke("no current grant for this application")
        now = uow.clock.now()
        await uow.session.execute(update(client_grants).where(client_grants.c.id == row["id"]).values(revoked_at=now))
        families = list(
            await uow.session.scalars(
                select(refresh_tokens.c.family_id)
                .where(refresh_tokens.c.user_id == user_id, refresh_tokens.c.client_id == client_id)
                .distinct()
            )
        )
        for family in families:
            await uow.session.run_sync(lambda session, revoked=family: revoke_family(session, revoked, at=now))
        audit.record(
            uow,
            actor=by,
            action="delete",
            resource_type=RESOURCE,
            resource_id=row["id"],
            data_subject=user_id,
            fields=("client_id", "scopes"),
        )
        await uow.commit()
    return ClientGrant(user_id, client_id, frozenset(row["scopes"]), row["granted_at"], now)

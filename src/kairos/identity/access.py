"""Who may act in an organisation, decided with identity's own records (fresher than the caller's token):
the roles held now, globally and inside the organisation, through the one mapping of
``kairos.identity.domain.roles`` that tokens carry too. A session acts for one organisation (its token's ``org``):
what roles held inside an organisation allow is done with a token for that organisation only."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from kairos.identity.domain.roles import Role, may
from kairos.identity.tables import memberships, organisations, users
from kairos.platform.auth.principal import Principal
from kairos.platform.db.uow import UnitOfWork


class NotAllowed(Exception):
    """The caller may not do this in this organisation."""


async def roles_in(uow: UnitOfWork, user_id: uuid.UUID, organisation_id: uuid.UUID) -> frozenset[Role]:
    """The roles ``user_id`` holds now, globally and inside ``organisation_id`` (none for an unknown or
    disabled account)."""
    held = await uow.session.scalar(
        select(users.c.global_roles).where(users.c.id == user_id, users.c.disabled_at.is_(None))
    )
    if held is None:
        return frozenset()
    inside = await uow.session.scalars(
        select(memberships.c.role).where(
            memberships.c.user_id == user_id, memberships.c.organisation_id == organisation_id
        )
    )
    return frozenset(Role(role) for role in [*held, *inside])


async def require_permission(
    uow: UnitOfWork,
    *,
    by: uuid.UUID,
    organisation_id: uuid.UUID,
    permission: str,
    token: Principal | None = None,
) -> frozenset[Role]:
    """The actor's roles in the organisation, if they carry ``permission``; ``NotAllowed`` otherwise.

    With the caller's ``token``: a permission that only roles inside the organisation give needs a token acting
    for it (``org``), so that a session for one practice does nothing in another. An unknown organisation is
    refused alike, so that outsiders learn nothing of which ones exist.
    """
    roles = await roles_in(uow, by, organisation_id)
    known = await uow.session.scalar(select(organisations.c.id).where(organisations.c.id == organisation_id))
    if known is None or not may(roles, permission):
        raise NotAllowed(f"this needs {permission} in the organisation")
    if token is not None and not token.acts_for(organisation_id):
        held_globally = frozenset(role for role in roles if not role.is_organisational)
        if not may(held_globally, permission):
            raise NotAllowed(f"this needs {permission} in the organisation the session acts for")
    return roles

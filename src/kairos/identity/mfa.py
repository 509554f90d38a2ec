"""A user's second factors, stored: the TOTP authenticator (secret encrypted at rest) and recovery codes.

The rules are in ``kairos.identity.domain.mfa``; this module keeps their state. Nothing here commits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kairos.identity.domain import mfa
from kairos.identity.domain.roles import Role, requires_mfa
from kairos.identity.tables import memberships, recovery_codes, totp_authenticators, users
from kairos.platform.crypto.cipher import DataCipher

AMR_PASSWORD = "pwd"  # noqa: S105 (RFC 8176 method names, not secrets)
AMR_ONE_TIME_CODE = "otp"  # RFC 8176: TOTP codes, and single-use recovery codes


class NotEnrolling(Exception):
    """There is no TOTP enrolment to confirm (none started, or it is confirmed already)."""


class NoAuthenticator(Exception):
    """The account has no confirmed authenticator app, so no recovery codes to replace."""


@dataclass(frozen=True)
class Enrolment:
    secret: str
    uri: str


def _context(user_id: uuid.UUID) -> bytes:
    return f"identity.totp_secret:{user_id}".encode()


class Authenticators:
    """Second factors of users; ``at`` is the time codes are judged by (the identity service's clock)."""

    def __init__(self, session: AsyncSession, cipher: DataCipher) -> None:
        self._session = session
        self._cipher = cipher

    async def requires_mfa(self, user_id: uuid.UUID) -> bool:
        """Whether any role the user holds, globally or in any organisation, requires a second factor."""
        global_roles = await self._session.scalar(select(users.c.global_roles).where(users.c.id == user_id)) or []
        held = (await self._session.scalars(select(memberships.c.role).where(memberships.c.user_id == user_id))).all()
        return requires_mfa(frozenset(Role(role) for role in [*global_roles, *held]))

    async def has_totp(self, user_id: uuid.UUID) -> bool:
        confirmed = await self._session.scalar(
            select(totp_authenticators.c.confirmed_at).where(totp_authenticators.c.user_id == user_id)
        )
        return confirmed is not None

    async def enrolment(self, user_id: uuid.UUID, *, account: str, issuer: str, at: datetime) -> Enrolment:
        """The unconfirmed secret being enrolled, made now if there is none (a reload shows the same QR code)."""
        row = (
            await self._session.execute(
                select(totp_authenticators.c.secret, totp_authenticators.c.confirmed_at).where(
                    totp_authenticators.c.user_id == user_id
                )
            )
        ).first()
        if row is not None and row.confirmed_at is not None:
            raise NotEnrolling
        if row is not None:
            secret = (await self._cipher.decrypt(row.secret, context=_context(user_id))).decode()
        else:
            secret = mfa.new_totp_secret()
            await self._session.execute(
                insert(totp_authenticators).values(
                    user_id=user_id,
                    secret=await self._cipher.encrypt(secret.encode(), context=_context(user_id)),
                    created_at=at,
                )
            )
        return Enrolment(secret, mfa.provisioning_uri(secret, account=account, issuer=issuer))

    async def confirm(self, user_id: uuid.UUID, code: str, *, at: datetime) -> list[str] | None:
        """Confirm the enrolment with a first code; the new recovery codes (show them once), or None if the code
        is wrong. Any earlier recovery codes are replaced."""
        row = (
            (
                await self._session.execute(
                    select(totp_authenticators).where(totp_authenticators.c.user_id == user_id).with_for_update()
                )
            )
            .mappings()
            .first()
        )
        if row is None or row["confirmed_at"] is not None:
            raise NotEnrolling
        secret = (await self._cipher.decrypt(row["secret"], context=_context(user_id))).decode()
        step = mfa.accepted_step(secret, code, at=at, last_used_step=None)
        if step is None:
            return None
        await self._session.execute(
            update(totp_authenticators)
            .where(totp_authenticators.c.user_id == user_id)
            .values(confirmed_at=at, last_used_step=step)
        )
        return await self._replace_recovery_codes(user_id, at=at)

    async def recovery_codes_left(self, user_id: uuid.UUID) -> int:
        """How many recovery codes the user has not used yet."""
        left = await self._session.scalar(
            select(func.count()).where(recovery_codes.c.user_id == user_id, recovery_codes.c.used_at.is_(None))
        )
        return left or 0

    async def regenerate_recovery_codes(self, user_id: uuid.UUID, answer: str, *, at: datetime) -> list[str] | None:
        """New recovery codes in place of all earlier ones (show them once), proven by a current TOTP code or an
        unused recovery code; None if ``answer`` is neither."""
        if not await self.has_totp(user_id):
            raise NoAuthenticator
        if not await self.verify(user_id, answer, at=at):
            return None
        return await self._replace_recovery_codes(user_id, at=at)

    async def _replace_recovery_codes(self, user_id: uuid.UUID, *, at: datetime) -> list[str]:
        codes = mfa.new_recovery_codes()
        digests = [mfa.recovery_code_digest(recovery) for recovery in codes]
        await self._session.execute(delete(recovery_codes).where(recovery_codes.c.user_id == user_id))
        await self._session.execute(
            insert(recovery_codes),
            [{"user_id": user_id, "code_hash": digest, "created_at": at} for digest in digests if digest is not None],
        )
        return codes

    async def verify(self, user_id: uuid.UUID, answer: str, *, at: datetime) -> bool:
        """Whether ``answer`` is a TOTP code not used before, or an unused recovery code (then used up)."""
        if mfa.is_totp_code(answer):
            return await self._verify_totp(user_id, answer, at=at)
        digest = mfa.recovery_code_digest(answer)
        if digest is None:
            return False
        used = await self._session.execute(
            update(recovery_codes)
            .where(
                recovery_codes.c.user_id == user_id,
                recovery_codes.c.code_hash == digest,
                recovery_codes.c.used_at.is_(None),
            )
            .values(used_at=at)
            .returning(recovery_codes.c.code_hash)
        )
        return used.first() is not None

    async def _verify_totp(self, user_id: uuid.UUID, code: str, *, at: datetime) -> bool:
        row = (
            (
                await self._session.execute(
                    select(totp_authenticators)
                    .where(totp_authenticators.c.user_id == user_id, totp_authenticators.c.confirmed_at.is_not(None))
                    .with_for_update()  # two requests with one code: the second sees the first's step
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            return False
        secret = (await self._cipher.decrypt(row["secret"], context=_context(user_id))).decode()
        step = mfa.accepted_step(secret, code, at=at, last_used_step=row["last_used_step"])
        if step is None:
            return False
        await self._session.execute(
            update(totp_authenticators).where(totp_authenticators.c.user_id == user_id).values(last_used_step=step)
        )
        return True

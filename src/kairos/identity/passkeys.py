"""Passkeys: registering and using WebAuthn credentials, with py_webauthn (Duo) doing the ceremonies' checks.

Rules in ``kairos.identity.domain.passkeys``. Each ceremony's challenge is random (py_webauthn's 64 bytes), kept
in ``passkey_challenges`` and used once (WebAuthn §13.4.3); the credential's public key (COSE), signature
counter and transports are kept per account in ``passkeys``. Attestation is not asked for ("none"): Kairos
trusts the person's choice of authenticator rather than a vendor list.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from kairos.identity.domain.passkeys import CHALLENGE_LIFETIME, RelyingParty, check_room_for_another
from kairos.identity.repository import load_account_record
from kairos.identity.service import UnknownUser
from kairos.identity.tables import passkey_challenges, passkeys, users
from kairos.platform import audit
from kairos.platform.db.uow import UnitOfWork
from kairos.platform.ids import new_id

REGISTER = "register"
AUTHENTICATE = "authenticate"
_TRANSPORTS = {transport.value for transport in AuthenticatorTransport}


class PasskeyRefused(Exception):
    """The authenticator's answer does not check out (challenge, origin, signature, counter…), or names no passkey."""


class UnknownPasskey(Exception):
    """The account has no passkey with this id; another account's is just as unknown."""


@dataclass(frozen=True)
class Passkey:
    id: uuid.UUID
    name: str
    transports: tuple[str, ...]
    created_at: datetime
    last_used_at: datetime | None


@dataclass(frozen=True)
class Ceremony:
    challenge_id: uuid.UUID
    options: dict[str, Any]  # PublicKeyCredential{Creation,Request}Options, JSON-ready (base64url)


@dataclass(frozen=True)
class PasskeyUsed:
    user_id: uuid.UUID
    user_verified: bool


async def registration_options(*, uow: UnitOfWork, rp: RelyingParty, user_id: uuid.UUID) -> Ceremony:
    """Options for ``navigator.credentials.create()``; the account's passkeys are excluded (no second copy)."""
    async with uow:
        account = await load_account_record(uow.session, uow.cipher, user_id=user_id)
        if account is None:
            raise UnknownUser("no such user")
        existing = list(
            await uow.session.scalars(select(passkeys.c.credential_id).where(passkeys.c.user_id == user_id))
        )
        check_room_for_another(len(existing))
        options = generate_registration_options(
            rp_id=rp.id,
            rp_name=rp.name,
            user_name=account.email,
            user_id=user_id.bytes,  # the user handle: an opaque id, never the address (WebAuthn §14.6.1)
            user_display_name=account.display_name,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.PREFERRED,
                user_verification=UserVerificationRequirement.PREFERRED,
            ),
            exclude_credentials=[PublicKeyCredentialDescriptor(id=credential) for credential in existing],
        )
        challenge_id = await _store_challenge(uow, purpose=REGISTER, user_id=user_id, challenge=options.challenge)
        await uow.commit()
    return Ceremony(challenge_id, json.loads(options_to_json(options)))


async def register(
    *,
    uow: UnitOfWork,
    rp: RelyingParty,
    user_id: uuid.UUID,
    challenge_id: uuid.UUID,
    name: str,
    credential: dict[str, Any],
) -> Passkey:
    """Check the authenticator's attestation against the challenge and keep its public key."""
    async with uow:
        challenge = await _use_challenge(uow, challenge_id, purpose=REGISTER, user_id=user_id)
        try:
            verified = verify_registration_response(
                credential=credential, expected_challenge=challenge, expected_rp_id=rp.id, expected_origin=rp.origin
            )
        except (WebAuthnException, ValueError, KeyError, TypeError) as error:
            await uow.commit()  # the challenge stays used
            raise PasskeyRefused(f"the registration does not check out: {error}") from error
        count = await uow.session.scalar(select(func.count()).where(passkeys.c.user_id == user_id))
        check_room_for_another(count or 0)
        response = credential.get("response")
        offered = response.get("transports") if isinstance(response, dict) else None
        transports = sorted({t for t in offered if t in _TRANSPORTS}) if isinstance(offered, list) else []
        properties = (credential.get("clientExtensionResults") or {}).get("credProps") or {}
        passkey = Passkey(new_id(), name, tuple(transports), uow.clock.now(), None)
        taken = await uow.session.scalar(
            select(passkeys.c.id).where(passkeys.c.credential_id == verified.credential_id)
        )
        if taken is not None:
            await uow.commit()
            raise PasskeyRefused("this passkey is registered already")
        await uow.session.execute(
            insert(passkeys).values(
                credential_id=verified.credential_id,
                user_id=user_id,
                id=passkey.id,
                name=name,
                public_key=verified.credential_public_key,
                sign_count=verified.sign_count,
                transports=transports,
                is_discoverable=properties.get("rk") is True,
                created_at=passkey.created_at,
            )
        )
        audit.record(
            uow,
            actor=str(user_id),
            action="create",
            resource_type="identity.passkey",
            resource_id=passkey.id,
            data_subject=user_id,
            fields=("name", "public_key", "transports"),
        )
        await uow.commit()
    return passkey


async def list_passkeys(*, uow: UnitOfWork, user_id: uuid.UUID) -> list[Passkey]:
    async with uow:
        rows = await uow.session.execute(
            select(passkeys).where(passkeys.c.user_id == user_id).order_by(passkeys.c.created_at, passkeys.c.id)
        )
        return [Passkey(row.id, row.name, tuple(row.transports), row.created_at, row.last_used_at) for row in rows]


async def remove_passkey(*, uow: UnitOfWork, user_id: uuid.UUID, passkey_id: uuid.UUID) -> None:
    async with uow:
        removed = await uow.session.execute(
            delete(passkeys).where(passkeys.c.user_id == user_id, passkeys.c.id == passkey_id)
        )
        if removed.rowcount == 0:  # type: ignore[attr-defined]
            raise UnknownPasskey("no such passkey")
        audit.record(
            uow,
            actor=str(user_id),
            action="delete",
            resource_type="identity.passkey",
            resource_id=passkey_id,
            data_subject=user_id,
        )
        await uow.commit()


async def rename_passkey(*, uow: UnitOfWork, user_id: uuid.UUID, passkey_id: uuid.UUID, name: str) -> Passkey:
    async with uow:
        row = (
            await uow.session.execute(
                update(passkeys)
                .where(passkeys.c.user_id == user_id, passkeys.c.id == passkey_id)
                .values(name=name)
                .returning(
                    passkeys.c.id,
                    passkeys.c.name,
                    passkeys.c.transports,
                    passkeys.c.created_at,
                    passkeys.c.last_used_at,
                )
            )
        ).first()
        if row is None:
            raise UnknownPasskey("no such passkey")
        audit.record(
            uow,
            actor=str(user_id),
            action="update",
            resource_type="identity.passkey",
            resource_id=passkey_id,
            data_subject=user_id,
            fields=("name",),
        )
        await uow.commit()
    return Passkey(row.id, row.name, tuple(row.transports), row.created_at, row.last_used_at)


async def authentication_options(*, uow: UnitOfWork, rp: RelyingParty, user_id: uuid.UUID | None) -> Ceremony:
    """Options for ``navigator.credentials.get()``: the account's passkeys as a second factor (``user_id``), or
    any discoverable passkey, with the person verified, to sign in without a password (None)."""
    async with uow:
        allowed: list[PublicKeyCredentialDescriptor] = []
        if user_id is not None:
            rows = await uow.session.execute(
                select(passkeys.c.credential_id, passkeys.c.transports).where(passkeys.c.user_id == user_id)
            )
            allowed = [
                PublicKeyCredentialDescriptor(
                    id=row.credential_id, transports=[AuthenticatorTransport(t) for t in row.transports]
                )
                for row in rows
            ]
            if not allowed:
                raise UnknownPasskey("the account has no passkey")
        options = generate_authentication_options(
            rp_id=rp.id,
            allow_credentials=allowed,
            user_verification=(
                UserVerificationRequirement.PREFERRED if user_id else UserVerificationRequirement.REQUIRED
            ),
        )
        challenge_id = await _store_challenge(uow, purpose=AUTHENTICATE, user_id=user_id, challenge=options.challenge)
        await uow.commit()
    return Ceremony(challenge_id, json.loads(options_to_json(options)))


async def authenticate(
    *, uow: UnitOfWork, rp: RelyingParty, challenge_id: uuid.UUID, credential: dict[str, Any], user_id: uuid.UUID | None
) -> PasskeyUsed:
    """Check an assertion: the challenge of this ceremony, the passkey's signature, its counter (a clone shows as a
    counter that did not grow), and for a sign-in without a password, that the person was verified."""
    async with uow:
        challenge = await _use_challenge(uow, challenge_id, purpose=AUTHENTICATE, user_id=user_id)
        try:
            credential_id = base64url_to_bytes(str(credential["rawId"]))
        except (KeyError, ValueError, TypeError) as error:
            await uow.commit()
            raise PasskeyRefused("the answer names no credential") from error
        stored = (
            await uow.session.execute(
                select(passkeys.c.user_id, passkeys.c.public_key, passkeys.c.sign_count)
                .where(passkeys.c.credential_id == credential_id)
                .with_for_update()
            )
        ).first()
        if stored is None or (user_id is not None and stored.user_id != user_id):
            await uow.commit()
            raise PasskeyRefused("no such passkey for this account")
        try:
            verified = verify_authentication_response(
                credential=credential,
                expected_challenge=challenge,
                expected_rp_id=rp.id,
                expected_origin=rp.origin,
                credential_public_key=stored.public_key,
                credential_current_sign_count=stored.sign_count,
                require_user_verification=user_id is None,
            )
        except (WebAuthnException, ValueError, KeyError, TypeError) as error:
            await uow.commit()
            raise PasskeyRefused(f"the assertion does not check out: {error}") from error
        disabled = await uow.session.scalar(select(users.c.disabled_at).where(users.c.id == stored.user_id))
        if disabled is not None:
            await uow.commit()
            raise PasskeyRefused("the account is disabled")
        await uow.session.execute(
            update(passkeys)
            .where(passkeys.c.credential_id == credential_id)
            .values(sign_count=verified.new_sign_count, last_used_at=uow.clock.now())
        )
        await uow.commit()
    return PasskeyUsed(stored.user_id, verified.user_verified)


async def _store_challenge(uow: UnitOfWork, *, purpose: str, user_id: uuid.UUID | None, challenge: bytes) -> uuid.UUID:
    challenge_id = new_id()
    await uow.session.execute(
        insert(passkey_challenges).values(
            id=challenge_id,
            user_id=user_id,
            purpose=purpose,
            challenge=challenge,
            expires_at=uow.clock.now() + CHALLENGE_LIFETIME,
        )
    )
    return challenge_id


async def _use_challenge(uow: UnitOfWork, challenge_id: uuid.UUID, *, purpose: str, user_id: uuid.UUID | None) -> bytes:
    used = await uow.session.execute(
        update(passkey_challenges)
        .where(
            passkey_challenges.c.id == challenge_id,
            passkey_challenges.c.purpose == purpose,
            passkey_challenges.c.used_at.is_(None),
            passkey_challenges.c.expires_at > uow.clock.now(),
            passkey_challenges.c.user_id.is_(None) if user_id is None else passkey_challenges.c.user_id == user_id,
        )
        .values(used_at=uow.clock.now())
        .returning(passkey_challenges.c.challenge)
    )
    challenge = used.scalar()
    if challenge is None:
        raise PasskeyRefused("no such ceremony in progress, or used or expired")
    return bytes(challenge)

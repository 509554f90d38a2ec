"""Use cases of profiles (issue 4 §9): a person's own profile, and a professional's credentials with their
verification by the organisation.

Personal fields are encrypted at rest with the service's data cipher, each under a context naming its table,
column and person (``identity.profiles.phone:<user id>``). Every read and write of them is audited
(``kairos.platform.audit``) in the same transaction; changes are published as integration events.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from kairos.contracts.events import identity as contracts
from kairos.contracts.events.audit import AuditAction
from kairos.identity.access import NotAllowed, require_permission, roles_in
from kairos.identity.domain.profiles import Channel, NotificationKind, NotificationPreferences
from kairos.identity.domain.roles import Role
from kairos.identity.domain.verification import (
    REMINDER_LEAD,
    Credentials,
    Lapsed,
    ProfessionalProfile,
    Rejected,
    ReverificationDue,
    Submitted,
    VerificationEvent,
    VerificationStatus,
    Verified,
)
from kairos.identity.repository import (
    ACCOUNT_COLUMNS,
    display_name_of,
    field_context,
    open_account,
    open_display_name,
    sealed_account,
)
from kairos.identity.service import UnknownUser
from kairos.identity.tables import professional_profiles, profiles, users
from kairos.platform import audit
from kairos.platform.auth.principal import Principal
from kairos.platform.crypto import DataCipher
from kairos.platform.db.uow import UnitOfWork
from kairos.platform.events.envelope import IntegrationEvent
from kairos.platform.http.pagination import PageRequest, keyset, page_of

PERSONAL_FIELDS = ("given_name", "family_name", "phone")
PROFILE_FIELDS = ("email", "display_name", *PERSONAL_FIELDS, "locale", "zone", "notification_preferences")
CREDENTIAL_FIELDS = ("specialty", "licence_number", "issuing_authority", "languages", "location", "document_ids")


class UnknownProfessionalProfile(Exception):
    """No professional profile for this person in this organisation (or not one the caller may see)."""


async def _seal(cipher: DataCipher, table: str, column: str, user_id: uuid.UUID, value: str | None) -> str | None:
    if value is None:
        return None
    return await cipher.encrypt_text(value, context=field_context(table, column, user_id))


async def _open(cipher: DataCipher, table: str, column: str, user_id: uuid.UUID, value: str | None) -> str | None:
    if value is None:
        return None
    return await cipher.decrypt_text(value, context=field_context(table, column, user_id))


# --- a person's profile ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    user_id: uuid.UUID
    email: str
    display_name: str
    given_name: str | None
    family_name: str | None
    phone: str | None
    locale: str
    zone: str
    notifications: NotificationPreferences
    updated_at: datetime | None


async def _load_profile(uow: UnitOfWork, cipher: DataCipher, user_id: uuid.UUID, *, lock: bool = False) -> Profile:
    query = (
        select(
            *ACCOUNT_COLUMNS,
            profiles.c.given_name,
            profiles.c.family_name,
            profiles.c.phone,
            profiles.c.notification_preferences,
            profiles.c.updated_at,
        )
        .select_from(users.outerjoin(profiles, profiles.c.user_id == users.c.id))
        .where(users.c.id == user_id)
    )
    if lock:
        query = query.with_for_update(of=users)
    row = (await uow.session.execute(query)).mappings().first()
    if row is None:
        raise UnknownUser("no such user")
    account = await open_account(cipher, row)
    opened = {field: await _open(cipher, "profiles", field, user_id, row[field]) for field in PERSONAL_FIELDS}
    return Profile(
        user_id=account.id,
        email=account.email,
        display_name=account.display_name,
        locale=account.locale,
        zone=account.zone,
        notifications=NotificationPreferences.from_plain(row["notification_preferences"]),
        updated_at=row["updated_at"],
        **opened,
    )


async def read_profile(*, uow: UnitOfWork, cipher: DataCipher, by: Principal, user_id: uuid.UUID) -> Profile:
    """The person's own profile; the read is audited."""
    async with uow:
        profile = await _load_profile(uow, cipher, user_id)
        audit.record(
            uow,
            actor=by,
            action="read",
            resource_type="identity.profile",
            resource_id=user_id,
            data_subject=user_id,
            fields=PROFILE_FIELDS,
        )
        await uow.commit()
    return profile


async def update_profile(
    *, uow: UnitOfWork, cipher: DataCipher, by: Principal, user_id: uuid.UUID, changes: Mapping[str, Any]
) -> Profile:
    """Change the fields named in ``changes`` (None clears an optional one); publishes ``identity.profile.updated``.

    ``changes["notifications"]`` replaces the channels of the kinds it names and keeps the others.
    """
    async with uow:
        current = await _load_profile(uow, cipher, user_id, lock=True)
        notifications = current.notifications
        if "notifications" in changes:
            wanted: Mapping[NotificationKind, frozenset[Channel]] = changes["notifications"]
            notifications = notifications.changed(wanted)
        account = {field: changes[field] for field in ("locale", "zone") if field in changes}
        if "display_name" in changes:
            account |= await sealed_account(cipher, user_id, display_name=changes["display_name"])
        if account:
            await uow.session.execute(update(users).where(users.c.id == user_id).values(**account))
        personal = {
            field: await _seal(cipher, "profiles", field, user_id, changes[field])
            for field in PERSONAL_FIELDS
            if field in changes
        }
        now = uow.clock.now()
        await uow.session.execute(
            pg_insert(profiles)
            .values(user_id=user_id, notification_preferences=notifications.to_plain(), updated_at=now, **personal)
            .on_conflict_do_update(
                index_elements=[profiles.c.user_id],
                set_={"notification_preferences": notifications.to_plain(), "updated_at": now, **personal},
            )
        )
        updated = await _load_profile(uow, cipher, user_id)
        uow.publish(
            contracts.ProfileUpdated(
                user_id=user_id,
                display_name=updated.display_name,
                locale=updated.locale,
                time_zone=updated.zone,
                updated_at=now,
            ),
            subject=f"user:{user_id}",
        )
        audit.record(
            uow,
            actor=by,
            action="update",
            resource_type="identity.profile",
            resource_id=user_id,
            data_subject=user_id,
            fields=[("notification_preferences" if field == "notifications" else field) for field in changes],
        )
        await uow.commit()
    return updated


# --- a professional's credentials and their verification ---------------------------------------------------------


@dataclass(frozen=True)
class Professional:
    """A professional profile as the API shows it: the aggregate and the person's display name."""

    profile: ProfessionalProfile
    display_name: str


async def _load_professional(
    uow: UnitOfWork, cipher: DataCipher, user_id: uuid.UUID, organisation_id: uuid.UUID, *, lock: bool = False
) -> Professional | None:
    query = (
        select(professional_profiles, users.c.display_name)
        .join(users, users.c.id == professional_profiles.c.user_id)
        .where(professional_profiles.c.user_id == user_id, professional_profiles.c.organisation_id == organisation_id)
    )
    if lock:
        query = query.with_for_update(of=professional_profiles)
    row = (await uow.session.execute(query)).mappings().first()
    return None if row is None else await _professional(cipher, row)


async def _professional(cipher: DataCipher, row: RowMapping) -> Professional:
    user_id = row["user_id"]
    licence_number = await _open(cipher, "professional_profiles", "licence_number", user_id, row["licence_number"])
    reason = await _open(cipher, "professional_profiles", "rejection_reason", user_id, row["rejection_reason"])
    profile = ProfessionalProfile(
        user_id=user_id,
        organisation_id=row["organisation_id"],
        credentials=Credentials(
            specialty=row["specialty"],
            licence_number=licence_number or "",
            issuing_authority=row["issuing_authority"],
            languages=tuple(row["languages"]),
            location=row["location"],
            document_ids=tuple(row["document_ids"]),
        ),
        status=VerificationStatus(row["status"]),
        submitted_at=row["submitted_at"],
        decided_at=row["decided_at"],
        decided_by=row["decided_by"],
        rejection_reason=reason,
        verified_at=row["verified_at"],
        expires_at=row["expires_at"],
        reminded_at=row["reminded_at"],
    )
    return Professional(profile, await open_display_name(cipher, user_id, row["display_name"]))


async def _save_professional(uow: UnitOfWork, cipher: DataCipher, profile: ProfessionalProfile) -> None:
    user_id = profile.user_id
    credentials = profile.credentials
    values = {
        "specialty": credentials.specialty,
        "licence_number": await _seal(
            cipher, "professional_profiles", "licence_number", user_id, credentials.licence_number or None
        ),
        "issuing_authority": credentials.issuing_authority,
        "languages": list(credentials.languages),
        "location": credentials.location,
        "document_ids": list(credentials.document_ids),
        "status": profile.status.value,
        "submitted_at": profile.submitted_at,
        "decided_at": profile.decided_at,
        "decided_by": profile.decided_by,
        "rejection_reason": await _seal(
            cipher, "professional_profiles", "rejection_reason", user_id, profile.rejection_reason
        ),
        "verified_at": profile.verified_at,
        "expires_at": profile.expires_at,
        "reminded_at": profile.reminded_at,
        "updated_at": uow.clock.now(),
    }
    await uow.session.execute(
        pg_insert(professional_profiles)
        .values(user_id=user_id, organisation_id=profile.organisation_id, **values)
        .on_conflict_do_update(
            index_elements=[professional_profiles.c.user_id, professional_profiles.c.organisation_id], set_=values
        )
    )


def _publish(uow: UnitOfWork, professional: Professional) -> None:
    """The aggregate's new events as integration events (what the directory and notifications need)."""
    profile = professional.profile
    for event in profile.pending_events:
        contract = _contract(event, professional)
        if contract is not None:
            uow.publish(contract, subject=f"professional:{profile.user_id}:{profile.organisation_id}")


def _contract(event: VerificationEvent, professional: Professional) -> IntegrationEvent | None:
    credentials = professional.profile.credentials
    common = {"user_id": event.user_id, "organisation_id": event.organisation_id}
    match event:
        case Submitted():
            return contracts.ProfessionalVerificationRequested(**common, submitted_at=event.occurred_at)
        case Verified():
            return contracts.ProfessionalVerified(
                **common,
                display_name=professional.display_name,
                specialty=credentials.specialty,
                languages=list(credentials.languages),
                location=credentials.location,
                expires_at=event.expires_at,
                verified_at=event.occurred_at,
            )
        case Rejected():
            return contracts.ProfessionalVerificationRejected(
                **common, reason=event.reason, rejected_at=event.occurred_at
            )
        case Lapsed():
            return contracts.ProfessionalVerificationLapsed(**common, lapsed_at=event.occurred_at)
        case ReverificationDue():
            return contracts.ProfessionalReverificationDue(**common, expires_at=event.expires_at)
    return None


async def _require_professional(uow: UnitOfWork, user_id: uuid.UUID, organisation_id: uuid.UUID) -> None:
    if Role.PROFESSIONAL not in await roles_in(uow, user_id, organisation_id):
        raise NotAllowed("only the organisation's professionals keep a professional profile in it")


def _audit_professional(
    uow: UnitOfWork, by: Principal, profile: ProfessionalProfile, action: AuditAction, **extra: Any
) -> None:
    audit.record(
        uow,
        actor=by,
        action=action,
        resource_type="identity.professional_profile",
        resource_id=f"{profile.organisation_id}:{profile.user_id}",
        data_subject=profile.user_id,
        fields=extra.pop("fields", CREDENTIAL_FIELDS),
        **extra,
    )


async def read_own_professional_profile(
    *, uow: UnitOfWork, cipher: DataCipher, by: Principal, user_id: uuid.UUID, organisation_id: uuid.UUID
) -> Professional:
    async with uow:
        found = await _load_professional(uow, cipher, user_id, organisation_id)
        if found is None:
            raise UnknownProfessionalProfile("no professional profile in this organisation")
        _audit_professional(uow, by, found.profile, "read")
        await uow.commit()
    return found


async def save_professional_draft(
    *,
    uow: UnitOfWork,
    cipher: DataCipher,
    by: Principal,
    user_id: uuid.UUID,
    organisation_id: uuid.UUID,
    credentials: Credentials,
) -> Professional:
    """Write (or rewrite) the professional's draft credentials in one of their organisations."""
    async with uow:
        await _require_professional(uow, user_id, organisation_id)
        found = await _load_professional(uow, cipher, user_id, organisation_id, lock=True)
        profile = (
            found.profile.revise(credentials)
            if found is not None
            else ProfessionalProfile.draft(user_id=user_id, organisation_id=organisation_id, credentials=credentials)
        )
        await _save_professional(uow, cipher, profile)
        _audit_professional(uow, by, profile, "update" if found is not None else "create")
        saved = await _load_professional(uow, cipher, user_id, organisation_id)
        await uow.commit()
    assert saved is not None
    return saved


async def submit_professional_profile(
    *,
    uow: UnitOfWork,
    cipher: DataCipher,
    by: Principal,
    user_id: uuid.UUID,
    organisation_id: uuid.UUID,
    credentials: Credentials | None,
) -> Professional:
    """Ask the organisation to verify the credentials (the draft's, or those given, which replace it)."""
    async with uow:
        await _require_professional(uow, user_id, organisation_id)
        found = await _load_professional(uow, cipher, user_id, organisation_id, lock=True)
        if found is None:
            if credentials is None:
                raise UnknownProfessionalProfile("no draft to submit: send the credentials")
            current = ProfessionalProfile.draft(
                user_id=user_id, organisation_id=organisation_id, credentials=credentials
            )
            display_name = await display_name_of(uow.session, cipher, user_id)
            found = Professional(current, display_name or "")
        submitted = found.profile.submit(at=uow.clock.now(), credentials=credentials)
        await _save_professional(uow, cipher, submitted)
        _publish(uow, Professional(submitted, found.display_name))
        _audit_professional(uow, by, submitted, "update")
        await uow.commit()
    return Professional(submitted, found.display_name)


async def list_professional_profiles(
    *,
    uow: UnitOfWork,
    cipher: DataCipher,
    by: Principal,
    actor_id: uuid.UUID,
    organisation_id: uuid.UUID,
    status: VerificationStatus | None,
    page: PageRequest,
) -> tuple[list[Professional], str | None]:
    """The organisation's professional profiles (those waiting: ``status=submitted``), for its verifiers."""
    async with uow:
        await require_permission(
            uow, by=actor_id, organisation_id=organisation_id, permission="professionals:verify", token=by
        )
        query = (
            select(professional_profiles, users.c.display_name)
            .join(users, users.c.id == professional_profiles.c.user_id)
            .where(professional_profiles.c.organisation_id == organisation_id)
        )
        if status is not None:
            query = query.where(professional_profiles.c.status == status.value)
        rows = (await uow.session.execute(keyset(query, [professional_profiles.c.user_id], page))).mappings().all()
        items, next_cursor = page_of(rows, page, key=lambda row: (row["user_id"],))
        found = [await _professional(cipher, row) for row in items]
        for professional in found:
            _audit_professional(uow, by, professional.profile, "read", purpose="professional verification")
        await uow.commit()
    return found, next_cursor


async def read_professional_profile(
    *,
    uow: UnitOfWork,
    cipher: DataCipher,
    by: Principal,
    actor_id: uuid.UUID,
    organisation_id: uuid.UUID,
    user_id: uuid.UUID,
) -> Professional:
    """One professional profile, for the organisation's verifiers (and the professional themselves)."""
    async with uow:
        if actor_id != user_id:
            await require_permission(
                uow, by=actor_id, organisation_id=organisation_id, permission="professionals:verify", token=by
            )
        found = await _load_professional(uow, cipher, user_id, organisation_id)
        if found is None:
            raise UnknownProfessionalProfile("no professional profile in this organisation")
        _audit_professional(uow, by, found.profile, "read", purpose="professional verification")
        await uow.commit()
    return found


@dataclass(frozen=True)
class Verify:
    expires_at: datetime | None = None  # default: a year (kairos.identity.domain.verification.DEFAULT_VALIDITY)


@dataclass(frozen=True)
class Reject:
    reason: str


async def decide_professional_profile(
    *,
    uow: UnitOfWork,
    cipher: DataCipher,
    by: Principal,
    actor_id: uuid.UUID,
    organisation_id: uuid.UUID,
    user_id: uuid.UUID,
    decision: Verify | Reject,
) -> Professional:
    """Verify a submitted profile until an expiry, or reject it with a reason; nobody decides on their own."""
    async with uow:
        await require_permission(
            uow, by=actor_id, organisation_id=organisation_id, permission="professionals:verify", token=by
        )
        if actor_id == user_id:
            raise NotAllowed("nobody verifies their own credentials")
        found = await _load_professional(uow, cipher, user_id, organisation_id, lock=True)
        if found is None:
            raise UnknownProfessionalProfile("no professional profile in this organisation")
        now = uow.clock.now()
        if isinstance(decision, Verify):
            decided = found.profile.verify(by=by.subject, at=now, expires_at=decision.expires_at)
        else:
            decided = found.profile.reject(by=by.subject, at=now, reason=decision.reason)
        await _save_professional(uow, cipher, decided)
        _publish(uow, Professional(decided, found.display_name))
        _audit_professional(
            uow,
            by,
            decided,
            "update",
            fields=("status", "rejection_reason", "expires_at"),
            purpose="professional verification",
        )
        await uow.commit()
    return Professional(decided, found.display_name)


async def withdraw_listing(
    *, uow: UnitOfWork, cipher: DataCipher, user_id: uuid.UUID, organisation_id: uuid.UUID
) -> None:
    """Inside the caller's unit of work: the person stopped being a professional of the organisation, so the
    directory stops listing them (``identity.professional.lapsed``) until verified there again."""
    found = await _load_professional(uow, cipher, user_id, organisation_id, lock=True)
    if found is None or found.profile.expires_at is None:
        return
    withdrawn = found.profile.withdraw(at=uow.clock.now())
    await _save_professional(uow, cipher, withdrawn)
    _publish(uow, Professional(withdrawn, found.display_name))


@dataclass(frozen=True)
class VerificationCheck:
    lapsed: int
    reminded: int


async def check_verifications(*, uow: UnitOfWork, cipher: DataCipher, batch: int = 100) -> VerificationCheck:
    """Lapse the verifications whose expiry passed and remind those about to expire (run periodically).

    Rows are locked with SKIP LOCKED: instances running the check together share the work, never doubling a
    reminder.
    """
    lapsed = reminded = 0
    async with uow:
        now = uow.clock.now()
        rows = (
            (
                await uow.session.execute(
                    select(professional_profiles, users.c.display_name)
                    .join(users, users.c.id == professional_profiles.c.user_id)
                    .where(
                        or_(
                            professional_profiles.c.expires_at <= now,
                            and_(
                                professional_profiles.c.status == VerificationStatus.VERIFIED.value,
                                professional_profiles.c.reminded_at.is_(None),
                                professional_profiles.c.expires_at <= now + REMINDER_LEAD,
                            ),
                        )
                    )
                    .order_by(professional_profiles.c.expires_at)
                    .limit(batch)
                    .with_for_update(of=professional_profiles, skip_locked=True)
                )
            )
            .mappings()
            .all()
        )
        for row in rows:
            professional = await _professional(cipher, row)
            profile = professional.profile
            if profile.has_lapsed(now):
                changed = profile.lapse(at=now)
                lapsed += 1
            elif profile.is_reverification_due(now):
                changed = profile.remind(at=now)
                reminded += 1
            else:
                continue
            await _save_professional(uow, cipher, changed)
            _publish(uow, Professional(changed, professional.display_name))
        await uow.commit()
    return VerificationCheck(lapsed, reminded)


# --- demo data: inside the seeding unit of work, which the platform commits ----------------------------------------


async def seed_profile(
    uow: UnitOfWork, cipher: DataCipher, *, user_id: uuid.UUID, given_name: str, family_name: str, phone: str | None
) -> None:
    personal = {"given_name": given_name, "family_name": family_name, "phone": phone}
    await uow.session.execute(
        pg_insert(profiles).values(
            user_id=user_id,
            notification_preferences=NotificationPreferences().to_plain(),
            updated_at=uow.clock.now(),
            **{field: await _seal(cipher, "profiles", field, user_id, value) for field, value in personal.items()},
        )
    )


async def seed_verified_professional(
    uow: UnitOfWork, cipher: DataCipher, *, user_id: uuid.UUID, organisation_id: uuid.UUID, credentials: Credentials
) -> None:
    """A professional verified now, published as ``identity.professional.verified`` for the directory."""
    now = uow.clock.now()
    profile = (
        ProfessionalProfile.draft(user_id=user_id, organisation_id=organisation_id, credentials=credentials)
        .submit(at=now)
        .verify(by="demo-data", at=now)
    )
    await _save_professional(uow, cipher, profile)
    display_name = await display_name_of(uow.session, cipher, user_id)
    verified = replace(profile, pending_events=tuple(e for e in profile.pending_events if isinstance(e, Verified)))
    _publish(uow, Professional(verified, display_name or ""))


def credentials_of(fields: Mapping[str, Any]) -> Credentials:
    languages: Sequence[str] = fields.get("languages") or ()
    documents: Sequence[uuid.UUID] = fields.get("document_ids") or ()
    return Credentials(
        specialty=fields.get("specialty") or "",
        licence_number=fields.get("licence_number") or "",
        issuing_authority=fields.get("issuing_authority") or "",
        languages=tuple(dict.fromkeys(languages)),
        location=fields.get("location"),
        document_ids=tuple(dict.fromkeys(documents)),
    )

"""Data-subject requests (GDPR Art. 15, 17, 20): identity orchestrates the export and erasure sagas.

A request is stored with its state (``kairos.identity.domain.privacy``) and ``privacy.export_requested`` or
``privacy.erasure_requested`` is published in the same transaction; every participating service answers with an
event (``kairos.contracts.events.privacy``), handled here through the platform's consumer (its inbox drops
redeliveries, and the domain counts one answer per service). State lives in the database only, so a restarted
identity carries on where it was; ``PrivacyChecker`` fails requests whose deadline passed and deletes export parts
past their retention.

Erasure locks the account at once (sign-in refused, sessions, tokens and third-party applications' grants revoked)
and wipes identity's own data last (sign-in links to identity providers and passkeys with it),
in the transaction that records the last service's answer. Export parts are stored encrypted and handed to the
subject only. Every step is audited (``kairos.platform.audit``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import RowMapping, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from kairos.contracts.events.privacy import (
    Anonymised,
    ErasureDone,
    ErasureRequested,
    ExportReady,
    ExportRequested,
)
from kairos.identity.domain.privacy import (
    ANSWER_DEADLINE,
    EXPORT_RETENTION,
    PARTICIPANTS,
    AnswerOutcome,
    DataSubjectRequest,
    RequestKind,
    RequestStatus,
    open_request_of,
    require_recent_sign_in,
)
from kairos.identity.mail import compose, queue_mail
from kairos.identity.repository import (
    field_context,
    load_account_record,
    open_account,
    open_user_agent,
    sealed_account,
)
from kairos.identity.service import UnknownUser
from kairos.identity.settings import load_identity_settings
from kairos.identity.tables import (
    access_tokens,
    account_tokens,
    browser_sessions,
    client_grants,
    consents,
    data_request_answers,
    data_subject_requests,
    external_identities,
    federation_attempts,
    identity_providers,
    known_devices,
    memberships,
    oauth_clients,
    passkey_challenges,
    passkeys,
    pending_consents,
    professional_profiles,
    profiles,
    recovery_codes,
    refresh_tokens,
    totp_authenticators,
    users,
)
from kairos.platform import audit
from kairos.platform.aio import cancel_and_wait
from kairos.platform.auth.principal import Principal
from kairos.platform.crypto import DataCipher
from kairos.platform.db.uow import UnitOfWork
from kairos.platform.events import EventHandlers, EventMeta
from kairos.platform.http.pagination import PageRequest, keyset, page_of
from kairos.platform.ids import new_id
from kairos.platform.runtime import ServiceRuntime

log = structlog.get_logger(__name__)

REQUEST_RESOURCE = "identity.data_subject_request"
EXPORT_FORMAT = "kairos.data-export/1"
ERASED_DISPLAY_NAME = "Erased account"
CONSENT_RETENTION = "proof of consent (GDPR Art. 7(1)): records of what was agreed and when"
CHECK_INTERVAL_SECONDS = 60.0


class UnknownDataRequest(Exception):
    """No such data-subject request (or not one the caller may see)."""


class PrivacySettings(BaseSettings):
    """``KAIROS_IDENTITY_PRIVACY_*``: which services a request waits for, and for how long."""

    model_config = SettingsConfigDict(env_prefix="KAIROS_IDENTITY_PRIVACY_", extra="ignore", env_ignore_empty=True)

    participants: list[str] = Field(
        default=list(PARTICIPANTS),
        min_length=1,
        description="the services that answer every export and erasure request (JSON list)",
    )
    answer_deadline_hours: float = Field(
        default=ANSWER_DEADLINE.total_seconds() / 3600, gt=0, description="hours the services have to answer"
    )

    @property
    def answer_deadline(self) -> timedelta:
        return timedelta(hours=self.answer_deadline_hours)


# --- storage -----------------------------------------------------------------------------------------------------


def _request(row: RowMapping, answered: frozenset[str]) -> DataSubjectRequest:
    return DataSubjectRequest(
        id=row["id"],
        subject_id=row["subject_id"],
        kind=RequestKind(row["kind"]),
        requested_by=row["requested_by"],
        requested_at=row["requested_at"],
        deadline=row["deadline"],
        expected=frozenset(row["expected_services"]),
        status=RequestStatus(row["status"]),
        answered=answered,
        completed_at=row["completed_at"],
        failed_at=row["failed_at"],
        failure_reason=row["failure_reason"],
    )


async def _answered(uow: UnitOfWork, request_id: uuid.UUID) -> frozenset[str]:
    services = await uow.session.scalars(
        select(data_request_answers.c.service).where(data_request_answers.c.request_id == request_id)
    )
    return frozenset(services)


async def _load(uow: UnitOfWork, request_id: uuid.UUID, *, lock: bool = False) -> DataSubjectRequest | None:
    query = select(data_subject_requests).where(data_subject_requests.c.id == request_id)
    if lock:
        query = query.with_for_update()
    row = (await uow.session.execute(query)).mappings().first()
    return None if row is None else _request(row, await _answered(uow, request_id))


async def _insert(uow: UnitOfWork, request: DataSubjectRequest) -> None:
    await uow.session.execute(
        data_subject_requests.insert().values(
            id=request.id,
            subject_id=request.subject_id,
            kind=request.kind.value,
            status=request.status.value,
            requested_by=request.requested_by,
            requested_at=request.requested_at,
            deadline=request.deadline,
            expected_services=sorted(request.expected),
        )
    )


async def _save_state(uow: UnitOfWork, request: DataSubjectRequest, **extra: Any) -> None:
    await uow.session.execute(
        update(data_subject_requests)
        .where(data_subject_requests.c.id == request.id)
        .values(
            status=request.status.value,
            completed_at=request.completed_at,
            failed_at=request.failed_at,
            failure_reason=request.failure_reason,
            **extra,
        )
    )


def _part_context(request_id: uuid.UUID, service: str) -> bytes:
    return f"identity.data_request_answers.export_part:{request_id}:{service}".encode()


def _audit_request(uow: UnitOfWork, actor: Principal | str, request: DataSubjectRequest, action: Any) -> None:
    audit.record(
        uow,
        actor=actor,
        action=action,
        resource_type=REQUEST_RESOURCE,
        resource_id=request.id,
        data_subject=request.subject_id,
        fields=("kind", "status"),
        purpose=None if isinstance(actor, Principal) and actor.subject == str(request.subject_id) else "GDPR request",
    )


# --- asking ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Asked:
    request: DataSubjectRequest
    is_new: bool  # False: a request of this kind was open already, and is what is returned


async def request_data(
    *,
    uow: UnitOfWork,
    by: Principal,
    subject_id: uuid.UUID,
    kind: RequestKind,
    settings: PrivacySettings,
    signed_in_at: datetime | None = None,
    on_behalf: bool = False,
) -> Asked:
    """Open an export or erasure request for ``subject_id``; an erasure locks the account at once.

    The subject asking for erasure must have signed in recently (``signed_in_at``); an operator acting on their
    behalf (``on_behalf``) has verified the person by other means.
    """
    async with uow:
        account = await uow.session.scalar(
            select(users.c.id).where(users.c.id == subject_id, users.c.erased_at.is_(None)).with_for_update()
        )
        if account is None:
            raise UnknownUser("no such user")
        now = uow.clock.now()
        existing = await _requests_of(uow, subject_id)
        already = open_request_of(existing, kind)
        if already is not None:
            return Asked(already, is_new=False)
        if kind is RequestKind.ERASURE and not on_behalf:
            require_recent_sign_in(signed_in_at, at=now)
        request = DataSubjectRequest.open(
            request_id=new_id(),
            subject_id=subject_id,
            kind=kind,
            requested_by=by.subject,
            at=now,
            participants=settings.participants,
            answer_within=settings.answer_deadline,
        )
        await _insert(uow, request)
        contract = ExportRequested if kind is RequestKind.EXPORT else ErasureRequested
        uow.publish(
            contract(request_id=request.id, subject_user_id=subject_id, requested_at=now),
            subject=f"data-request:{request.id}",
        )
        _audit_request(uow, by, request, "create")
        if kind is RequestKind.ERASURE:
            await _lock_account(uow, subject_id, at=now)
            audit.record(
                uow,
                actor=by,
                action="update",
                resource_type="identity.account",
                resource_id=subject_id,
                data_subject=subject_id,
                fields=("disabled_at", "sessions", "tokens", "client_grants"),
                purpose="GDPR erasure: account locked",
            )
        await uow.commit()
    log.info("identity.data_request_opened", request_id=str(request.id), kind=kind.value)
    return Asked(request, is_new=True)


async def _lock_account(uow: UnitOfWork, user_id: uuid.UUID, *, at: datetime) -> None:
    """Sign-in refused from now on (``disabled_at``), every session, token and third-party application's grant
    revoked (so that no application keeps acting for the person while the services erase)."""
    await uow.session.execute(
        update(users).where(users.c.id == user_id, users.c.disabled_at.is_(None)).values(disabled_at=at)
    )
    await uow.session.execute(delete(pending_consents).where(pending_consents.c.user_id == user_id))
    for table in (browser_sessions, refresh_tokens, access_tokens, client_grants):
        await uow.session.execute(
            update(table).where(table.c.user_id == user_id, table.c.revoked_at.is_(None)).values(revoked_at=at)
        )


async def _requests_of(uow: UnitOfWork, subject_id: uuid.UUID) -> list[DataSubjectRequest]:
    rows = (
        (
            await uow.session.execute(
                select(data_subject_requests)
                .where(data_subject_requests.c.subject_id == subject_id)
                .order_by(data_subject_requests.c.requested_at)
            )
        )
        .mappings()
        .all()
    )
    return [_request(row, await _answered(uow, row["id"])) for row in rows]


# --- reading -----------------------------------------------------------------------------------------------------


async def list_requests(
    *, uow: UnitOfWork, by: Principal, subject_id: uuid.UUID, page: PageRequest
) -> tuple[list[DataSubjectRequest], str | None]:
    """The subject's requests, oldest first."""
    async with uow:
        query = select(data_subject_requests).where(data_subject_requests.c.subject_id == subject_id)
        ordered = keyset(query, [data_subject_requests.c.requested_at, data_subject_requests.c.id], page)
        rows = (await uow.session.execute(ordered)).mappings().all()
        items, next_cursor = page_of(rows, page, key=lambda row: (row["requested_at"], row["id"]))
        found = [_request(row, await _answered(uow, row["id"])) for row in items]
        for request in found:
            _audit_request(uow, by, request, "read")
        await uow.commit()
    return found, next_cursor


async def read_request(
    *, uow: UnitOfWork, by: Principal, subject_id: uuid.UUID, request_id: uuid.UUID
) -> DataSubjectRequest:
    async with uow:
        request = await _load(uow, request_id)
        if request is None or request.subject_id != subject_id:
            raise UnknownDataRequest("no such request")
        _audit_request(uow, by, request, "read")
        await uow.commit()
    return request


async def export_document(
    *, uow: UnitOfWork, cipher: DataCipher, by: Principal, subject_id: uuid.UUID, request_id: uuid.UUID
) -> dict[str, Any]:
    """The export as one JSON document: identity's own data (read now) and every service's part.

    Only the subject gets it (``subject_id`` is the caller's own id); the read is audited.
    """
    async with uow:
        request = await _load(uow, request_id)
        if request is None or request.subject_id != subject_id:
            raise UnknownDataRequest("no such request")
        now = uow.clock.now()
        request.require_export_available(now)
        rows = await uow.session.execute(
            select(data_request_answers.c.service, data_request_answers.c.export_part)
            .where(data_request_answers.c.request_id == request_id)
            .order_by(data_request_answers.c.service)
        )
        services: dict[str, Any] = {}
        for service, part in rows:
            opened = await cipher.decrypt_text(part, context=_part_context(request_id, service)) if part else "{}"
            services[service] = json.loads(opened)
        document = {
            "format": EXPORT_FORMAT,
            "request": {
                "id": str(request.id),
                "requested_at": request.requested_at.isoformat(),
                "completed_at": request.completed_at.isoformat() if request.completed_at else None,
            },
            "subject": str(subject_id),
            "generated_at": now.isoformat(),
            "identity": await _identity_part(uow, cipher, subject_id),
            "services": services,
        }
        audit.record(
            uow,
            actor=by,
            action="read",
            resource_type="identity.data_export",
            resource_id=request_id,
            data_subject=subject_id,
            fields=("identity", *(f"services.{service}" for service in services)),
        )
        await uow.commit()
    return document


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


async def _identity_part(uow: UnitOfWork, cipher: DataCipher, user_id: uuid.UUID) -> dict[str, Any]:
    """Everything identity holds about the person, personal fields decrypted; secrets (password hash, TOTP
    secret, token digests) are named, not given."""
    session = uow.session
    account = (await session.execute(select(users).where(users.c.id == user_id))).mappings().one()
    opened_account = await open_account(cipher, account)
    profile = (await session.execute(select(profiles).where(profiles.c.user_id == user_id))).mappings().first()

    async def opened(table: str, column: str, value: str | None) -> str | None:
        if value is None:
            return None
        return await cipher.decrypt_text(value, context=field_context(table, column, user_id))

    professional_rows = (
        (await session.execute(select(professional_profiles).where(professional_profiles.c.user_id == user_id)))
        .mappings()
        .all()
    )
    held_roles = await session.execute(
        select(memberships.c.organisation_id, memberships.c.role, memberships.c.created_at).where(
            memberships.c.user_id == user_id
        )
    )
    consent_rows = await session.execute(
        select(consents).where(consents.c.user_id == user_id).order_by(consents.c.granted_at)
    )
    session_rows = await session.execute(
        select(browser_sessions).where(browser_sessions.c.user_id == user_id).order_by(browser_sessions.c.created_at)
    )
    authenticator = (
        (await session.execute(select(totp_authenticators).where(totp_authenticators.c.user_id == user_id)))
        .mappings()
        .first()
    )
    grant_rows = await session.execute(
        select(client_grants, oauth_clients.c.name)
        .select_from(client_grants.join(oauth_clients, oauth_clients.c.client_id == client_grants.c.client_id))
        .where(client_grants.c.user_id == user_id)
        .order_by(client_grants.c.granted_at)
    )
    link_rows = await session.execute(
        select(external_identities, identity_providers.c.display_name, identity_providers.c.organisation_id)
        .select_from(
            external_identities.join(identity_providers, identity_providers.c.id == external_identities.c.provider_id)
        )
        .where(external_identities.c.user_id == user_id)
        .order_by(external_identities.c.linked_at)
    )
    passkey_rows = await session.execute(
        select(passkeys).where(passkeys.c.user_id == user_id).order_by(passkeys.c.created_at)
    )
    token_rows = await session.execute(
        select(refresh_tokens).where(refresh_tokens.c.user_id == user_id).order_by(refresh_tokens.c.issued_at)
    )
    return {
        "account": {
            "id": str(account["id"]),
            "email": opened_account.email,
            "display_name": opened_account.display_name,
            "locale": account["locale"],
            "zone": account["zone"],
            "roles": list(account["global_roles"]),
            "email_verified_at": _iso(account["email_verified_at"]),
            "created_at": _iso(account["created_at"]),
            "has_password": account["password_hash"] is not None,
            "authenticator_app": None
            if authenticator is None
            else {"created_at": _iso(authenticator["created_at"]), "confirmed_at": _iso(authenticator["confirmed_at"])},
        },
        "profile": None
        if profile is None
        else {
            "given_name": await opened("profiles", "given_name", profile["given_name"]),
            "family_name": await opened("profiles", "family_name", profile["family_name"]),
            "phone": await opened("profiles", "phone", profile["phone"]),
            "notification_preferences": profile["notification_preferences"],
            "updated_at": _iso(profile["updated_at"]),
        },
        "memberships": [
            {"organisation_id": str(row.organisation_id), "role": row.role, "since": _iso(row.created_at)}
            for row in held_roles
        ],
        "professional_profiles": [
            {
                "organisation_id": str(row["organisation_id"]),
                "specialty": row["specialty"],
                "licence_number": await opened("professional_profiles", "licence_number", row["licence_number"]),
                "issuing_authority": row["issuing_authority"],
                "languages": list(row["languages"]),
                "location": row["location"],
                "document_ids": [str(document) for document in row["document_ids"]],
                "status": row["status"],
                "submitted_at": _iso(row["submitted_at"]),
                "verified_at": _iso(row["verified_at"]),
                "expires_at": _iso(row["expires_at"]),
                "rejection_reason": await opened("professional_profiles", "rejection_reason", row["rejection_reason"]),
            }
            for row in professional_rows
        ],
        "consents": [
            {
                "purpose": row.purpose,
                "version": row.version,
                "granted_at": _iso(row.granted_at),
                "closed_at": _iso(row.closed_at),
                "closed_by": row.closed_by,
            }
            for row in consent_rows
        ],
        "sessions": [
            {
                "created_at": _iso(row.created_at),
                "last_seen_at": _iso(row.last_seen_at),
                "expires_at": _iso(row.expires_at),
                "revoked_at": _iso(row.revoked_at),
                "user_agent": await open_user_agent(cipher, row.id, row.user_agent),
                "methods": list(row.methods),
            }
            for row in session_rows
        ],
        "third_party_applications": [
            {
                "client_id": row.client_id,
                "name": row.name,
                "scopes": list(row.scopes),
                "granted_at": _iso(row.granted_at),
                "revoked_at": _iso(row.revoked_at),
            }
            for row in grant_rows
        ],
        "identity_provider_links": [
            {
                "provider_id": str(row.provider_id),
                "provider": row.display_name,
                "organisation_id": str(row.organisation_id),
                "subject": row.subject,  # the provider's name for the person (tenant and object id at Entra ID)
                "linked_at": _iso(row.linked_at),
                "last_signed_in_at": _iso(row.last_signed_in_at),
            }
            for row in link_rows
        ],
        "passkeys": [
            {
                "name": row.name,
                "created_at": _iso(row.created_at),
                "last_used_at": _iso(row.last_used_at),
                "transports": list(row.transports),
                "is_discoverable": row.is_discoverable,
            }
            for row in passkey_rows
        ],
        "refresh_tokens": [  # the tokens themselves are kept as digests only: their use, never their value
            {
                "client_id": row.client_id,
                "scope": row.scope,
                "organisation_id": None if row.organisation_id is None else str(row.organisation_id),
                "issued_at": _iso(row.issued_at),
                "expires_at": _iso(row.expires_at),
                "rotated_at": _iso(row.rotated_at),
                "revoked_at": _iso(row.revoked_at),
            }
            for row in token_rows
        ],
    }


@dataclass(frozen=True)
class Receipt:
    request: DataSubjectRequest
    statements: dict[str, dict[str, Any]]  # by service, identity's own included once done


async def erasure_receipt(*, uow: UnitOfWork, request_id: uuid.UUID) -> Receipt:
    """An erasure's receipt: its state and each service's statement (kinds and counts, nothing personal)."""
    async with uow:
        row = (
            (await uow.session.execute(select(data_subject_requests).where(data_subject_requests.c.id == request_id)))
            .mappings()
            .first()
        )
        if row is None or row["kind"] != RequestKind.ERASURE.value:
            raise UnknownDataRequest("no such erasure")
        answers = await uow.session.execute(
            select(data_request_answers.c.service, data_request_answers.c.statement).where(
                data_request_answers.c.request_id == request_id
            )
        )
        statements = {service: statement or {} for service, statement in answers}
        if row["identity_statement"] is not None:
            statements["identity"] = row["identity_statement"]
        request = _request(row, frozenset(service for service in statements if service != "identity"))
    return Receipt(request, dict(sorted(statements.items())))


# --- answers from the services -----------------------------------------------------------------------------------

handlers = EventHandlers[UnitOfWork]()


async def _record_answer(
    uow: UnitOfWork, *, request_id: uuid.UUID, service: str, kind: RequestKind, values: dict[str, Any]
) -> DataSubjectRequest | None:
    """Count ``service``'s answer; the request as it now stands when it became complete with this answer."""
    request = await _load(uow, request_id, lock=True)
    if request is None or request.kind is not kind:
        log.warning("identity.data_request_answer_ignored", request_id=str(request_id), service=service)
        return None
    now = uow.clock.now()
    answered, outcome = request.answer(service, at=now)
    if outcome in {AnswerOutcome.DUPLICATE, AnswerOutcome.UNEXPECTED}:
        log.info(
            "identity.data_request_answer_not_counted", request_id=str(request_id), service=service, outcome=outcome
        )
        return None
    await uow.session.execute(
        pg_insert(data_request_answers)
        .values(request_id=request_id, service=service, answered_at=now, **values)
        .on_conflict_do_nothing()
    )
    await _save_state(uow, answered)
    audit.record(
        uow,
        actor=service,
        action="create",
        resource_type="identity.data_request_answer",
        resource_id=f"{request_id}:{service}",
        data_subject=request.subject_id,
        fields=tuple(values),
        purpose=f"GDPR {kind.value}",
    )
    if outcome is AnswerOutcome.RECORDED and answered.status is RequestStatus.COMPLETE:
        return answered
    return None


@handlers.on(ExportReady)
async def record_export_part(event: ExportReady, meta: EventMeta, uow: UnitOfWork) -> None:
    """Keep a service's part of an export, encrypted; the last part makes the export downloadable."""
    part = await uow.cipher.encrypt_text(
        json.dumps(event.data, separators=(",", ":")), context=_part_context(event.request_id, event.service)
    )
    completed = await _record_answer(
        uow, request_id=event.request_id, service=event.service, kind=RequestKind.EXPORT, values={"export_part": part}
    )
    if completed is not None:
        log.info("identity.data_export_ready", request_id=str(completed.id))


@handlers.on(ErasureDone)
async def record_erasure_statement(event: ErasureDone, meta: EventMeta, uow: UnitOfWork) -> None:
    """Keep a service's statement; after the last one, identity erases its own part of the account."""
    statement = event.model_dump(mode="json", include={"deleted", "anonymised", "completed_at"})
    completed = await _record_answer(
        uow,
        request_id=event.request_id,
        service=event.service,
        kind=RequestKind.ERASURE,
        values={"statement": statement},
    )
    if completed is None:
        return
    now = uow.clock.now()
    await _mail_receipt(uow, completed, at=now)  # while the address is still known
    own = await _erase_account(uow, completed.subject_id, at=now)
    await uow.session.execute(
        update(data_subject_requests).where(data_subject_requests.c.id == completed.id).values(identity_statement=own)
    )
    log.info("identity.account_erased", request_id=str(completed.id))


async def _mail_receipt(uow: UnitOfWork, request: DataSubjectRequest, *, at: datetime) -> None:
    """The person can no longer sign in: their receipt goes to the address the account had, the last mail it gets."""
    account = await load_account_record(uow.session, uow.cipher, user_id=request.subject_id)
    assert account is not None  # the account row stays, erased or not
    statements = await uow.session.execute(
        select(data_request_answers.c.service, data_request_answers.c.statement)
        .where(data_request_answers.c.request_id == request.id)
        .order_by(data_request_answers.c.service)
    )
    lines = [
        "Your Kairos account has been erased, as you asked (GDPR Art. 17).",
        "",
        f"Request: {request.id}",
        f"Asked on: {request.requested_at.isoformat()}",
        f"Completed on: {at.isoformat()}",
        "",
        "What each service did:",
    ]
    for service, statement in statements:
        lines.append(f"- {service}:")
        held = statement or {}
        if not held.get("deleted") and not held.get("anonymised"):
            lines.append("    nothing held")
        lines.extend(f"    deleted: {item}" for item in held.get("deleted", []))
        lines.extend(
            f"    kept anonymised: {item['what']}: {item['how']} ({item['why']})" for item in held.get("anonymised", [])
        )
    lines += [
        "- identity: your account, profile, sign-in methods and sessions deleted; consent records kept "
        "without anything that names you (proof of consent, GDPR Art. 7(1)).",
        "",
        "An operator can show this receipt again from its request number.",
    ]
    message = compose(
        sender=load_identity_settings().mail_from,
        to=account.email,
        subject="Your Kairos account has been erased",
        text="\n".join(lines),
        language="en",  # the receipt is in English only, for now
    )
    await queue_mail(uow.session, uow.cipher, message, at=at)


async def _count_deleted(uow: UnitOfWork, table: Any, user_id: uuid.UUID) -> int:
    removed = await uow.session.execute(delete(table).where(table.c.user_id == user_id))
    return int(removed.rowcount)  # type: ignore[attr-defined]


async def _erase_account(uow: UnitOfWork, user_id: uuid.UUID, *, at: datetime) -> dict[str, Any]:
    """Wipe identity's personal data of the account and mark it erased; the statement of what was done, in the
    shape of the services' ``privacy.erasure_done``."""
    deleted: list[str] = []
    for label, table in (
        ("profile", profiles),
        ("professional profiles", professional_profiles),
        ("organisation memberships", memberships),
        ("authenticator app", totp_authenticators),
        ("recovery codes", recovery_codes),
        ("passkeys", passkeys),
        ("passkey challenges", passkey_challenges),
        ("links to identity providers", external_identities),
        ("third-party application grants", client_grants),
        ("pending consent requests", pending_consents),
        ("known devices", known_devices),
        ("browser sessions", browser_sessions),
        ("refresh tokens", refresh_tokens),
        ("access token records", access_tokens),
        ("e-mail confirmation and password reset links", account_tokens),
    ):
        count = await _count_deleted(uow, table, user_id)
        if count:
            deleted.append(f"{label} ({count})")
    # A sign-in at a provider that waited for this account's password names it: gone too.
    await uow.session.execute(delete(federation_attempts).where(federation_attempts.c.link_user_id == user_id))
    await uow.session.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(
            # The address is unique and required: a value that can never be anyone's (RFC 2606 .invalid).
            **await sealed_account(
                uow.cipher, user_id, email=f"erased-{user_id}@erased.invalid", display_name=ERASED_DISPLAY_NAME
            ),
            password_hash=None,
            locale="en",
            zone="UTC",
            global_roles=[],
            email_verified_at=None,
            disabled_at=func.coalesce(users.c.disabled_at, at),
            erased_at=at,
        )
    )
    deleted.append("account: e-mail address, name, password, language, time zone and roles")
    kept = await uow.session.scalar(select(func.count()).select_from(consents).where(consents.c.user_id == user_id))
    anonymised = (
        [
            Anonymised(
                what=f"consent records ({kept})",
                how="kept with the purpose, version and times only, linked to the erased account's id",
                why=CONSENT_RETENTION,
            )
        ]
        if kept
        else []
    )
    audit.record(
        uow,
        actor="identity",
        action="delete",
        resource_type="identity.account",
        resource_id=user_id,
        data_subject=user_id,
        fields=(
            "email",
            "display_name",
            "password_hash",
            "profile",
            "professional_profiles",
            "memberships",
            "passkeys",
            "external_identities",
            "client_grants",
        ),
        purpose="GDPR erasure",
    )
    return {
        "deleted": deleted,
        "anonymised": [item.model_dump(mode="json") for item in anonymised],
        "completed_at": at.isoformat(),
    }


# --- the periodic check ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckResult:
    failed: int
    exports_deleted: int


async def check_requests(*, uow: UnitOfWork, limit: int = 100) -> CheckResult:
    """Fail open requests past their deadline; delete export parts past their retention."""
    async with uow:
        now = uow.clock.now()
        rows = (
            (
                await uow.session.execute(
                    select(data_subject_requests)
                    .where(
                        data_subject_requests.c.status.in_(
                            [RequestStatus.REQUESTED.value, RequestStatus.COLLECTING.value]
                        ),
                        data_subject_requests.c.deadline <= now,
                    )
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            )
            .mappings()
            .all()
        )
        for row in rows:
            request = _request(row, await _answered(uow, row["id"]))
            failed = request.expire(at=now)
            await _save_state(uow, failed)
            _audit_request(uow, "identity", failed, "update")
            log.warning(
                "identity.data_request_failed", request_id=str(failed.id), waiting_for=sorted(failed.waiting_for)
            )
        expired_parts = await uow.session.execute(
            update(data_request_answers)
            .where(
                data_request_answers.c.export_part.is_not(None),
                data_request_answers.c.request_id.in_(
                    select(data_subject_requests.c.id).where(
                        data_subject_requests.c.kind == RequestKind.EXPORT.value,
                        data_subject_requests.c.completed_at <= now - EXPORT_RETENTION,
                    )
                ),
            )
            .values(export_part=None)
        )
        await uow.commit()
    return CheckResult(failed=len(rows), exports_deleted=int(expired_parts.rowcount))  # type: ignore[attr-defined]


class PrivacyChecker:
    """Runs ``check_requests`` on every instance; SKIP LOCKED shares the work."""

    def __init__(self, runtime: ServiceRuntime, *, interval: float = CHECK_INTERVAL_SECONDS) -> None:
        self._runtime = runtime
        self._interval = interval
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._run(), name="identity-privacy-check"))

    async def stop(self) -> None:
        await cancel_and_wait(self._tasks)
        self._tasks.clear()

    async def check_once(self) -> CheckResult:
        return await check_requests(uow=self._runtime.unit_of_work())

    async def _run(self) -> None:
        while True:
            # A failed round (database away) is tried again at the next one; the loop must outlive it.
            with contextlib.suppress(Exception):
                await self.check_once()
            await asyncio.sleep(self._interval)

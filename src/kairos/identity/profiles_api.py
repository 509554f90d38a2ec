"""Profiles under ``/api/v1/identity``: a person's own profile (``/me/profile``), a professional's credentials
(``/me/professional-profiles/{organisation_id}``) and their verification by the organisation
(``/organisations/{organisation_id}/professionals``). Every read and write is audited (``kairos.identity.profiles``).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from kairos.identity import profiles
from kairos.identity.domain.profiles import Channel, NotificationKind
from kairos.identity.domain.verification import VerificationStatus
from kairos.identity.profiles import Professional, Profile, Reject, Verify, credentials_of
from kairos.identity.schemas import (
    CredentialsWrite,
    ProfessionalProfileRead,
    ProfileRead,
    ProfileUpdate,
    VerificationDecisionCreate,
)
from kairos.identity.sessions_api import IdentityCaller, Me
from kairos.platform.crypto import DataCipher
from kairos.platform.db.uow import UnitOfWork
from kairos.platform.http.pagination import Page, PageRequest, page_request
from kairos.platform.runtime import ServiceRuntime, unit_of_work

router = APIRouter(tags=["profiles"])

Uow = Annotated[UnitOfWork, Depends(unit_of_work)]
PageDep = Annotated[PageRequest, Depends(page_request)]


def data_cipher(request: Request) -> DataCipher:
    """The identity service's cipher for personal data at rest."""
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime.cipher


Cipher = Annotated[DataCipher, Depends(data_cipher)]


def profile_read(profile: Profile) -> ProfileRead:
    return ProfileRead(
        user_id=profile.user_id,
        email=profile.email,
        display_name=profile.display_name,
        given_name=profile.given_name,
        family_name=profile.family_name,
        phone=profile.phone,
        locale=profile.locale,
        zone=profile.zone,
        notifications={kind: sorted(channels) for kind, channels in profile.notifications.channels.items()},
        updated_at=profile.updated_at,
    )


def professional_read(professional: Professional, *, now_listed: bool) -> ProfessionalProfileRead:
    profile = professional.profile
    credentials = profile.credentials
    return ProfessionalProfileRead(
        user_id=profile.user_id,
        organisation_id=profile.organisation_id,
        display_name=professional.display_name,
        status=profile.status,
        specialty=credentials.specialty,
        licence_number=credentials.licence_number,
        issuing_authority=credentials.issuing_authority,
        languages=list(credentials.languages),
        location=credentials.location,
        document_ids=list(credentials.document_ids),
        submitted_at=profile.submitted_at,
        decided_at=profile.decided_at,
        decided_by=profile.decided_by,
        rejection_reason=profile.rejection_reason,
        verified_at=profile.verified_at,
        expires_at=profile.expires_at,
        is_listed=now_listed,
    )


def _read(professional: Professional, uow: UnitOfWork) -> ProfessionalProfileRead:
    return professional_read(professional, now_listed=professional.profile.is_listed(uow.clock.now()))


# --- one's own profile ---------------------------------------------------------------------------------------------


@router.get("/me/profile")
async def read_my_profile(me: Me, caller: IdentityCaller, uow: Uow, cipher: Cipher) -> ProfileRead:
    """Your profile: names, phone, language, time zone and notification preferences."""
    return profile_read(await profiles.read_profile(uow=uow, cipher=cipher, by=caller, user_id=me.id))


@router.patch("/me/profile")
async def update_my_profile(
    body: ProfileUpdate, me: Me, caller: IdentityCaller, uow: Uow, cipher: Cipher
) -> ProfileRead:
    """Change the fields of your profile that you send; ``null`` clears an optional one."""
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    if "notifications" in changes:
        changes["notifications"] = {
            NotificationKind(kind): frozenset(Channel(channel) for channel in channels)
            for kind, channels in body.notifications.items()
        }
    updated = await profiles.update_profile(uow=uow, cipher=cipher, by=caller, user_id=me.id, changes=changes)
    return profile_read(updated)


# --- one's own professional profile -------------------------------------------------------------------------------


@router.get("/me/professional-profiles/{organisation_id}")
async def read_my_professional_profile(
    organisation_id: uuid.UUID, me: Me, caller: IdentityCaller, uow: Uow, cipher: Cipher
) -> ProfessionalProfileRead:
    """Your credentials in one of your organisations, and where their verification stands."""
    found = await profiles.read_own_professional_profile(
        uow=uow, cipher=cipher, by=caller, user_id=me.id, organisation_id=organisation_id
    )
    return _read(found, uow)


@router.put("/me/professional-profiles/{organisation_id}")
async def save_my_professional_profile(
    organisation_id: uuid.UUID, body: CredentialsWrite, me: Me, caller: IdentityCaller, uow: Uow, cipher: Cipher
) -> ProfessionalProfileRead:
    """Write your draft credentials (while not submitted or verified: those change by a new submission)."""
    saved = await profiles.save_professional_draft(
        uow=uow,
        cipher=cipher,
        by=caller,
        user_id=me.id,
        organisation_id=organisation_id,
        credentials=credentials_of(body.model_dump()),
    )
    return _read(saved, uow)


@router.post("/me/professional-profiles/{organisation_id}/submission")
async def submit_my_professional_profile(
    organisation_id: uuid.UUID,
    me: Me,
    caller: IdentityCaller,
    uow: Uow,
    cipher: Cipher,
    body: CredentialsWrite | None = None,
) -> ProfessionalProfileRead:
    """Ask the organisation to verify your credentials: the draft's, or those sent (also to renew a verification)."""
    submitted = await profiles.submit_professional_profile(
        uow=uow,
        cipher=cipher,
        by=caller,
        user_id=me.id,
        organisation_id=organisation_id,
        credentials=credentials_of(body.model_dump()) if body is not None else None,
    )
    return _read(submitted, uow)


# --- verification by the organisation -----------------------------------------------------------------------------


@router.get("/organisations/{organisation_id}/professionals")
async def list_professional_profiles(
    organisation_id: uuid.UUID,
    me: Me,
    caller: IdentityCaller,
    uow: Uow,
    cipher: Cipher,
    page: PageDep,
    status: Annotated[VerificationStatus | None, Query(description="submitted: those waiting for a decision")] = None,
) -> Page[ProfessionalProfileRead]:
    """The organisation's professional profiles, for those who verify them (``professionals:verify``)."""
    found, next_cursor = await profiles.list_professional_profiles(
        uow=uow, cipher=cipher, by=caller, actor_id=me.id, organisation_id=organisation_id, status=status, page=page
    )
    return Page(items=[_read(professional, uow) for professional in found], next_cursor=next_cursor)


@router.get("/organisations/{organisation_id}/professionals/{user_id}")
async def read_professional_profile(
    organisation_id: uuid.UUID, user_id: uuid.UUID, me: Me, caller: IdentityCaller, uow: Uow, cipher: Cipher
) -> ProfessionalProfileRead:
    """One professional profile of the organisation, for those who verify them."""
    found = await profiles.read_professional_profile(
        uow=uow, cipher=cipher, by=caller, actor_id=me.id, organisation_id=organisation_id, user_id=user_id
    )
    return _read(found, uow)


@router.post("/organisations/{organisation_id}/professionals/{user_id}/decision")
async def decide_professional_profile(
    organisation_id: uuid.UUID,
    user_id: uuid.UUID,
    body: VerificationDecisionCreate,
    me: Me,
    caller: IdentityCaller,
    uow: Uow,
    cipher: Cipher,
) -> ProfessionalProfileRead:
    """Verify a submitted profile (until ``expires_at``) or reject it with a reason."""
    decision = Verify(expires_at=body.expires_at) if body.decision == "verify" else Reject(reason=body.reason or "")
    decided = await profiles.decide_professional_profile(
        uow=uow,
        cipher=cipher,
        by=caller,
        actor_id=me.id,
        organisation_id=organisation_id,
        user_id=user_id,
        decision=decision,
    )
    return _read(decided, uow)

"""Professional verification and role management over real HTTP: the workflow end to end with its events,
the periodic check's reminders and lapses, and every call by every role against another organisation's
resources — no leak, no escalation (issue 4 §8, §9; OWASP API1 and API5)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from sqlalchemy import select

from kairos.contracts.demo import HARBOUR_DOCTOR, LINDQVIST_LAWYER
from kairos.identity.demo import DEMO_PASSWORD
from kairos.identity.domain.roles import Role
from kairos.identity.domain.verification import REMINDER_LEAD
from kairos.identity.profiles import check_verifications, field_context
from kairos.identity.service import create_organisation, create_user
from kairos.identity.tables import memberships, professional_profiles, users
from kairos.platform.testing.infrastructure import unique_name
from tests.integration.identity.conftest import Provider, SignedIn, create_person, organisation_ids, sign_in
from tests.integration.identity.records import assert_problem, audit_records, call, events

pytestmark = pytest.mark.integration

DEMO = {
    "patient": "patient@demo.kairos.test",
    "doctor": "doctor@harbour.demo.kairos.test",
    "reception": "reception@harbour.demo.kairos.test",
    "harbour_admin": "admin@harbour.demo.kairos.test",
    "lawyer": "lawyer@lindqvist.demo.kairos.test",
    "lindqvist_assistant": "assistant@lindqvist.demo.kairos.test",
    "lindqvist_admin": "admin@lindqvist.demo.kairos.test",
    "operator": "operator@demo.kairos.test",
}
CREDENTIALS = {
    "specialty": "Paediatrics",
    "licence_number": "GMC 7654321",
    "issuing_authority": "General Medical Council",
    "languages": ["en", "pl"],
    "location": "Harbour Medical Practice, 1 Quay Street",
    "document_ids": [str(uuid.uuid4())],
}


class FixedClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


@pytest.fixture(scope="module")
async def people(provider: Provider) -> dict[str, SignedIn]:
    return {name: await sign_in(provider, email) for name, email in DEMO.items()}


@pytest.fixture(scope="module")
async def orgs(provider: Provider) -> dict[str, uuid.UUID]:
    return await organisation_ids(provider)


async def new_professional(provider: Provider) -> SignedIn:
    return await sign_in(provider, await create_person(provider, Role.PROFESSIONAL, organisation="harbour"))


def own_profile(orgs: dict[str, uuid.UUID]) -> str:
    return f"/me/professional-profiles/{orgs['harbour']}"


async def submitted_professional(provider: Provider, orgs: dict[str, uuid.UUID]) -> SignedIn:
    professional = await new_professional(provider)
    response = await call(
        provider, "POST", f"{own_profile(orgs)}/submission", professional.access_token, json=CREDENTIALS
    )
    assert response.status_code == 200, response.text
    return professional


async def roles_of(provider: Provider) -> tuple[Any, ...]:
    """Every role held, globally and in organisations: what an escalation would change."""
    async with provider.runtime.sessionmaker() as session:
        return (
            (await session.execute(select(users.c.id, users.c.global_roles).order_by(users.c.id))).all(),
            (
                await session.execute(
                    select(memberships.c.user_id, memberships.c.organisation_id, memberships.c.role).order_by(
                        memberships.c.user_id, memberships.c.organisation_id, memberships.c.role
                    )
                )
            ).all(),
        )


# --- the demo professionals ---------------------------------------------------------------------------------------


async def test_the_demo_professionals_are_verified_and_published_for_the_directory(
    provider: Provider, people: dict[str, SignedIn], orgs: dict[str, uuid.UUID]
) -> None:
    doctor = people["doctor"]
    response = await call(provider, "GET", f"/me/professional-profiles/{orgs['harbour']}", doctor.access_token)

    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["is_listed"]) == ("verified", True)
    published = await events(provider, "identity.professional.verified", user_id=str(doctor.user_id))
    assert len(published) == 1
    assert published[0]["organisation_id"] == str(orgs["harbour"])
    assert published[0]["display_name"] == "Dr. Mira Haddad"
    assert published[0]["specialty"] == "General practice"
    assert "ar" in published[0]["languages"]
    assert published[0]["location"]
    assert "licence_number" not in published[0]
    lawyer = await events(provider, "identity.professional.verified", user_id=str(people["lawyer"].user_id))
    assert [event["specialty"] for event in lawyer] == ["Family law"]
    # The ids the appointments demo links its bookable resources to (kairos.contracts.demo).
    assert (doctor.user_id, people["lawyer"].user_id) == (HARBOUR_DOCTOR, LINDQVIST_LAWYER)


# --- the workflow -------------------------------------------------------------------------------------------------


async def test_a_draft_is_written_then_submitted_once_complete(provider: Provider, orgs: dict[str, uuid.UUID]) -> None:
    professional = await new_professional(provider)
    path = own_profile(orgs)
    assert_problem(await call(provider, "GET", path, professional.access_token), 404)

    draft = await call(provider, "PUT", path, professional.access_token, json={"specialty": "Dermatology"})
    assert draft.status_code == 200, draft.text
    assert draft.json()["status"] == "draft"

    incomplete = await call(provider, "POST", f"{path}/submission", professional.access_token)
    assert_problem(incomplete, 422, "incomplete-credentials")
    assert "licence_number" in incomplete.json()["detail"]

    await call(provider, "PUT", path, professional.access_token, json=CREDENTIALS)
    submitted = await call(provider, "POST", f"{path}/submission", professional.access_token)
    assert submitted.status_code == 200, submitted.text
    assert (submitted.json()["status"], submitted.json()["is_listed"]) == ("submitted", False)
    assert_problem(await call(provider, "PUT", path, professional.access_token, json=CREDENTIALS), 409)
    assert_problem(await call(provider, "POST", f"{path}/submission", professional.access_token), 409)
    assert await events(provider, "identity.professional.submitted", user_id=str(professional.user_id))


async def test_the_licence_number_is_ciphertext_at_rest(provider: Provider, orgs: dict[str, uuid.UUID]) -> None:
    professional = await submitted_professional(provider, orgs)

    async with provider.runtime.sessionmaker() as session:
        stored = await session.scalar(
            select(professional_profiles.c.licence_number).where(
                professional_profiles.c.user_id == professional.user_id
            )
        )
    assert stored is not None
    assert CREDENTIALS["licence_number"] not in stored
    context = field_context("professional_profiles", "licence_number", professional.user_id)
    assert await provider.runtime.cipher.decrypt_text(stored, context=context) == CREDENTIALS["licence_number"]


async def test_rejected_with_a_reason_resubmitted_then_verified(
    provider: Provider, people: dict[str, SignedIn], orgs: dict[str, uuid.UUID]
) -> None:
    professional = await submitted_professional(provider, orgs)
    decision = f"/organisations/{orgs['harbour']}/professionals/{professional.user_id}/decision"
    reception = people["reception"].access_token

    waiting = await call(
        provider, "GET", f"/organisations/{orgs['harbour']}/professionals", reception, status="submitted"
    )
    assert waiting.status_code == 200, waiting.text
    assert str(professional.user_id) in {item["user_id"] for item in waiting.json()["items"]}
    assert {item["status"] for item in waiting.json()["items"]} == {"submitted"}

    assert_problem(await call(provider, "POST", decision, reception, json={"decision": "reject"}), 422, "validation")
    rejected = await call(
        provider,
        "POST",
        decision,
        reception,
        json={"decision": "reject", "reason": "The licence is not on the register"},
    )
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected"
    own = await call(provider, "GET", own_profile(orgs), professional.access_token)
    assert own.json()["rejection_reason"] == "The licence is not on the register"
    published = await events(provider, "identity.professional.rejected", user_id=str(professional.user_id))
    assert [event["reason"] for event in published] == ["The licence is not on the register"]

    revised = {**CREDENTIALS, "licence_number": "GMC 7654322"}
    await call(provider, "PUT", own_profile(orgs), professional.access_token, json=revised)
    await call(provider, "POST", f"{own_profile(orgs)}/submission", professional.access_token)
    expires_at = (datetime.now(UTC) + timedelta(days=200)).replace(microsecond=0)
    verified = await call(
        provider,
        "POST",
        decision,
        people["harbour_admin"].access_token,
        json={"decision": "verify", "expires_at": expires_at.isoformat()},
    )
    assert verified.status_code == 200, verified.text
    assert (verified.json()["status"], verified.json()["is_listed"]) == ("verified", True)
    assert datetime.fromisoformat(verified.json()["expires_at"]) == expires_at
    assert verified.json()["decided_by"] == str(people["harbour_admin"].user_id)

    listed = await events(provider, "identity.professional.verified", user_id=str(professional.user_id))
    assert len(listed) == 1
    assert listed[0]["specialty"] == "Paediatrics"
    assert listed[0]["languages"] == ["en", "pl"]
    assert listed[0]["organisation_id"] == str(orgs["harbour"])
    assert datetime.fromisoformat(listed[0]["expires_at"]) == expires_at
    audited = await audit_records(
        provider, data_subject=str(professional.user_id), resource_type="identity.professional_profile"
    )
    assert {record["actor"] for record in audited} >= {
        str(people["reception"].user_id),
        str(people["harbour_admin"].user_id),
    }


@pytest.mark.parametrize(
    ("body", "slug"),
    [
        ({"decision": "verify", "expires_at": "2001-01-01T00:00:00Z"}, "invalid-expiry"),
        ({"decision": "verify", "expires_at": "2090-01-01T00:00:00Z"}, "invalid-expiry"),
        ({"decision": "verify", "expires_at": "2027-01-01T00:00:00"}, "validation"),
        ({"decision": "approve"}, "validation"),
        ({"decision": "reject", "reason": "   "}, "validation"),
        ({"decision": "reject", "reason": "x" * 2001}, "validation"),
    ],
)
async def test_a_bad_decision_is_a_problem_and_changes_nothing(
    provider: Provider, people: dict[str, SignedIn], orgs: dict[str, uuid.UUID], body: dict[str, str], slug: str
) -> None:
    professional = await submitted_professional(provider, orgs)
    decision = f"/organisations/{orgs['harbour']}/professionals/{professional.user_id}/decision"

    assert_problem(await call(provider, "POST", decision, people["reception"].access_token, json=body), 422, slug)
    own = await call(provider, "GET", own_profile(orgs), professional.access_token)
    assert own.json()["status"] == "submitted"


async def test_the_periodic_check_reminds_once_then_lapses_at_expiry(
    provider: Provider, people: dict[str, SignedIn], orgs: dict[str, uuid.UUID]
) -> None:
    professional = await submitted_professional(provider, orgs)
    expires_at = (datetime.now(UTC) + timedelta(days=40)).replace(microsecond=0)
    await call(
        provider,
        "POST",
        f"/organisations/{orgs['harbour']}/professionals/{professional.user_id}/decision",
        people["reception"].access_token,
        json={"decision": "verify", "expires_at": expires_at.isoformat()},
    )
    subject = str(professional.user_id)

    async def check_at(at: datetime) -> None:
        uow = provider.runtime.unit_of_work()
        uow.clock = FixedClock(at)
        await check_verifications(uow=uow, cipher=provider.runtime.cipher)

    await check_at(expires_at - REMINDER_LEAD - timedelta(minutes=1))
    assert await events(provider, "identity.professional.reverification_due", user_id=subject) == []

    await check_at(expires_at - timedelta(days=10))
    await check_at(expires_at - timedelta(days=9))
    reminders = await events(provider, "identity.professional.reverification_due", user_id=subject)
    assert [datetime.fromisoformat(event["expires_at"]) for event in reminders] == [expires_at]
    assert await events(provider, "identity.professional.lapsed", user_id=subject) == []

    await check_at(expires_at + timedelta(seconds=1))
    await check_at(expires_at + timedelta(hours=1))
    assert len(await events(provider, "identity.professional.lapsed", user_id=subject)) == 1
    own = (await call(provider, "GET", own_profile(orgs), professional.access_token)).json()
    assert (own["status"], own["is_listed"], own["expires_at"]) == ("expired", False, None)
    # The demo professionals, verified for a year, were neither reminded nor lapsed by these checks.
    doctor = str(people["doctor"].user_id)
    assert await events(provider, "identity.professional.lapsed", user_id=doctor) == []


# --- who may verify -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("actor", ["patient", "doctor", "lawyer", "lindqvist_assistant", "lindqvist_admin"])
async def test_nobody_outside_the_organisations_verifiers_reads_or_decides(
    provider: Provider, people: dict[str, SignedIn], orgs: dict[str, uuid.UUID], actor: str
) -> None:
    professional = await submitted_professional(provider, orgs)
    base = f"/organisations/{orgs['harbour']}/professionals"
    token = people[actor].access_token

    for method, path, body in (
        ("GET", base, None),
        ("GET", f"{base}/{professional.user_id}", None),
        ("POST", f"{base}/{professional.user_id}/decision", {"decision": "verify"}),
        ("POST", f"{base}/{professional.user_id}/decision", {"decision": "reject", "reason": "Spite"}),
    ):
        response = await call(provider, method, path, token, json=body)
        assert_problem(response, 403, "forbidden")
        assert CREDENTIALS["licence_number"] not in response.text
    own = (await call(provider, "GET", own_profile(orgs), professional.access_token)).json()
    assert own["status"] == "submitted"


async def test_nobody_verifies_themselves(provider: Provider, orgs: dict[str, uuid.UUID]) -> None:
    email = await create_person(provider, Role.PROFESSIONAL, Role.DOMAIN_ADMIN, organisation="harbour")
    both = await sign_in(provider, email)
    await call(provider, "POST", f"{own_profile(orgs)}/submission", both.access_token, json=CREDENTIALS)

    response = await call(
        provider,
        "POST",
        f"/organisations/{orgs['harbour']}/professionals/{both.user_id}/decision",
        both.access_token,
        json={"decision": "verify"},
    )

    assert_problem(response, 403, "forbidden")


async def test_only_the_organisations_professionals_keep_a_profile_in_it(
    provider: Provider, people: dict[str, SignedIn], orgs: dict[str, uuid.UUID]
) -> None:
    for actor, organisation in (("patient", "harbour"), ("reception", "harbour"), ("doctor", "lindqvist")):
        path = f"/me/professional-profiles/{orgs[organisation]}"
        response = await call(provider, "PUT", path, people[actor].access_token, json=CREDENTIALS)
        assert_problem(response, 403, "forbidden")
        assert_problem(await call(provider, "GET", path, people[actor].access_token), 404)


# --- role management ----------------------------------------------------------------------------------------------


async def test_a_domain_admin_lists_their_organisations_members_only(
    provider: Provider, people: dict[str, SignedIn], orgs: dict[str, uuid.UUID]
) -> None:
    admin = people["harbour_admin"].access_token

    listed = await call(provider, "GET", f"/organisations/{orgs['harbour']}/members", admin, limit=200)

    assert listed.status_code == 200, listed.text
    by_id = {item["user_id"]: item for item in listed.json()["items"]}
    assert by_id[str(people["doctor"].user_id)]["roles"] == ["professional"]
    assert by_id[str(people["reception"].user_id)]["roles"] == ["staff"]
    assert str(people["lawyer"].user_id) not in by_id
    assert str(people["patient"].user_id) not in by_id
    audited = await audit_records(
        provider, data_subject=str(people["doctor"].user_id), resource_type="identity.membership"
    )
    assert audited[-1]["actor"] == str(people["harbour_admin"].user_id)

    for actor in ("harbour_admin", "reception", "doctor", "patient", "lindqvist_assistant"):
        response = await call(
            provider, "GET", f"/organisations/{orgs['lindqvist']}/members", people[actor].access_token
        )
        assert_problem(response, 403, "forbidden")
        assert DEMO["lawyer"] not in response.text
    unknown = await call(provider, "GET", f"/organisations/{uuid.uuid4()}/members", admin)
    assert_problem(unknown, 403, "forbidden")
    operator = await call(
        provider, "GET", f"/organisations/{orgs['lindqvist']}/members", people["operator"].access_token
    )
    assert operator.status_code == 200
    assert str(people["lawyer"].user_id) in {item["user_id"] for item in operator.json()["items"]}


async def test_a_domain_admin_gives_and_takes_a_role_carried_by_the_next_token(
    provider: Provider, people: dict[str, SignedIn], orgs: dict[str, uuid.UUID]
) -> None:
    newcomer = await sign_in(provider, await create_person(provider, Role.PATIENT))
    path = f"/organisations/{orgs['harbour']}/members/{newcomer.user_id}/roles/staff"
    admin = people["harbour_admin"]

    given = await call(provider, "PUT", path, admin.access_token)
    again = await call(provider, "PUT", path, admin.access_token)

    assert given.status_code == 200, given.text
    assert given.json()["roles"] == again.json()["roles"] == ["staff"]
    assigned = await events(provider, "identity.role.assigned", user_id=str(newcomer.user_id))
    assert [(event["role"], event["organisation_id"], event["actor"]) for event in assigned] == [
        ("staff", str(orgs["harbour"]), str(admin.user_id))
    ]

    # The next sign-in: staff of the practice now (second factor enrolled on the way), permissions with it.
    staff = await sign_in(provider, newcomer.email)
    claims = jwt.decode(staff.access_token, options={"verify_signature": False})
    assert claims["org"] == str(orgs["harbour"])
    assert {"staff", "patient"} <= set(claims["roles"])
    assert {"appointments:book_for", "professionals:verify"} <= set(claims["permissions"])

    taken = await call(provider, "DELETE", path, admin.access_token)
    assert taken.status_code == 200, taken.text
    assert taken.json()["roles"] == []
    revoked = await events(provider, "identity.role.revoked", user_id=str(newcomer.user_id))
    assert [(event["role"], event["actor"]) for event in revoked] == [("staff", str(admin.user_id))]


async def test_taking_the_professional_role_takes_the_professional_out_of_the_directory(
    provider: Provider, people: dict[str, SignedIn], orgs: dict[str, uuid.UUID]
) -> None:
    professional = await submitted_professional(provider, orgs)
    await call(
        provider,
        "POST",
        f"/organisations/{orgs['harbour']}/professionals/{professional.user_id}/decision",
        people["reception"].access_token,
        json={"decision": "verify"},
    )
    subject = str(professional.user_id)
    assert await events(provider, "identity.professional.lapsed", user_id=subject) == []

    taken = await call(
        provider,
        "DELETE",
        f"/organisations/{orgs['harbour']}/members/{professional.user_id}/roles/professional",
        people["harbour_admin"].access_token,
    )

    assert taken.status_code == 200, taken.text
    lapsed = await events(provider, "identity.professional.lapsed", user_id=subject)
    assert [event["organisation_id"] for event in lapsed] == [str(orgs["harbour"])]
    own = (await call(provider, "GET", own_profile(orgs), professional.access_token)).json()
    assert (own["status"], own["is_listed"]) == ("expired", False)


@pytest.mark.parametrize("actor", ["patient", "doctor", "reception", "lawyer", "lindqvist_assistant", "harbour_admin"])
async def test_nobody_but_an_operator_escalates_anyone_to_operator_or_acts_elsewhere(
    provider: Provider, people: dict[str, SignedIn], orgs: dict[str, uuid.UUID], actor: str
) -> None:
    me = people[actor]
    victim = people["lawyer"].user_id
    before = await roles_of(provider)

    attempts = [
        ("PUT", f"/organisations/{orgs['harbour']}/members/{me.user_id}/roles/operator"),
        ("PUT", f"/organisations/{orgs['lindqvist']}/members/{me.user_id}/roles/operator"),
        ("PUT", f"/organisations/{orgs['harbour']}/members/{me.user_id}/roles/patient"),
        ("PUT", f"/organisations/{orgs['lindqvist']}/members/{me.user_id}/roles/domain_admin"),
        ("PUT", f"/organisations/{orgs['lindqvist']}/members/{me.user_id}/roles/professional"),
        ("DELETE", f"/organisations/{orgs['lindqvist']}/members/{victim}/roles/professional"),
        (
            "DELETE",
            f"/organisations/{orgs['lindqvist']}/members/{people['lindqvist_admin'].user_id}/roles/domain_admin",
        ),
    ]
    if actor != "harbour_admin":
        attempts.append(("PUT", f"/organisations/{orgs['harbour']}/members/{me.user_id}/roles/domain_admin"))
    for method, path in attempts:
        response = await call(provider, method, path, me.access_token)
        assert_problem(response, 403, "forbidden")
    assert await roles_of(provider) == before


async def test_an_operator_manages_any_organisation_but_gives_operator_only_to_accounts(
    provider: Provider, people: dict[str, SignedIn], orgs: dict[str, uuid.UUID]
) -> None:
    newcomer = await sign_in(provider, await create_person(provider, Role.PATIENT))
    operator = people["operator"].access_token
    base = f"/organisations/{orgs['lindqvist']}/members/{newcomer.user_id}/roles"

    assert_problem(await call(provider, "PUT", f"{base}/operator", operator), 422, "invalid-role-assignment")
    given = await call(provider, "PUT", f"{base}/professional", operator)
    assert given.status_code == 200, given.text
    assert given.json()["roles"] == ["professional"]
    assert_problem(await call(provider, "PUT", f"{base}/surgeon", operator), 422, "validation")
    missing = f"/organisations/{orgs['lindqvist']}/members/{uuid.uuid4()}/roles/staff"
    assert_problem(await call(provider, "PUT", missing, operator), 404)


async def test_an_organisation_keeps_its_last_domain_admin(provider: Provider) -> None:
    async with provider.runtime.unit_of_work() as uow:
        organisation = await create_organisation(
            uow=uow, name=unique_name("Clinic "), kind="practice", domain="medical"
        )
        email = f"{unique_name('only-admin-')}@example.org"
        await create_user(
            uow=uow,
            email=email,
            password=DEMO_PASSWORD,
            display_name="Only Admin",
            roles=frozenset({Role.DOMAIN_ADMIN}),
            organisation_id=organisation,
            email_verified=True,
        )
        await uow.commit()
    admin = await sign_in(provider, email)
    path = f"/organisations/{organisation}/members/{admin.user_id}/roles/domain_admin"

    assert_problem(await call(provider, "DELETE", path, admin.access_token), 409, "last-domain-admin")

    second = await sign_in(provider, await create_person(provider, Role.PATIENT))
    await call(
        provider,
        "PUT",
        f"/organisations/{organisation}/members/{second.user_id}/roles/domain_admin",
        admin.access_token,
    )
    stepped_down = await call(provider, "DELETE", path, admin.access_token)
    assert stepped_down.status_code == 200, stepped_down.text
    assert stepped_down.json()["roles"] == []


ORGANISATION_ENDPOINTS = [
    ("GET", "/organisations/{org}/members"),
    ("PUT", "/organisations/{org}/members/{user}/roles/staff"),
    ("DELETE", "/organisations/{org}/members/{user}/roles/staff"),
    ("GET", "/organisations/{org}/professionals"),
    ("GET", "/organisations/{org}/professionals/{user}"),
    ("POST", "/organisations/{org}/professionals/{user}/decision"),
    ("GET", "/me/professional-profiles/{org}"),
    ("PUT", "/me/professional-profiles/{org}"),
    ("POST", "/me/professional-profiles/{org}/submission"),
]


@pytest.mark.parametrize(("method", "path"), ORGANISATION_ENDPOINTS)
async def test_without_a_token_every_endpoint_answers_401(
    provider: Provider, orgs: dict[str, uuid.UUID], method: str, path: str
) -> None:
    response = await call(provider, method, path.format(org=orgs["harbour"], user=uuid.uuid4()), json={})
    assert_problem(response, 401)

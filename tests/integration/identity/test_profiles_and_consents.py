"""A person's own profile and consents over real HTTP: read and changed by their owner only, personal fields
ciphertext in the database, every access audited, changes published (issue 4 §9, §10)."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import select

from kairos.identity.domain.consents import PURPOSES
from kairos.identity.domain.roles import Role
from kairos.identity.profiles import field_context
from kairos.identity.tables import consents, profiles
from kairos.platform.crypto import DecryptionFailed
from tests.integration.identity.conftest import Provider, SignedIn, create_person, sign_in
from tests.integration.identity.records import assert_problem, audit_records, call, events

pytestmark = pytest.mark.integration

SMS = PURPOSES["reminders_by_sms"]


@pytest.fixture(scope="module")
async def patient(provider: Provider) -> SignedIn:
    return await sign_in(provider, await create_person(provider, Role.PATIENT))


@pytest.fixture(scope="module")
async def other_patient(provider: Provider) -> SignedIn:
    return await sign_in(provider, "client@demo.kairos.test")


async def raw_profile(provider: Provider, user_id: uuid.UUID) -> dict[str, str | None]:
    async with provider.runtime.sessionmaker() as session:
        row = (
            await session.execute(
                select(profiles.c.given_name, profiles.c.family_name, profiles.c.phone).where(
                    profiles.c.user_id == user_id
                )
            )
        ).one()
    return dict(row._mapping)


# --- the profile -------------------------------------------------------------------------------------------------


async def test_the_demo_profiles_are_loaded(provider: Provider, other_patient: SignedIn) -> None:
    response = await call(provider, "GET", "/me/profile", other_patient.access_token)

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["email"], body["given_name"], body["family_name"]) == ("client@demo.kairos.test", "Chris", "Okafor")
    assert body["notifications"]["account_security"] == ["email"]


async def test_a_person_changes_their_own_profile(provider: Provider, patient: SignedIn) -> None:
    changed = await call(
        provider,
        "PATCH",
        "/me/profile",
        patient.access_token,
        json={
            "display_name": "Noor A.",
            "given_name": "Noor",
            "family_name": "Amrani",
            "phone": "+33612345678",
            "locale": "fr",
            "zone": "Europe/Paris",
            "notifications": {"reminders": ["sms", "email"], "documents": []},
        },
    )
    assert changed.status_code == 200, changed.text

    read = (await call(provider, "GET", "/me/profile", patient.access_token)).json()
    assert read["user_id"] == str(patient.user_id)
    assert (read["display_name"], read["given_name"], read["family_name"]) == ("Noor A.", "Noor", "Amrani")
    assert (read["phone"], read["locale"], read["zone"]) == ("+33612345678", "fr", "Europe/Paris")
    assert read["notifications"]["reminders"] == ["email", "sms"]
    assert read["notifications"]["documents"] == []
    assert read["notifications"]["messages"] == ["in_app"]  # not named: kept

    cleared = await call(provider, "PATCH", "/me/profile", patient.access_token, json={"phone": None})
    assert cleared.json()["phone"] is None
    assert cleared.json()["given_name"] == "Noor"


async def test_personal_fields_are_ciphertext_at_rest_bound_to_their_row(
    provider: Provider, patient: SignedIn, other_patient: SignedIn
) -> None:
    await call(
        provider,
        "PATCH",
        "/me/profile",
        patient.access_token,
        json={"given_name": "Ines", "family_name": "Fontaine", "phone": "+33698765432"},
    )

    stored = await raw_profile(provider, patient.user_id)

    for column, plaintext in (("given_name", "Ines"), ("family_name", "Fontaine"), ("phone", "+33698765432")):
        token = stored[column]
        assert token is not None
        assert plaintext not in token
        cipher = provider.runtime.cipher
        assert await cipher.decrypt_text(token, context=field_context("profiles", column, patient.user_id)) == plaintext
        # Copied onto another person's row, it does not decrypt: the context names the row.
        with pytest.raises(DecryptionFailed):
            await cipher.decrypt_text(token, context=field_context("profiles", column, other_patient.user_id))


async def test_every_read_and_change_of_the_profile_is_audited_without_values(
    provider: Provider, patient: SignedIn
) -> None:
    subject = str(patient.user_id)
    reads_before = await audit_records(provider, data_subject=subject, action="read", resource_type="identity.profile")
    updates_before = await audit_records(provider, data_subject=subject, action="update")

    await call(provider, "GET", "/me/profile", patient.access_token)
    await call(provider, "PATCH", "/me/profile", patient.access_token, json={"phone": "+33611112222"})

    reads = await audit_records(provider, data_subject=subject, action="read", resource_type="identity.profile")
    updates = await audit_records(provider, data_subject=subject, action="update", resource_type="identity.profile")
    assert len(reads) == len(reads_before) + 1
    assert len(updates) == len([r for r in updates_before if r["resource_type"] == "identity.profile"]) + 1
    update = updates[-1]
    assert (update["actor"], update["service"], update["fields"]) == (subject, "identity", ["phone"])
    assert update["actor_client"] == provider.web_client_id
    assert "+33611112222" not in str(update)
    assert "phone" in reads[-1]["fields"]


async def test_a_change_is_published_for_other_services(provider: Provider, patient: SignedIn) -> None:
    await call(
        provider, "PATCH", "/me/profile", patient.access_token, json={"display_name": "N. Amrani", "zone": "Asia/Tokyo"}
    )

    published = await events(provider, "identity.profile.updated", user_id=str(patient.user_id))

    assert published[-1]["display_name"] == "N. Amrani"
    assert published[-1]["time_zone"] == "Asia/Tokyo"
    assert "phone" not in published[-1]


@pytest.mark.parametrize(
    ("body", "slug"),
    [
        ({"zone": "Mars/Olympus_Mons"}, "validation"),
        ({"zone": "../../etc/passwd"}, "validation"),
        ({"phone": "0612345678"}, "validation"),
        ({"locale": "english please"}, "validation"),
        ({"display_name": ""}, "validation"),
        ({"display_name": None}, "validation"),
        ({"zone": None}, "validation"),
        ({"email": "me@example.org"}, "validation"),  # not a profile field: e-mail changes are verified
        ({"notifications": {"reminders": ["carrier_pigeon"]}}, "validation"),
        ({"notifications": {"gossip": ["email"]}}, "validation"),
        ({"notifications": {"account_security": ["push"]}}, "mandatory-channel"),
    ],
)
async def test_bad_input_is_a_problem_and_changes_nothing(
    provider: Provider, patient: SignedIn, body: dict[str, object], slug: str
) -> None:
    before = (await call(provider, "GET", "/me/profile", patient.access_token)).json()

    response = await call(provider, "PATCH", "/me/profile", patient.access_token, json=body)

    assert_problem(response, 422, slug)
    after = (await call(provider, "GET", "/me/profile", patient.access_token)).json()
    assert {k: v for k, v in after.items() if k != "updated_at"} == {
        k: v for k, v in before.items() if k != "updated_at"
    }


async def test_one_persons_changes_do_not_reach_another(
    provider: Provider, patient: SignedIn, other_patient: SignedIn
) -> None:
    before = (await call(provider, "GET", "/me/profile", other_patient.access_token)).json()

    await call(provider, "PATCH", "/me/profile", patient.access_token, json={"given_name": "Mallory"})

    after = (await call(provider, "GET", "/me/profile", other_patient.access_token)).json()
    assert after["given_name"] == before["given_name"] == "Chris"
    assert after["user_id"] == str(other_patient.user_id)


# --- consents ----------------------------------------------------------------------------------------------------


async def test_the_purposes_are_listed_with_their_current_versions(provider: Provider) -> None:
    response = await call(provider, "GET", "/consents/purposes")

    assert response.status_code == 200
    assert {"name": SMS.name, "version": SMS.version, "description": SMS.description} in response.json()


async def test_consent_is_granted_once_withdrawn_and_kept_in_the_history(
    provider: Provider, patient: SignedIn, other_patient: SignedIn
) -> None:
    body = {"purpose": SMS.name, "version": SMS.version}
    first = await call(provider, "POST", "/me/consents", patient.access_token, json=body)
    again = await call(provider, "POST", "/me/consents", patient.access_token, json=body)

    assert first.status_code == 201, first.text
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert first.json()["is_current"] is True

    withdrawn = await call(provider, "DELETE", f"/me/consents/{SMS.name}", patient.access_token)
    assert withdrawn.status_code == 200, withdrawn.text
    assert (withdrawn.json()["id"], withdrawn.json()["closed_by"]) == (first.json()["id"], "withdrawn")
    assert_problem(await call(provider, "DELETE", f"/me/consents/{SMS.name}", patient.access_token), 404)

    regranted = await call(provider, "POST", "/me/consents", patient.access_token, json=body)
    assert regranted.status_code == 201
    history = (await call(provider, "GET", "/me/consents", patient.access_token)).json()["items"]
    mine = [item for item in history if item["purpose"] == SMS.name]
    assert [(item["id"], item["is_current"]) for item in mine] == [
        (first.json()["id"], False),
        (regranted.json()["id"], True),
    ]

    others = (await call(provider, "GET", "/me/consents", other_patient.access_token)).json()["items"]
    assert {item["id"] for item in others}.isdisjoint({item["id"] for item in history})

    subject = str(patient.user_id)
    assert len(await events(provider, "identity.consent.granted", user_id=subject, purpose=SMS.name)) == 2
    assert len(await events(provider, "identity.consent.withdrawn", user_id=subject, purpose=SMS.name)) == 1
    consent_audit = await audit_records(provider, data_subject=subject, resource_type="identity.consent")
    assert [record["action"] for record in consent_audit] == ["create", "update", "create", "read"]


async def test_one_current_consent_per_purpose_in_the_database(provider: Provider, patient: SignedIn) -> None:
    body = {"purpose": "product_news", "version": PURPOSES["product_news"].version}
    await call(provider, "POST", "/me/consents", patient.access_token, json=body)
    await call(provider, "POST", "/me/consents", patient.access_token, json=body)

    async with provider.runtime.sessionmaker() as session:
        current = (
            await session.scalars(
                select(consents.c.id).where(
                    consents.c.user_id == patient.user_id,
                    consents.c.purpose == "product_news",
                    consents.c.closed_at.is_(None),
                )
            )
        ).all()
    assert len(current) == 1


@pytest.mark.parametrize(
    ("body", "status", "slug"),
    [
        ({"purpose": SMS.name, "version": "2001-01"}, 422, "outdated-version"),
        ({"purpose": "selling_my_data", "version": "1"}, 422, "unknown-purpose"),
        ({"purpose": SMS.name}, 422, "validation"),
        ({"purpose": SMS.name, "version": SMS.version, "granted_at": "2020-01-01T00:00:00Z"}, 422, "validation"),
    ],
)
async def test_a_bad_consent_is_a_problem(
    provider: Provider, patient: SignedIn, body: dict[str, str], status: int, slug: str
) -> None:
    assert_problem(await call(provider, "POST", "/me/consents", patient.access_token, json=body), status, slug)


async def test_withdrawing_an_unknown_purpose_is_a_problem(provider: Provider, patient: SignedIn) -> None:
    assert_problem(await call(provider, "DELETE", "/me/consents/nothing_like_it", patient.access_token), 422)


# --- who may call ------------------------------------------------------------------------------------------------

OWN_ENDPOINTS = [
    ("GET", "/me/profile", None),
    ("PATCH", "/me/profile", {"given_name": "Eve"}),
    ("GET", "/me/consents", None),
    ("POST", "/me/consents", {"purpose": SMS.name, "version": SMS.version}),
    ("DELETE", f"/me/consents/{SMS.name}", None),
]


@pytest.mark.parametrize(("method", "path", "body"), OWN_ENDPOINTS)
async def test_without_a_token_it_is_401(provider: Provider, method: str, path: str, body: object) -> None:
    response = await call(provider, method, path, json=body)
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "path", "body"), OWN_ENDPOINTS)
async def test_a_clients_own_token_has_no_profile(provider: Provider, method: str, path: str, body: object) -> None:
    async with httpx.AsyncClient() as client:
        token = (
            await client.post(
                provider.metadata["token_endpoint"],
                data={"grant_type": "client_credentials", "scope": "system/*.read"},
                auth=(provider.service_client_id, provider.service_client_secret),
            )
        ).json()["access_token"]
    assert_problem(await call(provider, method, path, token, json=body), 403)

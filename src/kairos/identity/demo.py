"""Demo data: a medical practice and a law firm, with an account for every role in each.

Loaded once per database by ``make run`` (and ``kairos seed-demo``); listed in the README.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncEngine

from kairos.contracts.demo import HARBOUR_DOCTOR, HARBOUR_MEDICAL_PRACTICE, LINDQVIST_LAWYER, LINDQVIST_RAO_LAW
from kairos.identity.domain.roles import Role
from kairos.identity.domain.verification import Credentials
from kairos.identity.profiles import seed_profile, seed_verified_professional
from kairos.identity.service import create_client, create_organisation, create_user
from kairos.platform.config import Settings
from kairos.platform.crypto import DataCipher, load_keyring
from kairos.platform.db.engine import create_sessionmaker
from kairos.platform.db.uow import UnitOfWork

DEMO_PASSWORD = "demo tulip harbour lantern"  # noqa: S105  # published in the README on purpose

ACCOUNTS: tuple[tuple[str, str, Role, str | None], ...] = (
    # e-mail, name, role, organisation (None: held globally)
    ("patient@demo.kairos.test", "Pat Jensen", Role.PATIENT, None),
    ("client@demo.kairos.test", "Chris Okafor", Role.PATIENT, None),
    ("operator@demo.kairos.test", "Olga Operator", Role.OPERATOR, None),
    ("doctor@harbour.demo.kairos.test", "Dr. Mira Haddad", Role.PROFESSIONAL, "harbour"),
    ("reception@harbour.demo.kairos.test", "Sam Reception", Role.STAFF, "harbour"),
    ("admin@harbour.demo.kairos.test", "Ada Admin", Role.DOMAIN_ADMIN, "harbour"),
    ("lawyer@lindqvist.demo.kairos.test", "Erik Lindqvist", Role.PROFESSIONAL, "lindqvist"),
    ("assistant@lindqvist.demo.kairos.test", "Priya Rao", Role.STAFF, "lindqvist"),
    ("admin@lindqvist.demo.kairos.test", "Lena Admin", Role.DOMAIN_ADMIN, "lindqvist"),
)


WEB_CLIENT_ID = "kairos-web"

# The professionals' ids are fixed: the appointments demo links its bookable resources to these accounts.
FIXED_IDS = {
    "doctor@harbour.demo.kairos.test": HARBOUR_DOCTOR,
    "lawyer@lindqvist.demo.kairos.test": LINDQVIST_LAWYER,
}

# e-mail: (given name, family name, phone); phone numbers from Ofcom's range reserved for drama (07700 900xxx).
PROFILES: dict[str, tuple[str, str, str | None]] = {
    "patient@demo.kairos.test": ("Pat", "Jensen", "+447700900101"),
    "client@demo.kairos.test": ("Chris", "Okafor", "+447700900102"),
    "operator@demo.kairos.test": ("Olga", "Operator", None),
    "doctor@harbour.demo.kairos.test": ("Mira", "Haddad", "+447700900201"),
    "reception@harbour.demo.kairos.test": ("Sam", "Reception", "+447700900202"),
    "admin@harbour.demo.kairos.test": ("Ada", "Admin", None),
    "lawyer@lindqvist.demo.kairos.test": ("Erik", "Lindqvist", "+447700900301"),
    "assistant@lindqvist.demo.kairos.test": ("Priya", "Rao", "+447700900302"),
    "admin@lindqvist.demo.kairos.test": ("Lena", "Admin", None),
}

# The demo professionals, verified: the appointments service lists them from identity.professional.verified.
PROFESSIONALS: dict[str, Credentials] = {
    "doctor@harbour.demo.kairos.test": Credentials(
        specialty="General practice",
        licence_number="GMC 7012345",
        issuing_authority="General Medical Council",
        languages=("en", "ar", "fr"),
        location="Harbour Medical Practice, 1 Quay Street",
    ),
    "lawyer@lindqvist.demo.kairos.test": Credentials(
        specialty="Family law",
        licence_number="SRA 612345",
        issuing_authority="Solicitors Regulation Authority",
        languages=("en", "sv"),
        location="Lindqvist & Rao Law, 12 Chancery Lane",
    ),
}


async def load_demo_data(uow: UnitOfWork, settings: Settings) -> None:
    organisations = {
        "harbour": await create_organisation(
            uow=uow,
            name="Harbour Medical Practice",
            kind="practice",
            domain="medical",
            organisation_id=HARBOUR_MEDICAL_PRACTICE,
        ),
        "lindqvist": await create_organisation(
            uow=uow, name="Lindqvist & Rao Law", kind="firm", domain="legal", organisation_id=LINDQVIST_RAO_LAW
        ),
    }
    # The seed's own cipher: the runtime's is not handed to seeders; both use the database's data keys.
    engine = uow.session.bind
    assert isinstance(engine, AsyncEngine)
    cipher = DataCipher(keyring=load_keyring(settings), sessionmaker=create_sessionmaker(engine))
    user_ids: dict[str, uuid.UUID] = {}
    for email, name, role, organisation in ACCOUNTS:
        user_ids[email] = await create_user(
            uow=uow,
            email=email,
            password=DEMO_PASSWORD,
            display_name=name,
            roles=frozenset({role}),
            organisation_id=organisations[organisation] if organisation else None,
            email_verified=True,
            user_id=FIXED_IDS.get(email),
        )
    for email, (given_name, family_name, phone) in PROFILES.items():
        await seed_profile(
            uow, cipher, user_id=user_ids[email], given_name=given_name, family_name=family_name, phone=phone
        )
    for email, credentials in PROFESSIONALS.items():
        organisation = next(org for address, _, _, org in ACCOUNTS if address == email)
        assert organisation is not None
        await seed_verified_professional(
            uow,
            cipher,
            user_id=user_ids[email],
            organisation_id=organisations[organisation],
            credentials=credentials,
        )
    # The web app: a public client (PKCE, no secret) of Kairos itself, so no consent screen.
    origins = [f"http://127.0.0.1:{settings.base_port}", f"http://localhost:{settings.base_port}"]
    await create_client(
        uow=uow,
        client_id=WEB_CLIENT_ID,
        name="Kairos web app",
        grant_types=frozenset({"authorization_code", "refresh_token"}),
        redirect_uris=tuple(f"{origin}/auth/callback" for origin in origins),
        post_logout_redirect_uris=tuple(f"{origin}/" for origin in origins),
        public=True,
        first_party=True,
    )

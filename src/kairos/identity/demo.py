"""Demo data: a medical practice and a law firm, with an account for every role in each.

Loaded once per database by ``make run`` (and ``kairos seed-demo``); listed in the README.
"""

from __future__ import annotations

from kairos.contracts.demo import HARBOUR_MEDICAL_PRACTICE, LINDQVIST_RAO_LAW
from kairos.identity.domain.roles import Role
from kairos.identity.service import create_client, create_organisation, create_user
from kairos.platform.config import Settings
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
    for email, name, role, organisation in ACCOUNTS:
        await create_user(
            uow=uow,
            email=email,
            password=DEMO_PASSWORD,
            display_name=name,
            roles=frozenset({role}),
            organisation_id=organisations[organisation] if organisation else None,
            email_verified=True,
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

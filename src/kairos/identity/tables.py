"""The identity service's own tables."""

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    Uuid,
    func,
    text,
)

metadata = MetaData()

organisations = Table(
    "organisations",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(50), nullable=False),  # practice, firm, …
    Column("domain", String(100), nullable=False),  # medical, legal, …
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

users = Table(
    "users",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("email", String(320), nullable=False),  # lower-cased
    Column("password_hash", Text),
    Column("display_name", String(200), nullable=False),
    Column("locale", String(20), nullable=False, server_default="en"),
    Column("zone", String(64), nullable=False, server_default="UTC"),
    Column("global_roles", ARRAY(String(50)), nullable=False, server_default="{}"),
    Column("email_verified_at", DateTime(timezone=True)),
    Column("disabled_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("users_email", "email", unique=True),
)

# A user's roles inside an organisation (professional, staff, domain admin).
memberships = Table(
    "memberships",
    metadata,
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("organisation_id", Uuid, ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False),
    Column("role", String(50), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("user_id", "organisation_id", "role"),
)

oauth_clients = Table(
    "oauth_clients",
    metadata,
    Column("client_id", String(100), primary_key=True),
    Column("secret_hash", Text),  # None: a public client (PKCE, no secret)
    Column("name", String(200), nullable=False),
    Column("grant_types", ARRAY(String(100)), nullable=False),
    Column("redirect_uris", ARRAY(Text), nullable=False, server_default="{}"),
    Column("post_logout_redirect_uris", ARRAY(Text), nullable=False, server_default="{}"),
    Column("scopes", ARRAY(String(200)), nullable=False),
    Column("first_party", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Codes are stored as SHA-256 digests: a database leak does not leak usable codes or tokens.
authorization_codes = Table(
    "authorization_codes",
    metadata,
    Column("code_hash", LargeBinary, primary_key=True),
    Column("client_id", String(100), nullable=False),
    Column("user_id", Uuid, nullable=False),
    Column("session_id", Uuid),
    Column("redirect_uri", Text, nullable=False),
    Column("scope", Text, nullable=False),
    Column("nonce", String(500)),
    Column("code_challenge", String(200), nullable=False),
    Column("code_challenge_method", String(10), nullable=False),
    Column("auth_time", DateTime(timezone=True), nullable=False),
    Column("amr", ARRAY(String(20)), nullable=False, server_default="{pwd}"),  # how the user authenticated
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
)

# Refresh tokens rotate on every use; all tokens descending from one grant share a family, and the
# reuse of a rotated token revokes the whole family (RFC 9700 §4.14.2).
refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("token_hash", LargeBinary, primary_key=True),
    Column("family_id", Uuid, nullable=False, index=True),
    Column("client_id", String(100), nullable=False),
    Column("user_id", Uuid, nullable=False),
    Column("session_id", Uuid),
    Column("scope", Text, nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("rotated_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
)

# Access tokens are JWTs; their ids are kept so that revocation and introspection can answer for them.
access_tokens = Table(
    "access_tokens",
    metadata,
    Column("jti", String(64), primary_key=True),
    Column("client_id", String(100), nullable=False),
    Column("user_id", Uuid),
    Column("family_id", Uuid, index=True),
    Column("scope", Text, nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
    Column("revoked_at", DateTime(timezone=True)),
)

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("algorithm", String(20), nullable=False),
    Column("public_jwk", Text, nullable=False),
    Column("private_key", LargeBinary, nullable=False),  # PEM, encrypted at rest
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("retired_at", DateTime(timezone=True)),  # no longer signs; published until its tokens expire
)

browser_sessions = Table(
    "browser_sessions",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("secret_hash", LargeBinary, nullable=False),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("user_agent", String(500)),
    # Authentication methods done (RFC 8176 values: pwd, otp), and the step still owed before the session
    # may be used (kairos.identity.domain.mfa.SignInStep); None once the sign-in is complete.
    Column("methods", ARRAY(String(20)), nullable=False, server_default="{pwd}"),
    Column("pending_step", String(20)),
)

# --- sign-in hardening: throttling (kairos.identity.domain.throttling) and second factors ----------------

# Consecutive failures per subject: "password:<account key>" (a digest of the e-mail address, so identifiers
# naming no account are counted alike) and "code:<user id>" for second-factor codes.
failure_streaks = Table(
    "failure_streaks",
    metadata,
    Column("subject", String(100), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_failed_at", DateTime(timezone=True), nullable=False),
)

# The leaky bucket of failed sign-ins per network (an IPv4 address or an IPv6 /64).
address_budgets = Table(
    "address_budgets",
    metadata,
    Column("network", String(64), primary_key=True),
    Column("drained_at", DateTime(timezone=True), nullable=False),
)

# Browsers that have signed in to an account (a cookie holds "<id>.<secret>"; only a digest is kept), with
# their own failure streak: the owner is not made to wait for what an attacker did elsewhere.
known_devices = Table(
    "known_devices",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("secret_hash", LargeBinary, nullable=False),
    Column("failures", Integer, nullable=False, server_default=text("0")),
    Column("last_failed_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_signed_in_at", DateTime(timezone=True), nullable=False),
)

# One TOTP authenticator per user; the secret encrypted at rest with the service's data cipher. Unconfirmed
# (confirmed_at is None) until the user has typed a first code from it.
totp_authenticators = Table(
    "totp_authenticators",
    metadata,
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("secret", LargeBinary, nullable=False),
    Column("last_used_step", BigInteger),  # the latest RFC 6238 time step accepted: no code is accepted twice
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("confirmed_at", DateTime(timezone=True)),
)

# Single-use recovery codes, as SHA-256 digests (120-bit codes: see kairos.identity.domain.mfa).
recovery_codes = Table(
    "recovery_codes",
    metadata,
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("code_hash", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    PrimaryKeyConstraint("user_id", "code_hash"),
)

"""The appointments service's own tables.

``appointments`` is the projection of each appointment's event stream (``appointment_events``), written in
the same transaction as the events. Double booking is impossible in the database itself: migration 0002
adds ``appointments_no_double_booking``, an exclusion constraint over (resource, blocked time) of the
appointments that hold their time, keyed on a bigint resource number so that it needs no btree_gist:
``EXCLUDE USING gist (int8range(resource_no, resource_no, '[]') WITH &&,
tstzrange(blocked_from, blocked_until, '[)') WITH &&) WHERE (holds_time)``.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

# Bookable resources: a professional, a room, a device. The number keys the exclusion constraint.
resources = Table(
    "resources",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("resource_no", BigInteger, Identity(always=True), nullable=False, unique=True),
    Column("organisation_id", Uuid, nullable=False, index=True),
    Column("kind", String(50), nullable=False),  # professional, room, device
    Column("display_name", String(200), nullable=False),
    Column("zone", String(64), nullable=False),
    Column("domain", String(100)),  # the domain whose appointment types and form apply
    Column("user_id", String(100)),  # the professional's account (identity's subject), when a person
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

appointments = Table(
    "appointments",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("resource_id", Uuid, ForeignKey("resources.id"), nullable=False),
    Column("resource_no", BigInteger, nullable=False),
    Column("organisation_id", Uuid, nullable=False, index=True),
    Column("patient", String(100), nullable=False, index=True),
    Column("appointment_type", String(100), nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("blocked_from", DateTime(timezone=True), nullable=False),  # with the buffer before
    Column("blocked_until", DateTime(timezone=True), nullable=False),  # with the buffer after
    Column("status", String(30), nullable=False),
    Column("holds_time", Boolean, nullable=False),
    Column("message", Text),
    Column("answers", JSONB, nullable=False, server_default="{}"),
    Column("version", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# The decision log: append-only, one stream per appointment.
appointment_events = Table(
    "appointment_events",
    metadata,
    Column("appointment_id", Uuid, nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("kind", String(50), nullable=False),
    Column("data", JSONB, nullable=False),
    Column("actor", String(100), nullable=False),
    Column("reason", Text),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("appointment_id", "sequence"),
)

# Domains registered at run time, each configuration versioned (a new version on every change).
domains = Table(
    "domains",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("configuration", JSONB, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Each resource's working time: RFC 5545 rules in its zone (see domain/availability.py for the form).
schedules = Table(
    "schedules",
    metadata,
    Column("resource_id", Uuid, ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True),
    Column("zone", String(64), nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_until", Date),
    Column("working_hours", JSONB, nullable=False),
    Column("breaks", JSONB, nullable=False, server_default="[]"),
    Column("days_off", JSONB, nullable=False, server_default="[]"),
    Column("extra_hours", JSONB, nullable=False, server_default="[]"),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

"""The appointments service's own tables.

``appointments`` is the projection of each appointment's event stream (``appointment_events``), written in
the same transaction as the events.

Double booking is impossible in the database itself (migration 0005). Every appointment that holds its
time, and every hold, takes a *seat* (``seats``) of a *time block* (``time_blocks``): the stretch of a
resource's time one session takes (an appointment; or a group session, whose parties share its block).
- ``time_blocks_no_overlap`` excludes two blocks with seats taken at overlapping blocked times of one
  resource, keyed on a bigint resource number so that it needs no btree_gist:
  ``EXCLUDE USING gist (int8range(resource_no, resource_no, '[]') WITH &&,
  tstzrange(blocked_from, blocked_until, '[)') WITH &&) WHERE (seats_taken > 0)``;
- ``time_blocks_seats_within_capacity`` (``CHECK (seats_taken BETWEEN 0 AND capacity)``) and the unique
  session key make the N+1st party of a group of N fail: taking a seat is an upsert that adds one to
  ``seats_taken`` under the block's row lock.
A hold is a seat with an expiry; whoever claims time first removes the expired holds in its way, in its own
transaction, so no background job is needed for correctness.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
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
    Column("user_id", String(100), index=True),  # the professional's account (identity's subject), when a person
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
    # The request's message and form answers, sealed (kairos.appointments.personal_data); health data.
    Column("personal_data", Text),
    # Plaintext of rows written before migration 0007, emptied into ``personal_data`` at start-up.
    Column("legacy_message", Text),
    Column("legacy_answers", JSONB(none_as_null=True)),
    Column("version", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("reschedules", Integer, nullable=False, server_default="0"),
)

# The stretch of a resource's time one session takes; its seats are taken by appointments and holds.
time_blocks = Table(
    "time_blocks",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("resource_id", Uuid, ForeignKey("resources.id"), nullable=False),
    Column("resource_no", BigInteger, nullable=False),
    Column("appointment_type", String(100), nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("blocked_from", DateTime(timezone=True), nullable=False),
    Column("blocked_until", DateTime(timezone=True), nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("seats_taken", Integer, nullable=False),
    CheckConstraint("seats_taken >= 0 AND seats_taken <= capacity", name="time_blocks_seats_within_capacity"),
    UniqueConstraint("resource_no", "appointment_type", "starts_at", "ends_at", name="time_blocks_one_per_session"),
)

# A seat of a time block: taken by an appointment (``appointment_id``) or held until ``expires_at``.
seats = Table(
    "seats",
    metadata,
    Column("id", Uuid, primary_key=True),  # a hold's id while it is a hold
    Column("block_id", Uuid, ForeignKey("time_blocks.id"), nullable=False, index=True),
    Column("resource_no", BigInteger, nullable=False),
    Column("holder", String(100), nullable=False),  # the patient the seat is for
    Column("appointment_id", Uuid, unique=True),
    Column("expires_at", DateTime(timezone=True), index=True),
    Column("waitlist_entry_id", Uuid),  # a hold offered to a waitlisted patient
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("(appointment_id IS NULL) <> (expires_at IS NULL)", name="seats_hold_or_appointment"),
)

# Patients waiting for a time to free up on a resource, served first come, first served.
waitlist_entries = Table(
    "waitlist_entries",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("resource_id", Uuid, ForeignKey("resources.id"), nullable=False, index=True),
    Column("organisation_id", Uuid, nullable=False),
    Column("patient", String(100), nullable=False, index=True),
    Column("appointment_type", String(100), nullable=False),
    Column("earliest", DateTime(timezone=True), nullable=False),  # starts wanted from
    Column("latest", DateTime(timezone=True), nullable=False),  # up to (exclusive)
    Column("status", String(20), nullable=False),  # waiting, offered, booked, withdrawn
    Column("offered_hold_id", Uuid),
    Column("offered_until", DateTime(timezone=True)),
    Column("joined_at", DateTime(timezone=True), nullable=False),
)

# The decision log: append-only, one stream per appointment.
appointment_events = Table(
    "appointment_events",
    metadata,
    Column("appointment_id", Uuid, nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("kind", String(50), nullable=False),
    Column("data", JSONB, nullable=False),
    Column("personal_data", Text),  # the requested event's message and answers, sealed (never in ``data``)
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

# --- the directory and calendars (migration 0006) -----------------------------------------------------------

# The directory of bookable professionals: a read model kept from identity's professional events.
directory_professionals = Table(
    "directory_professionals",
    metadata,
    Column("user_id", String(100), primary_key=True),  # identity's subject; resources.user_id links to it
    Column("organisation_id", Uuid, nullable=False, index=True),
    Column("display_name", String(200), nullable=False),
    Column("specialty", String(200), nullable=False),
    Column("languages", JSONB, nullable=False, server_default="[]"),
    Column("location", String(200)),
    Column("listed", Boolean, nullable=False),  # verified and not lapsed
    Column("expires_at", DateTime(timezone=True)),
    # When the verification state and the profile last changed, by the events' own times: an older event
    # arriving late (a redelivery, a replay) changes nothing.
    Column("verification_changed_at", DateTime(timezone=True), nullable=False),
    Column("profile_changed_at", DateTime(timezone=True)),
)

# A resource's iCalendar feed: only a hash of its secret token is kept.
calendar_feeds = Table(
    "calendar_feeds",
    metadata,
    Column("resource_id", Uuid, ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_by", String(100), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# External calendars whose busy time a resource imports: an uploaded file, or a URL refreshed periodically.
calendar_imports = Table(
    "calendar_imports",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("resource_id", Uuid, ForeignKey("resources.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("source", String(10), nullable=False),  # file, url
    Column("url", Text),
    Column("name", String(200), nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("refreshed_at", DateTime(timezone=True)),
    Column("next_refresh_at", DateTime(timezone=True), index=True),
    Column("last_error", Text),
    Column("busy_count", Integer, nullable=False, server_default="0"),
)

# Busy time read from an import: times only (no summaries or attendees are kept).
imported_busy_times = Table(
    "imported_busy_times",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("import_id", Uuid, ForeignKey("calendar_imports.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("resource_id", Uuid, nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Index("ix_imported_busy_times_resource_starts", "resource_id", "starts_at"),
)

# --- bulk availability changes (migration 0008) ---------------------------------------------------------------

# One applied bulk change: what was asked, by whom; ``undone_at`` once its schedules were restored.
bulk_changes = Table(
    "bulk_changes",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("organisation_id", Uuid, index=True),  # the one organisation it touched; NULL: several (operators)
    Column("change", JSONB, nullable=False),  # the request's change, as sent
    Column("applied_by", String(100), nullable=False),
    Column("applied_at", DateTime(timezone=True), nullable=False),
    Column("undone_by", String(100)),
    Column("undone_at", DateTime(timezone=True)),
)

# Each schedule a bulk change rewrote, before and after: undo restores ``schedule_before`` while the schedule
# still is ``schedule_after`` (nothing later touched it).
bulk_change_schedules = Table(
    "bulk_change_schedules",
    metadata,
    Column("change_id", Uuid, ForeignKey("bulk_changes.id", ondelete="CASCADE"), nullable=False),
    Column("resource_id", Uuid, ForeignKey("resources.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("schedule_before", JSONB, nullable=False),
    Column("schedule_after", JSONB, nullable=False),
    PrimaryKeyConstraint("change_id", "resource_id"),
)

# --- the practice's views (migration 0009) -------------------------------------------------------------------

# People's display names, kept from identity's events so that a practice sees who its patients are
# (kairos.appointments.patients). The name is personal data: sealed, context
# ``appointments.patient_names.display_name:<user_id>``; ``changed_at`` is the newest event's own time.
patient_names = Table(
    "patient_names",
    metadata,
    Column("user_id", String(100), primary_key=True),  # identity's subject, as appointments.patient
    Column("display_name", Text, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
)

# Recent bulk changes newest first, per organisation.
Index("ix_bulk_changes_organisation_applied", bulk_changes.c.organisation_id, bulk_changes.c.applied_at.desc())

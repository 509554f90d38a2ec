"""The monitoring service's own tables."""

from sqlalchemy import Column, DateTime, MetaData, String, Table

metadata = MetaData()

# Every service instance that announced itself (``service.started``), for the roll of what runs where.
service_instances = Table(
    "service_instances",
    metadata,
    Column("instance", String(300), primary_key=True),
    Column("service", String(100), nullable=False, index=True),
    Column("version", String(100), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
)

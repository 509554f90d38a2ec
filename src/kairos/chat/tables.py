"""The chat service's own tables (its database is its own; no other service reads it)."""

from sqlalchemy import MetaData

metadata = MetaData()

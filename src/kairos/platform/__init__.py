"""Shared mechanisms every Kairos service stands on; no business logic lives here."""

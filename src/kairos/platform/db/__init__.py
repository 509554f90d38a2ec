"""Database access: engines, the unit of work, platform tables and per-service migrations."""

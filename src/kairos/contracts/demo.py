"""Identifiers of the demo data that more than one service seeds (the organisations), so that the demo
practice at identity and its bookable professionals at appointments are the same organisation."""

from __future__ import annotations

from uuid import UUID

HARBOUR_MEDICAL_PRACTICE = UUID("0192f000-0000-7000-8000-00000000a001")
LINDQVIST_RAO_LAW = UUID("0192f000-0000-7000-8000-00000000a002")

# The demo professionals' accounts. Identity creates the demo doctor and lawyer with these ids, so that the
# bookable resources appointments seeds for them are theirs (``resources.user_id``) before any event arrives.
HARBOUR_DOCTOR = UUID("0192f000-0000-7000-8000-00000000b001")
LINDQVIST_LAWYER = UUID("0192f000-0000-7000-8000-00000000b002")

"""Plain-Python domain model of the identity service: no I/O, no framework."""

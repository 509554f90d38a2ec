"""Plain-Python domain model of the appointments service: no I/O, no framework."""

"""Plain-Python domain model of the documents service: no I/O, no framework."""

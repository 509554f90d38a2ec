"""Benchmarks: each module measures one Kairos path against a ceiling measured in the same run, and prints
the ratio. ``make bench`` (``python -m benchmarks``) runs them all; ``python -m benchmarks.<module>`` runs one."""

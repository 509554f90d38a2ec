"""Integration event contracts, one module per producing area."""

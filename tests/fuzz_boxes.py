"""Fuzz specs of the boxes family (extends ``fuzz_strategies``' table; #9: being written)."""

SPECS: list = []

"""Fuzz specs of the overlap family (extends ``fuzz_strategies``' table; #9: being written)."""

SPECS: list = []

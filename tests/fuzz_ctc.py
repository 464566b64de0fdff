"""Fuzz specs of the ctc family (extends ``fuzz_strategies``' table; #9: being written)."""

SPECS: list = []

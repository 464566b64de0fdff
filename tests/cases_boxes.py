"""Per-loss test table of the boxes family (extends ``cases.py``; #9: being written)."""

CASES: list = []

"""Per-loss test table of the overlap family (extends ``cases.py``; #9: being written)."""

CASES: list = []

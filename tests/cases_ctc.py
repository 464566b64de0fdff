"""Per-loss test table of the ctc family (extends ``cases.py``; #9: being written)."""

CASES: list = []

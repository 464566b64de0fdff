"""Per-loss test table of the margin classification losses (extends ``cases.py``)."""

from __future__ import annotations

CASES: list = []

"""Per-loss test table of the binary classification losses (extends ``cases.py``)."""

from __future__ import annotations

CASES: list = []

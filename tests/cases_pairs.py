"""Test cases of ``xploss.losses._pairs`` (see ``cases.py``)."""

from __future__ import annotations

CASES: list = []

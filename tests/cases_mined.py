"""Test cases of ``xploss.losses._mined`` (see ``cases.py``)."""

from __future__ import annotations

CASES: list = []

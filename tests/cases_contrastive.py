"""Test cases of ``xploss.losses._contrastive`` (see ``cases.py``)."""

from __future__ import annotations

CASES: list = []

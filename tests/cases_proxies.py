"""Test cases of ``xploss.losses._proxies`` (see ``cases.py``)."""

from __future__ import annotations

CASES: list = []

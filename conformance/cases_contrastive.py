"""Conformance cases of ``xploss.losses._contrastive``."""

from __future__ import annotations


def cases() -> list:
    return []

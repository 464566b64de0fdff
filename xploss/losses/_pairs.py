"""Pair and ranking losses on embeddings and scores."""

from __future__ import annotations

__all__: list[str] = []

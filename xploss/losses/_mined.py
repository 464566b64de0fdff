"""Losses mined from (embeddings, labels): batch-hard, semi-hard and batch-all triplets, N-pairs, lifted
structure, multi-similarity."""

from __future__ import annotations

__all__: list[str] = []

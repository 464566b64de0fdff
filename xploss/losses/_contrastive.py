"""In-batch contrastive losses: NT-Xent, InfoNCE, SupCon, CLIP, Circle."""

from __future__ import annotations

__all__: list[str] = []

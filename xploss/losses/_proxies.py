"""Proxy and centre losses: ArcFace, CosFace, center loss."""

from __future__ import annotations

__all__: list[str] = []

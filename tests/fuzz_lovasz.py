"""Fuzz specs of the Lovász losses (#9), appended to ``fuzz_strategies.SPECS``.

Logits from a seeded generator (hypothesis draws the seed, the layout, the options): continuous values, so
no two errors tie (the split of the gradient between tied pixels follows each framework's sort, documented)
and no hinge error sits at its kink.  Images ``(N, C, d)`` or ``(N, d, C)`` with an explicit class axis
(xploss does not guess an image layout).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from fuzz_strategies import CAMPAIGN, SIDES, Example, Spec
from hypothesis import strategies as st

VOID = 9
SHAPES = ((2, 3, 4), (1, 2, 5), (3, 4, 2), (4, 1, 3)) if CAMPAIGN else ((2, 3, 4),)


def softmax_maps(draw: Callable, labels: str | None) -> Example:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n, c, d = draw(st.sampled_from(SHAPES))
    last = draw(st.booleans())
    shape, axis = ((n, d, c), 2) if last else ((n, c, d), 1)
    logits = draw(st.booleans())
    z = rng.normal(scale=draw(st.sampled_from([0.5, 2.0, 30.0])), size=shape)
    if not logits:
        e = np.exp(z - z.max(axis=axis, keepdims=True))
        z = e / e.sum(axis=axis, keepdims=True)
    y = rng.integers(0, c, size=(n, d))
    opts = {"axis": draw(st.sampled_from([axis, axis - 3])), "from_logits": logits, "per": "sample",
            "classes": draw(st.sampled_from(["present", "all"]))}
    if draw(st.booleans()):
        y = np.where(rng.random(size=y.shape) < 0.3, VOID, y)
        opts["ignore_index"] = VOID
    return Example("lovasz_softmax", [z, y], opts, diff=(0,), sample_shape=(n,), labels=1, classes=c, axis=axis)


def hinge_maps(draw: Callable, labels: str | None) -> Example:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = draw(st.sampled_from([(s, 4) for s in SIDES[:3]] + ([(2, 3, 2)] if CAMPAIGN else [])))
    x = rng.normal(scale=draw(st.sampled_from([0.5, 2.0, 30.0])), size=shape)
    y = rng.integers(0, 2, size=shape).astype(np.float64)
    opts = {"per": "sample"} if draw(st.booleans()) else {}
    return Example("lovasz_hinge", [x, y], opts, diff=(0,), sample_shape=shape[:1], labels=None)


SPECS: list[Spec] = [
    Spec("lovasz_softmax", softmax_maps, class_axis=True, int_labels=True),
    Spec("lovasz_hinge", hinge_maps, binary_labels=True),
]

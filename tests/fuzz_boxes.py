"""Fuzz specs of the boxes family (#9), appended to ``fuzz_strategies.SPECS``.

Boxes ``(..., 4)`` as ``(x1, y1, x2, y2)`` with ``x1 <= x2``, ``y1 <= y2``, drawn from a seeded generator
(hypothesis draws the seed, the leading shape, the layout and ``eps``).  Half of the draws put the corners on
a coarse grid, so that coordinates tie between the two boxes (the 0.5 / 0.5 split), boxes coincide, touch,
nest or degenerate to zero width, zero height or points: values and gradients must stay finite and agree
across the backends at 1e-12 there too.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from fuzz_strategies import CAMPAIGN, Example, Hyper, Spec, maybe
from hypothesis import strategies as st

# the per-box loss shapes; the regular suite draws one (JAX compiles every eager call once per shape)
LEAD = ((), (1,), (3,), (2, 3), (5,)) if CAMPAIGN else ((3,),)


def _boxes(rng: np.random.Generator, lead: tuple, grid: bool, scale: float) -> np.ndarray:
    if grid:  # corners on a 0.5 grid: ties, coincident, touching and zero-size boxes
        lo = rng.integers(0, 4, size=(*lead, 2)) * 0.5
        wh = rng.integers(0, 4, size=(*lead, 2)) * 0.5
    else:
        lo = rng.uniform(-2.0, 2.0, size=(*lead, 2))
        wh = rng.uniform(0.0, 3.0, size=(*lead, 2))
    return np.concatenate([lo, lo + wh], axis=-1) * scale


def box_pair(name: str) -> Callable:
    """``fn(boxes1, boxes2, eps=...)`` with both boxes differentiated."""
    def gen(draw: Callable, labels: str | None) -> Example:
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        lead = draw(st.sampled_from(LEAD))
        grid, scale = draw(st.booleans()), draw(st.sampled_from([0.01, 1.0, 100.0]))
        opts = {} if (eps := draw(maybe(st.sampled_from([1e-7, 1e-3, 0.5])))) is None else {"eps": eps}
        args = [_boxes(rng, lead, grid, scale), _boxes(rng, lead, grid, scale)]
        return Example(name, args, opts, diff=(0, 1), sample_shape=lead)
    return gen


EPS = Hyper("eps", (0.0, -1e-7))

SPECS: list[Spec] = [Spec(name, box_pair(name), hypers=(EPS,)) for name in ("iou_loss", "giou_loss", "diou_loss",
                                                                             "ciou_loss")]

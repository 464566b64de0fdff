"""Fuzz specs of the CTC family (#9), appended to ``fuzz_strategies.SPECS``.

Logits from a seeded normal at three scales, labels with repeats (hypothesis draws the seed, the sizes, the
blank, the layout and the options), every label within its length (a mutated label past its length would be
padding, which CTC ignores by design) and input lengths from the shortest feasible one (labels plus one
blank per repeat) to ``T``: every value is finite, and the backends agree at 1e-12.  The shape mutation
targets ``label_lengths`` (another ``T`` or ``S`` is a valid call).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from fuzz_strategies import CAMPAIGN, Example, Hyper, Spec, maybe
from hypothesis import strategies as st

N_SIDES = (1, 2, 3) if CAMPAIGN else (2,)
T_SIDES = (1, 2, 4, 6) if CAMPAIGN else (4,)
C_SIDES = (2, 3, 5) if CAMPAIGN else (3,)
S_SIDES = (0, 1, 2, 3) if CAMPAIGN else (2,)


def _ctc(draw: Callable, labels: str | None) -> Example:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n, t, c, s = (draw(st.sampled_from(v)) for v in (N_SIDES, T_SIDES, C_SIDES, S_SIDES))
    blank = draw(maybe(st.integers(0, c - 1)))
    b = 0 if blank is None else blank
    others = [k for k in range(c) if k != b]
    y = rng.choice(others, size=(n, s)) if s else np.zeros((n, 0), np.int64)
    if s > 1 and draw(st.booleans()):
        y[:, 1] = y[:, 0]  # a repeat: one more frame needed
    need = s + (np.sum(y[:, 1:] == y[:, :-1], axis=1) if s > 1 else np.zeros(n, np.int64))
    t = max(t, int(need.max()) if n else 0, 1)
    il = np.array([rng.integers(k, t + 1) for k in need], np.int64)
    z = rng.normal(size=(n, t, c)) * draw(st.sampled_from([0.3, 1.0, 3.0]))
    opts = {} if blank is None else {"blank": blank}
    for key in ("time_major", "zero_infinity", "length_normalize"):
        if (v := draw(maybe(st.booleans()))) is not None:
            opts[key] = v
    if opts.get("time_major"):
        z = np.ascontiguousarray(np.transpose(z, (1, 0, 2)))
    dtype = draw(st.sampled_from([np.int64, np.int32]))
    return Example("ctc", [z, y.astype(dtype), il.astype(dtype), np.full(n, s, dtype)], opts, diff=(0,),
                   sample_shape=(n,), labels=1, classes=c)


SPECS: list[Spec] = [Spec("ctc", _ctc, hypers=(Hyper("blank", (-1, 100, 2.0)),), int_labels=True, shape_position=3)]

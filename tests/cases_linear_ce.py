"""Test cases of ``xploss.losses._linear_ce`` (see ``cases.py``).

Independent NumPy reference: the logits ``h Wᵀ + b`` formed whole (an explicit loop over rows and classes)
and the cross-entropy of ``cases.ref_cross_entropy`` (explicit ``log(softmax)`` per row) applied to them.
Blocks of 3 classes over ``V = 7`` (the last block narrower than the others).
"""

from __future__ import annotations

import numpy as np
from cases import Case, ce_norm, ref_cross_entropy

import xploss

N, H, V = 4, 3, 7  # V != N: the generic torch.func.vmap test maps the arrays with N leading rows
CHUNK = 3


def _logits(h: np.ndarray, w: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    z = np.zeros((h.shape[0], w.shape[0]))
    for i in range(h.shape[0]):
        for k in range(w.shape[0]):
            z[i, k] = sum(h[i, j] * w[k, j] for j in range(h.shape[1])) + (0.0 if bias is None else bias[k])
    return z


def ref_linear_cross_entropy(h, w, y, *, bias=None, chunk_size=None, **ce):
    return ref_cross_entropy(_logits(h, w, bias), y, **ce)


def lce_norm(h, w, y, *, bias=None, chunk_size=None, **ce):
    return ce_norm(None, y, **ce)


def lce_inputs(ignore: bool = False):
    def make(rng: np.random.Generator) -> tuple:
        h, w = rng.normal(size=(N, H)), rng.normal(size=(V, H))
        y = rng.integers(0, V, size=N)
        if ignore:
            y[1] = -100
        return h, w, y
    return make


def _huge(a: tuple) -> tuple:
    return (a[0] * 1e4, *a[1:])


# coupled: class_weights is shared by the batch (a concatenated batch does not concatenate it), as arcface's
_LCE = dict(fn=xploss.linear_cross_entropy, ref=ref_linear_cross_entropy, diff=(0, 1), norm=lce_norm, nonneg=True,
            extreme=_huge, light=True, coupled=True)

# the first case (the generic tests' one per loss) passes no bias: the criterion takes it in forward, not
# in its constructor
CASES = [
    Case("linear_ce-cw-ignore", make=lce_inputs(ignore=True),
         opts={"class_weight": np.linspace(0.5, 2.0, V), "chunk_size": CHUNK}, **_LCE),
    Case("linear_ce-bias-smoothing", make=lce_inputs(),
         opts={"bias": np.linspace(-1.0, 1.0, V), "label_smoothing": 0.1, "chunk_size": CHUNK}, **_LCE),
]

"""Documented subgradients at kinks: the same on every backend.

The frameworks disagree here (BUILTINS.md §3.1-3.2: JAX's ``abs'(0) = +1``,
torch's and TF's 0; ``maximum`` ties split or not), so each value below is
xploss' documented choice, asserted identical on all five backends.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import Backend
from helpers import assert_close, to_backend

import xploss

# (id, loss, inputs, options, argnum, expected gradient) — inputs exactly at the kink.
KINKS = [
    # |r| at r = 0: sign(0) = 0 (torch, TF), not JAX's +1.
    ("mae-at-0", xploss.mae, ([0.0, 1.0], [0.0, 0.0]), {"reduction": "sum"}, 0, [0.0, 1.0]),
    # Huber at |r| = delta: continuous, ±delta.
    ("huber-at-delta", xploss.huber, ([0.5, -0.5], [0.0, 0.0]), {"delta": 0.5, "reduction": "sum"}, 0,
     [0.5, -0.5]),
    # Quantile at y = p: 0 (tau = 0.3; the one-sided slopes are -0.3 and 0.7).
    ("quantile-at-0", xploss.quantile, ([1.0], [1.0]), {"tau": 0.3, "reduction": "sum"}, 0, [0.0]),
    # Triplet hinge at z = 5 - 6 + 1 = 0: full gradient, torch's clamp_min (a=0, p=(3,4), n=(6,0)).
    ("triplet-at-hinge", xploss.triplet_margin, ([[0.0, 0.0]], [[3.0, 4.0]], [[6.0, 0.0]]),
     {"eps": 0.0, "margin": 1.0, "reduction": "sum"}, 0, [[-0.6 + 1.0, -0.8]]),
    # multi_margin at z = 0: torch's strict z > 0, zero gradient (x_y - x_i = margin exactly).
    ("multi_margin-at-0", xploss.multi_margin, ([[2.0, 1.0]], [0]), {"reduction": "sum"}, 0, [[0.0, 0.0]]),
    # categorical_hinge with a tie in the inner max: split equally (Keras on TF).
    ("categorical_hinge-tie", xploss.categorical_hinge, ([[0.0, 1.0, 1.0]], [0]), {"reduction": "sum"}, 0,
     [[-1.0, 0.5, 0.5]]),
    # Binary hinge at y*p = 1: full gradient (Keras on TF, torch's MarginRankingLoss).
    ("hinge-at-margin", xploss.hinge, ([1.0, -0.5, 2.0], [1, 0, 1]), {"reduction": "sum"}, 0, [-1.0, 1.0, 0.0]),
    # Squared hinge at the margin: 0.
    ("squared_hinge-at-margin", xploss.squared_hinge, ([1.0, -1.0], [1, 0]), {"reduction": "sum"}, 0,
     [0.0, 0.0]),
    # Keras clip exactly at the edge p = eps: the full gradient (Keras on TF), -1/p and 1/(1-p).
    ("bce-at-clip-edge", xploss.binary_cross_entropy, ([0.25, 0.75], [1.0, 0.0]), {"eps": 0.25, "reduction": "sum"},
     0, [-4.0, 4.0]),
]


@pytest.mark.parametrize(("case", "fn", "inputs", "opts", "argnum", "expected"), KINKS, ids=[k[0] for k in KINKS])
def test_documented_subgradient(backend: Backend, case, fn, inputs, opts, argnum, expected) -> None:
    arrays = [to_backend(backend, np.asarray(x), "float64" if np.asarray(x).dtype.kind == "f" else None)
              for x in inputs]
    _, grad = xploss.value_and_grad(fn, argnums=argnum)(*arrays, **opts)
    assert_close(grad, np.asarray(expected), dtype="float64", b=backend, what=case)

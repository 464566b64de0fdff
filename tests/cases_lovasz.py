"""Test cases of ``xploss.losses._lovasz`` (see ``cases.py``).

The reference is Berman et al.'s algorithm written out in NumPy from the paper and its reference code
(``lovasz_grad``: ``J_k = 1 − (F − cumsum f) / (F + cumsum(1 − f))``, first differences; errors sorted in
decreasing order), one image at a time, with the void pixels dropped.  Inputs are continuous draws:
no two errors tie, no hinge error sits at 0.
"""

from __future__ import annotations

import numpy as np
from cases import Case

import xploss

N, C, H, W = 3, 3, 2, 3
VOID = 5


def jaccard_steps(f_sorted: np.ndarray) -> np.ndarray:
    total = f_sorted.sum()
    out, prev = np.zeros(f_sorted.size), 0.0
    for k in range(f_sorted.size):
        inter = total - f_sorted[:k + 1].sum()
        union = total + (1.0 - f_sorted[:k + 1]).sum()
        jac = 1.0 - inter / union
        out[k], prev = jac - prev, jac
    return out


def lovasz_extension(errors: np.ndarray, f: np.ndarray) -> float:
    order = np.argsort(-errors, kind="stable")
    return float(np.dot(errors[order], jaccard_steps(f[order]))) if errors.size else 0.0


def _softmax(z: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def ref_lovasz_softmax_image(p: np.ndarray, y: np.ndarray, classes: str = "present",
                             ignore_index: int | None = None) -> float:
    """One group: ``p`` (C, pixels...), ``y`` (pixels...)."""
    p = p.reshape(p.shape[0], -1)
    y = y.reshape(-1)
    keep = np.ones(y.shape, bool) if ignore_index is None else y != ignore_index
    p, y = p[:, keep], y[keep]
    losses = []
    for c in range(p.shape[0]):
        f = (y == c).astype(float)
        if classes == "present" and f.sum() == 0:
            continue
        losses.append(lovasz_extension(np.abs(f - p[c]), f))
    return float(np.mean(losses)) if losses else 0.0


def ref_lovasz_softmax(z, y, *, axis=1, from_logits=False, per="batch", classes="present", ignore_index=None):
    p = _softmax(z, axis) if from_logits else z
    p = np.moveaxis(p, axis, 1)
    if per == "sample":
        return np.array([ref_lovasz_softmax_image(p[i], y[i], classes, ignore_index) for i in range(p.shape[0])])
    return np.array(ref_lovasz_softmax_image(np.moveaxis(p, 1, 0), y, classes, ignore_index))


def ref_lovasz_hinge(x, y, *, per="sample", ignore_index=None):
    def one(x, y):
        x, y = x.reshape(-1), y.reshape(-1)
        if ignore_index is not None:
            x, y = x[y != ignore_index], y[y != ignore_index]
        f = (y == 1).astype(float)
        return lovasz_extension(np.maximum(1.0 - x * (2.0 * f - 1.0), 0.0), f)
    if per == "sample":
        return np.array([one(x[i], y[i]) for i in range(x.shape[0])])
    return np.array(one(x, y))


def softmax_inputs(rng: np.random.Generator) -> tuple:
    return rng.normal(scale=2.0, size=(N, C, H, W)), rng.integers(0, C, size=(N, H, W))


def hinge_inputs(rng: np.random.Generator) -> tuple:
    for _ in range(100):
        x = rng.normal(scale=2.0, size=(N, H, W))
        y = rng.integers(0, 2, size=(N, H, W))
        if np.abs(1.0 - x * (2.0 * y - 1.0)).min() > 0.05:  # no hinge error at its kink
            return x, y
    raise RuntimeError("no draw off the hinge kink")


CASES = [
    Case("lovasz_softmax-per_sample", xploss.lovasz_softmax, softmax_inputs, ref_lovasz_softmax,
         {"axis": 1, "from_logits": True, "per": "sample"}, diff=(0,), nonneg=True, light=True,
         extreme=lambda a: (a[0] * 1e6, a[1])),
    Case("lovasz_hinge", xploss.lovasz_hinge, hinge_inputs, ref_lovasz_hinge, diff=(0,), nonneg=True, light=True,
         extreme=lambda a: (a[0] * 1e6, a[1])),
]

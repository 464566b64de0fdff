"""Test cases of ``xploss.losses._overlap`` (see ``cases.py``).

The reference :func:`ref_overlap` is written from the definitions (Salehi et al.'s Tversky index,
Sudre et al.'s generalised Dice, the MONAI / segmentation_models_pytorch conventions of BUILTINS-2
§2.1-2.3), in float64 with explicit loops over the groups (images, or the batch) and the classes:
for each group and class it sums ``I = Σ m p g``, ``P = Σ m p``, ``G = Σ m g`` over the group's
non-void pixels and forms ``T = (I + s_n) / (I + α (P − I) + β (G − I) + s)``.  Inputs are continuous
draws (no ``min(p, g)`` tie, no perfect class), so finite differences are meaningful.
"""

from __future__ import annotations

import numpy as np
from cases import Case

import xploss

N, C, H, W = 3, 3, 2, 3
VOID = 9


# -- the reference ----------------------------------------------------------------------------------

def _probabilities(z: np.ndarray, axis: int, from_logits: bool, activation: str) -> np.ndarray:
    if not from_logits:
        return z
    if activation == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def dense_parts(z: np.ndarray, t: np.ndarray, *, axis: int = 1, from_logits: bool = False,
                activation: str = "softmax", ignore_index: int | None = None) -> tuple:
    """``(p, g, m)``: probabilities and targets as ``(N, C, pixels)``, the void mask as ``(N, pixels)``."""
    axis %= z.ndim
    p = _probabilities(np.asarray(z, np.float64), axis, from_logits, activation)
    n, c = p.shape[0], p.shape[axis]
    p = np.moveaxis(p, axis, 1).reshape(n, c, -1)
    if t.ndim == z.ndim - 1:  # integer class maps
        labels = t.reshape(n, -1)
        g = np.zeros_like(p)
        for k in range(c):
            g[:, k] = labels == k
        m = np.ones(labels.shape) if ignore_index is None else (labels != ignore_index).astype(float)
    else:
        g = np.moveaxis(np.asarray(t, np.float64), axis, 1).reshape(n, c, -1)
        m = np.ones((n, p.shape[2]))
    return p, g, m


def _index(i: float, big_p: float, big_g: float, alpha: float, beta: float, sn: float, sd: float) -> float:
    num = i + sn
    den = i + alpha * (big_p - i) + beta * (big_g - i) + sd
    return 1.0 if den == 0 else num / den


def _group_counts(p: np.ndarray, g: np.ndarray, m: np.ndarray, squared: bool, intersection: str) -> tuple:
    """Sums over one group's pixels: ``p, g`` of shape (pixels,), ``m`` the mask."""
    inter = np.sum(m * (p * g if intersection == "product" else np.minimum(p, g)))
    big_p = np.sum(m * (p * p if squared else p))
    big_g = np.sum(m * (g * g if squared else g))
    return inter, big_p, big_g


def ref_overlap(z, t, *, axis=1, from_logits=False, activation="softmax", per="sample", alpha=0.5, beta=0.5,
                gamma=1.0, squared=False, intersection="product", smooth=1e-5, smooth_numerator=None,
                include_background=True, class_weight=None, ignore_index=None, empty="smooth",
                generalized=False, weight_type="square", present=False):
    """The loss per image (``per="sample"``, shape (N,)) or of the batch (0-d).

    ``present=True`` returns instead whether each group enters the mean (``empty="ignore"``).
    """
    sd = smooth
    sn = smooth if smooth_numerator is None else smooth_numerator
    p, g, m = dense_parts(z, t, axis=axis, from_logits=from_logits, activation=activation,
                          ignore_index=ignore_index)
    n, c, _ = p.shape
    classes = [k for k in range(c) if include_background or k > 0]
    if per == "sample":
        groups = [(p[i:i + 1], g[i:i + 1], m[i:i + 1]) for i in range(n)]
    else:
        groups = [(p, g, m)]
    losses, counts = [], []
    for gp, gg, gm in groups:
        if per == "all":  # everything pooled, the classes included
            mm = np.broadcast_to(gm[:, None], gp.shape)[:, classes]
            cnt = _group_counts(gp[:, classes].ravel(), gg[:, classes].ravel(), mm.ravel(), squared, intersection)
            losses.append(max(1.0 - _index(*cnt, alpha, beta, sn, sd), 0.0) ** gamma)
            counts.append(1.0)
            continue
        cnt = {k: _group_counts(gp[:, k].ravel(), gg[:, k].ravel(), gm.ravel(), squared, intersection)
               for k in classes}
        if generalized:
            w = {}
            for k in classes:
                big_g = cnt[k][2]
                w[k] = None if big_g == 0 else (1.0 if weight_type == "uniform" else
                                                 1.0 / big_g ** (2 if weight_type == "square" else 1))
            finite = [v for v in w.values() if v is not None]
            fill = max(finite) if finite else 0.0
            w = {k: (fill if v is None else v) for k, v in w.items()}
            num = 2.0 * sum(w[k] * cnt[k][0] for k in classes) + 2.0 * sn
            den = sum(w[k] * (cnt[k][1] + cnt[k][2]) for k in classes) + 2.0 * sd
            losses.append(0.0 if den == 0 else 1.0 - num / den)
            counts.append(1.0)
            continue
        cw = {k: 1.0 if class_weight is None else float(class_weight[k]) for k in classes}
        ell = {k: max(1.0 - _index(*cnt[k], alpha, beta, sn, sd), 0.0) ** gamma for k in classes}
        if empty == "smooth":
            losses.append(sum(cw[k] * ell[k] for k in classes) / sum(cw.values()))
            counts.append(1.0)
        elif empty == "zero":
            losses.append(sum(cw[k] * ell[k] for k in classes if cnt[k][2] > 0) / sum(cw.values()))
            counts.append(1.0)
        else:  # ignore: only the classes with target pixels; a group without any leaves the mean
            hit = [k for k in classes if cnt[k][2] > 0]
            den = sum(cw[k] for k in hit)
            losses.append(sum(cw[k] * ell[k] for k in hit) / den if den > 0 else 0.0)
            counts.append(float(den > 0))
    out = np.array(counts if present else losses)
    return out if per == "sample" else out[0]


def ref_dice(z, t, **kw):
    return ref_overlap(z, t, **kw)


def ref_tversky(z, t, **kw):
    return ref_overlap(z, t, **kw)


def ref_jaccard(z, t, **kw):
    return ref_overlap(z, t, alpha=1.0, beta=1.0, **kw)


def ref_focal_tversky(z, t, *, alpha=0.3, beta=0.7, gamma=0.75, **kw):
    return ref_overlap(z, t, alpha=alpha, beta=beta, gamma=gamma, **kw)


def ref_generalized_dice(z, t, **kw):
    return ref_overlap(z, t, generalized=True, **kw)


REFS = {"dice": ref_dice, "tversky": ref_tversky, "jaccard": ref_jaccard, "focal_tversky": ref_focal_tversky,
        "generalized_dice": ref_generalized_dice}


def ignore_norm(z, t, **kw):
    """``(valid, None)`` of ``empty="ignore"``: the images that hold a target class."""
    return ref_overlap(z, t, present=True, **kw), None


# -- generators -------------------------------------------------------------------------------------

def _softmax1(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def label_maps(void: bool = False, logits: bool = False, shape: tuple = (N, C, H, W)) -> callable:
    """Probabilities (or logits) ``(N, C, H, W)`` and class maps ``(N, H, W)`` (a few void pixels)."""
    def make(rng: np.random.Generator) -> tuple:
        z = rng.normal(scale=1.5, size=shape)
        y = rng.integers(0, shape[1], size=shape[:1] + shape[2:])
        if void:
            y.reshape(-1)[[1, 4, 8, 13]] = VOID
        return (z if logits else _softmax1(z)), y
    return make


def soft_targets(rng: np.random.Generator) -> tuple:
    """Soft probabilities and soft targets, both ``(N, C, H, W)``, rows summing to 1."""
    return _softmax1(rng.normal(size=(N, C, H, W))), _softmax1(rng.normal(scale=2.0, size=(N, C, H, W)))


def present_maps(rng: np.random.Generator) -> tuple:
    """Class maps where image 0 lacks class 2 and image 1 holds only class 0 (empty='ignore' rows)."""
    p, y = label_maps()(rng)
    y[0][y[0] == 2] = 1
    y[1] = 0
    return p, y


def _huge(a: tuple) -> tuple:
    return (a[0] * 1e4, a[1])


CASES = [
    Case("dice-labels", xploss.dice, label_maps(), ref_dice, {"axis": 1}, diff=(0,), light=True),
    Case("dice-soft_target", xploss.dice, soft_targets, ref_dice, {"axis": 1, "smooth": 0.1}, diff=(0, 1),
         light=True),
    Case("tversky-logits-ignore", xploss.tversky, label_maps(void=True, logits=True), ref_tversky,
         {"axis": 1, "from_logits": True, "alpha": 0.3, "beta": 0.7, "ignore_index": VOID}, diff=(0,), nonneg=True,
         light=True, extreme=_huge),
    Case("focal_tversky-ignore_empty", xploss.focal_tversky, present_maps, ref_focal_tversky,
         {"axis": 1, "gamma": 1.5, "empty": "ignore", "class_weight": np.array([0.5, 1.0, 2.0])}, diff=(0,),
         light=True, norm=ignore_norm),
    Case("generalized_dice", xploss.generalized_dice, present_maps, ref_generalized_dice, {"axis": 1}, diff=(0,),
         light=True),
]

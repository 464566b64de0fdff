"""Per-loss test table of the binary classification losses (extends ``cases.py``).

References are naive elementwise formulas written from BUILTINS §1-2: torch
``BCELoss`` (logs clamped at -100), Keras ``binary_crossentropy`` /
``binary_focal_crossentropy`` (probabilities clipped to ``[eps, 1 - eps]``,
``p_t`` on the unclipped ``p``), the textbook ``-(w⁺ t log σ + (1 - t) log(1 - σ))``
for logits, torchvision's ``sigmoid_focal_loss``, torch's
``multilabel_soft_margin_loss`` as a per-row loop and Keras' hinge label rule.
Inputs stay away from clip edges and hinge kinks; ``extreme`` puts
probabilities at exactly 0 and 1 and logits at ±1e4.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from cases import Case, N, _away, _huge_logits

import xploss

C = 3

# -- references ---------------------------------------------------------------------------

def _smooth(y, ls):
    return y * (1.0 - ls) + 0.5 * ls

def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))

def _bce_of(p, t):
    """Textbook binary cross-entropy of a probability (no clip, no clamp)."""
    return -(t * np.log(p) + (1.0 - t) * np.log(1.0 - p))

def ref_bce(p, y, *, eps=None, label_smoothing=0.0):
    t = _smooth(y, label_smoothing)
    if eps is not None:  # Keras: clip, then the textbook formula
        return _bce_of(np.clip(p, eps, 1.0 - eps), t)
    with np.errstate(divide="ignore"):  # torch: each log clamped at -100
        return -(t * np.maximum(np.log(p), -100.0) + (1.0 - t) * np.maximum(np.log(1.0 - p), -100.0))

def ref_binary_focal(p, y, *, alpha=0.25, gamma=2.0, label_smoothing=0.0, eps=1e-7):
    """Keras binary_focal_crossentropy: focal factor on the unclipped p, BCE on the clipped one."""
    t = _smooth(y, label_smoothing)
    p_t = t * p + (1.0 - t) * (1.0 - p)
    loss = (1.0 - p_t) ** gamma * _bce_of(np.clip(p, eps, 1.0 - eps), t)
    return loss if alpha is None else (t * alpha + (1.0 - t) * (1.0 - alpha)) * loss

def ref_sigmoid_bce(z, y, pos_weight=None, *, label_smoothing=0.0):
    t = _smooth(y, label_smoothing)
    s = _sigmoid(z)
    pw = 1.0 if pos_weight is None else pos_weight
    return -(pw * t * np.log(s) + (1.0 - t) * np.log(1.0 - s))

def ref_sigmoid_focal(z, y, *, alpha=0.25, gamma=2.0, label_smoothing=0.0):
    """torchvision.ops.sigmoid_focal_loss, line by line (labels smoothed first, as Keras)."""
    t = _smooth(y, label_smoothing)
    p = _sigmoid(z)
    ce = _bce_of(p, t)
    p_t = p * t + (1.0 - p) * (1.0 - t)
    loss = ce * (1.0 - p_t) ** gamma
    if alpha is not None and alpha >= 0:
        loss = (alpha * t + (1.0 - alpha) * (1.0 - t)) * loss
    return loss

def ref_soft_margin(z, y):
    return np.log(1.0 + np.exp(-y * z))

def ref_multilabel_soft_margin(z, y, *, class_weight=None):
    """torch: per row, -(1/C) sum_c w_c [y log σ(z) + (1 - y) log σ(-z)]."""
    w = np.ones(z.shape[-1]) if class_weight is None else class_weight
    out = np.zeros(z.shape[:-1])
    for i in np.ndindex(out.shape):
        out[i] = np.mean([w[c] * _bce_of(_sigmoid(z[i][c]), y[i][c]) for c in range(z.shape[-1])])
    return out

def ref_hinge(p, y, *, squared=False):
    """Keras: labels -> 2y - 1 only if every label is 0 or 1."""
    if np.all((y == 0) | (y == 1)):
        y = 2.0 * y - 1.0
    h = np.maximum(1.0 - y * p, 0.0)
    return h * h if squared else h

def ref_sigmoid_bce_pw(z, y, pw, **opts):
    return ref_sigmoid_bce(z, y, pw, **opts)

def sigmoid_bce_pw(z, y, pw, /, **kw):
    """``pos_weight`` as a positional argument, so that its gradient is checked too."""
    return xploss.sigmoid_binary_cross_entropy(z, y, pos_weight=pw, **kw)

# -- generators ---------------------------------------------------------------------------

def _labels(rng: np.random.Generator, shape: tuple = (N, C)) -> np.ndarray:
    """Soft labels, with the first two rows hard (0/1)."""
    y = rng.uniform(0.0, 1.0, shape)
    y[:2] = rng.integers(0, 2, (2,) + shape[1:])
    return y

def probabilities(clip: float | None = None) -> Callable:
    """Probabilities in [0.1, 0.9]; with ``clip`` (an eps), a share inside the clipped zones
    ``[0, clip/2]`` and ``[1 - clip/2, 1]`` (zero gradient, far from the edge)."""
    def make(rng: np.random.Generator) -> tuple:
        p = rng.uniform(0.1, 0.9, (N, C))
        if clip is not None:
            p[2, :2] = rng.uniform(0.0, clip / 2, 2)
            p[3, 1:] = rng.uniform(1.0 - clip / 2, 1.0, 2)
        return p, _labels(rng)
    return make

def logits(labels: str = "soft", pos_weight: bool = False) -> Callable:
    """Logits ~ N(0, 2²); labels soft (first rows hard), hard 0/1 or ±1; optional positive ``pos_weight``."""
    def make(rng: np.random.Generator) -> tuple:
        z = rng.normal(scale=2.0, size=(N, C))
        if labels == "soft":
            y = _labels(rng)
        else:
            y = rng.integers(0, 2, (N, C)).astype(float)
            y = 2.0 * y - 1.0 if labels == "pm1" else y
        return (z, y, rng.uniform(0.5, 3.0, C)) if pos_weight else (z, y)
    return make

def hinge_inputs(labels: str) -> Callable:
    """Scores whose slack ``1 - ỹ p`` stays GAP away from 0; labels 0/1, ±1 or mixed {-1, 0, 1}."""
    def make(rng: np.random.Generator) -> tuple:
        if labels == "01":
            y = rng.integers(0, 2, (N, C)).astype(float)
            signed = 2.0 * y - 1.0
        else:
            y = rng.choice([-1.0, 1.0], (N, C))
            if labels == "mixed":
                # a 0 and a -1 always: Keras then keeps every label as is (without a -1 it maps 0/1 to -1/1)
                y[0, 0], y[1, 2], y[2, 1] = 0.0, 0.0, -1.0
            signed = y
        slack = _away(rng, (N, C), -2.0, 2.0, (0.0,))
        p = np.where(signed != 0, signed * (1.0 - slack), rng.normal(size=(N, C)))
        return p, y
    return make

# -- extreme inputs -----------------------------------------------------------------------

def certain(a: tuple) -> tuple:
    """Probabilities exactly 0 or 1: a wrong and a right certain prediction among them."""
    p, y = a[0], a[1]
    edge = np.where(p >= 0.5, 1.0, 0.0)
    edge[0] = 1.0 - np.round(y[0])  # certain and wrong
    edge[1] = np.round(y[1])  # certain and right
    return (edge, *a[1:])

# -- the table ----------------------------------------------------------------------------

_PROB = dict(extreme=certain)  # probabilities scaled by the properties would leave [0, 1]
_LOGIT = dict(nonneg=True, extreme=_huge_logits)
_BCE = dict(fn=xploss.binary_cross_entropy, ref=ref_bce, **_PROB)
_BFOCAL = dict(fn=xploss.binary_focal, ref=ref_binary_focal, **_PROB)
_SBCE = dict(fn=xploss.sigmoid_binary_cross_entropy, ref=ref_sigmoid_bce, **_LOGIT)
_SFOCAL = dict(fn=xploss.sigmoid_focal, ref=ref_sigmoid_focal, **_LOGIT)
_MLSM = dict(fn=xploss.multilabel_soft_margin, ref=ref_multilabel_soft_margin, **_LOGIT)
_HINGE = dict(diff=(0,), nonneg=True, extreme=lambda a: (a[0] * 1e6, a[1]))
_CW = np.array([0.5, 2.0, 1.3])

CASES = [
    Case("bce-torch", make=probabilities(), **_BCE),
    Case("bce-keras-smoothing", make=probabilities(), opts={"eps": 1e-7, "label_smoothing": 0.1}, **_BCE),
    Case("bce-keras-clipped", make=probabilities(0.05), opts={"eps": 0.05}, **_BCE),
    Case("binary_focal", make=probabilities(), **_BFOCAL),
    Case("binary_focal-gamma0.5-noalpha-smoothing-clipped", make=probabilities(0.05),
         opts={"alpha": None, "gamma": 0.5, "label_smoothing": 0.1, "eps": 0.05}, **_BFOCAL),
    Case("sbce", make=logits(), **_SBCE),
    Case("sbce-pos_weight-smoothing", make=logits(), opts={"pos_weight": _CW, "label_smoothing": 0.2}, **_SBCE),
    Case("sbce-pos_weight-grad", sigmoid_bce_pw, logits(pos_weight=True), ref_sigmoid_bce_pw, diff=(0, 1, 2),
         weighted=False, reductions=("sum", "mean"), nonneg=True),
    Case("sigmoid_focal", make=logits("01"), **_SFOCAL),
    Case("sigmoid_focal-gamma0.5-noalpha-smoothing", make=logits(),
         opts={"alpha": None, "gamma": 0.5, "label_smoothing": 0.1}, **_SFOCAL),
    Case("sigmoid_focal-gamma1-alpha-negative", make=logits(), opts={"alpha": -1.0, "gamma": 1.0}, **_SFOCAL),
    Case("soft_margin", xploss.soft_margin, logits("pm1"), ref_soft_margin, **_LOGIT),
    Case("multilabel_soft_margin", make=logits(), **_MLSM),
    Case("multilabel_soft_margin-class_weight", make=logits(), opts={"class_weight": _CW}, **_MLSM),
    Case("hinge-01", xploss.hinge, hinge_inputs("01"), ref_hinge, **_HINGE),
    Case("hinge-pm1", xploss.hinge, hinge_inputs("pm1"), ref_hinge, **_HINGE),
    Case("hinge-mixed", xploss.hinge, hinge_inputs("mixed"), ref_hinge, **_HINGE),
    Case("squared_hinge-01", xploss.squared_hinge, hinge_inputs("01"),
         lambda p, y: ref_hinge(p, y, squared=True), **_HINGE),
]

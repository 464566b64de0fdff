"""The per-loss table behind ``test_losses.py``.

Each :class:`Case` names one public loss with one set of options, a seeded
NumPy input generator (inputs kept away from kinks, so that finite
differences are meaningful) and an **independent** NumPy reference for the
unreduced loss, written from the definitions in ``CATALOGUE.md`` and
``BUILTINS.md`` (naive formulas and loops; no xploss code).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import xploss
from conformance import cases as conformance_cases

N, D, C = 4, 3, 3  # batch, features, classes: small on purpose
GAP = 0.05  # minimum distance of any input from a kink of its loss


@dataclass(frozen=True)
class Case:
    id: str
    fn: Callable[..., Any]
    make: Callable[[np.random.Generator], tuple]  # positional inputs (NumPy arrays or Python floats)
    ref: Callable[..., np.ndarray]  # ref(*inputs, **opts) -> unreduced loss (float64)
    opts: dict = field(default_factory=dict)  # keyword options; NumPy arrays go to the backend too
    diff: tuple[int, ...] = (0, 1)  # differentiable positional inputs
    reductions: tuple[str, ...] = ("none", "sum", "mean", "weighted_mean")
    weighted: bool = True  # accepts a per-sample ``weight``
    # (valid mask, per-sample normaliser) for "mean" / "weighted_mean"; None: every sample counts 1
    norm: Callable[..., tuple] | None = None
    extreme: Callable[[tuple], tuple] | None = None  # huge inputs: value and gradient must stay finite
    nonneg: bool = False
    zero_at_perfect: bool = False
    # batch-coupled (in-batch negatives, mining): the loss of a concatenated batch is not the sum of the parts'
    coupled: bool = False
    # fewer reduction combos (each a JAX compilation): the per-sample loss goes through the shared reduction
    # code the other families test at length (the dense, box and sequence families, #9)
    light: bool = False

    def __repr__(self) -> str:
        return self.id


# -- input generators -------------------------------------------------------------------

def _away(rng: np.random.Generator, shape: tuple, low: float, high: float, kinks: tuple = ()) -> np.ndarray:
    """Uniform draws in [low, high) at least GAP away from every kink (and from ±kink)."""
    return conformance_cases._away(rng, shape, low, high, kinks, gap=GAP)


def residual_pair(*kinks: float, scale: float = 2.0) -> Callable:
    """(pred, target) whose residual avoids ``|r| in kinks``."""
    def make(rng: np.random.Generator) -> tuple:
        y = rng.uniform(-scale, scale, size=(N, D))
        return y + _away(rng, (N, D), -scale, scale, kinks), y
    return make


def positive_pair(low_p: float = 0.2, low_y: float = 0.0) -> Callable:
    def make(rng: np.random.Generator) -> tuple:
        return rng.uniform(low_p, 3.0, size=(N, D)), rng.uniform(low_y, 4.0, size=(N, D))
    return make


def _msle_inputs(rng: np.random.Generator) -> tuple:
    p = rng.uniform(0.1, 3.0, size=(N, D))
    p[0] = -rng.uniform(0.1, 1.0, size=D)  # clamped at eps: zero gradient (Keras)
    return p, rng.uniform(0.1, 3.0, size=(N, D))


def _mape_inputs(rng: np.random.Generator) -> tuple:
    y = rng.choice([-1.0, 1.0], size=(N, D)) * rng.uniform(0.5, 2.0, size=(N, D))
    return y + _away(rng, (N, D), -2.0, 2.0, (0.0,)), y


def _counts(rng: np.random.Generator) -> np.ndarray:
    """Targets on both sides of torch's Stirling mask ``y > 1``, away from 1."""
    y = rng.uniform(1.3, 5.0, size=(N, D))
    y[::2, 0] = rng.uniform(0.1, 0.8, size=y[::2, 0].shape)
    return y


def poisson_inputs(log_input: bool) -> Callable:
    def make(rng: np.random.Generator) -> tuple:
        p = rng.uniform(-1.0, 1.0, size=(N, D)) if log_input else rng.uniform(0.2, 3.0, size=(N, D))
        return p, _counts(rng)
    return make


def gaussian_inputs(var_shape: tuple | None) -> Callable:
    def make(rng: np.random.Generator) -> tuple:
        p, y = rng.normal(size=(N, D)), rng.normal(size=(N, D))
        var = 0.7 if var_shape is None else rng.uniform(0.3, 2.0, size=var_shape)
        return p, y, var
    return make


def _params(rng: np.random.Generator) -> tuple:
    return _away(rng, (N, D), -2.0, 2.0, (0.0,)), _away(rng, (5,), -2.0, 2.0, (0.0,))


def ce_labels(ignore: bool = False, shape: tuple = (N, C), axis: int = -1) -> Callable:
    def make(rng: np.random.Generator) -> tuple:
        z = rng.normal(scale=2.0, size=shape)
        lshape = shape[:axis % len(shape)] + shape[axis % len(shape) + 1:]
        y = rng.integers(0, shape[axis], size=lshape)
        if ignore:
            y.reshape(-1)[[1, 3]] = -100
        return z, y
    return make


def _ce_probs(rng: np.random.Generator) -> tuple:
    z = rng.normal(scale=2.0, size=(N, C))
    e = np.exp(rng.normal(size=(N, C)))
    return z, e / e.sum(axis=-1, keepdims=True)


def triplet_inputs(p: float = 2.0, eps: float = 1e-6, swap: bool = False, margin: float = 1.0) -> Callable:
    """Triplets with the hinge, every |component| (p=1) and the swap tie GAP away."""
    def make(rng: np.random.Generator) -> tuple:
        for _ in range(10000):
            a, pos, neg = (rng.normal(size=(N, D)) for _ in range(3))
            d_ap, d_an, d_pn = (_dist(x, y, p, eps) for x, y in ((a, pos), (a, neg), (pos, neg)))
            z = d_ap - (np.minimum(d_an, d_pn) if swap else d_an) + margin
            ok = np.all(np.abs(z) > GAP) and (not swap or np.all(np.abs(d_an - d_pn) > GAP))
            diffs = np.concatenate([a - pos, a - neg, pos - neg]) + eps
            if ok and np.all(np.abs(diffs) > GAP) and 0 < np.sum(z > 0) < N:
                return a, pos, neg
        raise RuntimeError("no triplet sample away from the kinks")
    return make


# -- references (independent: from the definitions) --------------------------------------

def ref_mse(p, y):
    return (p - y) ** 2


def ref_mae(p, y):
    return np.abs(p - y)


def ref_huber(p, y, *, delta):
    r = np.abs(p - y)
    return np.where(r <= delta, 0.5 * r ** 2, delta * (r - 0.5 * delta))


def ref_smooth_l1(p, y, *, beta):
    r = np.abs(p - y)
    if beta == 0:
        return r
    return np.where(r < beta, 0.5 * r ** 2 / beta, r - 0.5 * beta)


def ref_quantile(p, y, *, tau):
    u = y - p
    return np.maximum(tau * u, (tau - 1.0) * u)


def ref_log_cosh(p, y):
    return np.log(np.cosh(p - y))


def ref_msle(p, y, eps=1e-7):
    return (np.log(np.maximum(p, eps) + 1.0) - np.log(np.maximum(y, eps) + 1.0)) ** 2


def ref_mape(p, y, eps=1e-7):
    return 100.0 * np.abs(y - p) / np.maximum(np.abs(y), eps)


def ref_poisson(p, y, eps=1e-7):
    return p - y * np.log(p + eps)


def ref_poisson_nll(p, y, *, log_input=True, full=False, eps=1e-8):
    loss = np.exp(p) - y * p if log_input else p - y * np.log(p + eps)
    if full:
        stirling = np.zeros_like(y)
        for i in np.ndindex(y.shape):
            if y[i] > 1:
                stirling[i] = y[i] * math.log(y[i]) - y[i] + 0.5 * math.log(2 * math.pi * y[i])
        loss = loss + stirling
    return loss


def ref_gaussian_nll(p, y, var, *, full=False, eps=1e-6):
    var = np.asarray(var, dtype=np.float64)
    if 0 < var.ndim < p.ndim:  # torch: var of shape input.shape[:-1] is unsqueezed
        var = var[..., None]
    v = np.maximum(var, eps)
    loss = 0.5 * (np.log(v) + (p - y) ** 2 / v)
    return loss + (0.5 * math.log(2 * math.pi) if full else 0.0)


def ref_l1_penalty(*ws, lam):
    return np.concatenate([lam * np.abs(w).ravel() for w in ws])


def ref_l2_penalty(*ws, lam, half=False):
    return np.concatenate([lam * (0.5 if half else 1.0) * w.ravel() ** 2 for w in ws])


def _samples(z, t, axis):
    """Iterate (sample index, logit row, target) with the class axis moved last."""
    zl = np.moveaxis(z, axis, -1)
    tl = np.moveaxis(t, axis, -1) if t.shape == z.shape else t
    for i in np.ndindex(zl.shape[:-1]):
        yield i, zl[i], tl[i]


def ref_cross_entropy(z, t, *, axis=-1, class_weight=None, ignore_index=-100, label_smoothing=0.0):
    """Per-sample torch cross-entropy (§2.6): explicit log(softmax) per row."""
    n_cls = z.shape[axis]
    cw = np.ones(n_cls) if class_weight is None else np.asarray(class_weight, np.float64)
    ls = label_smoothing
    out = np.zeros(tuple(np.delete(z.shape, axis % z.ndim)))
    for i, row, target in _samples(z, t, axis):
        logp = [math.log(math.exp(row[k]) / sum(math.exp(v) for v in row)) for k in range(n_cls)]
        if np.ndim(target) == 0:  # class index: (1-ls) w_y nll + (ls/C) sum_k w_k (-log p_k)
            if target == ignore_index:
                continue
            smooth = -sum(cw[k] * logp[k] for k in range(n_cls))
            out[i] = (1 - ls) * (-cw[target] * logp[target]) + ls / n_cls * smooth
        else:  # probabilities: t (1-ls) + ls/C, weighted by w_k
            out[i] = -sum(cw[k] * ((1 - ls) * target[k] + ls / n_cls) * logp[k] for k in range(n_cls))
    return out


def ce_norm(z, y, *, axis=-1, class_weight=None, ignore_index=-100, label_smoothing=0.0):
    """Integer labels: valid = not ignored; torch's weighted-mean normaliser = w_y (0 if ignored)."""
    valid = (y != ignore_index).astype(np.float64)
    if class_weight is None:
        return valid, valid
    return valid, np.asarray(class_weight, np.float64)[np.where(y == ignore_index, 0, y)] * valid


def _dist(x1, x2, p, eps):
    """torch pairwise_distance: ||x1 - x2 + eps||_p per row, an explicit loop."""
    out = np.zeros(x1.shape[0])
    for i in range(x1.shape[0]):
        out[i] = sum(abs(a - b + eps) ** p for a, b in zip(x1[i], x2[i])) ** (1.0 / p)
    return out


def ref_triplet(a, pos, neg, *, margin=1.0, p=2.0, eps=1e-6, swap=False):
    d_an = _dist(a, neg, p, eps)
    if swap:
        d_an = np.minimum(d_an, _dist(pos, neg, p, eps))
    return np.maximum(_dist(a, pos, p, eps) - d_an + margin, 0.0)


# -- extreme inputs ---------------------------------------------------------------------

def far(by: float) -> Callable[[tuple], tuple]:
    """pred = target ± by (the sign of the residual kept)."""
    return lambda a: (a[1] + by * np.where(a[0] >= a[1], 1.0, -1.0), *a[1:])


def scaled(by: float, k: int = 1) -> Callable[[tuple], tuple]:
    """Multiply the first ``k`` inputs by ``by``."""
    return lambda a: (*(x * by for x in a[:k]), *a[k:])


def _huge_logits(a: tuple) -> tuple:
    return (1e4 * np.where(a[0] >= 0, 1.0, -1.0), *a[1:])


# -- the table --------------------------------------------------------------------------

_CW = np.array([0.5, 2.0, 1.3])
_REG = dict(nonneg=True, zero_at_perfect=True, extreme=far(1e6))
_CE = dict(fn=xploss.cross_entropy, ref=ref_cross_entropy, diff=(0,), nonneg=True, extreme=_huge_logits)
_CE_INT = dict(_CE, norm=ce_norm)
_GAUSS = dict(fn=xploss.gaussian_nll, ref=ref_gaussian_nll, diff=(0, 1, 2), extreme=far(1e6))
_PENALTY = dict(make=_params, reductions=("sum", "mean"), weighted=False, nonneg=True, extreme=scaled(1e6, 2))
_TRIPLET = dict(fn=xploss.triplet_margin, ref=ref_triplet, diff=(0, 1, 2), nonneg=True, extreme=scaled(1e6))

CASES = [
    Case("mse", xploss.mse, residual_pair(0.0), ref_mse, **_REG),
    Case("mae", xploss.mae, residual_pair(0.0), ref_mae, **_REG),
    Case("huber", xploss.huber, residual_pair(0.0, 0.7), ref_huber, {"delta": 0.7}, **_REG),
    Case("smooth_l1", xploss.smooth_l1, residual_pair(0.0, 0.6), ref_smooth_l1, {"beta": 0.6}, **_REG),
    Case("smooth_l1-beta0", xploss.smooth_l1, residual_pair(0.0), ref_smooth_l1, {"beta": 0.0}, **_REG),
    Case("quantile", xploss.quantile, residual_pair(0.0), ref_quantile, {"tau": 0.3}, **_REG),
    Case("log_cosh", xploss.log_cosh, residual_pair(0.0), ref_log_cosh, **_REG),
    Case("msle", xploss.msle, _msle_inputs, ref_msle, nonneg=True, extreme=scaled(1e6)),
    Case("mape", xploss.mape, _mape_inputs, ref_mape, nonneg=True, extreme=far(1e6)),
    Case("poisson", xploss.poisson, positive_pair(), ref_poisson, extreme=scaled(1e6)),
    *(Case(f"poisson_nll-log{int(li)}-full{int(fu)}", xploss.poisson_nll, poisson_inputs(li), ref_poisson_nll,
           {"log_input": li, "full": fu}, extreme=None if li else scaled(1e6))
      for li in (True, False) for fu in (False, True)),
    Case("gaussian_nll-var_same", make=gaussian_inputs((N, D)), **_GAUSS),
    Case("gaussian_nll-var_lead-full", make=gaussian_inputs((N,)), opts={"full": True}, **_GAUSS),
    Case("gaussian_nll-var_N1", make=gaussian_inputs((N, 1)), **_GAUSS),
    Case("gaussian_nll-var_float", make=gaussian_inputs(None), **{**_GAUSS, "diff": (0, 1)}),
    Case("l1_penalty", xploss.l1_penalty, ref=ref_l1_penalty, opts={"lam": 0.3}, **_PENALTY),
    Case("l2_penalty-half", xploss.l2_penalty, ref=ref_l2_penalty, opts={"lam": 0.3, "half": True}, **_PENALTY),
    Case("ce-int", make=ce_labels(), **_CE_INT),
    Case("ce-int-ignore", make=ce_labels(ignore=True), **_CE_INT),
    Case("ce-int-class_weight", make=ce_labels(), opts={"class_weight": _CW}, **_CE_INT),
    Case("ce-int-smoothing", make=ce_labels(), opts={"label_smoothing": 0.2}, **_CE_INT),
    Case("ce-int-cw-ignore-smoothing", make=ce_labels(ignore=True),
         opts={"class_weight": _CW, "label_smoothing": 0.2}, **_CE_INT),
    Case("ce-int-axis1", make=ce_labels(ignore=True, shape=(N, C, 2), axis=1), opts={"axis": 1}, **_CE_INT),
    Case("ce-prob", make=_ce_probs, **{**_CE, "diff": (0, 1)}),
    Case("ce-prob-cw-smoothing", make=_ce_probs, opts={"class_weight": _CW, "label_smoothing": 0.1},
         **{**_CE, "diff": (0, 1)}),
    Case("triplet-p2", make=triplet_inputs(), **_TRIPLET),
    Case("triplet-p1", make=triplet_inputs(p=1.0), opts={"p": 1.0}, **_TRIPLET),
    Case("triplet-p3", make=triplet_inputs(p=3.0), opts={"p": 3.0}, **_TRIPLET),
    Case("triplet-swap", make=triplet_inputs(swap=True), opts={"swap": True}, **_TRIPLET),
    Case("triplet-eps0-margin", make=triplet_inputs(eps=0.0, margin=0.5), opts={"eps": 0.0, "margin": 0.5},
         **_TRIPLET),
]

# Family tables in their own modules (they import this one's helpers).
for _family in ("cases_binary", "cases_margin", "cases_softmax", "cases_pairs", "cases_proxies", "cases_contrastive",
                "cases_mined", "cases_overlap", "cases_lovasz", "cases_boxes", "cases_ctc", "cases_generative",
                "cases_linear_ce"):
    CASES += __import__(_family).CASES

BY_ID = {c.id: c for c in CASES}
assert len(BY_ID) == len(CASES), "duplicate case ids"

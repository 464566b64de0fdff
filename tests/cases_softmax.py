"""Per-loss test table of the softmax classification losses (extends ``cases.py``).

References are naive per-sample loops over the definitions (BUILTINS §1.1, §2.6,
§2.9; Lin et al. for focal; optax for poly-1), written without xploss code.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from cases import C, Case, N, _ce_probs, _huge_logits, _samples, ce_labels, ce_norm, ref_cross_entropy, scaled

import xploss

_CW = np.array([0.5, 2.0, 1.3])
_AXIS1 = dict(shape=(N, C, 2), axis=1)


# -- references -------------------------------------------------------------------------

def _target_row(target, n_cls: int, ls: float):
    """One-hot of a class index (None if ignored is handled by the caller) or a probability row, smoothed."""
    q = np.eye(n_cls)[target] if np.ndim(target) == 0 else np.asarray(target, np.float64)
    return (1.0 - ls) * q + ls / n_cls


def _class_alpha(alpha, n_cls: int) -> np.ndarray:
    return np.ones(n_cls) if alpha is None else np.broadcast_to(np.asarray(alpha, np.float64), (n_cls,))


def _out(z, axis):
    return np.zeros(tuple(np.delete(z.shape, axis % z.ndim)))


def ref_nll(x, y, *, axis=-1, class_weight=None, ignore_index=-100):
    """torch NLLLoss (BUILTINS §1.2): -w_y · x_y, 0 where ignored."""
    cw = _class_alpha(class_weight, x.shape[axis])
    out = _out(x, axis)
    for i, row, target in _samples(x, y, axis):
        if target != ignore_index:
            out[i] = -cw[target] * row[target]
    return out


def ref_focal(z, t, *, alpha=None, gamma=2.0, axis=-1, ignore_index=-100, label_smoothing=0.0, eps=0.0):
    """Lin et al.: -Σ_k α_k q̃_k (1 - p_k)^γ log p_k with p = softmax(z), optionally clipped (Keras)."""
    n_cls = z.shape[axis]
    a = _class_alpha(alpha, n_cls)
    out = _out(z, axis)
    for i, row, target in _samples(z, t, axis):
        if np.ndim(target) == 0 and target == ignore_index:
            continue
        q = _target_row(target, n_cls, label_smoothing)
        e = [math.exp(v) for v in row]
        p = [min(max(v / sum(e), eps), 1.0 - eps) for v in e]
        out[i] = -sum(a[k] * q[k] * (1.0 - p[k]) ** gamma * math.log(p[k]) for k in range(n_cls))
    return out


def ref_keras_focal(p, t, *, alpha=0.25, gamma=2.0, axis=-1, ignore_index=-100, label_smoothing=0.0, eps=1e-7):
    """Keras categorical_focal_crossentropy (§1.1): renormalise, clip to [eps, 1-eps], focal sum."""
    n_cls = p.shape[axis]
    a = _class_alpha(alpha, n_cls)
    out = _out(p, axis)
    for i, row, target in _samples(p, t, axis):
        if np.ndim(target) == 0 and target == ignore_index:
            continue
        q = _target_row(target, n_cls, label_smoothing)
        c = [min(max(v / sum(row), eps), 1.0 - eps) for v in row]
        out[i] = -sum(a[k] * (1.0 - c[k]) ** gamma * q[k] * math.log(c[k]) for k in range(n_cls))
    return out


ref_probability_ce = functools.partial(ref_keras_focal, alpha=1.0, gamma=0.0)  # Keras CCE from probabilities


def ref_gce(p, y, *, q=0.5, axis=-1, ignore_index=-100, eps=0.0):
    """Keras CategoricalGeneralizedCrossEntropy: (1 - p_y^q) / q (p_y clamped at eps when eps > 0)."""
    out = _out(p, axis)
    for i, row, target in _samples(p, y, axis):
        if target != ignore_index:
            out[i] = (1.0 - max(row[target], eps) ** q) / q
    return out


def ref_poly1(z, t, *, epsilon=2.0, axis=-1, ignore_index=-100):
    """optax poly_loss_cross_entropy: Σ q (-log p) + ε Σ q (1 - p)."""
    n_cls = z.shape[axis]
    out = _out(z, axis)
    for i, row, target in _samples(z, t, axis):
        if np.ndim(target) == 0 and target == ignore_index:
            continue
        q = _target_row(target, n_cls, 0.0)
        e = [math.exp(v) for v in row]
        p = [v / sum(e) for v in e]
        out[i] = sum(q[k] * (-math.log(p[k]) + epsilon * (1.0 - p[k])) for k in range(n_cls))
    return out


def ref_kl(lq, t, *, axis=-1, log_target=False):
    """torch KLDivLoss elementwise (§2.9): xlogy(p, p) - p·log q, summed over ``axis`` unless None."""
    terms = np.zeros_like(lq)
    for i in np.ndindex(lq.shape):
        p = math.exp(t[i]) if log_target else t[i]
        if p != 0:
            terms[i] = p * ((t[i] if log_target else math.log(p)) - lq[i])
    return terms if axis is None else terms.sum(axis=axis)


def ref_probability_kl(q, p, *, axis=-1, eps=1e-7):
    """Keras KLDivergence (§2.9): Σ p̄ log(p̄ / q̄), both clipped to [eps, 1]."""
    out = _out(q, axis)
    for i, qrow, prow in _samples(q, p, axis):
        qc, pc = (np.clip(r, eps, 1.0) for r in (qrow, prow))
        out[i] = sum(b * math.log(b / a) for a, b in zip(qc, pc, strict=True))
    return out


def valid_norm(x, y, *, ignore_index=-100, **_):
    """Integer labels: every non-ignored sample counts 1 (Keras' means)."""
    valid = (y != ignore_index).astype(np.float64)
    return valid, valid


def focal_norm(z, y, *, alpha=None, ignore_index=-100, axis=-1, **_):
    """torch's weighted-mean normaliser with class weights alpha: α_y over non-ignored samples."""
    valid = (y != ignore_index).astype(np.float64)
    return valid, _class_alpha(alpha, z.shape[axis])[np.where(valid > 0, y, 0)] * valid


def ref_focal_gamma0(z, t, *, alpha=None, gamma=0.0, **opts):
    """γ = 0: torch's cross-entropy with class_weight = alpha (the independent CE reference of cases.py)."""
    assert gamma == 0.0
    return ref_cross_entropy(z, t, class_weight=alpha, **opts)


# -- input generators ------------------------------------------------------------------

def log_prob_labels(ignore: bool = False, shape: tuple = (N, C), axis: int = -1):
    """Log-softmax of normal logits and integer labels."""
    make = ce_labels(ignore, shape, axis)

    def gen(rng):
        z, y = make(rng)
        m = z.max(axis=axis, keepdims=True)
        return z - m - np.log(np.exp(z - m).sum(axis=axis, keepdims=True)), y
    return gen


def clipped_logits(rng):
    """Logits where Keras' clip bites: row 0's label at p ≈ 1, row 1's label at p ≈ e^-25 (far from 1e-7)."""
    z, y = ce_labels(ignore=False)(rng)
    z[0, y[0]] += 25.0
    z[1, (y[1] + 1) % C] += 25.0
    return z, y


def prob_inputs(target: str = "int", ignore: bool = False, shape: tuple = (N, C), axis: int = -1,
                normalised: bool = False, small: float | None = None):
    """Probabilities in [0.05, 1] (raw rows: Keras renormalises them, or normalised), with
    int labels (a few -100), one-hot or soft targets; ``small`` puts p_y of sample 0 there."""
    def gen(rng):
        p = rng.uniform(0.05, 1.0, shape)
        if normalised:
            p /= p.sum(axis=axis, keepdims=True)
        lshape = tuple(np.delete(shape, axis % len(shape)))
        y = rng.integers(0, shape[axis], lshape)
        if small is not None:
            np.moveaxis(p, axis, -1)[(0,) * (len(shape) - 1) + (y.flat[0],)] = small
        if ignore:
            y.reshape(-1)[[1, 3]] = -100
        if target == "int":
            return p, y
        if target == "onehot":
            return p, np.moveaxis(np.eye(shape[axis])[y], -1, axis)
        soft = rng.uniform(0.1, 1.0, shape)
        return p, soft / soft.sum(axis=axis, keepdims=True)
    return gen


def logits_soft(rng):
    """Logits and soft targets (optax' poly-1 takes probability labels)."""
    return rng.normal(scale=2.0, size=(N, C)), prob_inputs("soft")(rng)[1]


def prob_pair(rng):
    """(q, p): two softmax distributions (Keras' KLDivergence takes probabilities)."""
    lq, p = log_prob_pair()(rng)
    return np.exp(lq), p


def log_prob_pair(log_target: bool = False, shape: tuple = (N, C), axis: int = -1):
    """(log q, p or log p): two independent softmax distributions along ``axis``."""
    def gen(rng):
        a, b = (rng.normal(size=shape) for _ in range(2))
        la, lb = (x - np.log(np.exp(x).sum(axis=axis, keepdims=True)) for x in (a, b))
        return la, (lb if log_target else np.exp(lb))
    return gen


# -- extreme inputs ----------------------------------------------------------------------

def _corners(a):
    """Probabilities (and float targets) pushed to exact 0/1: one-hot of each row's largest entry."""
    def corner(x):
        return (x == x.max(axis=-1, keepdims=True)).astype(np.float64)
    return (corner(a[0]), *(corner(x) if isinstance(x, np.ndarray) and x.dtype.kind == "f" else x for x in a[1:]))


def _kl_zeros(log_target: bool):
    """Zero target entries facing log q = -inf, and log q = -1e4 elsewhere on column 1."""
    def extreme(a):
        lq, t = a[0].copy(), a[1].copy()
        lq[:, 0], lq[:, 1] = -np.inf, -1e4
        t[:, 0] = -np.inf if log_target else 0.0
        return lq, t
    return extreme


# -- the table ---------------------------------------------------------------------------

_NLL = dict(fn=xploss.nll, ref=ref_nll, diff=(0,), norm=ce_norm, nonneg=True, extreme=scaled(1e6))
_FOCAL = dict(fn=xploss.focal, ref=ref_focal, diff=(0,), nonneg=True, extreme=_huge_logits)
_FOCAL_INT = dict(_FOCAL, norm=focal_norm)
_CFCE = dict(fn=xploss.categorical_focal, ref=ref_keras_focal, diff=(0,), nonneg=True, extreme=_corners)
_PCE = dict(_CFCE, fn=xploss.probability_cross_entropy, ref=ref_probability_ce)
# not nonneg: the property test scales the probabilities past 1
_GCE = dict(fn=xploss.categorical_generalized_cross_entropy, ref=ref_gce, diff=(0,), norm=valid_norm)
_POLY = dict(fn=xploss.poly1_cross_entropy, ref=ref_poly1, diff=(0,), nonneg=True, extreme=_huge_logits)
_KL = dict(fn=xploss.kl_divergence, ref=ref_kl, diff=(0, 1))

CASES = [
    Case("nll", make=log_prob_labels(), **_NLL),
    Case("nll-axis1-cw-ignore", make=log_prob_labels(ignore=True, **_AXIS1), opts={"axis": 1, "class_weight": _CW},
         **_NLL),
    # F5: finite at ±1e4 for γ in {0.25, 0.5, 1, 2}; γ = 0 is cross-entropy (the CE reference)
    Case("focal-g0.5-alpha", make=ce_labels(), opts={"gamma": 0.5, "alpha": _CW}, **_FOCAL_INT),
    Case("focal-g0.25-alpha_float-ignore", make=ce_labels(ignore=True), opts={"gamma": 0.25, "alpha": 0.3},
         **_FOCAL_INT),
    Case("focal-g1-axis1-ignore", make=ce_labels(ignore=True, **_AXIS1), opts={"gamma": 1.0, "axis": 1},
         **_FOCAL_INT),
    Case("focal-g0-is-ce", make=ce_labels(ignore=True), opts={"gamma": 0.0, "alpha": _CW, "label_smoothing": 0.2},
         **{**_FOCAL_INT, "ref": ref_focal_gamma0}),
    Case("focal-smoothing-alpha-ignore", make=ce_labels(ignore=True),
         opts={"gamma": 2.0, "alpha": _CW, "label_smoothing": 0.1}, **_FOCAL_INT),
    Case("focal-keras_eps", make=clipped_logits, opts={"alpha": 0.25, "eps": 1e-7}, **_FOCAL_INT),
    Case("focal-prob-alpha-smoothing", make=_ce_probs,
         opts={"gamma": 1.5, "alpha": _CW, "label_smoothing": 0.1}, **{**_FOCAL, "diff": (0, 1)}),
    Case("categorical_focal-onehot", make=prob_inputs("onehot"), **{**_CFCE, "diff": (0, 1)}),
    Case("categorical_focal-int-alpha-smoothing", make=prob_inputs(ignore=True),
         opts={"alpha": _CW, "gamma": 0.5, "label_smoothing": 0.1}, norm=valid_norm, **_CFCE),
    Case("categorical_focal-soft-axis1", make=prob_inputs("soft", **_AXIS1), opts={"axis": 1, "gamma": 1.0},
         **{**_CFCE, "diff": (0, 1), "extreme": None}),
    Case("probability_ce-int-ignore", make=prob_inputs(ignore=True), norm=valid_norm, **_PCE),
    Case("probability_ce-soft-smoothing", make=prob_inputs("soft"), opts={"label_smoothing": 0.1},
         **{**_PCE, "diff": (0, 1)}),
    Case("gce-q0.5-ignore", make=prob_inputs(ignore=True, normalised=True), **_GCE),
    Case("gce-q0.7-eps", make=prob_inputs(normalised=True, small=3e-4), opts={"q": 0.7, "eps": 1e-3},
         **{**_GCE, "extreme": _corners}),
    Case("poly1-ignore", make=ce_labels(ignore=True), norm=valid_norm, **_POLY),
    Case("poly1-prob-eps-1", make=logits_soft, opts={"epsilon": -1.0}, **{**_POLY, "diff": (0, 1)}),
    Case("kl", make=log_prob_pair(), extreme=_kl_zeros(False), **_KL),
    Case("kl-log_target-axis1", make=log_prob_pair(True, **_AXIS1), opts={"log_target": True, "axis": 1}, **_KL),
    Case("kl-elementwise-log_target", make=log_prob_pair(True), opts={"log_target": True, "axis": None},
         extreme=_kl_zeros(True), **_KL),
    Case("probability_kl", xploss.probability_kl_divergence, prob_pair, ref_probability_kl, diff=(0, 1),
         extreme=_corners),
]

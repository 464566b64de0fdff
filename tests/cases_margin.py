"""Per-loss test table of the margin classification losses (extends ``cases.py``).

References are naive per-sample loops written from BUILTINS §1.2 / §2.10
(Keras ``categorical_hinge``, torch ``MultiMarginLoss`` and
``MultiLabelMarginLoss`` as the ATen loops read) and ``numpy.argmax``.
Generators keep every hinge argument and every competing maximum ``GAP`` away
from its kink, so that finite differences are meaningful.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from cases import GAP, Case, N, _huge_logits, _samples

import xploss

C = 4  # classes: enough for target lists with both targets and non-targets


# -- references ---------------------------------------------------------------------------

def _sample_shape(z, axis):
    return tuple(np.delete(z.shape, axis % z.ndim))


def ref_categorical_hinge(z, t, *, axis=-1):
    """Keras: max(0, max_k (1 - t_k) z_k - sum_k t_k z_k + 1), the target slot giving a 0."""
    out = np.zeros(_sample_shape(z, axis))
    for i, row, target in _samples(z, t, axis):
        onehot = np.eye(len(row))[target] if np.ndim(target) == 0 else target
        neg = max((1.0 - onehot[k]) * row[k] for k in range(len(row)))
        out[i] = max(neg - sum(onehot[k] * row[k] for k in range(len(row))) + 1.0, 0.0)
    return out


def ref_multi_margin(z, y, *, p=1, margin=1.0, class_weight=None, axis=-1):
    """torch: sum over k != y of w_y max(0, margin - z_y + z_k)^p / C."""
    out = np.zeros(_sample_shape(z, axis))
    for i, row, target in _samples(z, y, axis):
        w = 1.0 if class_weight is None else class_weight[target]
        out[i] = sum(w * max(0.0, margin - row[target] + row[k]) ** p
                     for k in range(len(row)) if k != target) / len(row)
    return out


def ref_multilabel_margin(z, y, *, axis=-1):
    """torch's loop: targets up to the first -1; each listed entry against every non-target class."""
    out = np.zeros(_sample_shape(z, axis))
    for i, row, targets in _samples(z, y, axis):
        listed = []
        for t in targets:
            if t < 0:
                break
            listed.append(int(t))
        total = 0.0
        for t in listed:
            for k in range(len(row)):
                if k not in listed:
                    total += max(0.0, 1.0 - row[t] + row[k])
        out[i] = total / len(row)
    return out


def ref_zero_one(z, y, *, axis=-1):
    return (np.argmax(z, axis=axis) != y).astype(np.float64)


def mm_norm(z, y, *, class_weight=None, **_):
    """Every sample counts 1 for "mean" (torch); "weighted_mean" divides by class_weight[y]."""
    valid = np.ones(y.shape)
    return valid, valid if class_weight is None else np.asarray(class_weight, np.float64)[y]


# -- generators (class axis last, then moved to ``axis``) ------------------------------------

def _rows(draw: Callable, ok: Callable, shape: tuple, axis: int) -> Callable:
    """Draw ``(scores, target)`` rows until ``ok(row, target)``; classes end up on ``axis``."""
    def make(rng: np.random.Generator) -> tuple:
        lead = shape[:axis % len(shape)] + shape[axis % len(shape) + 1:]
        zs, ts = np.zeros(lead + (shape[axis],)), None
        for i in np.ndindex(lead):
            for _ in range(10000):
                row, target = draw(rng, shape[axis])
                if ok(row, target):
                    break
            else:
                raise RuntimeError("no sample away from the kinks")
            zs[i] = row
            if ts is None:
                ts = np.zeros(lead + np.shape(target), dtype=np.asarray(target).dtype)
            ts[i] = target
        if np.ndim(ts) == zs.ndim:
            ts = np.moveaxis(ts, -1, axis)
        return np.moveaxis(zs, -1, axis), ts
    return make


def _gapped(values: list) -> bool:
    """The largest value stands GAP above the runner-up."""
    top = sorted(values)[-2:]
    return len(top) < 2 or top[1] - top[0] > GAP


def _label(rng, c):
    """Scores and a label; a third of the rows confident (zero hinge, correct argmax), a third with
    every other score negative (Keras' target slot 0 wins the inner max)."""
    z, y, kind = 2.0 * rng.normal(size=c), int(rng.integers(c)), rng.integers(3)
    if kind == 1:
        z[y] = np.max(z) + rng.uniform(1.2, 3.0)
    elif kind == 2:
        z = np.where(np.arange(c) == y, z, -np.abs(z))
    return z, y


def _soft(rng, c):
    e = np.exp(rng.normal(size=c))
    return 2.0 * rng.normal(size=c), e / e.sum()


def _ch_ok(row, target):
    t = np.eye(len(row))[target] if np.ndim(target) == 0 else target
    q = list((1.0 - t) * row)
    return _gapped(q) and abs(max(q) - np.sum(t * row) + 1.0) > GAP


def _mm_ok(margin: float) -> Callable:
    return lambda row, y: all(abs(margin - row[y] + row[k]) > GAP for k in range(len(row)) if k != y)


# Target lists: targets, then -1, then ignored entries; a repeated class; empty and full lists.
_LISTS = ([2, 0, -1, 1], [1, 1, -1, -1], [3, -1, 0, 2], [0, 1, 2, 3], [-1, 2, 3, 0], [1, 3, 2, -1])


def _lists(rng, c):
    return 1.5 * rng.normal(size=c), np.array(_LISTS[rng.integers(len(_LISTS))], dtype=np.int64)


def _mlm_ok(row, y):
    listed = list(y[:list(y).index(-1)] if -1 in list(y) else y)
    return all(abs(1.0 - row[t] + row[k]) > GAP for t in listed for k in range(len(row)) if k not in listed)


def _zo_ok(row, _):
    return _gapped(list(row))


def _onehot(make: Callable) -> Callable:
    """Integer labels -> float one-hot along the class axis (axis -1)."""
    def wrapped(rng):
        z, y = make(rng)
        return z, np.eye(z.shape[-1])[y]
    return wrapped


# -- the table ------------------------------------------------------------------------------

_CWM = np.array([0.5, 2.0, 1.3, 0.8])
_CH = dict(fn=xploss.categorical_hinge, ref=ref_categorical_hinge, nonneg=True, extreme=_huge_logits)
_MM = dict(fn=xploss.multi_margin, ref=ref_multi_margin, diff=(0,), nonneg=True, extreme=_huge_logits, norm=mm_norm)
_MLM = dict(fn=xploss.multilabel_margin, ref=ref_multilabel_margin, diff=(0,), nonneg=True, extreme=_huge_logits)
_ZO = dict(fn=xploss.zero_one, ref=ref_zero_one, diff=(0,), nonneg=True, extreme=_huge_logits)

CASES = [
    Case("categorical_hinge-int", make=_rows(_label, _ch_ok, (N, C), -1), diff=(0,), **_CH),
    Case("categorical_hinge-onehot", make=_onehot(_rows(_label, _ch_ok, (N, C), -1)), **_CH),
    Case("categorical_hinge-soft", make=_rows(_soft, _ch_ok, (N, C), -1), **_CH),
    Case("categorical_hinge-axis1", make=_rows(_label, _ch_ok, (N, C, 2), 1), opts={"axis": 1}, diff=(0,), **_CH),
    Case("multi_margin-p1", make=_rows(_label, _mm_ok(1.0), (N, C), -1), **_MM),
    Case("multi_margin-p2-margin", make=_rows(_label, _mm_ok(0.5), (N, C), -1), opts={"p": 2, "margin": 0.5},
         **_MM),
    Case("multi_margin-p1-cw", make=_rows(_label, _mm_ok(1.0), (N, C), -1), opts={"class_weight": _CWM}, **_MM),
    Case("multi_margin-p2-cw-axis1", make=_rows(_label, _mm_ok(1.0), (N, C, 2), 1),
         opts={"p": 2, "class_weight": _CWM, "axis": 1}, **_MM),
    Case("multilabel_margin", make=_rows(_lists, _mlm_ok, (N, C), -1), **_MLM),
    Case("multilabel_margin-axis1", make=_rows(_lists, _mlm_ok, (N, C, 2), 1), opts={"axis": 1}, **_MLM),
    Case("zero_one", make=_rows(_label, _zo_ok, (N, C), -1), **_ZO),
    Case("zero_one-axis1", make=_rows(_label, _zo_ok, (N, C, 2), 1), opts={"axis": 1}, **_ZO),
]

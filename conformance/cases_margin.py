"""Conformance cases of the margin classification losses (extends ``cases.py``).

Built-ins: Keras ``CategoricalHinge``, torch ``F.multi_margin_loss`` and
``F.multilabel_margin_loss``; ``zero_one`` against a reference formula
(``argmax``).  Scores are drawn so that every hinge argument and every
competing maximum stays ``GAP`` away from its kink (BUILTINS §3.6).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .cases import GAP, C, Case, Formula, In, K, N, T, X

HINGE_NOTE = (
    "Keras' inner max runs over (1 − t)·s, so the target slot contributes 0 (not −inf): optax "
    "multiclass_hinge_loss differs where every non-target score is < 0 (scores [0.5, −1, −2], class 0: Keras 0.5, "
    "optax 0, torch MultiMargin 0), and torch MultiMarginLoss sums over the classes and divides by C "
    "([0.5, 0.7, −2]: Keras 1.2, optax 1.2, torch 0.4); BUILTINS §2.10.  At kinks (not sampled here): "
    "inner-max ties split the gradient equally (Keras on every backend, xploss); at u = 0 Keras on TensorFlow "
    "and xploss pass the full gradient, Keras on JAX/torch half"
)
STRICT_NOTE = "torch's strict hinge (u > 0): a term at u = 0 has a zero gradient, as in xploss (not sampled here)"


# -- generators ------------------------------------------------------------------------------

def _row(rng: np.random.Generator, y: np.ndarray) -> np.ndarray:
    """Scores for one sample; with a class index, a third of the rows confident (zero hinge, right
    argmax) and a third with every other score negative (Keras' target slot 0 wins the inner max)."""
    z, kind = 2.0 * rng.normal(size=C), rng.integers(3)
    if np.ndim(y) == 0 and kind == 1:
        z[y] = z.max() + rng.uniform(1.2, 3.0)
    elif np.ndim(y) == 0 and kind == 2:
        z = np.where(np.arange(C) == y, z, -np.abs(z))
    return z


def _scored(ok: Callable, target: Callable) -> Callable:
    """Rows of scores ``(N, C)`` redrawn until ``ok(row, target_row)``; targets from ``target(rng)``."""
    def gen(rng: np.random.Generator) -> dict:
        tgt = target(rng)
        z = np.zeros((N, C))
        for i in range(N):
            for _ in range(10000):
                z[i] = _row(rng, tgt[i])
                if ok(z[i], tgt[i]):
                    break
            else:
                raise RuntimeError("could not draw scores off the kinks")
        out = {"logits": z, "w": rng.uniform(0.2, 2.0, N), "cw": rng.uniform(0.2, 2.0, C)}
        if tgt.dtype.kind == "f":
            return {**out, "probs": tgt}
        return {**out, "labels": tgt} if tgt.ndim == 2 else {**out, "labels": tgt, "onehot": np.eye(C)[tgt]}
    return gen


def _labels(rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, C, N)


def _soft(rng: np.random.Generator) -> np.ndarray:
    e = np.exp(rng.normal(size=(N, C)))
    return e / e.sum(axis=-1, keepdims=True)


def _lists(rng: np.random.Generator) -> np.ndarray:
    """torch target lists: a few classes (one row with a repeat, one empty, one full), -1, then junk."""
    out = np.full((N, C), -1)
    for i in range(N):
        k = (1, 2, 3)[i % 3] if i >= 3 else (2, 0, C)[i]  # rows 1 and 2: empty and full lists
        out[i, :k] = rng.permutation(C)[:k]
        out[i, k + 1:] = rng.integers(-1, C, max(C - k - 1, 0))
    out[0, 1] = out[0, 0]  # a repeated class counts twice (torch)
    return out


def _gap(values: np.ndarray) -> bool:
    top = np.sort(values)[-2:]
    return top[1] - top[0] > GAP


def _hinge_ok(row: np.ndarray, t: np.ndarray) -> bool:
    t = np.eye(C)[t] if np.ndim(t) == 0 else t
    q = (1.0 - t) * row
    return _gap(q) and abs(q.max() - t @ row + 1.0) > GAP


def _margin_ok(margin: float) -> Callable:
    return lambda row, y: bool(np.all(np.abs(np.delete(margin - row[y] + row, y)) > GAP))


def _lists_ok(row: np.ndarray, y: np.ndarray) -> bool:
    stop = list(y).index(-1) if -1 in y else C
    listed = set(y[:stop].tolist())
    rest = [k for k in range(C) if k not in listed]
    return all(abs(1.0 - row[t] + row[k]) > GAP for t in listed for k in rest)


def _ties(rng: np.random.Generator) -> dict:
    """Integer scores: many tied maxima (the first index counts, as torch.argmax)."""
    return {"logits": rng.integers(-1, 2, (N, C)).astype(float), "labels": rng.integers(0, C, N),
            "w": rng.uniform(0.2, 2.0, N)}


# -- the rows ----------------------------------------------------------------------------------

def _zero_one(reduce: Callable) -> Callable:
    """torch reference: 0/1 errors from ``argmax``; ``0·Σz`` gives it the (zero) gradient to compare."""
    return lambda torch, z, y, *w: reduce((z.argmax(-1) != y).to(z.dtype), *w) + 0.0 * z.sum()


def _categorical_hinge() -> list[Case]:
    zl, zo = ("logits", "labels"), ("logits", "onehot")
    ch = "CategoricalHinge"
    gen = _scored(_hinge_ok, _labels)
    return [
        Case("categorical_hinge", X("categorical_hinge", *zo), (K(ch, "onehot", "logits"),), gen, zo,
             note=HINGE_NOTE),
        Case("categorical_hinge/labels", X("categorical_hinge", *zl), (K(ch, "onehot", "logits"),), gen,
             ("logits",), note="integer class indices on the xploss side"),
        Case("categorical_hinge/sample_weight", X("categorical_hinge", *zl, sample_weight=In("w")),
             (K(ch, "onehot", "logits", sample_weight=In("w")),), gen, ("logits",),
             note="Keras sum_over_batch_size: Σ w·l / N, as xploss 'mean'"),
        Case("categorical_hinge/soft", X("categorical_hinge", "logits", "probs"), (K(ch, "probs", "logits"),),
             _scored(_hinge_ok, _soft), ("logits", "probs"), note="Keras' formula with a soft target"),
        *(Case(f"categorical_hinge/{red}", X("categorical_hinge", *zl, reduction=red),
               (K(ch, "onehot", "logits", ctor={"reduction": red}),), gen, ("logits",)) for red in ("sum", "none")),
    ]


def _multi_margin() -> list[Case]:
    zl = ("logits", "labels")
    cases = []
    for p, margin, cw in ((1, 1.0, False), (2, 1.0, False), (1, 0.5, False), (2, 2.0, False),
                          (1, 1.0, True), (2, 0.5, True)):
        opts = {"p": p, "margin": margin}
        extra = {"weight": In("cw")} if cw else {}
        cases.append(Case("multi_margin/" + ",".join(f"{k}={v}" for k, v in opts.items()) + ",weight" * cw,
                          X("multi_margin", *zl, **opts, **({"class_weight": In("cw")} if cw else {})),
                          (T("multi_margin_loss", *zl, **opts, **extra),), _scored(_margin_ok(margin), _labels),
                          ("logits",), note=STRICT_NOTE + ("; 'mean' divides by N, not Σ w_y (torch and xploss)"
                                                           if cw else "")))
    for red in ("sum", "none"):
        cases.append(Case(f"multi_margin/{red}", X("multi_margin", *zl, p=2, class_weight=In("cw"), reduction=red),
                          (T("multi_margin_loss", *zl, p=2, weight=In("cw"), reduction=red),),
                          _scored(_margin_ok(1.0), _labels), ("logits",)))
    return cases


def _multilabel_margin() -> list[Case]:
    zl = ("logits", "labels")
    gen = _scored(_lists_ok, _lists)
    note = ("target lists padded with −1, entries after the first −1 ignored; a repeated class, an empty and a "
            "full list included; " + STRICT_NOTE)
    return [Case("multilabel_margin" + (f"/{red}" if red != "mean" else ""),
                 X("multilabel_margin", *zl, reduction=red), (T("multilabel_margin_loss", *zl, reduction=red),),
                 gen, ("logits",), note=note) for red in ("mean", "sum", "none")]


def _zero_one_cases() -> list[Case]:
    zl = ("logits", "labels")
    gen = _scored(lambda row, y: _gap(row), _labels)
    mean = _zero_one(lambda e: e.mean())
    return [
        Case("zero_one", X("zero_one", *zl), (Formula("mean(argmax(z) ≠ y)", mean, *zl),), gen, ("logits",),
             note="a metric: the gradient is zero everywhere (the formula's 0·Σz term makes torch return it)"),
        Case("zero_one/ties", X("zero_one", *zl), (Formula("mean(argmax(z) ≠ y)", mean, *zl),), _ties, ("logits",),
             note="integer scores with tied maxima: argmax takes the first, as torch.argmax"),
        Case("zero_one/none", X("zero_one", *zl, reduction="none"),
             (Formula("argmax(z) ≠ y", _zero_one(lambda e: e), *zl),), gen, ("logits",)),
        Case("zero_one/weighted_mean", X("zero_one", *zl, sample_weight=In("w"), reduction="weighted_mean"),
             (Formula("Σ w·[argmax(z) ≠ y] / Σ w", _zero_one(lambda e, w: (w * e).sum() / w.sum()), *zl, "w"),),
             _ties, ("logits",)),
    ]


def cases() -> list[Case]:
    return _categorical_hinge() + _multi_margin() + _multilabel_margin() + _zero_one_cases()

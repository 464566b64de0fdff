"""Conformance rows for :mod:`xploss.keras`: each class against its Keras built-in, on every Keras backend.

Each :class:`~conformance.cases.Case` here pairs an ``xploss.keras`` class
(:func:`XK`) with the Keras built-in it equals (:func:`~conformance.cases.K`),
both called Keras' way, ``loss(y_true, y_pred, sample_weight=w)``, inside the
same Keras process (``conformance/keras_leg.py``): one per Keras backend
(tensorflow, jax, torch).  Values and gradients with respect to ``y_pred``
are compared: the default reduction and the unreduced per-sample losses
(``reduction=None``) for every class, every Keras reduction for three.
float64 runs on the TensorFlow backend only (the only one that computes in
float64, BUILTINS.md §2.5), float32 on all three.

Classes without a Keras twin (quantile, poisson_nll, soft_margin, multi_margin,
multilabel_margin, zero_one, poly1_cross_entropy, triplet_margin,
gaussian_nll, the penalties) are covered by their function's rows in
``conformance/cases.py``; ``tests/test_keras.py`` checks their Keras
conventions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .cases import Call, Case, In, K, Tol, _away, _softmax
from .cases import select as _select

__all__ = ["CASES", "BY_ID", "KERAS_BACKENDS", "XK", "select"]

KERAS_BACKENDS = ("tensorflow", "jax", "torch")
N, D, C = 8, 5, 4
REDUCTIONS = ("sum", "mean_with_sample_weight", "none", "mean")
LOG2 = Tol("Keras' LogCosh subtracts log(2) evaluated in float32 (a constant offset of 1.9e-9 in float64)",
           float64=5e-9)


@dataclass(frozen=True)
class KClass(Call):
    """``xploss.keras.<name>(**ctor)(y_true, y_pred, ...)``."""

    def render(self) -> str:
        ctor = ", ".join(f"{k}={v!r}" for k, v in self.ctor.items())
        kw = ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items())
        return f"xploss.keras.{self.name}({ctor})({', '.join(self.args + ((kw,) if kw else ()))})"


def XK(name: str, *args: str, ctor: dict | None = None, **kwargs: Any) -> KClass:
    """``xploss.keras.<name>(**ctor)(*args, **kwargs)``."""
    return KClass("xploss.keras", name, args, kwargs, ctor=dict(ctor or {}))


# -- inputs: (y_true, y_pred) in each domain, per-sample weights w --------------------------------

def domain(kind: str) -> Callable[[np.random.Generator], dict]:
    """Input generator for one domain; inputs stay off kinks and clip edges (BUILTINS.md §3.6)."""
    def gen(rng: np.random.Generator) -> dict:
        real = rng.normal(size=(N, D))
        labels = rng.integers(0, C, N)
        logits = 2.0 * rng.normal(size=(N, C))
        y = {
            "real": lambda: (real, real + np.sign(rng.normal(size=(N, D))) * _away(rng, (N, D), 0.1, 2.0, (0.5,))),
            "positive": lambda: (rng.uniform(0.1, 4.0, (N, D)), rng.uniform(0.1, 4.0, (N, D))),
            "percent": lambda: (np.sign(real) * rng.uniform(0.5, 3.0, (N, D)), real),
            "counts": lambda: (rng.integers(0, 6, (N, D)).astype(float), rng.uniform(0.2, 4.0, (N, D))),
            "binary_probs": lambda: ((rng.random((N, D)) < 0.5).astype(float), rng.uniform(0.05, 0.95, (N, D))),
            "binary_logits": lambda: ((rng.random((N, D)) < 0.5).astype(float),
                                      np.sign(real) * _away(rng, (N, D), 0.05, 3.0, (1.0,))),
            "index_logits": lambda: (labels.astype(float), logits),
            "index_logits_3d": lambda: (rng.integers(0, C, (N, 3)).astype(float), rng.normal(size=(N, 3, C))),
            "index_probs": lambda: (labels.astype(float), _softmax(logits, -1)),
            "onehot_logits": lambda: (np.eye(C)[labels], logits),
            "onehot_probs": lambda: (np.eye(C)[labels], _softmax(logits, -1)),
            "probs_probs": lambda: (_softmax(rng.normal(size=(N, C)), -1), _softmax(logits, -1)),
        }
        if kind == "ignored_logits":
            labels[[1, 4]] = -100
            y_true, y_pred = labels.astype(float), logits
        else:
            y_true, y_pred = y[kind]()
        out = {"y_true": y_true, "y_pred": y_pred, "w": rng.uniform(0.2, 2.0, y_pred.shape[:-1])}
        if kind == "probs_probs":  # kl_divergence takes log q: the same prediction as log-probabilities
            out["log_y_pred"] = np.log(y_pred)
        if kind == "index_probs":
            out["log_y_pred"] = np.log(y_pred)
        return out
    return gen


# (id, xploss.keras class, its options, Keras class, its options, domain, tolerance override)
PAIRS: list[tuple] = [
    ("MeanSquaredError", "MeanSquaredError", {}, "MeanSquaredError", {}, "real", None),
    ("MeanAbsoluteError", "MeanAbsoluteError", {}, "MeanAbsoluteError", {}, "real", None),
    ("Huber", "Huber", {"delta": 0.5}, "Huber", {"delta": 0.5}, "real", None),
    ("LogCosh", "LogCosh", {}, "LogCosh", {}, "real", LOG2),
    ("MeanSquaredLogError", "MeanSquaredLogError", {}, "MeanSquaredLogarithmicError", {}, "positive", None),
    ("MeanAbsolutePercentageError", "MeanAbsolutePercentageError", {}, "MeanAbsolutePercentageError", {},
     "percent", None),
    ("Poisson", "Poisson", {}, "Poisson", {}, "counts", None),
    ("BinaryCrossEntropy", "BinaryCrossEntropy", {}, "BinaryCrossentropy", {}, "binary_probs", None),
    ("SigmoidBinaryCrossEntropy", "SigmoidBinaryCrossEntropy", {"label_smoothing": 0.1}, "BinaryCrossentropy",
     {"from_logits": True, "label_smoothing": 0.1}, "binary_logits", None),
    ("BinaryFocal", "BinaryFocal", {"gamma": 1.5}, "BinaryFocalCrossentropy",
     {"apply_class_balancing": True, "gamma": 1.5}, "binary_probs", None),
    ("SigmoidFocal", "SigmoidFocal", {}, "BinaryFocalCrossentropy",
     {"apply_class_balancing": True, "from_logits": True}, "binary_logits", None),
    ("Hinge", "Hinge", {}, "Hinge", {}, "binary_logits", None),
    ("SquaredHinge", "SquaredHinge", {}, "SquaredHinge", {}, "binary_logits", None),
    ("MultilabelSoftMargin", "MultilabelSoftMargin", {}, "BinaryCrossentropy", {"from_logits": True},
     "binary_logits", None),
    ("CategoricalHinge", "CategoricalHinge", {}, "CategoricalHinge", {}, "onehot_logits", None),
    ("CrossEntropy/index", "CrossEntropy", {}, "SparseCategoricalCrossentropy", {"from_logits": True},
     "index_logits", None),
    ("CrossEntropy/ignore_class", "CrossEntropy", {}, "SparseCategoricalCrossentropy",
     {"from_logits": True, "ignore_class": -100}, "ignored_logits", None),
    ("CrossEntropy/onehot+smoothing", "CrossEntropy", {"label_smoothing": 0.1}, "CategoricalCrossentropy",
     {"from_logits": True, "label_smoothing": 0.1}, "onehot_logits", None),
    ("CrossEntropy/(N,T,C)", "CrossEntropy", {}, "SparseCategoricalCrossentropy", {"from_logits": True},
     "index_logits_3d", None),
    ("ProbabilityCrossEntropy/index", "ProbabilityCrossEntropy", {}, "SparseCategoricalCrossentropy", {},
     "index_probs", None),
    ("ProbabilityCrossEntropy/onehot", "ProbabilityCrossEntropy", {}, "CategoricalCrossentropy", {},
     "onehot_probs", None),
    ("CategoricalFocal", "CategoricalFocal", {}, "CategoricalFocalCrossentropy", {}, "onehot_probs", None),
    ("Focal", "Focal", {"alpha": 0.25, "eps": 1e-7}, "CategoricalFocalCrossentropy", {"from_logits": True},
     "onehot_logits", None),
    ("CategoricalGeneralizedCrossEntropy", "CategoricalGeneralizedCrossEntropy", {"q": 0.7},
     "CategoricalGeneralizedCrossEntropy", {"q": 0.7}, "index_probs", None),
    ("ProbabilityKlDivergence", "ProbabilityKlDivergence", {}, "KLDivergence", {}, "probs_probs", None),
]
# Every Keras reduction for these; "none" (the weighted per-sample losses, which Keras' shared reduction code
# then sums or averages) for every pair.
SWEEP = ("MeanSquaredError", "BinaryCrossEntropy", "CrossEntropy/ignore_class")


def _cases() -> list[Case]:
    tp = ("y_true", "y_pred")
    sw = {"sample_weight": In("w")}
    out = []
    for cid, xname, xopts, kname, kopts, kind, tol in PAIRS:
        out.append(Case(f"keras:{cid}", XK(xname, *tp, ctor=xopts, **sw), (K(kname, *tp, ctor=kopts, tol=tol, **sw),),
                        domain(kind), ("y_pred",), note="sample_weight, sum_over_batch_size"))
        for red in REDUCTIONS if cid in SWEEP else ("none",):  # per-sample values: every reduction follows
            ctor_x, ctor_k = {**xopts, "reduction": red}, {**kopts, "reduction": red}
            out.append(Case(f"keras:{cid}/{red}", XK(xname, *tp, ctor=ctor_x, **sw),
                            (K(kname, *tp, ctor=ctor_k, tol=tol, **sw),), domain(kind), ("y_pred",)))
    # log-domain classes against the Keras built-in on the probabilities (value only: different inputs)
    out += [
        Case("keras:KlDivergence", XK("KlDivergence", "y_true", "log_y_pred", **sw),
             (K("KLDivergence", *tp, **sw),), domain("probs_probs"), ("log_y_pred",),
             note="y_pred = log q for xploss.keras.KlDivergence, q for Keras: values compared"),
        Case("keras:Nll", XK("Nll", "y_true", "log_y_pred", **sw),
             (K("SparseCategoricalCrossentropy", *tp, **sw),), domain("index_probs"), ("log_y_pred",),
             note="y_pred = log p for xploss.keras.Nll, p for Keras: values compared"),
    ]
    return out


CASES: tuple[Case, ...] = tuple(_cases())
BY_ID = {c.id: c for c in CASES}
assert len(BY_ID) == len(CASES), "duplicate case ids"


def select(pattern: str | None) -> list[Case]:
    """The class cases whose id matches ``pattern`` (as :func:`conformance.cases.select`)."""
    return _select(pattern, CASES)


def dtypes_for(backend: str) -> tuple[str, ...]:
    """float64 and float32 on the TensorFlow Keras backend; float32 elsewhere (Keras computes in float32)."""
    return ("float64", "float32") if backend == "tensorflow" else ("float32",)

"""The conformance case table: every xploss loss against the built-in it equals.

A :class:`Case` pairs one xploss call with one or more references:

* :func:`T` -- ``torch.nn.functional.<name>(...)``, gradients by ``torch.autograd``;
* :func:`K` -- ``keras.losses.<Class>(**ctor)(...)`` (or another ``keras.<path>``),
  run on the TensorFlow Keras backend, gradients by ``tf.GradientTape``;
* :func:`Formula` -- a reference formula written in torch, for losses that no
  framework ships (quantile, the penalties).

Arguments are *names* of the arrays the case's input generator draws (seeded
NumPy, float64, cast to each tested dtype; integer arrays stay int64), so every
call spells its own argument order: Keras takes ``(y_true, y_pred)``, torch
``(input, target)`` with the class axis 1 (``axis=1`` on the xploss side for
``(N, C, d)`` inputs).  ``In(name)`` passes an array as a keyword argument.
Inputs are drawn away from kinks and clip edges (BUILTINS.md §3.6: ``|e|`` and
hinge slack > 1e-2, probabilities and rates away from ``eps``).

Tolerances are relative to ``max(|ref|, 1)``: 1e-12 in float64, 1e-5 in
float32; a reference may override them with :class:`Tol`, which must give a
reason (printed in the report).
"""

from __future__ import annotations

import fnmatch
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import xploss

__all__ = [
    "Call", "Case", "In", "Tol", "T", "K", "X", "Formula", "CASES", "BY_ID", "TOLERANCE", "NOT_LOSSES",
    "select", "coverage", "uncovered_losses", "equivalence_rows",
]

TOLERANCE = {"float64": 1e-12, "float32": 1e-5}
DTYPES = ("float64", "float32")
GAP = 1e-2  # distance kept from kinks and clip edges
N, D, C = 8, 5, 5

# xploss public names that are not losses (no conformance case needed).
NOT_LOSSES = frozenset({"XplossError", "XplossTypeError", "array_namespace", "center_update", "value_and_grad",
                        "verify"})


# -- the declarative vocabulary ---------------------------------------------------------

@dataclass(frozen=True)
class In:
    """An input array passed as a keyword argument."""

    name: str

    def __repr__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Tol:
    """A tolerance override for one reference; ``reason`` is mandatory."""

    reason: str
    float64: float | None = None
    float32: float | None = None

    def __post_init__(self) -> None:
        if not self.reason.strip():
            raise ValueError("a tolerance override needs a reason")


@dataclass(frozen=True)
class Call:
    """One call: library, name, positional input names, keyword options."""

    lib: str  # "xploss" | "torch" | "keras" | "formula"
    name: str
    args: tuple[str, ...]
    kwargs: dict = field(default_factory=dict)
    ctor: dict = field(default_factory=dict)  # keras constructor options
    fn: Callable | None = None  # formula: fn(torch, *tensors)
    tol: Tol | None = None
    note: str = ""

    @property
    def inputs(self) -> tuple[str, ...]:
        """Every input name the call reads (positional and ``In`` keywords)."""
        kws = tuple(v.name for v in (*self.kwargs.values(), *self.ctor.values()) if isinstance(v, In))
        return self.args + kws

    def tolerance(self, dtype: str) -> float:
        override = None if self.tol is None else getattr(self.tol, dtype)
        return TOLERANCE[dtype] if override is None else override

    def render(self) -> str:
        kw = ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items())
        args = ", ".join(self.args + ((kw,) if kw else ()))
        if self.lib in ("xploss", "module") and self.ctor:  # criteria: xploss.torch.<Class> / torch.nn.<Class>
            ctor = ", ".join(f"{k}={v!r}" for k, v in self.ctor.items())
            return f"{'xploss' if self.lib == 'xploss' else 'torch.nn'}.{self.name}({ctor})({args})"
        if self.lib == "module":
            return f"torch.nn.{self.name}()({args})"
        if self.lib == "xploss":
            return f"xploss.{self.name}({args})"
        if self.lib == "torch":
            return f"F.{self.name}({args})"
        if self.lib == "keras":
            ctor = ", ".join(f"{k}={v!r}" for k, v in self.ctor.items())
            return f"keras.{self.name}({ctor})({args})"
        return self.name


def X(name: str, *args: str, **kwargs: Any) -> Call:
    """``xploss.<name>(*args, **kwargs)``."""
    return Call("xploss", name, args, kwargs)


def T(name: str, *args: str, tol: Tol | None = None, note: str = "", **kwargs: Any) -> Call:
    """``torch.nn.functional.<name>(*args, **kwargs)``."""
    return Call("torch", name, args, kwargs, tol=tol, note=note)


def K(name: str, *args: str, ctor: dict | None = None, tol: Tol | None = None, note: str = "",
      **kwargs: Any) -> Call:
    """``keras.<name>(**ctor)(*args, **kwargs)``; ``name`` defaults to the ``losses`` module."""
    path = name if "." in name else f"losses.{name}"
    return Call("keras", path, args, kwargs, ctor=dict(ctor or {}), tol=tol, note=note)


def Formula(text: str, fn: Callable, *args: str, note: str = "") -> Call:
    """A reference formula (no framework ships the loss), evaluated in torch."""
    return Call("formula", text, args, fn=fn, note=note or "reference formula: no torch or Keras built-in")


@dataclass(frozen=True)
class Case:
    id: str
    xploss: Call
    refs: tuple[Call, ...]
    inputs: Callable[[np.random.Generator], dict]
    grad: tuple[str, ...]  # inputs whose gradient is compared
    dtypes: tuple[str, ...] = DTYPES
    note: str = ""
    backends: tuple[str, ...] | None = None  # xploss backends the case runs on (None: all)

    def make_inputs(self) -> dict:
        """The case's inputs (float64 / int64 NumPy, or Python floats), seeded by the id."""
        return self.inputs(np.random.default_rng(zlib.crc32(self.id.encode())))

    def grads_for(self, ref: Call) -> tuple[str, ...]:
        """Gradient inputs that ``ref`` receives directly (derived inputs have none)."""
        return tuple(g for g in self.grad if g in ref.inputs)


# -- input generators (float64 NumPy; the runner casts to each dtype) -------------------------

def _away(rng: np.random.Generator, shape: tuple, lo: float, hi: float, kinks: tuple = (),
          gap: float = GAP) -> np.ndarray:
    """Uniform draws in ``[lo, hi]`` whose ``|x|`` stays ``gap`` away from every kink."""
    x = rng.uniform(lo, hi, shape)
    for _ in range(1000):
        bad = np.zeros(shape, bool)
        for k in kinks:
            bad |= np.abs(np.abs(x) - k) < gap
        if not bad.any():
            return x
        x[bad] = rng.uniform(lo, hi, int(bad.sum()))
    raise RuntimeError("could not draw inputs away from the kinks")


def _with_weights(rng: np.random.Generator, out: dict) -> dict:
    w = rng.uniform(0.2, 2.0, N)
    out.update(w=w, w_full=np.broadcast_to(w[:, None], out["pred"].shape).copy())
    return out


def residuals(kinks: tuple = (), lo: float = -3.0, hi: float = 3.0) -> Callable:
    """``pred = target + e`` with ``|e|`` away from ``kinks``; per-row weights ``w``."""
    def gen(rng: np.random.Generator) -> dict:
        target = rng.normal(size=(N, D))
        return _with_weights(rng, {"pred": target + _away(rng, (N, D), lo, hi, kinks), "target": target})
    return gen


def positives(negative_share: float = 0.0) -> Callable:
    """Positive ``pred``/``target`` (MSLE); a share of ``pred`` below zero (clamped to eps by Keras)."""
    def gen(rng: np.random.Generator) -> dict:
        pred, target = rng.uniform(0.05, 4.0, (N, D)), rng.uniform(0.05, 4.0, (N, D))
        neg = rng.random((N, D)) < negative_share
        pred[neg] = -rng.uniform(0.1, 1.0, int(neg.sum()))
        return {"pred": pred, "target": target}
    return gen


def percentages(rng: np.random.Generator) -> dict:
    """MAPE: ``|target|`` in [0.5, 3] (off the eps floor), ``pred`` off ``target``."""
    target = rng.choice([-1.0, 1.0], (N, D)) * rng.uniform(0.5, 3.0, (N, D))
    return {"pred": target + _away(rng, (N, D), -3.0, 3.0, (0.0,)), "target": target}


def counts(log_input: bool, low: int = 0) -> Callable:
    """Poisson: integer counts low..6 as floats; rates in [0.2, 4] or log-rates in [-2, 1.5]."""
    def gen(rng: np.random.Generator) -> dict:
        pred = rng.uniform(-2.0, 1.5, (N, D)) if log_input else rng.uniform(0.2, 4.0, (N, D))
        return {"pred": pred, "target": rng.integers(low, 7, (N, D)).astype(float)}
    return gen


def gaussians(var_shape: tuple | None, tiny_share: float = 0.0) -> Callable:
    """Gaussian NLL: ``var`` of ``var_shape`` in [0.1, 2] (``None``: the float 0.7);
    a share of variances at 1e-8, below torch's clamp ``eps=1e-6``."""
    def gen(rng: np.random.Generator) -> dict:
        out = {"pred": rng.normal(size=(N, D)), "target": rng.normal(size=(N, D))}
        if var_shape is None:
            out["var"] = 0.7
        else:
            var = rng.uniform(0.1, 2.0, var_shape)
            var[rng.random(var_shape) < tiny_share] = 1e-8
            out["var"] = var
        return out
    return gen


def _softmax(z: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def logits(shape: tuple = (N, C), axis: int = -1, ignore: int | None = None) -> Callable:
    """Logits with classes along ``axis``; int ``labels`` (a quarter set to ``ignore``);
    ``cw`` class weights, ``sw = cw[labels]``, per-sample weights ``w``, ``onehot`` and
    soft ``probs`` along ``axis``."""
    def gen(rng: np.random.Generator) -> dict:
        z = 2.0 * rng.normal(size=shape)
        num = shape[axis]
        sample_shape = tuple(np.delete(np.array(shape), axis))
        labels = rng.integers(0, num, sample_shape)
        if ignore is not None:
            drop = rng.random(sample_shape) < 0.25
            drop.flat[0] = False  # keep at least one valid label
            labels[drop] = ignore
        cw = rng.uniform(0.2, 2.0, num)
        onehot = np.moveaxis(np.eye(num)[np.clip(labels, 0, num - 1)], -1, axis)
        return {"logits": z, "labels": labels, "cw": cw, "sw": cw[np.clip(labels, 0, num - 1)],
                "w": rng.uniform(0.2, 2.0, sample_shape), "onehot": onehot,
                "probs": _softmax(rng.normal(size=shape), axis)}
    return gen


def triplets(margin: float, p: float, swap: bool) -> Callable:
    """Anchor/positive/negative rows whose hinge slack, swap choice and (p=1) coordinates are off ties."""
    def dist(x1: np.ndarray, x2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        u = x1 - x2 + 1e-6
        return np.sum(np.abs(u) ** p, axis=-1) ** (1.0 / p), u

    def gen(rng: np.random.Generator) -> dict:
        a, pos, neg = (rng.normal(size=(N, 4)) for _ in range(3))
        for _ in range(1000):
            (d_ap, u_ap), (d_an, u_an), (d_pn, u_pn) = dist(a, pos), dist(a, neg), dist(pos, neg)
            d_neg = np.minimum(d_an, d_pn) if swap else d_an
            bad = np.abs(d_ap - d_neg + margin) < GAP
            if swap:
                bad |= np.abs(d_an - d_pn) < GAP
            if p == 1.0:
                bad |= (np.abs(np.concatenate([u_ap, u_an, u_pn], axis=-1)) < GAP).any(axis=-1)
            if not bad.any():
                return {"anchor": a, "positive": pos, "negative": neg}
            for x in (a, pos, neg):
                x[bad] = rng.normal(size=(int(bad.sum()), 4))
        raise RuntimeError("could not draw triplets off the ties")
    return gen


def params(rng: np.random.Generator) -> dict:
    """Two parameter arrays, entries away from 0 (the L1 kink)."""
    return {"w1": _away(rng, (3, 4), -2.0, 2.0, (0.0,)), "w2": _away(rng, (5,), -2.0, 2.0, (0.0,))}


# Derived inputs and how they map from the xploss arguments (for the docs' mapping column).
DERIVED = {
    "w_full": "w broadcast to pred.shape",
    "sw": "class_weight[labels] as sample_weight",
    "onehot": "one-hot(labels) along the class axis",
    "cw": "class weight",
}


# -- the table -----------------------------------------------------------------------------

KERAS_LOG2 = Tol("Keras' LogCosh subtracts log(2) evaluated in float32 (ops.log(2.0), then cast): a constant "
                 "offset of 1.9e-9 in float64; the reference formula row checks log_cosh at 1e-12", float64=5e-9)
STIRLING_NOTE = ("targets >= 1: torch's Stirling term has a NaN d/dtarget at target = 0 (log(0) under a mask); "
                 "xploss gives 0 there")
KERAS_LAM = "λ = 0.25 (exact in float32): Keras stores the factor as a float32 tensor"

def _regression_cases() -> list[Case]:
    pt, tp = ("pred", "target"), ("target", "pred")
    cases = [
        Case("mse", X("mse", *pt), (T("mse_loss", *pt), K("MeanSquaredError", *tp)), residuals(), pt),
        Case("mse/weight", X("mse", *pt, sample_weight=In("w"), reduction="weighted_mean"),
             (T("mse_loss", *pt, weight=In("w_full")),), residuals(), pt,
             note="torch's weighted mean Σw·l/Σw with the row weight broadcast to every element"),
        Case("mse/weight-keras", X("mse", *pt, sample_weight=In("w")),
             (K("MeanSquaredError", *tp, sample_weight=In("w")),), residuals(), pt,
             note="Keras sum_over_batch_size: Σ w·l / count, as xploss 'mean'"),
        Case("mae", X("mae", *pt), (T("l1_loss", *pt), K("MeanAbsoluteError", *tp)), residuals((0.0,)), pt),
        Case("log_cosh", X("log_cosh", *pt),
             (K("LogCosh", *tp, tol=KERAS_LOG2),
              Formula("mean(log(cosh(p − y)))", lambda torch, p, y: torch.log(torch.cosh(p - y)).mean(), *pt)),
             residuals(lo=-4.0, hi=4.0), pt),
        Case("msle", X("msle", *pt), (K("MeanSquaredLogarithmicError", *tp),), positives(), pt),
        Case("msle/clamped", X("msle", *pt), (K("MeanSquaredLogarithmicError", *tp),), positives(0.3), pt,
             note="a third of pred < 0: clamped to eps (value log1p(eps), zero gradient)"),
        Case("mape", X("mape", *pt), (K("MeanAbsolutePercentageError", *tp),), percentages, pt),
        Case("poisson", X("poisson", *pt),
             (T("poisson_nll_loss", *pt, log_input=False, eps=1e-7), K("Poisson", *tp)), counts(False), pt),
    ]
    for delta in (1.0, 0.5):
        cases.append(Case(f"huber/delta={delta}", X("huber", *pt, delta=delta),
                          (T("huber_loss", *pt, delta=delta), K("Huber", *tp, ctor={"delta": delta})),
                          residuals((0.0, delta)), pt))
    for beta in (1.0, 0.5):
        cases.append(Case(f"smooth_l1/beta={beta}", X("smooth_l1", *pt, beta=beta),
                          (T("smooth_l1_loss", *pt, beta=beta),), residuals((0.0, beta)), pt))
    for log_input in (True, False):
        for full in (False, True):
            cases.append(Case(f"poisson_nll/log_input={log_input},full={full}",
                              X("poisson_nll", *pt, log_input=log_input, full=full),
                              (T("poisson_nll_loss", *pt, log_input=log_input, full=full),),
                              counts(log_input, low=int(full)), pt,
                              note=STIRLING_NOTE if full else ""))
    gauss = ("pred", "target", "var")
    for label, shape, full, tiny in (("same", (N, D), False, 0.0), ("same,full", (N, D), True, 0.0),
                                     ("per-row (N,)", (N,), False, 0.0), ("(N,1)", (N, 1), True, 0.0),
                                     ("(1,D)", (1, D), False, 0.0), ("below-eps", (N, D), False, 0.2)):
        cases.append(Case(f"gaussian_nll/var={label}", X("gaussian_nll", *gauss, full=full),
                          (T("gaussian_nll_loss", *gauss, full=full),), gaussians(shape, tiny), gauss))
    cases.append(Case("gaussian_nll/var=float", X("gaussian_nll", *gauss),
                      (T("gaussian_nll_loss", *gauss),), gaussians(None), pt))
    for red in ("sum", "none"):
        cases += [
            Case(f"mse/{red}", X("mse", *pt, reduction=red), (T("mse_loss", *pt, reduction=red),),
                 residuals(), pt),
            Case(f"huber/{red}", X("huber", *pt, delta=0.5, reduction=red),
                 (T("huber_loss", *pt, delta=0.5, reduction=red),), residuals((0.0, 0.5)), pt),
            Case(f"gaussian_nll/{red}", X("gaussian_nll", *gauss, reduction=red),
                 (T("gaussian_nll_loss", *gauss, reduction=red),), gaussians((N, D)), gauss),
        ]
    for tau in (0.5, 0.9, 0.1):
        cases.append(Case(f"quantile/tau={tau}", X("quantile", *pt, tau=tau),
                          (Formula(f"mean(max(τ(y − p), (τ − 1)(y − p))), τ={tau}",
                                   lambda torch, p, y, tau=tau: torch.mean(torch.maximum(tau * (y - p),
                                                                                         (tau - 1) * (y - p))),
                                   *pt),),
                          residuals((0.0,)), pt))
    return cases


def _penalty_cases() -> list[Case]:
    ws = ("w1", "w2")
    size = 3 * 4 + 5
    cases = []
    for red, div in (("sum", 1), ("mean", size)):
        cases.append(Case(f"l1_penalty/{red}", X("l1_penalty", *ws, lam=0.1, reduction=red),
                          (Formula(f"0.1 · Σ|w| / {div}", lambda torch, a, b, div=div:
                                   0.1 * (a.abs().sum() + b.abs().sum()) / div, *ws),), params, ws))
        for half in (False, True):
            c = 0.5 if half else 1.0
            cases.append(Case(f"l2_penalty/{red},half={half}", X("l2_penalty", *ws, lam=0.3, half=half, reduction=red),
                              (Formula(f"0.3 · {c} · Σw² / {div}", lambda torch, a, b, c=c, div=div:
                                       0.3 * c * ((a * a).sum() + (b * b).sum()) / div, *ws),), params, ws))
    one = ("w1",)
    cases += [
        Case("l1_penalty/keras", X("l1_penalty", *one, lam=0.25),
             (K("regularizers.L1", *one, ctor={"l1": 0.25}, note=KERAS_LAM),), params, one),
        Case("l2_penalty/keras", X("l2_penalty", *one, lam=0.25),
             (K("regularizers.L2", *one, ctor={"l2": 0.25}, note=KERAS_LAM),), params, one),
    ]
    return cases


def _cross_entropy_cases() -> list[Case]:
    zl, lz = ("logits", "labels"), ("labels", "logits")
    zp, pz = ("logits", "probs"), ("probs", "logits")
    sparse = {"from_logits": True}
    cases = [
        Case("cross_entropy", X("cross_entropy", *zl),
             (T("cross_entropy", *zl), K("SparseCategoricalCrossentropy", *lz, ctor=sparse)), logits(), ("logits",)),
        Case("cross_entropy/class_weight", X("cross_entropy", *zl, class_weight=In("cw"), reduction="weighted_mean"),
             (T("cross_entropy", *zl, weight=In("cw")),
              K("SparseCategoricalCrossentropy", *lz, ctor={**sparse, "reduction": "mean_with_sample_weight"},
                sample_weight=In("sw"))),
             logits(), ("logits",), note="torch weight= is xploss class_weight with reduction='weighted_mean'"),
        Case("cross_entropy/sample_weight", X("cross_entropy", *zl, sample_weight=In("w")),
             (K("SparseCategoricalCrossentropy", *lz, ctor=sparse, sample_weight=In("w")),), logits(), ("logits",),
             note="per-sample weight; Keras sum_over_batch_size divides by N, as xploss 'mean'"),
        Case("cross_entropy/ignore_index", X("cross_entropy", *zl),
             (T("cross_entropy", *zl), K("SparseCategoricalCrossentropy", *lz, ctor={**sparse, "ignore_class": -100})),
             logits(ignore=-100), ("logits",), note="a quarter of the labels are -100 (the default ignore_index)"),
        Case("cross_entropy/ignore_index=1", X("cross_entropy", *zl, ignore_index=1),
             (T("cross_entropy", *zl, ignore_index=1),
              K("SparseCategoricalCrossentropy", *lz, ctor={**sparse, "ignore_class": 1})),
             logits(ignore=1), ("logits",), note="the ignored label is a real class index"),
        Case("cross_entropy/label_smoothing", X("cross_entropy", *zl, label_smoothing=0.1),
             (T("cross_entropy", *zl, label_smoothing=0.1),
              K("CategoricalCrossentropy", "onehot", "logits", ctor={**sparse, "label_smoothing": 0.1})),
             logits(), ("logits",)),
        Case("cross_entropy/weight+ignore+smoothing",
             X("cross_entropy", *zl, class_weight=In("cw"), label_smoothing=0.2, reduction="weighted_mean"),
             (T("cross_entropy", *zl, weight=In("cw"), label_smoothing=0.2),), logits(ignore=-100), ("logits",),
             note="torch's smoothing mixture weighs every class by w_c (BUILTINS §2.6); no Keras twin"),
        Case("cross_entropy/probs", X("cross_entropy", *zp),
             (T("cross_entropy", *zp), K("CategoricalCrossentropy", *pz, ctor=sparse)), logits(), zp),
        Case("cross_entropy/probs+smoothing", X("cross_entropy", *zp, label_smoothing=0.15),
             (T("cross_entropy", *zp, label_smoothing=0.15),
              K("CategoricalCrossentropy", *pz, ctor={**sparse, "label_smoothing": 0.15})), logits(), zp),
        Case("cross_entropy/probs+class_weight", X("cross_entropy", *zp, class_weight=In("cw")),
             (T("cross_entropy", *zp, weight=In("cw")),), logits(), zp,
             note="probability targets: torch divides by N (not the weight sum), as xploss 'mean'"),
        Case("cross_entropy/K-dim", X("cross_entropy", *zl, axis=1),
             (T("cross_entropy", *zl), K("CategoricalCrossentropy", "onehot", "logits", ctor={**sparse, "axis": 1})),
             logits((4, C, 3), axis=1), ("logits",), note="(N, C, d) with the classes on axis 1"),
        Case("cross_entropy/K-dim+weight+ignore", X("cross_entropy", *zl, axis=1, class_weight=In("cw"),
                                                    reduction="weighted_mean"),
             (T("cross_entropy", *zl, weight=In("cw")),), logits((4, C, 3), axis=1, ignore=-100), ("logits",)),
        Case("cross_entropy/K-dim-probs", X("cross_entropy", *zp, axis=1), (T("cross_entropy", *zp),),
             logits((4, C, 3), axis=1), zp),
        Case("cross_entropy/channels-last", X("cross_entropy", *zl),
             (K("SparseCategoricalCrossentropy", *lz, ctor=sparse),), logits((4, 3, C)), ("logits",),
             note="Keras (N, d, C) layout: xploss' default axis=-1"),
        Case("cross_entropy/onehot", X("cross_entropy", "logits", "onehot"),
             (K("CategoricalCrossentropy", "onehot", "logits", ctor=sparse),), logits(), ("logits", "onehot")),
    ]
    for red in ("sum", "none"):
        cases.append(Case(f"cross_entropy/{red}", X("cross_entropy", *zl, reduction=red),
                          (T("cross_entropy", *zl, reduction=red),), logits(ignore=-100), ("logits",)))
    return cases


def _triplet_cases() -> list[Case]:
    apn = ("anchor", "positive", "negative")
    cases = []
    for margin, p, swap in ((1.0, 2.0, False), (1.0, 1.0, False), (1.0, 2.0, True), (0.5, 2.0, False),
                            (2.0, 1.0, True)):
        opts = {"margin": margin, "p": p, "swap": swap}
        cases.append(Case("triplet_margin/" + ",".join(f"{k}={v}" for k, v in opts.items()),
                          X("triplet_margin", *apn, **opts), (T("triplet_margin_loss", *apn, **opts),),
                          triplets(margin, p, swap), apn))
    cases.append(Case("triplet_margin/none", X("triplet_margin", *apn, reduction="none"),
                      (T("triplet_margin_loss", *apn, reduction="none"),), triplets(1.0, 2.0, False), apn))
    return cases


def _family_cases() -> list[Case]:
    """Cases of the loss families kept in their own modules (``conformance/cases_<family>.py``)."""
    import importlib

    out: list[Case] = []
    for family in ("binary", "margin", "softmax", "torch_modules", "pairs", "proxies", "contrastive", "mined",
                   "overlap", "lovasz", "boxes", "ctc", "generative", "linear_ce"):
        out += importlib.import_module(f"conformance.cases_{family}").cases()
    return out


CASES: tuple[Case, ...] = tuple(_regression_cases() + _penalty_cases() + _cross_entropy_cases() + _triplet_cases()
                                + _family_cases())
BY_ID = {c.id: c for c in CASES}
assert len(BY_ID) == len(CASES), "duplicate case ids"


# -- queries for the runner, the hygiene tests and the docs ----------------------------------

def select(pattern: str | None, cases: tuple[Case, ...] | None = None) -> list[Case]:
    """Cases (of ``cases``, default the whole table) whose id matches a glob (``huber*``) or contains ``pattern``."""
    cases = CASES if cases is None else cases
    if not pattern:
        return list(cases)
    glob = any(ch in pattern for ch in "*?[")
    return [c for c in cases if (fnmatch.fnmatch(c.id, pattern) if glob else pattern in c.id)]


def _loss_names(fn_name: str) -> list[str]:
    if fn_name.startswith("torch."):  # an xploss.torch criterion: the loss it wraps
        import importlib

        criteria = importlib.import_module("xploss.torch")
        fn_name = getattr(criteria, fn_name.removeprefix("torch.")).spec.loss
    fn = getattr(xploss, fn_name)
    return [n for n in xploss.__all__ if getattr(xploss, n) is fn]


def coverage() -> dict[str, str]:
    """Every public xploss loss (aliases included) -> ``"built-in"`` or ``"reference formula"``."""
    out: dict[str, str] = {}
    for case in CASES:
        kind = "built-in" if any(r.lib in ("torch", "keras", "module") for r in case.refs) else "reference formula"
        for name in _loss_names(case.xploss.name):
            if out.get(name) != "built-in":
                out[name] = kind
    return out


def uncovered_losses() -> list[str]:
    """Public xploss names that are losses but have no conformance case."""
    covered = coverage()
    return [n for n in xploss.__all__ if n not in NOT_LOSSES and n not in covered]


def _mapping(case: Case, ref: Call) -> str:
    parts = []
    xs = [a for a in ref.args if a in case.xploss.args]
    if xs != [a for a in case.xploss.args if a in ref.args]:
        parts.append(f"argument order ({', '.join(ref.args)})")
    parts += [f"{n} = {DERIVED[n]}" for n in ref.inputs if n not in case.xploss.inputs and n in DERIVED]
    if ref.tol is not None:
        parts.append(f"tolerance override: {ref.tol.reason}")
    return "; ".join(parts)


def equivalence_rows(loss: str | None = None) -> list[dict[str, str]]:
    """Rows ``{loss, case, xploss, builtin, mapping, note}`` for the docs' equivalence tables.

    ``loss`` (any public name, aliases included) restricts the rows to one loss.
    """
    rows = []
    for case in CASES:
        names = _loss_names(case.xploss.name)
        if loss is not None and loss not in names:
            continue
        for ref in case.refs:
            note = "; ".join(n for n in (case.note, ref.note) if n)
            rows.append({"loss": case.xploss.name, "case": case.id, "xploss": case.xploss.render(),
                         "builtin": ref.render(), "mapping": _mapping(case, ref), "note": note})
    return rows

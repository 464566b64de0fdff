"""Conformance cases of the softmax classification losses (extends ``cases.py``).

Built-ins: torch ``F.nll_loss`` (class weights, ``ignore_index``, K-dim),
``F.cross_entropy`` (focal at γ = 0), ``F.kl_div`` (``batchmean``, ``log_target``,
elementwise); Keras ``CategoricalCrossentropy`` / ``SparseCategoricalCrossentropy``
from probabilities, ``CategoricalFocalCrossentropy`` (from probabilities and from
logits), ``KLDivergence``, ``CategoricalGeneralizedCrossEntropy``; optax
``poly_loss_cross_entropy``, ``kl_divergence`` (JAX, bridged into torch's autograd by
:func:`conformance.cases_binary.optax_ref`); Lin et al.'s focal formula in torch.
Probabilities stay in [0.05, 1] (off Keras' 1e-7 clip) except in the ``clipped`` and
``zeros`` cases, which put entries at exactly 0 and 1, and logits are ~N(0, 2²)
except in the ``extreme`` cases (±1e4).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from .cases import C, Case, Formula, In, K, N, T, Tol, X, logits
from .cases_binary import optax_ref

# α exact in float32: Keras turns a list ``alpha`` into a float32 tensor before the float64 product
ALPHA = (0.25, 0.5, 1.5, 2.0, 0.75)
ALPHA_NOTE = ("α per class (Keras' list alpha), values exact in float32: Keras converts a list alpha to a float32 "
              "tensor even in float64 (alpha = [0.3, 0.7, 1.1] is off by 5e-9 relative)")

# -- notes ---------------------------------------------------------------------------------

RENORM_NOTE = ("Keras renormalises p / Σp before the clip: its gradient is −q/p + Σq/Σp, not NLL's −q/p; the two "
               "differ by a constant along the class axis (BUILTINS §3.4), and xploss reproduces Keras")
NLL_KERAS_NOTE = ("value only: Keras gets probs = exp(log_probs) and renormalises them, so its gradient is not "
                  "NLL's (BUILTINS §3.4); probability_cross_entropy reproduces it")
PCE_NLL_NOTE = ("value only: torch NLL of log(p) has the gradient −1/p_y at the label, Keras' (and xploss') "
                "renormalised loss −1/p_y + 1/Σp everywhere (BUILTINS §3.4)")
CLIP_NOTE = ("a third of the probabilities exactly 0, one row one-hot: renormalised entries outside [1e-7, 1 − 1e-7] "
             "are clipped with a zero gradient, as in Keras")
SCCE_TF_NOTE = ("Keras' TensorFlow SCCE clips before it renormalises (log, then log_softmax): equal while every "
                "entry lies in [1e-7, 1 − 1e-7], different for clipped entries (BUILTINS §2.1), so the clipped "
                "rows compare with CategoricalCrossentropy only")
XLOGY_NOTE = ("zero target entries: value and d/dlog_q (= −p = 0 there) agree; d/dp is not compared: torch's "
              "xlogy(0, 0) backward and optax' where give NaN at p = 0, TensorFlow's xlogy gives 0, and xploss "
              "defines it as 0 (BUILTINS §2.9, §3.1).  Against log q = −inf torch's value is NaN (0·inf), "
              "xploss' 0")
KL_KERAS_NOTE = ("Keras gets q = exp(log_q) and clips both to [1e-7, 1] (no entry is clipped here): d/dp compared, "
                 "d/dlog_q not (Keras differentiates q)")
FOCAL_KERAS_LOGITS = ("Keras from_logits=True takes softmax(z) and then clips to [1e-7, 1 − 1e-7]: xploss eps=1e-7 "
                      "clips the same probabilities, in log space")
EXTREME_F32 = Tol("float32 logits of ±1e4 carry an ulp of 1e-3, so log p = z − logsumexp(z) differs between two "
                  "correct implementations by ~1e-3·|p| (torch's log_softmax and xploss' logsumexp round differently)",
                  float32=1e-4)
FOCAL_GRAD_NOTE = ("value only: the textbook (1 − p)^γ has an infinite derivative at p = 1 for γ < 1, so torch's "
                   "autograd of the formula gives NaN where a ±1e4 logit makes p_y = 1; xploss' gradient is finite "
                   "(−(1 − p)^γ (1 + γ p (−log p)/(1 − p)), tests/test_losses.py extremes)")


# -- generators ----------------------------------------------------------------------------

def _log_softmax(z: np.ndarray, axis: int) -> np.ndarray:
    m = z.max(axis=axis, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=axis, keepdims=True))


def softmax_inputs(shape: tuple = (N, C), axis: int = -1, ignore: int | None = None, extreme: bool = False,
                   zeros: bool = False, spread: bool = False) -> Callable:
    """:func:`conformance.cases.logits` plus ``log_probs`` (its log-softmax) and ``probs_of_log``
    (exp of it), ``raw`` unnormalised probabilities in [0.05, 1], ``soft`` targets, ``alpha``, and a
    second distribution pair ``log_q``/``q`` against ``p``/``log_p``; ``logits_copy`` feeds a value-only
    reference.  ``extreme``: a third of the logits at ±1e4; ``zeros``: a third of ``raw``, ``p`` and ``q``
    exactly 0 (``p`` on all of column 0), one one-hot row of ``raw``; ``spread``: logits 25 apart in two
    rows (Keras' clip bites)."""
    base = logits(shape, axis, ignore)

    def gen(rng: np.random.Generator) -> dict:
        out = base(rng)
        z = out["logits"]
        if extreme:
            z[rng.random(shape) < 0.35] = 1e4
            z[rng.random(shape) < 0.2] = -1e4
        if spread:
            z[0, np.clip(out["labels"][0], 0, shape[axis] - 1)] += 25.0
            z[1, (np.clip(out["labels"][1], 0, shape[axis] - 1) + 1) % shape[axis]] += 25.0
        raw = rng.uniform(0.05, 1.0, shape)
        soft = rng.uniform(0.1, 1.0, shape)
        log_q, log_p = _log_softmax(rng.normal(size=shape), axis), _log_softmax(rng.normal(size=shape), axis)
        q, p = np.exp(log_q), np.exp(log_p)
        if zeros:
            for x in (raw, q, p):
                x[rng.random(shape) < 0.33] = 0.0
            raw[2] = np.eye(shape[-1])[1]
            p[:, 0] = 0.0
        log_probs = _log_softmax(z, axis)
        out.update(logits_copy=z.copy(), log_probs=log_probs, probs_of_log=np.exp(log_probs), raw=raw,
                   alpha=np.array(ALPHA[:shape[axis]]), soft=soft / soft.sum(axis=axis, keepdims=True),
                   log_q=log_q, q=q, p=p, log_p=log_p)
        return out
    return gen


def _focal_formula(gamma: float) -> Callable:
    """Lin et al.: mean over samples of −α_y (1 − p_y)^γ log p_y, p = softmax(z) (classes on dim 1)."""
    def fn(torch: Any, z: Any, y: Any, alpha: Any) -> Any:
        logp = torch.log_softmax(z, dim=1).gather(1, y.unsqueeze(1)).squeeze(1)
        return (-alpha[y] * (1 - logp.exp()) ** gamma * logp).mean()
    return fn


# -- the table -------------------------------------------------------------------------------

def _nll_cases() -> list[Case]:
    xl = ("log_probs", "labels")
    g = ("log_probs",)
    weighted = {"class_weight": In("cw"), "reduction": "weighted_mean"}
    cases = [
        Case("nll", X("nll", *xl), (T("nll_loss", *xl),
                                    K("SparseCategoricalCrossentropy", "labels", "probs_of_log", note=NLL_KERAS_NOTE)),
             softmax_inputs(), g),
        Case("nll/class_weight+ignore_index", X("nll", *xl, **weighted), (T("nll_loss", *xl, weight=In("cw")),),
             softmax_inputs(ignore=-100), g,
             note="torch's weight= is class_weight with reduction='weighted_mean' (Σ w_y over non-ignored)"),
        Case("nll/ignore_index=1", X("nll", *xl, ignore_index=1), (T("nll_loss", *xl, ignore_index=1),),
             softmax_inputs(ignore=1), g, note="the ignored label is a real class index"),
        Case("nll/K-dim", X("nll", *xl, axis=1, **weighted), (T("nll_loss", *xl, weight=In("cw")),),
             softmax_inputs((4, C, 3), axis=1, ignore=-100), g, note="(N, C, d) with the classes on axis 1"),
    ]
    for red in ("sum", "none"):
        cases.append(Case(f"nll/{red}", X("nll", *xl, class_weight=In("cw"), reduction=red),
                          (T("nll_loss", *xl, weight=In("cw"), reduction=red),), softmax_inputs(ignore=-100), g))
    return cases


def _focal_cases() -> list[Case]:
    zl = ("logits", "labels")
    g = ("logits",)
    cfce = "CategoricalFocalCrossentropy"
    cases = [
        Case("focal/gamma=0", X("focal", *zl, gamma=0.0), (T("cross_entropy", *zl),), softmax_inputs(), g,
             note="γ = 0, α = None: cross-entropy (USER-ASKS F5)"),
        Case("focal/gamma=0,alpha,none", X("focal", *zl, gamma=0.0, alpha=In("cw"), reduction="none"),
             (T("cross_entropy", *zl, weight=In("cw"), reduction="none"),), softmax_inputs(ignore=-100), g,
             note="γ = 0 with α = w: torch's class-weighted CE elementwise (F5)"),
        Case("focal/gamma=0,alpha,smoothing", X("focal", *zl, gamma=0.0, alpha=In("cw"), label_smoothing=0.2,
                                                reduction="weighted_mean"),
             (T("cross_entropy", *zl, weight=In("cw"), label_smoothing=0.2),), softmax_inputs(ignore=-100), g,
             note="α is torch's class weight, in the smoothing mixture and in the weighted mean (§2.6)"),
        Case("focal/probs,smoothing", X("focal", "logits", "soft", alpha=0.25, label_smoothing=0.1, eps=1e-7),
             (K(cfce, "soft", "logits", ctor={"from_logits": True, "label_smoothing": 0.1}),),
             softmax_inputs(), ("logits", "soft"), note=FOCAL_KERAS_LOGITS),
        Case("focal/K-dim", X("focal", "logits", "onehot", alpha=0.25, gamma=1.0, axis=1, eps=1e-7),
             (K(cfce, "onehot", "logits", ctor={"from_logits": True, "gamma": 1.0, "axis": 1}),),
             softmax_inputs((4, C, 3), axis=1), ("logits", "onehot"),
             note="(N, C, d), classes on axis 1 (Keras' list alpha broadcasts along the last axis only)"),
        Case("focal/keras-clipped", X("focal", *zl, alpha=0.25, eps=1e-7),
             (K(cfce, "onehot", "logits", ctor={"from_logits": True}),), softmax_inputs(spread=True), g,
             note="rows with p_y ≈ 1 and p_y ≈ e^−25, both clipped by Keras (zero gradient); " + FOCAL_KERAS_LOGITS),
        Case("focal/extreme,gamma=2", X("focal", *zl, alpha=In("alpha")),
             (replace(Formula("mean(−α_y (1 − p_y)² log p_y)", _focal_formula(2.0), *zl, "alpha"),
                      tol=EXTREME_F32),),
             softmax_inputs(extreme=True), g, note="a third of the logits at ±1e4"),
        Case("focal/extreme,gamma=0.5", X("focal", *zl, alpha=In("alpha"), gamma=0.5),
             (Formula("mean(−α_y (1 − p_y)^0.5 log p_y)", _focal_formula(0.5), "logits_copy", "labels", "alpha"),),
             softmax_inputs(extreme=True), g, note=FOCAL_GRAD_NOTE),
    ]
    for gamma in (0.25, 0.5, 1.0, 2.0):
        cases.append(Case(f"focal/gamma={gamma}", X("focal", *zl, alpha=In("alpha"), gamma=gamma, eps=1e-7),
                          (K(cfce, "onehot", "logits",
                             ctor={"from_logits": True, "alpha": list(ALPHA), "gamma": gamma}),
                           Formula(f"mean(−α_y (1 − p_y)^{gamma} log p_y)", _focal_formula(gamma), *zl, "alpha")),
                          softmax_inputs(ignore=None), g,
                          note=ALPHA_NOTE + "; F5: equals Keras on the one-hot target"))
    return cases


def _keras_probability_cases() -> list[Case]:
    g = ("raw", "onehot")
    ro, orr = ("raw", "onehot"), ("onehot", "raw")
    cfce = "CategoricalFocalCrossentropy"
    return [
        Case("categorical_focal", X("categorical_focal", *ro), (K(cfce, *orr),), softmax_inputs(), g,
             note="unnormalised probabilities (Keras renormalises)"),
        Case("categorical_focal/alpha,gamma,smoothing",
             X("categorical_focal", "raw", "soft", alpha=In("alpha"), gamma=0.5, label_smoothing=0.1),
             (K(cfce, "soft", "raw", ctor={"alpha": list(ALPHA), "gamma": 0.5, "label_smoothing": 0.1}),),
             softmax_inputs(), ("raw", "soft"), note=ALPHA_NOTE),
        Case("categorical_focal/labels,sample_weight", X("categorical_focal", "raw", "labels", sample_weight=In("w")),
             (K(cfce, *orr, sample_weight=In("w")),), softmax_inputs(), ("raw",),
             note="integer labels (Keras takes their one-hot)"),
        Case("categorical_focal/clipped", X("categorical_focal", *ro), (K(cfce, *orr, note=CLIP_NOTE),),
             softmax_inputs(zeros=True), g),
        Case("probability_cross_entropy", X("probability_cross_entropy", *ro),
             (K("CategoricalCrossentropy", *orr, note=RENORM_NOTE),), softmax_inputs(), g),
        Case("probability_cross_entropy/soft,smoothing",
             X("probability_cross_entropy", "raw", "soft", label_smoothing=0.1),
             (K("CategoricalCrossentropy", "soft", "raw", ctor={"label_smoothing": 0.1}),), softmax_inputs(),
             ("raw", "soft")),
        Case("probability_cross_entropy/sparse", X("probability_cross_entropy", "raw", "labels"),
             (K("SparseCategoricalCrossentropy", "labels", "raw"),), softmax_inputs(), ("raw",), note=SCCE_TF_NOTE),
        Case("probability_cross_entropy/ignore_index", X("probability_cross_entropy", "raw", "labels"),
             (K("SparseCategoricalCrossentropy", "labels", "raw", ctor={"ignore_class": -100}),),
             softmax_inputs(ignore=-100), ("raw",), note="Keras' mean divides by the non-ignored count, as xploss"),
        Case("probability_cross_entropy/nll", X("probability_cross_entropy", "probs_of_log", "labels"),
             (T("nll_loss", "log_probs", "labels", note=PCE_NLL_NOTE),), softmax_inputs(), ("probs_of_log",)),
        Case("probability_cross_entropy/clipped", X("probability_cross_entropy", *ro),
             (K("CategoricalCrossentropy", *orr, note=CLIP_NOTE),), softmax_inputs(zeros=True), g,
             note=SCCE_TF_NOTE),
        Case("categorical_generalized_cross_entropy", X("categorical_generalized_cross_entropy", "probs", "labels"),
             (K("CategoricalGeneralizedCrossEntropy", "labels", "probs"),), softmax_inputs(), ("probs",)),
        Case("categorical_generalized_cross_entropy/q=0.7,sample_weight",
             X("categorical_generalized_cross_entropy", "raw", "labels", q=0.7, sample_weight=In("w")),
             (K("CategoricalGeneralizedCrossEntropy", "labels", "raw", ctor={"q": 0.7}, sample_weight=In("w")),),
             softmax_inputs(), ("raw",), note="probabilities used as given (no renormalisation, no clip)"),
    ]


def _poly_kl_cases() -> list[Case]:
    def poly(labels: str, eps: float) -> Any:
        return optax_ref(f"poly_loss_cross_entropy(logits, {labels}, epsilon={eps}).mean()",
                         lambda ol, z, y: ol.poly_loss_cross_entropy(z, y, epsilon=eps).mean(), "logits", labels)

    lp = ("log_q", "p")
    batchmean = {"reduction": "batchmean"}
    cases = [
        Case("poly1_cross_entropy", X("poly1_cross_entropy", "logits", "labels"), (poly("onehot", 2.0),),
             softmax_inputs(), ("logits",), note="integer labels; optax takes their one-hot"),
        Case("poly1_cross_entropy/probs,epsilon=-1", X("poly1_cross_entropy", "logits", "soft", epsilon=-1.0),
             (poly("soft", -1.0),), softmax_inputs(), ("logits", "soft")),
        Case("kl_divergence", X("kl_divergence", *lp, **batchmean),
             (T("kl_div", *lp, **batchmean),
              optax_ref("kl_divergence(log_q, p).mean()", lambda ol, lq, t: ol.kl_divergence(lq, t).mean(), *lp),
              K("KLDivergence", "p", "q", note=KL_KERAS_NOTE)),
             softmax_inputs(), lp, note="(N, C): batchmean = xploss 'mean' = Keras = optax .mean()"),
        Case("kl_divergence/log_target", X("kl_divergence", "log_q", "log_p", log_target=True, **batchmean),
             (T("kl_div", "log_q", "log_p", log_target=True, **batchmean),
              optax_ref("kl_divergence_with_log_targets(log_q, log_p).mean()",
                        lambda ol, lq, lt: ol.kl_divergence_with_log_targets(lq, lt).mean(), "log_q", "log_p")),
             softmax_inputs(), ("log_q", "log_p")),
        Case("kl_divergence/N,T,C", X("kl_divergence", *lp, **batchmean), (T("kl_div", *lp, **batchmean),),
             softmax_inputs((4, 3, C)), lp, note="torch's batchmean divides by N = 4, not by N·T"),
        Case("kl_divergence/N,T,C-keras", X("kl_divergence", *lp), (K("KLDivergence", "p", "q", note=KL_KERAS_NOTE),),
             softmax_inputs((4, 3, C)), lp, note="Keras means over N·T samples: xploss 'mean'"),
        Case("kl_divergence/elementwise-mean", X("kl_divergence", *lp, axis=None),
             (T("kl_div", *lp, reduction="mean"),), softmax_inputs(), lp,
             note="torch's 'mean' divides by the number of elements: axis=None"),
        Case("kl_divergence/none", X("kl_divergence", *lp, axis=None, reduction="none"),
             (T("kl_div", *lp, reduction="none"),), softmax_inputs(), lp),
        Case("kl_divergence/zeros", X("kl_divergence", *lp, **batchmean),
             (T("kl_div", *lp, **batchmean), optax_ref("kl_divergence(log_q, p).mean()",
                                                        lambda ol, lq, t: ol.kl_divergence(lq, t).mean(), *lp)),
             softmax_inputs(zeros=True), ("log_q",), note=XLOGY_NOTE),
        Case("kl_divergence/sample_weight", X("kl_divergence", *lp, sample_weight=In("w")),
             (K("KLDivergence", "p", "q", sample_weight=In("w"), note=KL_KERAS_NOTE),), softmax_inputs(), lp),
        Case("probability_kl_divergence", X("probability_kl_divergence", "q", "p"), (K("KLDivergence", "p", "q"),),
             softmax_inputs(), ("q", "p")),
        Case("probability_kl_divergence/zeros", X("probability_kl_divergence", "q", "p"),
             (K("KLDivergence", "p", "q"),), softmax_inputs(zeros=True), ("q", "p"),
             note="exact zeros in p and q: clipped to 1e-7 with a zero gradient, as Keras (torch's kl_div gives "
                  "0 for p = 0 where Keras adds 1e-7·log(1e-7/q̄): 'kl_divergence' is that form)"),
    ]
    return cases


def cases() -> list[Case]:
    return _nll_cases() + _focal_cases() + _keras_probability_cases() + _poly_kl_cases()

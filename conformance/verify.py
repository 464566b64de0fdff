"""Verify one xploss call against the built-ins of the case table, on the user's own arrays.

The main job (``python -m conformance``) proves the table's equivalences on
seeded inputs.  :func:`verify` checks the same equivalences on *your* arrays:

1. it finds the case rows of the loss whose options match yours (by name, by
   value, and by the kind -- float or integer -- of every array), per built-in
   counterpart (``F.cross_entropy``, ``keras.losses.SparseCategoricalCrossentropy``,
   a reference formula, ...);
2. it maps your arrays onto the case's input names (derived inputs such as
   ``class_weight[labels]`` as a Keras ``sample_weight`` or a one-hot target
   are computed from them) and runs every such reference and the xploss call
   on every installed backend;
3. it reports the worst value and gradient error of each, pass or fail at the
   project tolerances (relative to ``max(|ref|, 1)``: 1e-12 in float64, 1e-5
   in float32; the table's overrides with their reasons apply), and, where
   your options differ from the documented mapping, the divergence and the
   option that reproduces the built-in (:data:`DIVERGENCES`).

Scalar options that a reference spells with the same keyword (``delta``,
``gamma``, ``label_smoothing``, ``margin``, ...) are carried over to it, so a
case drawn with ``delta=0.5`` also checks ``delta=2.0``.  Frameworks that are
not installed are reported as skipped.  Keras runs in a subprocess on its
TensorFlow backend (the only float64 one), as in the main job.

``python -m conformance verify LOSS --npz FILE [--option k=v ...] [--arrays a,b]``
is the command-line form (:func:`main`).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import dataclasses
import importlib.util
import inspect
import os
import pickle
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import xploss
from xploss._errors import error

from . import report
from .cases import BY_ID, CASES, Call, Case, In, _mapping
from .evaluate import guarded, run_keras, run_torch, run_xploss, to_numpy

__all__ = ["verify", "VerifyResult", "Check", "Divergence", "DIVERGENCES", "load_npz", "main"]

BACKENDS = ("numpy", "array_api_strict", "torch", "jax", "tensorflow")
NEEDS = {  # what a reference kind or an xploss backend imports
    "torch": ("torch",), "module": ("torch",), "keras": ("keras", "tensorflow"), "formula": ("torch",),
    "optax": ("torch", "jax", "optax"),
    "numpy": ("numpy",), "array_api_strict": ("array_api_strict",), "jax": ("jax",), "tensorflow": ("tensorflow",),
}
NEAREST_LIMIT = 1  # a built-in whose nearest mapping differs by more (an array option counts 2) is not run
_MISSING = object()


# -- documented divergences: what differs between the built-ins, and the xploss option for each -----------

@dataclass(frozen=True)
class Divergence:
    """A documented difference between built-ins and the xploss option that reproduces each.

    ``fix`` holds the xploss options of the case rows that reproduce the built-in: when your call
    differs from a mapping in exactly these options, this entry names the divergence.  ``fix={}``
    marks a mapping fact (argument order, layout) shown with every check of its built-in.
    """

    name: str
    builtin: str  # which built-in(s)
    differs: str  # what differs
    option: str  # what reproduces it in xploss
    libs: tuple[str, ...] = ()  # reference kinds it concerns: torch, keras, optax, formula
    losses: tuple[str, ...] = ()  # canonical loss names; empty: every loss
    fix: dict = field(default_factory=dict)
    always: bool = False  # a mapping fact shown with every check of its built-ins

    def matches(self, loss: str, lib: str, differs: dict) -> bool:
        if self.losses and loss not in self.losses or self.libs and lib not in self.libs:
            return False
        if not self.fix:
            return False
        return all(k in differs and _same(differs[k][1], v) for k, v in self.fix.items())


_CE = ("cross_entropy", "nll", "focal")
DIVERGENCES: tuple[Divergence, ...] = (
    Divergence("torch's class-weighted mean", "F.cross_entropy / F.nll_loss(weight=w), index targets",
               "'mean' divides by Σ w[y] over the non-ignored targets, not by their count",
               'class_weight=w, reduction="weighted_mean"', ("torch",), _CE, {"reduction": "weighted_mean"}),
    Divergence("Keras' mean_with_sample_weight", "keras.losses.*(reduction='mean_with_sample_weight')",
               "divides Σ w·l by Σ w (the default sum_over_batch_size divides by the sample count)",
               'reduction="weighted_mean" (Keras\' default is xploss "mean")', ("keras",), (),
               {"reduction": "weighted_mean"}),
    Divergence("Keras' sum_over_batch_size", "every keras.losses class (the default reduction)",
               "divides Σ w·l by the number of samples: sample weights do not change the denominator",
               'reduction="mean" with sample_weight=w', ("keras",), (), {"reduction": "mean"}),
    Divergence("torch's element-count mean with weights", "F.huber_loss, F.binary_cross_entropy(_with_logits), "
               "F.multi_margin_loss, F.multilabel_soft_margin_loss with weight=",
               "'mean' divides by the element (or sample) count, not by the weight total", 'reduction="mean"',
               ("torch",), ("huber", "binary_cross_entropy", "sigmoid_binary_cross_entropy", "multi_margin",
                            "multilabel_soft_margin"), {"reduction": "mean"}),
    Divergence("torch's weighted mse/l1 mean", "F.mse_loss / F.l1_loss(weight=w)",
               "'mean' with weight= divides by Σ w (F.huber_loss and BCE divide by the element count)",
               'sample_weight=w, reduction="weighted_mean"', ("torch",), ("mean_squared_error", "mean_absolute_error"),
               {"reduction": "weighted_mean"}),
    Divergence("Keras' 1e-7 clipping of probabilities", "keras.losses.BinaryCrossentropy, BinaryFocal, "
               "CategoricalFocalCrossentropy(from_logits=True)",
               "probabilities are clipped to [1e-7, 1 − 1e-7] (zero gradient outside): at most 16.118 per element",
               "eps=1e-7", ("keras",), ("binary_cross_entropy", "focal"), {"eps": 1e-7}),
    Divergence("torch BCE's -100 log clamp", "F.binary_cross_entropy",
               "each log is clamped at −100 (a certain wrong prediction costs 100) and the gradient is the "
               "analytic (p − y)/max(p(1 − p), 1e-12)", "eps=None (the default)", ("torch",),
               ("binary_cross_entropy",), {"eps": None}),
    Divergence("Keras' y_true-first order", "every keras.losses class",
               "Keras calls loss(y_true, y_pred); xploss takes (prediction, target)",
               "xploss.<loss>(y_pred, y_true); with Keras, use the xploss.keras classes", ("keras",), always=True),
    Divergence("torch's probability-target CE mean", "F.cross_entropy(weight=w) with probability targets",
               "divides by N (not by the weight total)", 'class_weight=w, reduction="mean"', ("torch",),
               ("cross_entropy",), {"reduction": "mean"}),
    Divergence("torch's kl_div reductions", "F.kl_div",
               "'batchmean' divides by the batch size N (not N·T for (N, T, C)); 'mean' by the element count",
               'reduction="batchmean" (2-D: = "mean"); torch\'s "mean": axis=None', ("torch",), ("kl_divergence",),
               {"axis": None}),
    Divergence("Poisson eps", "keras.losses.Poisson vs F.poisson_nll_loss(log_input=False)",
               "Keras adds 1e-7 inside the log, torch 1e-8", "poisson (eps=1e-7, rates) follows Keras; poisson_nll "
               "(eps=1e-8, log-rates by default) follows torch; torch needs eps=1e-7 to equal Keras",
               ("torch", "keras"), ("poisson", "poisson_nll"), {"eps": 1e-7}),
    Divergence("focal class balancing", "Keras BinaryFocalCrossentropy, torchvision, optax sigmoid_focal_loss",
               "Keras' default apply_class_balancing=False, torchvision's alpha=-1 and optax' alpha=None switch "
               "α off", "alpha=None", ("keras", "formula", "optax"), ("sigmoid_focal", "binary_focal"),
               {"alpha": None}),
    Divergence("Keras' list alpha", "keras.losses.CategoricalFocalCrossentropy(alpha=[...])",
               "α applies to every class (not only the target's); a list alpha is stored as float32",
               "alpha=array (per class), float32-exact values for a float64 match", ("keras",),
               ("categorical_focal", "focal")),
    Divergence("torch SmoothL1 vs Huber", "F.smooth_l1_loss(beta) vs F.huber_loss / keras Huber(delta)",
               "smooth_l1(beta) = huber(delta=beta) / beta; beta=0 is L1", "smooth_l1(beta=...) or huber(delta=...)",
               ("torch", "keras"), ("smooth_l1", "huber")),
    Divergence("Keras renormalised probabilities", "keras.losses.CategoricalCrossentropy / SCCE from probabilities",
               "Keras divides p by Σp before the log: its gradient differs from NLL's by a row constant",
               "probability_cross_entropy reproduces Keras; nll (on log p) reproduces F.nll_loss", ("keras", "torch"),
               ("probability_cross_entropy", "nll")),
    Divergence("torch's label smoothing with class weights", "F.cross_entropy(weight=w, label_smoothing=ls)",
               "the uniform term is weighted by every class's w_c; no Keras twin", "cross_entropy(class_weight=w, "
               'label_smoothing=ls, reduction="weighted_mean")', ("torch",), ("cross_entropy", "focal")),
    Divergence("all targets ignored", "F.cross_entropy / F.nll_loss", "torch returns NaN (0/0); Keras ignore_class 0",
               "xploss returns 0 with a zero gradient", ("torch",), _CE),
    Divergence("optax triplet eps", "optax.losses.triplet_margin_loss vs F.triplet_margin_loss",
               "optax puts eps inside the root; torch's distance ‖a − b + eps‖ is asymmetric",
               "triplet_margin follows torch (eps=1e-6)", ("optax", "torch"), ("triplet_margin",)),
    Divergence("Keras hinge labels", "keras.losses.Hinge / SquaredHinge", "0/1 labels become ∓1 only when every "
               "label is 0 or 1", "hinge / squared_hinge do the same", ("keras",), ("hinge", "squared_hinge")),
    Divergence("Keras float64", "every keras.losses class", "only the TensorFlow backend computes float64 in "
               "float64 (JAX/torch/NumPy backends accumulate in float32)", "compare against Keras on TensorFlow "
               "(verify does)", ("keras",)),
    Divergence("Keras' per-sample mean over the last axis", "keras.losses.MeanSquaredError and the other "
               "elementwise classes", "a 1-D (B,) input is averaged into one scalar before sample_weight applies",
               "feed Keras (B, 1); xploss never broadcasts (B,) against (B, 1)", ("keras",)),
    Divergence("L1 gradient at zero", "keras.losses.MeanAbsoluteError on JAX", "JAX's |x|'(0) = +1 (torch and "
               "TensorFlow: 0)", "xploss uses sign(r): 0 at r = 0 on every backend", ("keras",),
               ("mean_absolute_error",)),
    Divergence("Keras activations carry logits", "Keras probability losses on the TensorFlow backend",
               "a tensor from keras.ops.softmax / sigmoid carries its logits, and the loss silently uses them",
               "pass logits to the logits losses (cross_entropy, sigmoid_binary_cross_entropy, focal)", ("keras",)),
    Divergence("Keras label smoothing class count", "keras.losses.CategoricalCrossentropy(label_smoothing, axis≠-1)",
               "Keras 3.15 takes the class count from the last axis even when axis is another (fixed in 3.16)",
               "xploss counts the classes along axis", ("keras",), ("cross_entropy", "probability_cross_entropy")),
    Divergence("torch's straight-through variance clamp", "F.gaussian_nll_loss", "var is clamped at eps without "
               "recording the clamp, so the var gradient below eps is not 0", "gaussian_nll does the same",
               ("torch",), ("gaussian_nll",)),
)


# -- the result ------------------------------------------------------------------------------------------------

@dataclass
class Check:
    """One built-in counterpart: the case row used, what differs from your call, and the compared rows."""

    builtin: str
    lib: str
    case: str
    mapping: str
    note: str
    differs: dict = field(default_factory=dict)  # option -> (yours, the mapping's)
    divergences: list = field(default_factory=list)
    disagreement: str = ""  # the report's "documented disagreements between built-ins" row, if any
    rows: list = field(default_factory=list)  # report.Row
    skipped: str = ""

    @property
    def exact(self) -> bool:
        """Your options are the documented mapping's (after carrying scalar options over)."""
        return not self.differs

    @property
    def passed(self) -> bool:
        return bool(self.rows) and all(r.ok for r in self.rows)

    def status(self) -> str:
        if self.skipped:
            return "skipped"
        return "pass" if self.passed else "FAIL"


@dataclass
class VerifyResult:
    """What :func:`verify` found: one :class:`Check` per built-in counterpart.

    ``passed`` is true when at least one reference whose mapping matches your options was compared
    and every one of them passed.  References compared through a *nearest* mapping (your options
    differ from the table's) are reported with their divergence and never count as a pass.
    """

    loss: str
    call: str
    arrays: list[str]
    dtypes: tuple[str, ...]
    backends: list[str]
    checks: list[Check] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    nearest: list[dict] = field(default_factory=list)  # equivalence rows shown when nothing matches exactly

    @property
    def exact(self) -> bool:
        return any(c.exact for c in self.checks)

    @property
    def passed(self) -> bool:
        exact = [c for c in self.checks if c.exact and not c.skipped]
        return bool(exact) and all(c.passed for c in exact)

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return _render(self)


# -- helpers ---------------------------------------------------------------------------------------------------

def _available(module: str) -> bool:
    """Is ``module`` importable (without importing it)?"""
    if module in sys.modules:
        return sys.modules[module] is not None
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _missing(kind: str) -> list[str]:
    return [m for m in NEEDS[kind] if not _available(m)]


def _ref_kind(ref: Call) -> str:
    return "optax" if ref.lib == "formula" and ref.name.startswith("optax.") else ref.lib


def _builtin_key(ref: Call) -> str:
    """The built-in a reference calls (one check per built-in)."""
    if ref.lib == "formula":
        return ref.name.split("(")[0] if ref.name.startswith(("optax.", "torchvision.")) else ref.name
    return f"{ref.lib}:{ref.name}"


def _is_array(x: Any) -> bool:
    return isinstance(x, (list, tuple)) or hasattr(x, "dtype") and len(getattr(x, "shape", ())) > 0


def _numpy(x: Any) -> Any:
    """A user array (any framework, list) as NumPy; Python scalars unchanged; half precision to float32."""
    if isinstance(x, (bool, int, float)) or x is None:
        return x
    try:
        out = to_numpy(x)
    except (TypeError, RuntimeError):  # e.g. torch bfloat16
        out = to_numpy(x.float()) if hasattr(x, "float") else np.asarray(x, dtype=np.float32)
    if out.dtype.kind == "f" and out.dtype.itemsize < 4:
        out = out.astype(np.float32)
    if out.dtype.kind in "iu":
        out = out.astype(np.int64)  # torch's index targets are int64
    return out.item() if out.ndim == 0 else out


def _kind(x: Any) -> str:
    if not isinstance(x, np.ndarray):
        return "scalar"
    return {"i": "int", "u": "int", "b": "bool"}.get(x.dtype.kind, "float")


def _profile(x: Any) -> tuple:
    """Features that tell case variants apart: ignored (negative) labels; exact 0/1 entries; |x| ≥ 1e3."""
    if not isinstance(x, np.ndarray) or x.size == 0:
        return ()
    if _kind(x) == "int":
        return (bool((x < 0).any()),)
    return bool((x == 0).any()), bool((x == 1).any()), bool((np.abs(x) >= 1e3).any())


def _same(a: Any, b: Any) -> bool:
    """Equal option values (an array stands for any array)."""
    if isinstance(a, In) or isinstance(b, In):
        return isinstance(a, In) and isinstance(b, In)
    if a is None or b is None or isinstance(a, bool) or isinstance(b, bool):
        return a is b or (isinstance(a, bool) and isinstance(b, bool) and a == b)
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _carry(a: Any, b: Any) -> bool:
    """Can a reference's option ``b`` be replaced by ``a`` (same kind of scalar, not None)?"""
    if any(x is None or isinstance(x, (In, list, tuple, dict)) for x in (a, b)):
        return False
    return isinstance(a, bool) == isinstance(b, bool) and isinstance(a, (int, float)) and isinstance(b, (int, float))


def _defaults(fn: Any) -> dict:
    return {p.name: p.default for p in inspect.signature(fn).parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY}


def _show(v: Any) -> str:
    return "an array" if isinstance(v, In) else repr(v)


# -- matching your call against the case table -------------------------------------------------------------------

@dataclass
class _Candidate:
    case: Case  # with the xploss call rebuilt from your options and the references adapted
    ref_index: int
    differs: dict
    score: tuple
    inputs: dict
    assumed: dict = field(default_factory=dict)  # Keras constructor defaults taken to equal the mapping's
    excluded: str = ""  # why the table leaves this built-in out for arrays like yours


_SAMPLES: dict[str, dict] = {}


def _sample(case: Case) -> dict:
    if case.id not in _SAMPLES:
        _SAMPLES[case.id] = case.make_inputs()
    return _SAMPLES[case.id]


def _torch_default(name: str, key: str) -> Any:
    """The default of ``key`` in ``torch.nn.functional.<name>`` (``_MISSING`` if none or torch is absent)."""
    if not _available("torch"):
        return _MISSING
    import torch.nn.functional as F

    param = inspect.signature(getattr(F, name)).parameters.get(key)
    return _MISSING if param is None or param.default is inspect.Parameter.empty else param.default


def _adapt(ref: Call, differs: dict, user_arrays: dict, case_kwargs: dict) -> tuple[Call, dict, dict]:
    """Carry your scalar options over to ``ref`` where it spells them with the same keyword (given, or
    left at a default equal to the mapping's value), and your array options into constants the
    reference bakes in (Keras' list ``alpha``).

    Returns the adapted reference, the options it still differs in, and the Keras constructor
    defaults assumed equal to the mapping's values (checked in the Keras subprocess).
    """
    kwargs, ctor, left, assumed = dict(ref.kwargs), dict(ref.ctor), {}, {}
    for key, (yours, theirs) in differs.items():
        carry = key != "reduction" and _carry(yours, theirs)
        if carry and _same(kwargs.get(key, _MISSING), theirs):
            kwargs[key] = yours
        elif carry and _same(ctor.get(key, _MISSING), theirs):
            ctor[key] = yours
        elif carry and ref.lib == "torch" and key not in kwargs and _same(_torch_default(ref.name, key), theirs):
            kwargs[key] = yours
        elif carry and ref.lib == "keras" and ref.name.startswith("losses.") and key not in ctor:
            ctor[key], assumed[key] = yours, theirs
        else:
            left[key] = (yours, theirs)
    for key, name in case_kwargs.items():
        if isinstance(name, In) and isinstance(ctor.get(key), list) and name.name in user_arrays:
            ctor[key] = np.asarray(user_arrays[name.name]).tolist()
    return dataclasses.replace(ref, kwargs=kwargs, ctor=ctor), left, assumed


def _match(case: Case, fn: Any, arrays: list, options: dict) -> list[_Candidate]:
    """Your call against one case: a candidate per reference, or none if the arrays do not fit."""
    call = case.xploss
    if len(call.args) != len(arrays):
        return []
    sample = _sample(case)
    defaults = _defaults(fn)
    theirs = {**defaults, **call.kwargs}
    yours = {**defaults, **options}
    inputs: dict[str, Any] = dict(zip(call.args, arrays))
    kinds = sum(_kind(a) != _kind(sample[n]) for n, a in inputs.items())
    shape = sum(np.ndim(a) != np.ndim(sample[n]) for n, a in inputs.items())
    xkwargs: dict[str, Any] = {}
    differs: dict[str, tuple] = {}
    for key in sorted(set(theirs) | set(yours)):
        mine, their = yours.get(key), theirs.get(key)
        if _is_array(mine):
            name = their.name if isinstance(their, In) else f"your_{key}"
            inputs[name] = mine
            xkwargs[key] = In(name)
            if isinstance(their, In):
                kinds += _kind(mine) != _kind(sample[their.name])
            mine = In(name)
        elif key in options:
            xkwargs[key] = mine
        if not _same(mine, their):
            differs[key] = (mine, their)
    if kinds:
        return []
    profile = sum(_profile(a) != _profile(sample[n]) for n, a in inputs.items() if n in sample)
    mine_call = dataclasses.replace(call, kwargs=xkwargs)
    out = []
    adapted = [_adapt(ref, differs, inputs, call.kwargs) for ref in case.refs]
    new_case = dataclasses.replace(case, xploss=mine_call, refs=tuple(ref for ref, _, _ in adapted))
    for i, (_, left, assumed) in enumerate(adapted):
        cost = sum(2 if isinstance(a, In) or isinstance(b, In) else 1 for a, b in left.values())
        # ranked by: options left different, options carried on an unverified Keras default, dimensions, data
        out.append(_Candidate(new_case, i, left, (cost, len(assumed), shape, profile), inputs, assumed))
    return out


_DERIVED = {
    "w_full": lambda inp, c: np.broadcast_to(
        np.reshape(inp["w"], np.shape(inp["w"]) + (1,) * (np.ndim(inp[c.xploss.args[0]]) - np.ndim(inp["w"]))),
        np.shape(inp[c.xploss.args[0]])).copy(),
    "sw": lambda inp, c: np.asarray(inp["cw"])[np.clip(inp["labels"], 0, len(inp["cw"]) - 1)],
    "onehot": lambda inp, c: _one_hot(inp["labels"], inp[c.xploss.args[0]], c.xploss.kwargs.get("axis", -1)),
    "probs_of_log": lambda inp, c: np.exp(inp["log_probs"]),
    "log_probs": lambda inp, c: np.log(inp["probs_of_log"]),
    "logits_copy": lambda inp, c: np.array(inp["logits"], copy=True),
    "q": lambda inp, c: np.exp(inp["log_q"]),
}


def _one_hot(labels: np.ndarray, like: np.ndarray, axis: Any) -> np.ndarray:
    axis = -1 if isinstance(axis, In) or axis is None else axis
    num = np.shape(like)[axis]
    return np.moveaxis(np.eye(num)[np.clip(labels, 0, num - 1)], -1, axis)


def _complete(cand: _Candidate) -> str:
    """Add the derived inputs the reference needs; a reason string if one cannot be formed."""
    ref = cand.case.refs[cand.ref_index]
    ignored = [n for n in cand.case.xploss.inputs if _kind(cand.inputs[n]) == "int" and (cand.inputs[n] < 0).any()]
    if ignored and not (ref.lib == "torch" or "ignore_class" in ref.ctor):
        return (f"your `{ignored[0]}` hold ignored (negative) entries, which this built-in call does not mask "
                "(Keras' SparseCategoricalCrossentropy needs ignore_class=)")
    for name in ref.inputs:
        if name in cand.inputs:
            continue
        if name not in _DERIVED:
            return f"needs the input `{name}`, which your arrays do not give"
        try:
            cand.inputs[name] = _DERIVED[name](cand.inputs, cand.case)
        except (KeyError, IndexError, ValueError) as exc:
            return f"cannot derive `{name}` from your arrays ({type(exc).__name__}: {exc})"
    if ref.lib == "formula" and any(int(n) > 1 for n in re.findall(r"/ (\d+)\b", ref.name)):
        sample = _sample(cand.case)
        if any(np.shape(cand.inputs[n]) != np.shape(sample[n]) for n in ref.inputs):
            return "the reference formula divides by the case's element count: only arrays of the case's shapes"
    return ""


def _select(fn: Any, arrays: list, options: dict, against: Sequence[str] | None) -> tuple[list, list]:
    """The best candidate per built-in, and the table's cases of this loss (for the nearest mapping)."""
    cases = [c for c in CASES if "." not in c.xploss.name and getattr(xploss, c.xploss.name, None) is fn]
    best: dict[str, _Candidate] = {}
    order: dict[str, int] = {}
    fitting: dict[str, set] = {}  # cases matching your options, shapes and data features -> their built-ins
    for n, case in enumerate(cases):
        for cand in _match(case, fn, arrays, options):
            ref = cand.case.refs[cand.ref_index]
            key = _builtin_key(ref)
            if cand.score == (0, 0, 0, 0):
                fitting.setdefault(case.id, set()).add(key)
            if against and not any(a in (_ref_kind(ref), ref.lib) or a in ref.name for a in against):
                continue
            rank = cand.score + (n,)
            if key not in best or rank < best[key].score + (order[key],):
                best[key], order[key] = cand, n
    covered = set().union(*fitting.values())
    for key, cand in best.items():
        if fitting and cand.score[0] == 0 and key not in covered:
            # the table compares arrays like yours without this built-in (extreme logits, other layouts)
            others = sorted(set(fitting) - {cand.case.id}) or sorted(fitting)
            ids = ", ".join(others)
            note = next((BY_ID[i].note for i in others if BY_ID[i].note), "")
            cand.excluded = (f"not compared on arrays like yours: the table's case {ids}, whose options, shapes and "
                             f"data features match yours, leaves this built-in out" + (f" ({note})" if note else ""))
    return sorted(best.values(), key=lambda c: (c.score, c.case.id)), cases


# -- running -----------------------------------------------------------------------------------------------------

@contextlib.contextmanager
def _jax_x64(enabled: bool) -> Iterator[None]:
    """JAX in float64 for the duration (restored afterwards), without touching the environment."""
    if enabled and _available("jax"):
        import jax

        with jax.enable_x64(True):
            yield
    else:
        yield


class _Grads:
    """Stands in for a Case in the Keras subprocess: only the compared gradients."""

    def __init__(self, grads: tuple) -> None:
        self.grads = grads

    def grads_for(self, ref: Call) -> tuple:
        return tuple(g for g in self.grads if g in ref.inputs)


def _uncarried(ref: Call, assumed: dict) -> list[str]:
    """Options carried to a Keras class on the assumption that its default is the mapping's value, where
    the class has no such option or another default."""
    import keras

    cls: Any = keras
    for part in ref.name.split("."):
        cls = getattr(cls, part)
    params = inspect.signature(cls).parameters
    return [k for k, v in assumed.items() if k not in params or not _same(params[k].default, v)]


def _keras_leg(in_path: str, out_path: str) -> None:
    """Subprocess body: run the pickled Keras jobs ``[(key, ref, grads, inputs, dtype, assumed)]``.

    An option that cannot be carried to the Keras class (see :func:`_uncarried`) is dropped again:
    the reference runs as the table maps it, and the result lists the option under ``"uncarried"``.
    """
    with open(in_path, "rb") as fh:
        jobs = pickle.load(fh)
    results = {}
    for key, ref, grads, inputs, dtype, assumed in jobs:
        try:
            drop = _uncarried(ref, assumed) if assumed else []
            ref = dataclasses.replace(ref, ctor={k: v for k, v in ref.ctor.items() if k not in drop})
            results[key] = {**run_keras(_Grads(grads), ref, inputs, dtype), "uncarried": drop}
        except Exception as exc:  # reported per row
            results[key] = {"error": f"{type(exc).__name__}: {exc}"}
    with open(out_path, "wb") as fh:
        pickle.dump(results, fh)


def _restore(check: Check, cand: _Candidate, drop: list[str], loss: str) -> None:
    """Keras has no default equal to the mapping's for ``drop``: the check compares with the unadapted
    mapping, as a nearest one."""
    ref = cand.case.refs[cand.ref_index]
    ref = dataclasses.replace(ref, ctor={k: v for k, v in ref.ctor.items() if k not in drop})
    refs = list(cand.case.refs)
    refs[cand.ref_index] = ref
    cand.case = dataclasses.replace(cand.case, refs=tuple(refs))
    check.builtin = ref.render()
    check.differs.update({k: (cand.case.xploss.kwargs.get(k), cand.assumed[k]) for k in drop})
    check.divergences = _divergences(loss, "keras", check.differs)


def _package_paths() -> str:
    roots = {str(Path(__file__).resolve().parent.parent), str(Path(xploss.__file__).resolve().parent.parent)}
    return os.pathsep.join([*sorted(roots), *filter(None, [os.environ.get("PYTHONPATH", "")])])


def _start_keras(jobs: list, tmp: str) -> subprocess.Popen:
    in_path, out_path = os.path.join(tmp, "jobs.pkl"), os.path.join(tmp, "results.pkl")
    with open(in_path, "wb") as fh:
        pickle.dump(jobs, fh)
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": _package_paths()}
    return subprocess.Popen([sys.executable, "-m", "conformance.verify", "--keras-leg", in_path, out_path],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True)


def _finish_keras(proc: subprocess.Popen, tmp: str, keys: list) -> dict:
    _, stderr = proc.communicate()
    path = os.path.join(tmp, "results.pkl")
    if proc.returncode != 0 or not os.path.exists(path):
        tail = " ".join(stderr.strip().splitlines()[-3:])
        return {k: {"error": f"Keras subprocess failed: {tail}"} for k in keys}
    with open(path, "rb") as fh:
        return pickle.load(fh)


def _runner() -> Any:
    """``conformance.runner`` (its comparison is the main job's), imported without its environment defaults."""
    keys = ("JAX_ENABLE_X64", "JAX_PLATFORMS", "TF_CPP_MIN_LOG_LEVEL")
    saved = {k: os.environ.get(k) for k in keys}
    try:
        from . import runner
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return runner


def _divergences(loss: str, lib: str, differs: dict) -> list[Divergence]:
    named = [d for d in DIVERGENCES if d.matches(loss, lib, differs)]
    facts = [d for d in DIVERGENCES if d.always and lib in d.libs and (not d.losses or loss in d.losses)]
    return named + facts


def _layout(cand: _Candidate) -> str:
    """A note where your arrays have other ranks than the case's (a layout difference may show)."""
    sample = _sample(cand.case)
    names = [n for n in cand.case.xploss.args if np.ndim(cand.inputs[n]) != np.ndim(sample[n])]
    if not names:
        return ""
    shapes = ", ".join(f"{n} {np.shape(cand.inputs[n])} (case {np.shape(sample[n])})" for n in names)
    return f"your arrays have other ranks than the case's: {shapes}; a layout difference would show here"


def _runs_on(case: Case, backends: list[str]) -> list[str]:
    only = getattr(case, "backends", None)  # a case may restrict its backends (torch-only criteria)
    return [b for b in backends if only is None or b in only]


def _run(result: VerifyResult, cands: list[_Candidate], backends: list[str]) -> None:
    compare = _runner().compare
    keras_jobs, pending = [], []
    for cand in cands:
        ref = cand.case.refs[cand.ref_index]
        check = Check(ref.render(), _ref_kind(ref), cand.case.id, _mapping(cand.case, ref),
                      "; ".join(n for n in (_layout(cand), cand.case.note, ref.note) if n), cand.differs,
                      _divergences(result.loss, _ref_kind(ref), cand.differs))
        result.checks.append(check)
        missing = _missing(_ref_kind(ref))
        check.skipped = f"{', '.join(missing)} not installed" if missing else cand.excluded or _complete(cand)
        if check.skipped:
            continue
        for dtype in result.dtypes:
            if ref.lib == "keras":
                key = (len(keras_jobs), dtype)
                grads = cand.case.grads_for(ref)
                keras_jobs.append((key, ref, grads, {n: cand.inputs[n] for n in ref.inputs}, dtype, cand.assumed))
                pending.append((check, cand, dtype, key))
            else:
                pending.append((check, cand, dtype, None))
    with tempfile.TemporaryDirectory(prefix="xploss-verify-") as tmp:
        proc = _start_keras(keras_jobs, tmp) if keras_jobs else None
        expected: dict = {}
        ours: dict = {}
        uses_jax = "jax" in backends or any(_ref_kind(c.case.refs[c.ref_index]) == "optax" for _, c, _, _ in pending)
        with _jax_x64("float64" in result.dtypes and uses_jax):
            for check, cand, dtype, key in pending:
                if key is None:
                    expected[id(check), dtype] = guarded(run_torch, cand.case, cand.case.refs[cand.ref_index],
                                                          cand.inputs, dtype)
                for b in _runs_on(cand.case, backends):
                    if (cand.case.id, dtype, b) not in ours:
                        ours[cand.case.id, dtype, b] = guarded(run_xploss, cand.case, cand.inputs, dtype, b)
        if proc:
            leg = _finish_keras(proc, tmp, [job[0] for job in keras_jobs])
            for check, cand, dtype, key in pending:
                if key is not None:
                    expected[id(check), dtype] = leg[key]
                    if leg[key].get("uncarried") and not set(leg[key]["uncarried"]) <= set(check.differs):
                        _restore(check, cand, leg[key]["uncarried"], result.loss)
    for check, cand, dtype, _ in pending:
        exp = expected[id(check), dtype]
        check.rows += [compare(cand.case, cand.ref_index, b, dtype, ours[cand.case.id, dtype, b], exp)
                       for b in _runs_on(cand.case, backends)]
    for check in result.checks:
        raised = {r.error for r in check.rows if r.error.startswith("reference raised")}
        if check.rows and len(raised) == 1 and all(r.error in raised for r in check.rows):
            # the built-in cannot run your call (Keras' TF SCCE takes only axis=-1, ...): nothing was compared
            check.skipped = f"the built-in {raised.pop().removeprefix('reference ')}"
            check.rows = []
    _documented(result, [r for c in result.checks for r in c.rows], backends)


def _documented(result: VerifyResult, rows: list, backends: list[str]) -> None:
    """Attach the report's "Documented disagreements between built-ins" rows to their checks."""
    if not rows:
        return
    meta = {"seconds": 0.0, "backends": backends, "versions": {}, "command": "verify"}
    table = next(t for t in report.tables(rows, meta) if t.title.startswith("Documented disagreements"))
    notes = {(case_id, builtin): text for case_id, builtin, text in table.rows}
    for check in result.checks:
        check.disagreement = notes.get((check.case, check.builtin), "")


# -- the public call ---------------------------------------------------------------------------------------------

def load_npz(path: str | os.PathLike, names: Sequence[str] | None = None, loss: Any = None) -> tuple[list, dict]:
    """Arrays from an ``.npz`` file: the positional ones (``names`` in order, else every array not named
    after an option of ``loss``, in file order) and the array options (arrays named like an option)."""
    with np.load(path, allow_pickle=False) as data:
        stored = {k: data[k] for k in data.files}
    opts = set(_defaults(_resolve(loss)[1])) if loss is not None else set()
    if names:
        absent = [n for n in names if n not in stored]
        if absent:
            raise error("verify", "arrays", f"names of arrays in {os.fspath(path)} ({', '.join(stored)})", absent)
        positional = [stored[n] for n in names]
    else:
        positional = [v for k, v in stored.items() if k not in opts]
    options = {k: v for k, v in stored.items() if k in opts and not (names and k in names)}
    return positional, options


def _resolve(loss: Any) -> tuple[str, Any]:
    fn = getattr(xploss, loss, None) if isinstance(loss, str) else loss
    name = getattr(fn, "__name__", None)
    if fn is None or name not in xploss._api.LOSSES or xploss._api.LOSSES[name] is not fn:
        raise error("verify", "loss", "the name (or function) of a public xploss loss, e.g. 'cross_entropy'",
                    repr(loss))
    return name, fn


def verify(loss: Any, /, *arrays: Any, backends: Sequence[str] | None = None, dtypes: Any = None,
           against: str | Sequence[str] | None = None, npz: str | os.PathLike | None = None,
           names: Sequence[str] | None = None, **options: Any) -> VerifyResult:
    """Compare ``xploss.<loss>(*arrays, **options)`` with every built-in the case table maps it to.

    Parameters
    ----------
    loss : str or callable
        A public xploss loss (``"cross_entropy"``, ``xploss.mse``; aliases resolve to their loss).
    *arrays : array_like
        The loss' positional arrays, of any framework (NumPy, torch, JAX, TensorFlow; converted to
        NumPy) or nested lists.
    backends : sequence of str, optional
        xploss backends to run (default: every installed one of numpy, array_api_strict, torch, jax,
        tensorflow).
    dtypes : str or sequence of str, optional
        ``"float64"``, ``"float32"`` or both; default: float64 if every float array is float64, else
        float32.
    against : str or sequence of str, optional
        Restrict the references: ``"torch"``, ``"keras"``, ``"optax"``, ``"formula"`` or part of a
        built-in's name (``"SparseCategorical"``).
    npz : path, optional
        Read the arrays from an ``.npz`` file instead (see :func:`load_npz`); ``names`` picks and
        orders its positional arrays.
    **options
        The loss' keyword options, as you call it (array options such as ``class_weight`` included).

    Returns
    -------
    VerifyResult
        ``str(result)`` is a table; ``result.passed``; ``result.checks`` per built-in.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> pred, target = np.array([[0.5, 2.0], [1.0, -1.0]]), np.array([[0.0, 1.0], [1.5, 0.0]])
    >>> xploss.verify("huber", pred, target, delta=0.5, backends=["numpy"], against="torch").passed
    True
    """
    name, fn = _resolve(loss)
    if npz is not None:
        from_file, file_opts = load_npz(npz, names, name)
        arrays = (*from_file, *arrays)
        options = {**file_opts, **options}
    unknown = sorted(set(options) - set(_defaults(fn)))
    if unknown:  # the loss' own message (weight= names sample_weight= and class_weight=)
        raise xploss._api._unknown_keyword(name, unknown[0], frozenset(_defaults(fn)))
    user = [_numpy(a) for a in arrays]
    opts = {k: _numpy(v) if _is_array(v) or hasattr(v, "shape") else v for k, v in options.items()}
    floats = [a.dtype for a in [*user, *opts.values()] if isinstance(a, np.ndarray) and a.dtype.kind == "f"]
    if dtypes is None:
        dtypes = ("float64",) if floats and all(d == np.float64 for d in floats) else ("float32",)
    dtypes = (dtypes,) if isinstance(dtypes, str) else tuple(dtypes)
    bad = [d for d in dtypes if d not in ("float64", "float32")]
    if bad:
        raise error("verify", "dtypes", "'float64' and/or 'float32'", bad)
    wanted = list(BACKENDS if backends is None else backends)
    if set(wanted) - set(BACKENDS):
        raise error("verify", "backends", f"names among {', '.join(BACKENDS)}", sorted(set(wanted) - set(BACKENDS)))
    against = [against] if isinstance(against, str) else list(against or [])

    shown = ", ".join([*(f"{type(a).__name__}{tuple(getattr(a, 'shape', np.shape(a)))}" for a in arrays),
                       *(f"{k}=array{np.shape(v)}" if _is_array(v) else f"{k}={v!r}" for k, v in opts.items())])
    result = VerifyResult(name, f"xploss.{name}({shown})",
                          [f"{_kind(a)} {a.dtype} {a.shape}" if isinstance(a, np.ndarray) else repr(a) for a in user],
                          dtypes, [])
    for b in wanted:
        missing = _missing(b)
        if missing:
            result.skipped.append(f"backend {b}: {', '.join(missing)} not installed")
        else:
            result.backends.append(b)
    cands, cases = _select(fn, user, opts, against)
    near = [c for c in cands if c.score[0] <= NEAREST_LIMIT]
    if not any(c.score[0] == 0 for c in cands):
        for c in (near or cands)[:3]:
            case = BY_ID[c.case.id]
            ref = case.refs[c.ref_index]
            result.nearest.append({"case": case.id, "xploss": case.xploss.render(), "builtin": ref.render(),
                                   "mapping": _mapping(case, ref)})
        if not cands:
            swapped = len(user) == 2 and _select(fn, user[::-1], opts, against)[0]
            hint = ("; with the two arrays swapped it would match: xploss takes (prediction, target), Keras "
                    "(y_true, y_pred)") if swapped else ""
            result.skipped.append(f"no case of xploss.{name} takes {len(user)} arrays of these kinds "
                                  f"({', '.join(map(_kind, user))}){hint}; the table's cases: "
                                  f"{', '.join(c.id for c in cases) or 'none'}")
    if "tensorflow" in result.backends and "tensorflow" not in sys.modules:
        _runner()._import_quietly("tensorflow")  # TensorFlow's C++ start-up chatter
    _run(result, near, result.backends)
    return result


# -- rendering ---------------------------------------------------------------------------------------------------

def _e(x: float) -> str:
    return "—" if x != x else f"{x:.1e}"


def _render(res: VerifyResult) -> str:
    lines = [f"{res.call}   [{', '.join(res.dtypes)}]", f"arrays: {'; '.join(res.arrays) or '—'}", ""]
    for c in res.checks:
        lines.append(f"[{c.status()}] {c.builtin}")
        lines.append(f"    case {c.case}" + (f"; mapping: {c.mapping}" if c.mapping else ""))
        if c.differs:
            diff = ", ".join(f"{k}: yours {_show(a)}, the mapping's {_show(b)}" for k, (a, b) in c.differs.items())
            lines.append(f"    nearest mapping, your options differ: {diff}")
        for d in c.divergences:
            lines.append(f"    divergence: {d.name}: {d.differs} -> {d.option}")
        if c.disagreement:
            lines.append(f"    documented disagreement between built-ins: {c.disagreement}")
        note = c.note.replace(c.disagreement, "").strip("; ") if c.disagreement else c.note
        if note:
            lines.append(f"    note: {note}")
        if c.skipped:
            lines.append(f"    skipped: {c.skipped}")
            continue
        lines.append(f"    {'backend':18}{'dtype':9}{'value err':>11}{'grad err':>11}{'tol':>9}  status")
        for r in c.rows:
            status = "pass" if r.ok else "FAIL" + (f" ({r.error})" if r.error else "")
            lines.append(f"    {r.backend:18}{r.dtype:9}{_e(r.value_rel):>11}{_e(r.grad_rel):>11}{_e(r.tol):>9}  "
                         f"{status}")
        if c.rows and c.rows[0].ref.tol is not None:
            lines.append(f"    tolerance override: {c.rows[0].ref.tol.reason}")
    for s in res.skipped:
        lines.append(f"skipped: {s}")
    if res.nearest:
        lines.append(f"no case of the table matches your options exactly; nearest documented mapping"
                     f"{'s' if len(res.nearest) > 1 else ''}:")
        lines += [f"    {r['xploss']}  ==  {r['builtin']}" + (f"   [{r['mapping']}]" if r["mapping"] else "")
                  for r in res.nearest]
    exact = [r for c in res.checks if c.exact for r in c.rows]
    near = [r for c in res.checks if not c.exact for r in c.rows]
    verdict = "PASSED" if res.passed else "FAILED"
    summary = (f"{sum(r.ok for r in exact)}/{len(exact)} comparisons with a matching mapping passed" if exact
               else "no reference whose mapping matches your options was compared")
    if near:
        summary += f"; {sum(r.ok for r in near)}/{len(near)} against the nearest mappings"
    lines += ["", f"{verdict}: {summary} (|xploss − ref| ≤ tol · max(|ref|, 1); tol 1e-12 in float64, 1e-5 in "
                  "float32 unless overridden)"]
    return "\n".join(lines)


# -- command line ------------------------------------------------------------------------------------------------

def _option(text: str, stored: dict) -> tuple[str, Any]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--option expects key=value, got {text!r}")
    key, raw = text.split("=", 1)
    if raw.startswith("@"):
        if raw[1:] not in stored:
            raise argparse.ArgumentTypeError(f"--option {key}=@{raw[1:]}: no array {raw[1:]!r} in the .npz file")
        return key, stored[raw[1:]]
    try:
        return key, ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return key, raw  # a bare string such as weighted_mean


def _split(text: str | None) -> list[str] | None:
    return [x.strip() for x in text.split(",") if x.strip()] if text else None


def main(argv: list[str] | None = None) -> int:
    """``python -m conformance verify LOSS --npz FILE [--option k=v ...] [--arrays a,b]``; exit 1 on failure."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    parser = argparse.ArgumentParser(prog="python -m conformance verify",
                                     description="Verify an xploss loss against its built-ins on your arrays.")
    parser.add_argument("loss", help="xploss loss name, e.g. cross_entropy")
    parser.add_argument("--npz", required=True, help=".npz file holding the arrays")
    parser.add_argument("--arrays", help="comma-separated names of the positional arrays in the file, in order "
                                         "(default: every array not named after an option, in file order)")
    parser.add_argument("--option", action="append", default=[], metavar="K=V",
                        help="a loss option (Python literal, bare string, or @name for an array of the file)")
    parser.add_argument("--backends", help="comma-separated xploss backends (default: all installed)")
    parser.add_argument("--dtypes", help="float64, float32 or both (default: from the arrays)")
    parser.add_argument("--against", help="comma-separated: torch, keras, optax, formula, or part of a name")
    opts = parser.parse_args(argv)
    try:
        with np.load(opts.npz, allow_pickle=False) as data:
            stored = {k: data[k] for k in data.files}
        options = dict(_option(o, stored) for o in opts.option)
        result = verify(opts.loss, npz=opts.npz, names=_split(opts.arrays), backends=_split(opts.backends),
                        dtypes=_split(opts.dtypes), against=_split(opts.against), **options)
    except (argparse.ArgumentTypeError, xploss.XplossError, OSError) as exc:
        parser.error(str(exc))
    print(result)
    return 0 if result.passed else 1


if __name__ == "__main__":
    if sys.argv[1:2] == ["--keras-leg"]:
        _keras_leg(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit(main())

"""Hypothesis strategies for the fuzz campaign (``tests/test_fuzz.py``, ``nox -s fuzz``).

:data:`SPECS` has one :class:`Spec` per distinct public loss function (the
canonical name of :data:`xploss._api.LOSSES`); :data:`ALIASES` maps every other
public name to it.  ``spec.valid(labels=...)`` draws an :class:`Example`: float64
inputs of moderate magnitude in the loss' documented domain (small shapes,
options from their valid ranges, a reduction, an optional ``sample_weight``),
with the positional and keyword arrays that get a gradient.  The bad-input
categories (:data:`CATEGORIES`) are mutations of a valid example, each with the
argument the error message must name.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import xploss

BIG = 30.0  # |x| <= BIG for unbounded inputs
P_LO = 1e-6  # probabilities drawn in [P_LO, 1 - P_LO], or exactly 0 / 1 where the loss defines them
REDUCTIONS = ("none", "sum", "mean", "weighted_mean")
# nox -s fuzz sets XPLOSS_FUZZ_EXAMPLES: random examples over every small size.  The regular suite draws sizes
# from a short palette: JAX compiles each eager op once per shape, which dominates its time otherwise.
CAMPAIGN = "XPLOSS_FUZZ_EXAMPLES" in os.environ
SIDES = (1, 2, 3, 4) if CAMPAIGN else (1, 3)
CLASSES = (1, 2, 3, 4, 5) if CAMPAIGN else (1, 2, 4)


@dataclass
class Example:
    """One call: ``fn(*args, **kw, **opts, sample_weight=..., reduction=...)``."""

    name: str  # canonical loss name
    args: list  # positional inputs: NumPy arrays (or a Python float: gaussian_nll's var)
    opts: dict = field(default_factory=dict)  # Python options
    kw: dict = field(default_factory=dict)  # keyword arrays (class_weight, pos_weight, alpha, sample_weight)
    diff: tuple = ()  # differentiable inputs: positional indices and keyword names
    sample_shape: tuple = ()  # shape of the per-sample loss (what sample_weight aligns with)
    reduction: str = "mean"
    labels: int | None = None  # position of integer class labels in args
    classes: int | None = None  # C for the class-axis losses
    axis: int | None = None  # the class axis (non-negative) of args[0]

    def replace(self, **changes: Any) -> Example:
        return dataclasses.replace(self, **changes)


# -- element strategies ---------------------------------------------------------------------

def reals(lo: float = -BIG, hi: float = BIG) -> st.SearchStrategy:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False, width=64)


def probs(edges: bool = False) -> st.SearchStrategy:
    inner = reals(P_LO, 1.0 - P_LO)
    return st.one_of(inner, st.sampled_from([0.0, 1.0])) if edges else inner


def arr(draw: Callable, shape: tuple, elements: st.SearchStrategy) -> np.ndarray:
    return draw(hnp.arrays(np.float64, shape, elements=elements))


def small_shape(draw: Callable, min_dims: int = 0, max_dims: int = 3) -> tuple:
    return tuple(draw(st.sampled_from(SIDES)) for _ in range(draw(st.integers(min_dims, max_dims))))


def sample_weight(draw: Callable, ex: Example) -> Example:
    """A reduction from the spec's list and, two times in three, a weight aligned on the leading axes."""
    if not draw(st.integers(0, 2)):
        return ex
    k = draw(st.integers(0, len(ex.sample_shape)))
    shape = tuple(draw(st.sampled_from([1, s])) for s in ex.sample_shape[:k])
    w = arr(draw, shape, weights())
    return ex.replace(kw={**ex.kw, "sample_weight": w}, diff=(*ex.diff, "sample_weight"))


# -- class-axis layouts ------------------------------------------------------------------------

@st.composite
def layout(draw: Callable, min_classes: int = 1) -> tuple[tuple, int, dict]:
    """(shape, class axis >= 0, axis option): (C,), (N, C) or (N, C, d) with the classes on -1 or 1."""
    c = draw(st.sampled_from([c for c in CLASSES if c >= min_classes]))
    kind = draw(st.sampled_from(["c", "nc", "nc", "nc", "ncd", "ndc"]))
    n, d = draw(st.sampled_from(SIDES + ((5,) if CAMPAIGN else ()))), draw(st.sampled_from(SIDES[:3]))
    shape, axis = {"c": ((c,), 0), "nc": ((n, c), 1), "ncd": ((n, c, d), 1), "ndc": ((n, d, c), 2)}[kind]
    last = axis == len(shape) - 1
    choices = [{}, {"axis": -1}, {"axis": axis}] if last else [{"axis": axis}, {"axis": axis - len(shape)}]
    return shape, axis, draw(st.sampled_from(choices))


def sample_of(shape: tuple, axis: int) -> tuple:
    return shape[:axis] + shape[axis + 1:]


def int_labels(draw: Callable, sample: tuple, c: int, ignore: int | None) -> np.ndarray:
    y = draw(hnp.arrays(np.int64, sample, elements=st.integers(0, c - 1)))
    if ignore is not None and y.size and draw(st.booleans()):
        mask = draw(hnp.arrays(np.bool_, sample))
        y = np.where(mask, ignore, y)
    return y.astype(draw(st.sampled_from([np.int64, np.int64, np.int32])))


def ignore_option(draw: Callable, c: int) -> tuple[dict, int | None]:
    """(options, the ignored value or None)."""
    choice = draw(st.sampled_from(["default", "default", "-1", "C", "none"]))
    return {"default": ({}, -100), "-1": ({"ignore_index": -1}, -1), "C": ({"ignore_index": c}, c),
            "none": ({"ignore_index": None}, None)}[choice]


def distributions(draw: Callable, shape: tuple, axis: int, kind: str | None = None) -> np.ndarray:
    """Float targets along ``axis``: one-hot, normalised soft rows, or raw values in [0, 1]."""
    kind = kind or draw(st.sampled_from(["onehot", "soft", "soft", "raw"]))
    c = shape[axis]
    if kind == "onehot":
        idx = draw(hnp.arrays(np.int64, sample_of(shape, axis), elements=st.integers(0, c - 1)))
        return np.moveaxis(np.eye(c)[idx], -1, axis)
    t = arr(draw, shape, reals(0.0, 1.0))
    if kind == "soft":
        s = t.sum(axis=axis, keepdims=True)
        t = np.where(s > 0, t / np.where(s > 0, s, 1.0), 1.0 / c)
    return t


def class_labels(draw: Callable, labels: str | None, shape: tuple, axis: int, dense: bool, ignorable: bool,
                 ) -> tuple[np.ndarray, dict, bool]:
    """(labels, options, labels are integer) for a class-axis loss."""
    c = shape[axis]
    kind = labels or (draw(st.sampled_from(["int", "int", "float"])) if dense else "int")
    if kind == "float":
        return distributions(draw, shape, axis), {}, False
    opts, ignore = ignore_option(draw, c) if ignorable else ({}, None)
    return int_labels(draw, sample_of(shape, axis), c, ignore), opts, True


def weights(high: float = 3.0) -> st.SearchStrategy:
    """0 or >= 0.1: a weighted mean over a near-zero weight total is ill-conditioned (its gradient cancels
    terms of size loss / total: a class weight of 3e-39 gave 4e21 against NumPy's 0), not a backend
    difference."""
    return st.one_of(st.just(0.0), reals(0.1, high))


def class_weight(draw: Callable, c: int, name: str = "class_weight") -> dict:
    return {name: arr(draw, (c,), weights())} if draw(st.booleans()) else {}


# -- per-loss generators -------------------------------------------------------------------------
# Each is ``gen(draw, labels) -> Example`` without reduction / sample_weight (added by Spec.valid).

def _pair(name: str, pred: st.SearchStrategy, target: st.SearchStrategy, **opts: st.SearchStrategy) -> Callable:
    def gen(draw: Callable, labels: str | None) -> Example:
        shape = small_shape(draw)
        o = {k: draw(v) for k, v in opts.items()}
        return Example(name, [arr(draw, shape, pred), arr(draw, shape, target)], {k: v for k, v in o.items()
                                                                              if v is not None},
                       diff=(0, 1), sample_shape=shape)
    return gen


def _binary(name: str, first: st.SearchStrategy, target: st.SearchStrategy, event: bool = False,
            **opts: st.SearchStrategy) -> Callable:
    def gen(draw: Callable, labels: str | None) -> Example:
        shape = small_shape(draw, min_dims=1 if event else 0)
        o = {k: draw(v) for k, v in opts.items()}
        ex = Example(name, [arr(draw, shape, first), arr(draw, shape, target)],
                     {k: v for k, v in o.items() if v is not None}, diff=(0, 1),
                     sample_shape=shape[:-1] if event else shape)
        if name == "sigmoid_binary_cross_entropy" and shape and draw(st.booleans()):
            k = draw(st.integers(1, len(shape)))
            pw_shape = tuple(draw(st.sampled_from([1, s])) for s in shape[-k:])
            ex = ex.replace(kw={"pos_weight": arr(draw, pw_shape, reals(0.0, 5.0))}, diff=(0, 1, "pos_weight"))
        if name == "multilabel_soft_margin":
            ex = ex.replace(kw=class_weight(draw, shape[-1]))
        return ex
    return gen


def _hinge(name: str) -> Callable:
    def gen(draw: Callable, labels: str | None) -> Example:
        shape = small_shape(draw)
        values = draw(st.sampled_from([[-1.0, 1.0], [0.0, 1.0], [-1.0, 0.0, 1.0]]))
        y = draw(hnp.arrays(np.float64, shape, elements=st.sampled_from(values)))
        return Example(name, [arr(draw, shape, reals(-3.0, 3.0)), y], diff=(0,), sample_shape=shape)
    return gen


def _class(name: str, scores: st.SearchStrategy, dense: bool, ignorable: bool, diff_labels: bool = True,
           extra: Callable | None = None, min_classes: int = 1, renormalized: bool = False) -> Callable:
    """A class-axis loss: scores along ``axis``, integer (optionally ignored) or float labels.

    ``renormalized`` (Keras' ``p / Σp``): rows summing to less than 0.1 are lifted to 0.1, since the
    gradient scales with ``1 / Σp`` and its rounding with it (rows of 1e-6 gave 1e-11 differences of
    gradients that are 0 analytically: ill-conditioning, not a backend difference)."""
    def gen(draw: Callable, labels: str | None) -> Example:
        shape, axis, opts = draw(layout(min_classes))
        y, lopts, is_int = class_labels(draw, labels, shape, axis, dense, ignorable)
        x = arr(draw, shape, scores)
        if renormalized:
            x = np.where(x.sum(axis=axis, keepdims=True) < 0.1, x + 0.1 / shape[axis], x)
        ex = Example(name, [x, y], {**opts, **lopts},
                     diff=(0,) if is_int or not diff_labels else (0, 1),
                     sample_shape=sample_of(shape, axis), labels=1 if is_int else None, classes=shape[axis],
                     axis=axis)
        return extra(draw, ex) if extra else ex
    return gen


def _opts(**strategies: st.SearchStrategy) -> Callable:
    """``extra`` that draws Python options (a None draw leaves the option at its default)."""
    def extra(draw: Callable, ex: Example) -> Example:
        o = {k: draw(v) for k, v in strategies.items()}
        return ex.replace(opts={**ex.opts, **{k: v for k, v in o.items() if v is not None}})
    return extra


def _with(*extras: Callable) -> Callable:
    def extra(draw: Callable, ex: Example) -> Example:
        for e in extras:
            ex = e(draw, ex)
        return ex
    return extra


def _cw(name: str = "class_weight") -> Callable:
    return lambda draw, ex: ex.replace(kw={**ex.kw, **class_weight(draw, ex.classes, name)})


def _alpha_array_or_float(default_none: bool) -> Callable:
    def extra(draw: Callable, ex: Example) -> Example:
        kind = draw(st.sampled_from(["default", "float", "array"] + (["none"] if not default_none else [])))
        if kind == "float":
            return ex.replace(opts={**ex.opts, "alpha": draw(weights(2.0))})
        if kind == "array":
            return ex.replace(kw={**ex.kw, "alpha": arr(draw, (ex.classes,), weights(2.0))})
        if kind == "none":
            return ex.replace(opts={**ex.opts, "alpha": None})
        return ex
    return extra


def maybe(s: st.SearchStrategy) -> st.SearchStrategy:
    """``None`` (keep the default) or a draw."""
    return st.one_of(st.none(), s)


SMOOTH = maybe(st.one_of(reals(0.0, 1.0), st.sampled_from([0.0, 1.0])))
GAMMA = maybe(st.one_of(reals(0.0, 4.0), st.sampled_from([0.0, 0.5, 1.0, 2.0])))
CLIP = st.sampled_from([1e-7, 1e-3, 0.05, 0.2])


def _poisson(draw: Callable, labels: str | None, name: str) -> Example:
    shape = small_shape(draw)
    log_input = name == "poisson_nll" and draw(st.booleans())
    eps = draw(st.sampled_from([None, 1e-8, 1e-4, 0.0]))
    if log_input:
        pred = arr(draw, shape, reals())
    else:
        pred = arr(draw, shape, reals(0.0 if eps != 0.0 else 1e-3, BIG))
        if eps is None and name == "poisson":
            pass  # default eps 1e-7 > 0: zero rates are fine
    opts = {} if eps is None else {"eps": eps}
    if name == "poisson_nll":
        opts.update({k: draw(st.booleans()) for k in ("full",) if draw(st.booleans())})
        if log_input or draw(st.booleans()):
            opts["log_input"] = log_input
    return Example(name, [pred, arr(draw, shape, reals(0.0, BIG))], opts, diff=(0, 1), sample_shape=shape)


def _gaussian(draw: Callable, labels: str | None) -> Example:
    shape = small_shape(draw)
    mode = draw(st.sampled_from(["same", "lead", "broadcast", "scalar", "float"]))
    if mode == "lead" and shape:
        vshape = shape[:-1]
    elif mode == "broadcast":
        vshape = tuple(draw(st.sampled_from([1, s])) for s in shape)
    elif mode in ("scalar", "lead"):
        vshape = ()
    else:
        vshape = shape
    var: Any = draw(reals(0.0, BIG)) if mode == "float" else arr(draw, vshape, reals(0.0, BIG))
    opts = {"eps": draw(st.sampled_from([1e-6, 1e-3, 0.5]))} if draw(st.booleans()) else {}
    if draw(st.booleans()):
        opts["full"] = draw(st.booleans())
    diff = (0, 1) if mode == "float" else (0, 1, 2)
    return Example("gaussian_nll", [arr(draw, shape, reals()), arr(draw, shape, reals()), var], opts, diff=diff,
                   sample_shape=shape)


def _penalty(name: str) -> Callable:
    def gen(draw: Callable, labels: str | None) -> Example:
        k = draw(st.integers(1, 3))
        params = [arr(draw, small_shape(draw, max_dims=2), reals()) for _ in range(k)]
        opts = {"lam": draw(reals(0.0, 10.0))} if draw(st.booleans()) else {}
        if name == "l2_penalty" and draw(st.booleans()):
            opts["half"] = draw(st.booleans())
        return Example(name, params, opts, diff=tuple(range(k)), sample_shape=())
    return gen


def _triplet(draw: Callable, labels: str | None) -> Example:
    shape = small_shape(draw, min_dims=1, max_dims=2)
    a, pos, neg = (arr(draw, shape, reals(-5.0, 5.0)) for _ in range(3))
    p = draw(st.one_of(st.sampled_from([1.0, 2.0, 3.0]), reals(0.5, 4.0)))
    eps = draw(st.sampled_from([1e-6, 1e-3, 0.0]))
    swap = draw(st.booleans())
    if eps == 0.0:  # the norm's gradient is undefined at a zero difference (p < 1: at a zero component)
        pairs = [(a, pos), (a, neg)] + ([(pos, neg)] if swap else [])
        assume(all(np.all(np.any(x != y, axis=-1)) for x, y in pairs))
        assume(p >= 1.0 or all(np.all(x != y) for x, y in pairs))
    opts = {"p": p, "eps": eps, "swap": swap}
    if draw(st.booleans()):
        opts["margin"] = draw(reals(0.0, 5.0))
    return Example("triplet_margin", [a, pos, neg], opts, diff=(0, 1, 2), sample_shape=shape[:-1])


def _kl(draw: Callable, labels: str | None) -> Example:
    shape, axis, opts = draw(layout())
    log_target = draw(st.booleans())
    target = arr(draw, shape, reals(-BIG, 0.0)) if log_target else distributions(draw, shape, axis)
    if draw(st.integers(0, 3)) == 0:
        opts, sample = {"axis": None}, shape
    else:
        sample = sample_of(shape, axis)
    if log_target or draw(st.booleans()):
        opts["log_target"] = log_target
    return Example("kl_divergence", [arr(draw, shape, reals(-BIG, 0.0)), target], opts, diff=(0, 1),
                   sample_shape=sample, classes=shape[axis], axis=axis)


def _pkl(draw: Callable, labels: str | None) -> Example:
    shape, axis, opts = draw(layout())
    if draw(st.booleans()):
        opts["eps"] = draw(st.sampled_from([1e-7, 1e-3, 0.1, 0.5]))
    return Example("probability_kl_divergence", [arr(draw, shape, probs(edges=True)),
                                                 arr(draw, shape, probs(edges=True))], opts, diff=(0, 1),
                   sample_shape=sample_of(shape, axis), classes=shape[axis], axis=axis)


def _multilabel_margin(draw: Callable, labels: str | None) -> Example:
    shape, axis, opts = draw(layout())
    y = draw(hnp.arrays(np.int64, shape, elements=st.integers(-1, shape[axis] - 1)))
    return Example("multilabel_margin", [arr(draw, shape, reals()), y], opts, diff=(0,),
                   sample_shape=sample_of(shape, axis), labels=None, classes=shape[axis], axis=axis)


def _categorical_hinge_target(draw: Callable, ex: Example) -> Example:
    """Float targets of categorical_hinge: any real one-hot-like target (Keras' formula as written)."""
    if ex.labels is None and draw(st.booleans()):
        return ex.replace(args=[ex.args[0], arr(draw, ex.args[0].shape, reals(-2.0, 2.0))])
    return ex


# -- hyperparameters: (name, out-of-range values, an array is a valid value) --------------------

@dataclass(frozen=True)
class Hyper:
    name: str
    out_of_range: tuple = ()
    array_ok: bool = False
    needs_int_labels: bool = False


WRONG_TYPE = (float("nan"), float("inf"), float("-inf"), True, "0.5", np.array(0.5))


# options a schedule changes every step: a 0-d array is a traced JAX value there (valid on JAX; refused on
# the other backends, tested in test_hyperparameters), so not drawn as a wrong type
TRACED = ("gamma", "delta", "label_smoothing")


def hyper_values(h: Hyper, loss: str = "") -> tuple:
    array_ok = h.array_ok or h.name in TRACED
    return h.out_of_range + tuple(v for v in WRONG_TYPE if not (array_ok and isinstance(v, np.ndarray)))


LS = Hyper("label_smoothing", (-0.1, 1.5))
CLIP_EPS = Hyper("eps", (0.0, 0.5, 0.7, -1e-7))
GAMMA_H = Hyper("gamma", (-1.0, -1e-3))
IGNORE = Hyper("ignore_index", (1.5, "x", True, float("nan")), needs_int_labels=True)


# -- the table --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Spec:
    name: str
    gen: Callable  # (draw, labels) -> Example
    reductions: tuple = REDUCTIONS
    weighted: bool = True
    hypers: tuple = ()
    class_axis: bool = False  # has an ``axis`` option and a class axis
    int_labels: bool = False  # takes integer class labels (int labels may be forced)
    float_labels: bool = False  # floating labels are a valid alternative to integer ones
    binary_labels: bool = False  # labels must lie in [0, 1]
    poisson: bool = False  # rates / counts must be >= 0
    group_labels: bool = False  # integer labels compared for equality only (metric learning): no range
    label_position: int = 1  # where the (binary) labels are among the positional inputs
    shape_position: int = 1  # the positional input whose shape the shape category changes
    broadcast_labels: bool = False  # labels of size 1 along an axis broadcast (torch's elementwise losses)
    # categories that do not apply, each exemption documented where the spec is declared (#10: any shapes are
    # valid, no second floating input, a dtype cast by design)
    exempt: tuple = ()
    # the loss differentiates a user function (the penalties' critic): array_api_strict has no autodiff of it
    autodiff: bool = False

    @property
    def fn(self) -> Callable:
        return xploss._api.LOSSES[self.name]

    def valid(self, labels: str | None = None) -> st.SearchStrategy:
        @st.composite
        def draw_example(draw: Callable) -> Example:
            ex = self.gen(draw, labels)
            ex = ex.replace(reduction=draw(st.sampled_from(self.reductions)))
            return sample_weight(draw, ex) if self.weighted else ex
        return draw_example()


def _spec(name: str, gen: Callable, **kw: Any) -> Spec:
    return Spec(name, gen, **kw)


_CE_SCORES = reals()
SPECS_LIST = [
    # regression
    _spec("mean_squared_error", _pair("mean_squared_error", reals(), reals())),
    _spec("mean_absolute_error", _pair("mean_absolute_error", reals(), reals())),
    _spec("huber", _pair("huber", reals(), reals(), delta=maybe(reals(1e-3, 10.0))),
          hypers=(Hyper("delta", (0.0, -1.0)),)),
    _spec("smooth_l1", _pair("smooth_l1", reals(), reals(), beta=maybe(st.one_of(reals(0.0, 10.0), st.just(0.0)))),
          hypers=(Hyper("beta", (-0.5, -1e-9)),)),
    _spec("quantile", _pair("quantile", reals(), reals(), tau=maybe(reals(1e-3, 1.0 - 1e-3))),
          hypers=(Hyper("tau", (0.0, 1.0, -0.5, 1.5)),)),
    _spec("log_cosh", _pair("log_cosh", reals(), reals())),
    _spec("mean_squared_log_error", _pair("mean_squared_log_error", reals(), reals(),
                                          eps=maybe(st.sampled_from([0.0, 1e-7, 0.1, 1.0]))),
          hypers=(Hyper("eps", (-1e-7, -1.0)),)),
    _spec("mean_absolute_percentage_error", _pair("mean_absolute_percentage_error", reals(), reals(),
                                                  eps=maybe(st.sampled_from([1e-7, 1e-3, 1.0]))),
          hypers=(Hyper("eps", (0.0, -1e-7)),)),
    _spec("poisson", lambda d, lab: _poisson(d, lab, "poisson"), hypers=(Hyper("eps", (-1e-7,)),), poisson=True),
    _spec("poisson_nll", lambda d, lab: _poisson(d, lab, "poisson_nll"), hypers=(Hyper("eps", (-1e-8,)),),
          poisson=True),
    _spec("gaussian_nll", _gaussian, hypers=(Hyper("eps", (-1e-6,)), Hyper("var", (-1.0,), array_ok=True))),
    _spec("l1_penalty", _penalty("l1_penalty"), reductions=("sum", "mean"), weighted=False,
          hypers=(Hyper("lam", (-0.1,)),)),
    _spec("l2_penalty", _penalty("l2_penalty"), reductions=("sum", "mean"), weighted=False,
          hypers=(Hyper("lam", (-0.1,)),)),
    _spec("triplet_margin", _triplet, hypers=(Hyper("margin", (-1.0,)), Hyper("p", (0.0, -1.0)),
                                              Hyper("eps", (-1e-6,)))),
    # binary
    _spec("binary_cross_entropy", _binary("binary_cross_entropy", probs(edges=True), probs(edges=True),
                                          eps=maybe(CLIP), label_smoothing=SMOOTH),
          hypers=(CLIP_EPS, LS), binary_labels=True),
    _spec("binary_focal", _binary("binary_focal", probs(edges=True), probs(edges=True), eps=maybe(CLIP),
                                  label_smoothing=SMOOTH, gamma=GAMMA,
                                  alpha=maybe(st.one_of(reals(-1.0, 1.0), st.just(None)))),
          hypers=(CLIP_EPS, LS, GAMMA_H, Hyper("alpha", (1.5,))), binary_labels=True),
    _spec("sigmoid_binary_cross_entropy", _binary("sigmoid_binary_cross_entropy", reals(), probs(edges=True),
                                                  label_smoothing=SMOOTH),
          hypers=(LS,), binary_labels=True),
    _spec("sigmoid_focal", _binary("sigmoid_focal", reals(), probs(edges=True), label_smoothing=SMOOTH, gamma=GAMMA,
                                   alpha=maybe(st.one_of(reals(-1.0, 1.0), st.just(None)))),
          hypers=(LS, GAMMA_H, Hyper("alpha", (1.5,))), binary_labels=True),
    _spec("soft_margin", _hinge("soft_margin")),
    _spec("multilabel_soft_margin", _binary("multilabel_soft_margin", reals(), probs(edges=True), event=True),
          binary_labels=True),
    _spec("hinge", _hinge("hinge")),
    _spec("squared_hinge", _hinge("squared_hinge")),
    # softmax / class-index
    _spec("cross_entropy", _class("cross_entropy", _CE_SCORES, dense=True, ignorable=True,
                                  extra=_with(_cw(), _opts(label_smoothing=SMOOTH))),
          hypers=(LS, IGNORE), class_axis=True, int_labels=True, float_labels=True),
    _spec("nll", _class("nll", reals(-BIG, 0.0), dense=False, ignorable=True, extra=_cw()),
          hypers=(IGNORE,), class_axis=True, int_labels=True),
    _spec("focal", _class("focal", _CE_SCORES, dense=True, ignorable=True,
                          extra=_with(_alpha_array_or_float(True),
                                      _opts(gamma=GAMMA, label_smoothing=SMOOTH,
                                            eps=maybe(st.sampled_from([0.0, 1e-7, 1e-3, 0.2]))))),
          hypers=(LS, GAMMA_H, Hyper("eps", (-1e-7, 0.5, 0.7)), Hyper("alpha", (), array_ok=True), IGNORE),
          class_axis=True, int_labels=True, float_labels=True),
    _spec("probability_cross_entropy", _class("probability_cross_entropy", probs(), dense=True, ignorable=True,
                                              renormalized=True, extra=_opts(label_smoothing=SMOOTH, eps=maybe(CLIP))),
          hypers=(LS, CLIP_EPS, IGNORE), class_axis=True, int_labels=True, float_labels=True),
    _spec("categorical_focal", _class("categorical_focal", probs(), dense=True, ignorable=True, renormalized=True,
                                      extra=_with(_alpha_array_or_float(False),
                                                  _opts(gamma=GAMMA, label_smoothing=SMOOTH, eps=maybe(CLIP)))),
          hypers=(LS, CLIP_EPS, GAMMA_H, Hyper("alpha", (), array_ok=True), IGNORE), class_axis=True,
          int_labels=True, float_labels=True),
    _spec("categorical_generalized_cross_entropy",
          _class("categorical_generalized_cross_entropy", probs(), dense=False, ignorable=True,
                 extra=_opts(q=maybe(reals(0.05, 0.95)), eps=maybe(st.sampled_from([0.0, 1e-3, 0.1])))),
          hypers=(Hyper("q", (0.0, 1.0, -0.5)), Hyper("eps", (-1e-3, 1.0)), IGNORE), class_axis=True,
          int_labels=True),
    _spec("poly1_cross_entropy", _class("poly1_cross_entropy", _CE_SCORES, dense=True, ignorable=True,
                                        extra=_opts(epsilon=maybe(reals(-5.0, 5.0)))),
          hypers=(Hyper("epsilon"), IGNORE), class_axis=True, int_labels=True, float_labels=True),
    _spec("kl_divergence", _kl, reductions=REDUCTIONS + ("batchmean",), class_axis=True),
    _spec("probability_kl_divergence", _pkl, hypers=(Hyper("eps", (0.0, 1.0, -1e-7)),), class_axis=True),
    # margin
    _spec("categorical_hinge", _class("categorical_hinge", reals(-5.0, 5.0), dense=True, ignorable=False,
                                      extra=_categorical_hinge_target),
          class_axis=True, int_labels=True, float_labels=True),
    _spec("multi_margin", _class("multi_margin", reals(-5.0, 5.0), dense=False, ignorable=False,
                                 extra=_with(_cw(), _opts(p=maybe(st.sampled_from([1, 2, 1.0, 2.0])),
                                                          margin=maybe(reals(-5.0, 5.0))))),
          hypers=(Hyper("p", (0, 3, 1.5, -1)), Hyper("margin")), class_axis=True, int_labels=True),
    _spec("multilabel_margin", _multilabel_margin, class_axis=True),
    _spec("zero_one", _class("zero_one", reals(-5.0, 5.0), dense=False, ignorable=False),
          class_axis=True, int_labels=True),
]
from fuzz_metric import SPECS as _METRIC_SPECS  # noqa: E402  (the metric-learning family, #8)

SPECS_LIST += _METRIC_SPECS
for _family in ("fuzz_overlap", "fuzz_lovasz", "fuzz_boxes", "fuzz_ctc",  # dense, boxes, sequences (#9)
                "fuzz_generative"):  # generative, distillation, multi-task (#10)
    SPECS_LIST += __import__(_family).SPECS
SPECS: dict[str, Spec] = {s.name: s for s in SPECS_LIST}
assert len(SPECS) == len(SPECS_LIST), "duplicate spec"

# every public name of a loss -> its canonical name (the aliases included)
PUBLIC = {n: getattr(xploss, n).__xploss_loss__ for n in xploss.__all__
          if hasattr(getattr(xploss, n), "__xploss_loss__")}
ALIASES = {n: c for n, c in PUBLIC.items() if n != c}


# -- bad-input categories -------------------------------------------------------------------------
# Each mutation is ``(draw, spec, ex) -> (bad example, argument names the message may name)``; None when
# the category does not apply to that example (the test then draws another).

def _other_shape(draw: Callable, shape: tuple) -> tuple:
    """A shape != ``shape``; often one that would broadcast against it."""
    options = []
    for i, s in enumerate(shape):
        if s > 1:
            options.append(shape[:i] + (1,) + shape[i + 1:])  # would broadcast
        options.append(shape[:i] + (s + 1,) + shape[i + 1:])
    options.append((1,) + shape)
    options.append(shape + (2,))
    if shape:
        options.append(shape[:-1])
        options.append(shape[1:])
    return draw(st.sampled_from([o for o in options if o != shape]))


def _resize(x: np.ndarray, shape: tuple) -> np.ndarray:
    return np.resize(x, shape) if x.size else np.zeros(shape, x.dtype)


NAMES = {  # positional argument names, as the messages spell them
    "triplet_margin": ("anchor", "positive", "negative"), "gaussian_nll": ("pred", "target", "var"),
    "kl_divergence": ("log_q", "target"), "probability_kl_divergence": ("probs", "target"),
}


def names_of(spec: Spec) -> tuple:
    import inspect
    params = [p.name for p in inspect.signature(spec.fn).parameters.values()
              if p.kind is inspect.Parameter.POSITIONAL_ONLY]
    return tuple(params)


def mut_shape(draw: Callable, spec: Spec, ex: Example) -> tuple | None:
    if spec.name in ("l1_penalty", "l2_penalty"):
        return None
    i = draw(st.sampled_from([1, 2] if spec.name == "triplet_margin" else [spec.shape_position]))
    x = ex.args[i]
    args = list(ex.args)
    shape = _other_shape(draw, x.shape)
    if spec.broadcast_labels and i == spec.label_position:
        ref = ex.args[0].shape
        assume(len(shape) != len(ref) or not all(a in (1, b) for a, b in zip(shape, ref)))
    args[i] = _resize(x, shape)
    return ex.replace(args=args), {names_of(spec)[i]}


def _first_array(ex: Example) -> int:
    """The first positional array (0; a penalty's first argument is its critic, a callable)."""
    return next(i for i, a in enumerate(ex.args) if isinstance(a, np.ndarray))


def mut_int_pred(draw: Callable, spec: Spec, ex: Example) -> tuple:
    dtype = draw(st.sampled_from([np.int64, np.int32, np.bool_]))
    args, i = list(ex.args), _first_array(ex)
    args[i] = np.asarray(np.round(args[i])).astype(dtype)
    return ex.replace(args=args), {names_of(spec)[i] if spec.name not in ("l1_penalty", "l2_penalty")
                                   else "params[0]"}


def _float_positions(spec: Spec, ex: Example) -> list[int]:
    return [i for i, a in enumerate(ex.args) if isinstance(a, np.ndarray) and a.dtype.kind == "f"]


def _arg_name(spec: Spec, i: int) -> str:
    return f"params[{i}]" if spec.name in ("l1_penalty", "l2_penalty") else names_of(spec)[i]


def mut_complex(draw: Callable, spec: Spec, ex: Example) -> tuple:
    i = draw(st.sampled_from(_float_positions(spec, ex)))
    args = list(ex.args)
    args[i] = np.asarray(args[i] + 1j * draw(st.sampled_from([0.0, 0.5])))
    return ex.replace(args=args), {_arg_name(spec, i)}


def mut_float_mix(draw: Callable, spec: Spec, ex: Example) -> tuple | None:
    """The first float input float64, another float input float32 / float16 (or the reverse)."""
    pos = _float_positions(spec, ex)
    if len(pos) < 2:
        return None
    i = draw(st.sampled_from(pos[1:]))
    dtype = draw(st.sampled_from([np.float32, np.float16]))
    args = list(ex.args)
    if draw(st.booleans()):
        args[i] = np.asarray(args[i]).astype(dtype)
    else:  # the first input narrower: every other float input now differs from it
        args[pos[0]] = np.asarray(args[pos[0]]).astype(dtype)
    return ex.replace(args=args), {_arg_name(spec, j) for j in pos}


def mut_label_range(draw: Callable, spec: Spec, ex: Example) -> tuple | None:
    c = ex.classes
    if spec.name == "multilabel_margin":
        y, bad = ex.args[1].copy(), draw(st.one_of(st.integers(-50, -2), st.integers(c, c + 50)))
    elif ex.labels is None:
        return None
    else:
        y = ex.args[ex.labels].copy()
        ignored = ex.opts.get("ignore_index", -100 if "ignore_index" in _kwonly(spec) else None)
        bad = draw(st.one_of(st.integers(-200, -1), st.integers(c, c + 200)).filter(lambda v: v != ignored))
    if y.size == 0:
        return None
    flat = y.reshape(-1)
    flat[draw(st.integers(0, flat.size - 1))] = bad
    args = list(ex.args)
    args[1 if spec.name == "multilabel_margin" else ex.labels] = flat.reshape(y.shape)
    return ex.replace(args=args), {"labels"}


def mut_float_indices(draw: Callable, spec: Spec, ex: Example) -> tuple | None:
    if ex.labels is None and spec.name != "multilabel_margin":
        return None
    i = 1 if ex.labels is None else ex.labels
    args = list(ex.args)
    args[i] = args[i].astype(np.float64)
    return ex.replace(args=args), {"labels"}


def _kwonly(spec: Spec) -> set:
    import inspect
    return {p.name for p in inspect.signature(spec.fn).parameters.values() if p.kind is inspect.Parameter.KEYWORD_ONLY}


def mut_hyper(draw: Callable, spec: Spec, ex: Example) -> tuple | None:
    hypers = [h for h in spec.hypers if not (h.needs_int_labels and ex.labels is None)]
    if spec.name == "gaussian_nll" and not isinstance(ex.args[2], float):
        hypers = [h for h in hypers if h.name != "var"]
    if not hypers:
        return None
    h = draw(st.sampled_from(hypers))
    value = draw(st.sampled_from(hyper_values(h, spec.name)))
    if h.name == "var":
        return ex.replace(args=[*ex.args[:2], value]), {"var"}
    kw = {k: v for k, v in ex.kw.items() if k != h.name}
    return ex.replace(opts={**ex.opts, h.name: value}, kw=kw), {h.name}


UNKNOWN = ("from_logits", "size_average", "reduce", "weights", "pos_weight", "delta", "axis", "class_weight", "foo",
           "label_smoothing", "ignore_index", "eps", "margin", "sample_weights", "y_true", "input", "dim")


def mut_unknown_keyword(draw: Callable, spec: Spec, ex: Example) -> tuple:
    key = draw(st.sampled_from([k for k in UNKNOWN if k not in _kwonly(spec)]))
    return ex.replace(opts={**ex.opts, key: draw(st.sampled_from([1.0, True, None, "x"]))}), {key}


def mut_weight(draw: Callable, spec: Spec, ex: Example) -> tuple:
    return ex.replace(kw={**ex.kw, "weight": np.ones(ex.sample_shape)}), {"weight"}


BAD_REDUCTIONS = ("avg", "MEAN", "Mean", "", "elementwise_mean", "auto", "sum_over_batch_size", None, 1, True,
                  "batchmean")


def mut_reduction(draw: Callable, spec: Spec, ex: Example) -> tuple:
    bad = [r for r in BAD_REDUCTIONS if r not in spec.reductions]
    if spec.name in ("l1_penalty", "l2_penalty"):
        bad += ["none", "weighted_mean"]
    return ex.replace(reduction=draw(st.sampled_from(bad))), {"reduction"}


def mut_axis(draw: Callable, spec: Spec, ex: Example) -> tuple | None:
    if not spec.class_axis:
        return None
    nd = ex.args[0].ndim
    bad = [nd, nd + 3, -nd - 1, 1.0, True, "1", 0.0]
    if spec.name != "kl_divergence":
        bad.append(None)
    return ex.replace(opts={**ex.opts, "axis": draw(st.sampled_from(bad))}), {"axis"}


def mut_sample_weight(draw: Callable, spec: Spec, ex: Example) -> tuple | None:
    if not spec.weighted:
        return None
    s = ex.sample_shape
    options = [s + (2,), s + (1,)]
    for i, d in enumerate(s):
        options.append(s[:i] + (d + 1,) + s[i + 1:] if d + 1 != 1 else s[:i] + (2,) + s[i + 1:])
    if len(s) >= 2 and s[1:] != s[:len(s) - 1] and s[-1] != 1:
        options.append(s[1:])  # trailing-aligned
    shape = draw(st.sampled_from(options))
    if len(shape) <= len(s) and all(a in (1, b) for a, b in zip(shape, s)):
        return None  # happens to align
    kw = {k: v for k, v in ex.kw.items() if k != "sample_weight"}
    return ex.replace(kw={**kw, "sample_weight": np.ones(shape)}), {"sample_weight"}


def mut_numpy_subclass(draw: Callable, spec: Spec, ex: Example) -> tuple:
    pos = [i for i, a in enumerate(ex.args) if isinstance(a, np.ndarray)]
    i = draw(st.sampled_from(pos))
    x = ex.args[i]
    if x.ndim == 2 and draw(st.booleans()):
        sub = np.asmatrix(x)
    else:
        sub = np.ma.masked_array(x, mask=draw(hnp.arrays(np.bool_, x.shape)))
    args = list(ex.args)
    args[i] = sub
    return ex.replace(args=args), {_arg_name(spec, i)}


# #7 categories 6 and 8: an empty class axis, binary labels outside [0, 1], negative poisson values

def mut_empty_classes(draw: Callable, spec: Spec, ex: Example) -> tuple | None:
    """C = 0: float labels where they are valid, else integer labels all ignored, else integer labels."""
    if spec.name == "multilabel_soft_margin":
        shape = ex.args[0].shape[:-1] + (0,)
        return ex.replace(args=[np.zeros(shape), np.zeros(shape)], kw={}), {"logits", "labels"}
    x, axis = ex.args[0], ex.axis
    shape = x.shape[:axis] + (0,) + x.shape[axis + 1:]
    z = np.zeros(shape)
    if spec.name in ("kl_divergence", "probability_kl_divergence"):
        return ex.replace(args=[z, np.zeros(shape)], opts={k: v for k, v in ex.opts.items() if k != "axis"}
                          | {"axis": axis}, kw={}, diff=(0,)), {names_of(spec)[0], "target"}
    if spec.float_labels or spec.name == "multilabel_margin":
        y = np.zeros(shape, np.int64 if spec.name == "multilabel_margin" else np.float64)
        return ex.replace(args=[z, y], kw={}, diff=(0,)), {names_of(spec)[0], "labels"}
    y = np.full(sample_of(x.shape, axis), -100, np.int64)
    opts = {k: v for k, v in ex.opts.items() if k != "ignore_index"}
    return ex.replace(args=[z, y], opts=opts, kw={}, diff=(0,)), {names_of(spec)[0], "labels"}


def mut_binary_labels(draw: Callable, spec: Spec, ex: Example) -> tuple | None:
    i = spec.label_position
    if not spec.binary_labels or ex.args[i].size == 0:
        return None
    y = ex.args[i].copy().reshape(-1)
    y[draw(st.integers(0, y.size - 1))] = draw(st.sampled_from([2.0, -1.0, 1.5, -0.5]))
    args = list(ex.args)
    args[i] = y.reshape(ex.args[i].shape)
    return ex.replace(args=args), {"labels"}


def mut_negative_poisson(draw: Callable, spec: Spec, ex: Example) -> tuple | None:
    if not spec.poisson:
        return None
    log_input = spec.name == "poisson_nll" and ex.opts.get("log_input", True)
    i = 1 if log_input else draw(st.sampled_from([0, 1]))
    x = ex.args[i].copy().reshape(-1)
    x[draw(st.integers(0, x.size - 1))] = -draw(reals(1e-3, BIG))
    args = list(ex.args)
    args[i] = x.reshape(ex.args[i].shape)
    return ex.replace(args=args), {names_of(spec)[i]}


@dataclass(frozen=True)
class Category:
    id: str
    mutate: Callable
    labels: str | None = None  # force integer / float labels in the base example
    numpy_only: bool = False

    def applies(self, spec: Spec) -> bool:
        if self.id in spec.exempt:
            return False
        checks = {
            "shape": spec.name not in ("l1_penalty", "l2_penalty"),
            "label_range": spec.int_labels or spec.name == "multilabel_margin",
            "float_indices": spec.int_labels or spec.group_labels or spec.name == "multilabel_margin",
            "float_mix": spec.float_labels or not (spec.int_labels or spec.group_labels
                                                   or spec.name == "multilabel_margin"),
            "hyper": bool(spec.hypers),
            "axis": spec.class_axis,
            "sample_weight": spec.weighted,
            "empty_classes": spec.class_axis or spec.name == "multilabel_soft_margin",
            "binary_labels": spec.binary_labels,
            "negative_poisson": spec.poisson,
        }
        return checks.get(self.id, True)


CATEGORIES = [
    Category("shape", mut_shape),
    Category("int_pred", mut_int_pred),
    Category("complex", mut_complex),
    Category("float_mix", mut_float_mix, labels="float"),
    Category("label_range", mut_label_range, labels="int"),
    Category("float_indices", mut_float_indices, labels="int"),
    Category("hyper", mut_hyper, labels="int"),
    Category("unknown_keyword", mut_unknown_keyword),
    Category("weight", mut_weight),
    Category("reduction", mut_reduction),
    Category("axis", mut_axis),
    Category("sample_weight", mut_sample_weight),
    Category("numpy_subclass", mut_numpy_subclass, numpy_only=True),
    Category("empty_classes", mut_empty_classes),
    Category("binary_labels", mut_binary_labels),
    Category("negative_poisson", mut_negative_poisson),
]


def bad(spec: Spec, category: Category) -> st.SearchStrategy:
    """A valid example of ``spec`` mutated by ``category``: (example, argument names the message may name)."""
    @st.composite
    def draw_bad(draw: Callable) -> tuple:
        ex = draw(spec.valid(category.labels if spec.int_labels else None))
        out = category.mutate(draw, spec, ex)
        assume(out is not None)
        return out
    return draw_bad()

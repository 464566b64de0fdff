"""Generic numeric tests over the loss table in ``cases.py``.

For every case, backend and dtype: values against the independent NumPy
reference for every reduction (with and without a per-sample weight);
gradients against central finite differences of that reference (float64) and
against the framework's own autodiff of the same kernel; finiteness at huge
inputs; and a few hypothesis properties on NumPy.
"""

from __future__ import annotations

import functools
import os
import zlib
from typing import Any

import numpy as np
import pytest
from cases import BY_ID, CASES, Case
from conftest import Backend, _load
from helpers import assert_close, native_autodiff, to_backend, to_numpy
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import xploss

ONE_PER_LOSS = list({c.fn: c for c in reversed(CASES)}.values())  # the first case of each function
ONE_PER_MODULE = list({getattr(c.fn, "__wrapped__", c.fn).__module__: c for c in reversed(ONE_PER_LOSS)}.values())
# ``XPLOSS_SWEEP=1`` (nox -s fuzz): the compiled-mode sweeps over every loss.  The regular suite compiles the
# first loss of each kernel module with jax.jit (against the finite-difference reference) and XLA, and none here
# with torch.compile: test_torch_frontend compiles the first loss of each kernel module with fullgraph=True (the
# criteria call these functions); 0.5-3 s a loss, 200 s for every loss.  Every loss' JAX gradient is compared
# with NumPy's (itself checked against finite differences here) by test_fuzz.
SWEEP = os.environ.get("XPLOSS_SWEEP") == "1"
COMPILED = ONE_PER_LOSS if SWEEP else ONE_PER_MODULE
TORCH_COMPILED = ONE_PER_LOSS if SWEEP else []
FD_STEP = 1e-4
# Override of the float64 tolerance for finite differences: a 4-point central stencil with
# step 1e-4 has truncation ~1e-16·f⁽⁵⁾ and rounding ~1e-12·|f|, both far below 1e-7.
FD_RTOL = 1e-7


def for_cases(cases: list[Case]) -> Any:
    return pytest.mark.parametrize("case", cases, ids=[c.id for c in cases])


# -- inputs, references, calls ---------------------------------------------------------

def _round(x: Any, dtype: str) -> Any:
    """Floating arrays rounded to ``dtype`` and held as float64 (what the reference sees)."""
    if isinstance(x, np.ndarray) and x.dtype.kind == "f":
        return x.astype(dtype).astype(np.float64)
    return x


def inputs(case: Case, dtype: str, seed: int | None = None) -> tuple[tuple, dict, np.ndarray | None]:
    """The case's positional inputs, options and a per-sample weight (None if not weighted)."""
    rng = np.random.default_rng(zlib.crc32(case.id.encode()) if seed is None else seed)
    args = tuple(_round(a, dtype) for a in case.make(rng))
    opts = {k: _round(v, dtype) for k, v in case.opts.items()}
    if not case.weighted:
        return args, opts, None
    n = np.shape(case.ref(*args, **opts))[0]
    return args, opts, _round(rng.uniform(0.5, 2.0, size=n), dtype)


def reduce_ref(case: Case, args: tuple, opts: dict, w: np.ndarray | None, reduction: str) -> Any:
    """The reference reduction (``_reduce`` docstring / BUILTINS §2.3, §2.6), from the per-sample reference."""
    loss = case.ref(*args, **opts)
    valid, norm = case.norm(*args, **opts) if case.norm else (None, None)
    w = np.ones(()) if w is None else np.reshape(w, w.shape + (1,) * (loss.ndim - w.ndim))  # leading axes
    wb = np.broadcast_to(w, loss.shape)
    if reduction == "none":
        return wb * loss
    total = np.sum(wb * loss)
    if reduction == "sum":
        return total
    if reduction == "mean":
        den = loss.size if valid is None else np.sum(valid)
    else:  # weighted_mean
        den = np.sum(wb if norm is None else wb * norm)
    return total / den if den else 0.0


def _to(b: Backend, x: Any, dtype: str) -> Any:
    return to_backend(b, x, dtype) if isinstance(x, np.ndarray) else x


def call(case: Case, b: Backend, dtype: str, args: tuple, opts: dict, w: Any, reduction: str) -> Any:
    kw = {k: _to(b, v, dtype) for k, v in opts.items()}
    if w is not None:
        kw["sample_weight"] = _to(b, w, dtype)
    return case.fn(*(_to(b, a, dtype) for a in args), reduction=reduction, **kw)


def argnums(case: Case, args: tuple, w: Any) -> tuple[int, ...]:
    """Differentiable positions: the case's, plus the weight (passed last) if any."""
    return case.diff + ((len(args),) if w is not None else ())


def xploss_grad(case: Case, b: Backend, dtype: str, args: tuple, opts: dict, w: Any, reduction: str) -> tuple:
    """``xploss.value_and_grad`` over the differentiable inputs and the weight (if given)."""
    kw = {k: _to(b, v, dtype) for k, v in opts.items()}
    xs = tuple(_to(b, a, dtype) for a in args)
    if w is None:
        def f(*a: Any) -> Any:
            return case.fn(*a, reduction=reduction, **kw)
    else:
        xs = (*xs, _to(b, w, dtype))

        def f(*a: Any) -> Any:
            return case.fn(*a[:-1], sample_weight=a[-1], reduction=reduction, **kw)
    return xploss.value_and_grad(f, argnums=argnums(case, args, w))(*xs)


def grad_inputs(case: Case, weighted: bool) -> tuple[tuple, dict, Any]:
    args, opts, w = inputs(case, "float64")
    return args, opts, w if weighted else None


@functools.cache
def fd_grads(case_id: str, reduction: str, weighted: bool) -> tuple[float, list[np.ndarray]]:
    """Reference value and 4-point central differences of the reference reduction (float64)."""
    case = BY_ID[case_id]
    args, opts, w = grad_inputs(case, weighted)
    xs = [*args, w] if w is not None else list(args)

    def f(x: list) -> float:
        return reduce_ref(case, tuple(x[:len(args)]), opts, x[len(args)] if w is not None else None, reduction)

    grads = []
    for i in argnums(case, args, w):
        g = np.zeros_like(xs[i])
        for j in np.ndindex(g.shape):
            vals = []
            for step in (-2, -1, 1, 2):
                x = xs[i].copy()
                x[j] += step * FD_STEP
                vals.append(f(xs[:i] + [x] + xs[i + 1:]))
            g[j] = (vals[0] - 8 * vals[1] + 8 * vals[2] - vals[3]) / (12 * FD_STEP)
        grads.append(g)
    return f(xs), grads


def grad_names(case: Case, weighted: bool) -> list[str]:
    return [f"arg {i}" for i in case.diff] + (["weight"] if weighted else [])


def grad_combos(case: Case, backend: Backend | None = None) -> list[tuple[str, bool]]:
    """(reduction, weighted) pairs whose gradient is checked (each one a JAX compilation: on JAX the
    weighted means only, the reduction branches being shared code the other backends check)."""
    if not case.weighted:
        return [(r, False) for r in case.reductions]
    if backend is Backend.JAX:
        return [("mean", True), ("weighted_mean", True)]
    if case.coupled or case.light:  # the weighted means carry the counted normaliser; "sum" adds nothing new
        return [("mean", True), ("weighted_mean", True)]
    return [("mean", True), ("sum", False), ("weighted_mean", True)]


def value_combos(case: Case, dtype: str, backend: Backend | None = None) -> list[tuple[str, bool]]:
    """(reduction, weighted) pairs whose value is checked.

    float64: every branch of the (dtype-independent) reduction code; float32: the kernel's
    precision and the dtype kept through a weighted reduction (each pair is a JAX compilation).
    """
    if not case.weighted:
        return [(r, False) for r in case.reductions]
    if dtype == "float32":  # on JAX one compilation: the weighted mean keeps the dtype through the weight too
        return [("mean", True)] if backend is Backend.JAX else [("none", False), ("mean", True)]
    combos = [("none", False), ("none", True), ("sum", True), ("mean", False), ("mean", True), ("weighted_mean", True)]
    if backend is Backend.JAX:  # each pair a compilation: the weighted ones (the reduction code is shared)
        combos = [("none", True), ("mean", True), ("weighted_mean", True)]
    elif case.coupled or case.light:  # each pair is a compilation: the reduction code is shared, the counts are new
        combos = [("none", True), ("sum", True), ("mean", False), ("weighted_mean", True)]
    return combos + [("weighted_mean", False)] * (case.norm is not None)


# -- 1. values ----------------------------------------------------------------------------

@for_cases(CASES)
def test_value_matches_reference(case: Case, backend: Backend, dtype: str) -> None:
    if backend is Backend.JAX and (dtype == "float64" or case not in ONE_PER_LOSS):
        pytest.skip("JAX: float32 one case per loss (each a compilation); float64 in test_jax_jit_matches_reference "
                    "(compiled, one loss per kernel module, against the reference) and test_fuzz (every loss, "
                    "eager, against NumPy)")
    args, opts, w = inputs(case, dtype)
    for reduction, weighted in value_combos(case, dtype, backend):
        weight = w if weighted else None
        got = call(case, backend, dtype, args, opts, weight, reduction)
        assert_close(got, reduce_ref(case, args, opts, weight, reduction), dtype=dtype, b=backend,
                     what=f"{case.id} {reduction} weighted={weighted}")


# -- 2. gradients vs finite differences --------------------------------------------------

# JAX: every eager configuration is several compilations (1.3 s a case, 40 % of the suite's CPU): JAX's gradients
# are checked against these finite differences under jax.jit, one compilation per loss
# (test_jax_jit_matches_reference), and eagerly against NumPy's for every loss by test_fuzz.
@for_cases(CASES)
def test_grad_matches_finite_differences(case: Case, backend: Backend) -> None:
    if backend is Backend.JAX:
        pytest.skip("JAX: test_jax_jit_matches_reference (compiled) and test_fuzz (eager, every loss vs NumPy)")
    for reduction, weighted in grad_combos(case, backend):
        value, grads = xploss_grad(case, backend, "float64", *grad_inputs(case, weighted), reduction)
        ref_value, ref_grads = fd_grads(case.id, reduction, weighted)
        what = f"{case.id} {reduction} weighted={weighted}"
        assert_close(value, ref_value, dtype="float64", b=backend, what=what)
        for k, g, e in zip(grad_names(case, weighted), grads, ref_grads):
            assert_close(g, e, dtype="float64", b=backend, rtol=FD_RTOL, what=f"{what} d/d({k})")


# -- 3. gradients vs the framework's own autodiff of the same kernel ------------------------

# The hand derivative against the framework's autodiff of the same kernel: the formula is backend-independent,
# checked through torch and TensorFlow; JAX's binding of it is checked against finite differences above (each
# JAX configuration is a compilation: this test alone cost 90 s of the suite on JAX).
NATIVE = [b for b in Backend if b.has_autodiff and b is not Backend.JAX]


@for_cases(CASES)
@pytest.mark.parametrize("native", NATIVE, ids=[b.value for b in NATIVE])
def test_grad_matches_native_autodiff(case: Case, native: Backend) -> None:
    _load(native)
    ad_backend = native
    for reduction, weighted in grad_combos(case)[-1:]:  # the richest reduction VJP; the rest: FD above
        args, opts, w = grad_inputs(case, weighted)
        value, grads = xploss_grad(case, ad_backend, "float64", args, opts, w, reduction)
        with native_autodiff(ad_backend):
            ref_value, ref_grads = xploss_grad(case, ad_backend, "float64", args, opts, w, reduction)
        what = f"{case.id} {reduction} weighted={weighted}"
        assert_close(value, to_numpy(ref_value), dtype="float64", b=ad_backend, what=what)
        for k, g, e in zip(grad_names(case, weighted), grads, ref_grads):
            assert_close(g, to_numpy(e), dtype="float64", b=ad_backend, what=f"{what} d/d({k})")


# -- 4. extreme inputs ----------------------------------------------------------------------

@for_cases([c for c in CASES if c.extreme is not None])
def test_extreme_inputs_stay_finite(case: Case, backend: Backend, dtype: str) -> None:
    if backend is Backend.JAX and (dtype == "float64" or case not in ONE_PER_MODULE):
        pytest.skip("JAX: float32 (where huge inputs overflow), one case per kernel module (each a compilation)")
    args, opts, w = inputs(case, dtype)
    reduction, weighted = grad_combos(case)[0]  # the configuration compiled by the tests above
    value, grads = xploss_grad(case, backend, dtype, case.extreme(args), opts, w if weighted else None, reduction)
    assert np.isfinite(to_numpy(value)), f"{case.id}: value {to_numpy(value)}"
    for k, g in zip(grad_names(case, weighted), grads):
        assert np.all(np.isfinite(to_numpy(g))), f"{case.id}: d/d({k}) = {to_numpy(g)}"


# -- 5. all-ignored cross-entropy ------------------------------------------------------------

@pytest.mark.parametrize("reduction", ["mean", "weighted_mean"])
@pytest.mark.parametrize("opts", [{}, {"class_weight": BY_ID["ce-int-class_weight"].opts["class_weight"],
                                       "label_smoothing": 0.2}], ids=["plain", "cw-smoothing"])
def test_cross_entropy_all_ignored_is_zero(backend: Backend, reduction: str, opts: dict) -> None:
    rng = np.random.default_rng(7)
    z, w = rng.normal(size=(3, 3)), rng.uniform(0.5, 2.0, size=3)
    y = to_backend(backend, np.full(3, -100))
    kw = {k: _to(backend, v, "float64") for k, v in opts.items()}
    value, (gz, gw) = xploss.value_and_grad(
        lambda z_, w_: xploss.cross_entropy(z_, y, sample_weight=w_, reduction=reduction, **kw), argnums=(0, 1))(
        to_backend(backend, z, "float64"), to_backend(backend, w, "float64"))
    assert to_numpy(value) == 0.0
    assert np.all(to_numpy(gz) == 0.0) and np.all(to_numpy(gw) == 0.0), (to_numpy(gz), to_numpy(gw))


# -- 6. hypothesis properties (NumPy, float64) ---------------------------------------------

PROPERTY = settings(max_examples=25, deadline=None)
SEEDS = st.integers(0, 2**32 - 1)
FLOATS = st.floats(-1e3, 1e3, allow_nan=False)
PAIRS = hnp.arrays(np.float64, st.tuples(st.just(2), st.integers(1, 5), st.integers(1, 4)), elements=FLOATS)
CE_CASES = [c for c in CASES if c.fn is xploss.cross_entropy]


@for_cases([c for c in CASES if c.nonneg])
@PROPERTY
@given(seed=SEEDS, scale=st.floats(1e-3, 1e3))
def test_nonnegative(case: Case, seed: int, scale: float) -> None:
    args, opts, _ = inputs(case, "float64", seed)
    reduction = "none" if "none" in case.reductions else "sum"
    assert np.all(case.fn(args[0] * scale, *args[1:], reduction=reduction, **opts) >= 0)


@for_cases([c for c in CASES if c.zero_at_perfect])
@PROPERTY
@given(y=hnp.arrays(np.float64, hnp.array_shapes(max_dims=2, max_side=5), elements=FLOATS))
def test_zero_and_stationary_at_perfect_prediction(case: Case, y: np.ndarray) -> None:
    value, grad = xploss.value_and_grad(lambda p: case.fn(p, y, reduction="sum", **case.opts))(y.copy())
    assert value == 0.0 and np.all(grad == 0.0), (value, grad)


@for_cases([c for c in CASES if "mean" in c.reductions])
@PROPERTY
@given(seed=SEEDS)
def test_mean_is_sum_over_count(case: Case, seed: int) -> None:
    args, opts, _ = inputs(case, "float64", seed)
    count = np.sum(case.norm(*args, **opts)[0]) if case.norm else np.size(case.ref(*args, **opts))
    mean, total = (case.fn(*args, reduction=r, **opts) for r in ("mean", "sum"))
    assert_close(mean, total / count, dtype="float64")


@for_cases([c for c in CASES if c.weighted and not c.coupled])
@PROPERTY
@given(seed=SEEDS)
def test_sum_over_concatenated_batch_is_sum_of_sums(case: Case, seed: int) -> None:
    (a, opts, wa), (b, _, wb) = inputs(case, "float64", seed), inputs(case, "float64", seed + 1)
    cat = tuple(np.concatenate([x, y]) if isinstance(x, np.ndarray) else x for x, y in zip(a, b))
    whole = case.fn(*cat, sample_weight=np.concatenate([wa, wb]), reduction="sum", **opts)
    parts = case.fn(*a, sample_weight=wa, reduction="sum", **opts) + \
        case.fn(*b, sample_weight=wb, reduction="sum", **opts)
    assert_close(whole, parts, dtype="float64")


@for_cases(CE_CASES)
@PROPERTY
@given(seed=SEEDS, data=st.data())
def test_cross_entropy_shift_invariance(case: Case, seed: int, data: st.DataObject) -> None:
    (z, y), opts, _ = inputs(case, "float64", seed)
    axis = opts.get("axis", -1) % z.ndim
    shift = data.draw(hnp.arrays(np.float64, z.shape[:axis] + z.shape[axis + 1:], elements=st.floats(-100, 100)))
    vg = xploss.value_and_grad(lambda z_: xploss.cross_entropy(z_, y, reduction="sum", **opts))
    (v0, g0), (v1, g1) = vg(z), vg(z + np.expand_dims(shift, axis))
    assert_close(v1, v0, dtype="float64", what="value")
    assert_close(g1, g0, dtype="float64", what="gradient")


@PROPERTY
@given(pair=PAIRS)
def test_quantile_at_half_is_half_mae(pair: np.ndarray) -> None:
    p, y = pair
    vq, gq = xploss.value_and_grad(lambda p_: xploss.quantile(p_, y, tau=0.5, reduction="sum"))(p)
    va, ga = xploss.value_and_grad(lambda p_: xploss.mae(p_, y, reduction="sum"))(p)
    assert_close(xploss.quantile(p, y, tau=0.5, reduction="none"), 0.5 * xploss.mae(p, y, reduction="none"),
                 dtype="float64")
    assert_close(vq, 0.5 * va, dtype="float64")
    assert_close(gq, 0.5 * ga, dtype="float64")


# -- 6. compiled modes: every loss under jax.jit and tf.function(jit_compile=True) ----------



def _compiled_matches_eager(case: Case, b: Backend, compiled: Any) -> None:
    """Traced labels take the masked path, closed-over options stay static: same numbers as eager.

    ``compiled(f, argnums)`` returns the compiled ``(value, grads)`` function of the loss ``f``.
    """
    reduction, weighted = grad_combos(case)[-1]
    args, opts, w = grad_inputs(case, weighted)
    value, grads = xploss_grad(case, b, "float64", args, opts, w, reduction)
    kw = {k: _to(b, v, "float64") for k, v in opts.items()}
    xs = tuple(_to(b, a, "float64") for a in args) + ((_to(b, w, "float64"),) if w is not None else ())

    def f(*a: Any) -> Any:
        extra = {"sample_weight": a[-1]} if w is not None else {}
        return case.fn(*(a[:-1] if w is not None else a), reduction=reduction, **extra, **kw)

    c_value, c_grads = compiled(f, argnums(case, args, w))(*xs)
    assert_close(c_value, to_numpy(value), dtype="float64", b=b, what=f"{case.id} compiled value")
    for k, g, e in zip(grad_names(case, weighted), c_grads, grads):
        assert_close(g, to_numpy(e), dtype="float64", b=b, what=f"{case.id} compiled d/d({k})")


@for_cases(COMPILED)
def test_jax_jit_matches_reference(case: Case) -> None:
    """Every loss under ``jax.jit`` against the independent reference: the value and the finite-difference
    gradients (the richest reduction: the weighted mean with its weight's gradient).  JAX's eager gradients
    are compared with NumPy's for every loss by test_fuzz."""
    jax = _load(Backend.JAX)
    b = Backend.JAX
    reduction, weighted = grad_combos(case, b)[-1]
    args, opts, w = grad_inputs(case, weighted)
    kw = {k: _to(b, v, "float64") for k, v in opts.items()}
    xs = tuple(_to(b, a, "float64") for a in args) + ((_to(b, w, "float64"),) if w is not None else ())

    def f(*a: Any) -> Any:
        extra = {"sample_weight": a[-1]} if w is not None else {}
        return case.fn(*(a[:-1] if w is not None else a), reduction=reduction, **extra, **kw)

    value, grads = jax.jit(xploss.value_and_grad(f, argnums(case, args, w)))(*xs)
    ref_value, ref_grads = fd_grads(case.id, reduction, weighted)
    what = f"{case.id} jax.jit {reduction} weighted={weighted}"
    assert_close(value, ref_value, dtype="float64", b=b, what=what)
    for k, g, e in zip(grad_names(case, weighted), grads, ref_grads):
        assert_close(g, e, dtype="float64", b=b, rtol=FD_RTOL, what=f"{what} d/d({k})")


@pytest.mark.slow
@for_cases(COMPILED)
def test_tf_function_xla_matches_eager(case: Case) -> None:
    tf = _load(Backend.TENSORFLOW)
    _compiled_matches_eager(case, Backend.TENSORFLOW,
                            lambda f, nums: tf.function(xploss.value_and_grad(f, nums), jit_compile=True))


@pytest.mark.slow
@for_cases(TORCH_COMPILED)
def test_torch_compile_fullgraph_matches_eager(case: Case) -> None:
    """Dynamo traces every loss without a graph break (backend="eager": tracing only, fast)."""
    torch = _load(Backend.TORCH)
    torch._dynamo.reset()
    _compiled_matches_eager(case, Backend.TORCH, lambda f, nums: xploss.value_and_grad(
        torch.compile(f, backend="eager", fullgraph=True), nums))

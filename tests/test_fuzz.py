"""The hypothesis campaign (#7): every public loss on every backend, valid and bad inputs.

* Valid inputs (``fuzz_strategies.Spec.valid``): float64, moderate magnitudes,
  small shapes, options from their valid ranges, every reduction, with and
  without ``sample_weight``.  One example runs on every backend: the value is
  finite, the gradient (``xploss.value_and_grad`` over the differentiable
  inputs) finite, and both equal NumPy's at ``1e-12`` (relative to the
  array's scale).
* Bad inputs (``fuzz_strategies.CATEGORIES``, mutations of a valid example):
  always an ``XplossError`` on every backend, its message starting with
  ``xploss.<name>: argument `<arg>``` for an argument the mutation touched.

``XPLOSS_FUZZ_EXAMPLES`` sets the examples per test: 2 in the regular suite
(derandomized: the same examples on every run), 200 in ``nox -s fuzz``
(random; hypothesis' database keeps failures).
"""

from __future__ import annotations

import os
import re
from typing import Any

import fuzz_strategies as fs
import numpy as np
import pytest
from conftest import BACKENDS, Backend, _load
from helpers import to_backend, to_numpy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import xploss
from xploss._api import LOSSES

EXAMPLES = int(os.environ.get("XPLOSS_FUZZ_EXAMPLES", "2"))
BAD_EXAMPLES = int(os.environ.get("XPLOSS_FUZZ_BAD_EXAMPLES", max(1, EXAMPLES // 4)))  # per (loss, category)
CAMPAIGN = fs.CAMPAIGN  # nox -s fuzz: random examples
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not CAMPAIGN,
    database=None if not CAMPAIGN else settings.default.database,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
RTOL = 1e-12
FLOAT = (float, int, bool, str, type(None))


def _backends(numpy_only: bool = False, autodiff: bool = False) -> list[Backend]:
    chosen = [b for b in BACKENDS if b is Backend.NUMPY] if numpy_only else list(BACKENDS)
    if autodiff:  # the penalties differentiate their critic: array_api_strict has no autodiff of a function
        chosen = [b for b in chosen if b is not Backend.ARRAY_API_STRICT]
    if not chosen:
        pytest.skip("numpy not selected")
    for b in chosen:
        _load(b)
    return chosen


def conv(b: Backend, x: Any) -> Any:
    """A NumPy input (plain, subclass or 0-d option) as an array of ``b``; anything else unchanged."""
    if not isinstance(x, np.ndarray) or b is Backend.NUMPY:
        return x
    if b is Backend.ARRAY_API_STRICT and x.dtype == np.float16:
        x = x.astype(np.float32)  # array_api_strict has no float16
    if b is Backend.TORCH:  # helpers.to_backend's np.ascontiguousarray makes a 0-d array 1-d
        import torch

        return torch.from_numpy(np.array(x, copy=True))
    return to_backend(b, np.asarray(x))


def _inputs(ex: fs.Example, b: Backend) -> tuple[list, dict]:
    args = [conv(b, a) for a in ex.args]
    kw = {k: conv(b, v) for k, v in {**ex.kw, **ex.opts}.items()}
    return args, kw


def _reduction(ex: fs.Example, reduction: Any) -> dict:
    """The ``reduction`` keyword; none for the combinations of reduced losses (``Spec.reductions == (None,)``)."""
    return {} if reduction is None and fs.SPECS[ex.name].reductions == (None,) else {"reduction": reduction}


def call(ex: fs.Example, b: Backend, reduction: str | None = None) -> Any:
    args, kw = _inputs(ex, b)
    return fs.SPECS[ex.name].fn(*args, **kw, **_reduction(ex, reduction or ex.reduction))


def value_and_grads(ex: fs.Example, b: Backend) -> tuple[Any, tuple]:
    """``value_and_grad`` over ``ex.diff`` (positional indices and keyword names); "none" summed."""
    args, kw = _inputs(ex, b)
    fn = fs.SPECS[ex.name].fn
    reduction = "sum" if ex.reduction == "none" else ex.reduction

    def f(*values: Any) -> Any:
        a, k = list(args), dict(kw)
        for key, v in zip(ex.diff, values, strict=True):
            if isinstance(key, int):
                a[key] = v
            else:
                k[key] = v
        return fn(*a, **k, **_reduction(ex, reduction))

    values = [args[key] if isinstance(key, int) else kw[key] for key in ex.diff]
    value, grads = xploss.value_and_grad(f, tuple(range(len(values))))(*values)
    return value, tuple(grads)


def _terms(ex: fs.Example, b: Backend) -> float:
    """The size of the terms a reduction adds (and may cancel): max |per-sample loss| x the weight spread."""
    w = ex.kw.get("sample_weight")
    if "none" in fs.SPECS[ex.name].reductions:
        loss = to_numpy(call(ex.replace(kw={k: v for k, v in ex.kw.items() if k != "sample_weight"}), b, "none"))
    else:
        loss = to_numpy(call(ex, b))
    size = float(np.max(np.abs(loss))) if loss.size else 0.0
    if w is not None and np.any(w > 0):
        size *= max(1.0, float(np.max(w))) / min(1.0, float(np.min(w[w > 0])))
    return size


def _close(actual: Any, expected: np.ndarray, what: str, terms: float = 0.0) -> None:
    """``|a - e| <= RTOL (|e| + scale)``, scale the largest of 1, ``max |e|`` and the terms summed into ``e``."""
    a = to_numpy(actual)
    assert a.shape == expected.shape, f"{what}: shape {a.shape} != {expected.shape}"
    assert a.dtype == np.float64, f"{what}: dtype {a.dtype}"
    scale = max(1.0, terms, float(np.max(np.abs(expected))) if expected.size else 0.0)
    err = np.abs(a - expected)
    tol = RTOL * np.abs(expected) + RTOL * scale
    assert np.all(err <= tol), (f"{what}: worst error {float(np.max(err - tol)):.3g} over tolerance\n"
                                f"actual={a}\nexpected={expected}")


_SEEN: dict[str, int] = {}  # loss -> valid examples checked so far in this process


def check_valid(ex: fs.Example) -> None:
    backends = _backends(autodiff=fs.SPECS[ex.name].autodiff)
    _SEEN[ex.name] = _SEEN.get(ex.name, 0) + 1
    if not CAMPAIGN and _SEEN[ex.name] % 2 == 1:  # the regular suite: eager JAX (compilations, 2/3 of this test's
        backends = [b for b in backends if b is not Backend.JAX]  # time) on every second example, not the simplest
    ref_value = ref_grads = None
    terms = 0.0
    for b in backends:
        what = f"{ex.name} on {b.value} ({ex.reduction})"
        # the value of value_and_grad is the loss itself unless "none" (summed there): one call less (on JAX,
        # one compilation less)
        value, grads = value_and_grads(ex, b) if ex.diff else (None, ())
        value = to_numpy(call(ex, b) if value is None or ex.reduction == "none" else value)
        assert np.all(np.isfinite(value)), f"{what}: value not finite: {value}"
        grads = tuple(to_numpy(g) for g in grads)
        for key, g in zip(ex.diff, grads, strict=True):
            assert np.all(np.isfinite(g)), f"{what}: gradient of {key!r} not finite: {g}"
        if ref_value is None:
            ref_value, ref_grads, terms = value, grads, _terms(ex, b)
            continue
        _close(value, ref_value, f"{what}: value vs {backends[0].value}", terms)
        for key, g, e in zip(ex.diff, grads, ref_grads, strict=True):
            _close(g, e, f"{what}: gradient of {key!r} vs {backends[0].value}", terms)


# -- the table covers every loss ---------------------------------------------------------------

def test_specs_cover_every_loss():
    assert set(fs.SPECS) == set(LOSSES), "a loss without a fuzz spec (or a spec without a loss)"
    for spec in fs.SPECS.values():
        assert spec.fn is LOSSES[spec.name]
    public = {n for n in xploss.__all__ if hasattr(getattr(xploss, n), "__xploss_loss__")}
    assert public == set(fs.PUBLIC) and len(public) >= 65, sorted(public)  # 42 + the 23 metric losses (#8) + #9's
    for alias, name in fs.ALIASES.items():
        assert getattr(xploss, alias) is LOSSES[name], alias  # an alias is the same function: fuzzed once
    assert set(fs.PUBLIC.values()) == set(fs.SPECS)


def test_categories_cover_every_loss():
    """Every loss has at least the generic categories; the label ones where labels are indices."""
    for spec in fs.SPECS.values():
        ids = {c.id for c in fs.CATEGORIES if c.applies(spec)}
        assert {"int_pred", "complex", "unknown_keyword", "weight", "reduction", "numpy_subclass"} <= ids
        if spec.int_labels:
            assert {"label_range", "float_indices"} <= ids, spec.name


# -- valid inputs ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(fs.SPECS))
@SETTINGS
@given(data=st.data())
def test_valid_inputs_agree_across_backends(name, data):
    check_valid(data.draw(fs.SPECS[name].valid(), label="example"))


# -- bad inputs --------------------------------------------------------------------------------------

# (loss, category) -> reason: known xploss bugs, xfail(strict=True) until fixed (none open)
KNOWN: dict = {}


def _bad_params() -> list:
    params = []
    for spec in fs.SPECS.values():
        for cat in fs.CATEGORIES:
            if not cat.applies(spec):
                continue
            known = KNOWN.get((spec.name, cat.id))
            marks = [pytest.mark.xfail(strict=True, reason=known)] if known else []
            params.append(pytest.param(spec.name, cat.id, marks=marks, id=f"{spec.name}-{cat.id}"))
    return params


ARG = re.compile(r"argument `([^`]*)`")


@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
@pytest.mark.parametrize("name,category", _bad_params())
@settings(SETTINGS, max_examples=BAD_EXAMPLES)
@given(data=st.data())
def test_bad_inputs_raise_xploss_error(name, category, data):
    spec = fs.SPECS[name]
    cat = next(c for c in fs.CATEGORIES if c.id == category)
    backends = _backends(cat.numpy_only)
    ex, names = data.draw(fs.bad(spec, cat), label="bad example")
    for b in backends:
        with pytest.raises(xploss.XplossError) as info:
            value = call(ex, b)
            print(f"{name} on {b.value}: no error, returned {to_numpy(value)}")
        msg = str(info.value)
        assert msg.startswith(f"xploss.{name}: "), f"{b.value}: {msg}"
        found = ARG.search(msg)
        assert found, f"{b.value}: no argument named: {msg}"
        assert found.group(1) in names, f"{b.value}: names `{found.group(1)}`, expected one of {names}: {msg}"


# -- found by the campaign, fixed: a bool where a float or an array is accepted ------------------------

BOOL_HYPERS = {
    "gaussian_nll-var=True": lambda T: xploss.gaussian_nll(T(np.zeros(3)), T(np.zeros(3)), True),
    "focal-alpha=True": lambda T: xploss.focal(T(np.zeros((2, 3))), T(np.array([0, 1])), alpha=True),
    "categorical_focal-alpha=True": lambda T: xploss.categorical_focal(T(np.full((2, 3), 0.3)), T(np.array([0, 1])),
                                                                       alpha=True),
}


@pytest.mark.parametrize("case", list(BOOL_HYPERS))
def test_bool_hyperparameter(case):
    """``True`` passed for a float-or-array option raised AttributeError ('bool' object has no attribute
    'dtype'); now the XplossTypeError naming it."""
    for b in _backends():
        with pytest.raises(xploss.XplossTypeError, match=r"argument `(var|alpha)`: expected a real floating array.*"
                           r"Received: bool True"):
            BOOL_HYPERS[case](lambda x, b=b: conv(b, x))

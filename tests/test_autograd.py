"""NumPy gradients: HIPS autograd through xploss' hand VJPs, and the never-silently-wrong fallback.

* With autograd: every loss is an autograd primitive (gradients of every case
  of the loss table, reached through arithmetic, vs finite differences of the
  independent references), and the textbook models train in plain NumPy:
  linear regression (MSE vs the normal equations; Huber vs torch's
  ``F.huber_loss``), logistic regression (BCE on sigmoid probabilities and
  sigmoid BCE on logits vs torch's built-ins) and a linear SVM (hinge vs
  torch's ``F.margin_ranking_loss`` with a zero second input), from the same
  init with the same SGD steps (float64, curves equal to 1e-10).
* Without autograd (made unavailable): the hand-written tape over every case,
  and an ``XplossError`` wherever a gradient would pass through other
  arithmetic; array_api_strict's rule.
* docs/numpy.rst's examples run as doctests, with and without autograd.
"""

from __future__ import annotations

import doctest
import subprocess
import sys
from pathlib import Path

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
import test_losses as tl
from cases import CASES, Case
from conftest import Backend
from helpers import assert_close, to_backend

import xploss
from xploss import XplossError
from xploss.backends import _numpy

ROOT = Path(__file__).resolve().parents[1]
rng = np.random.default_rng(20240907)
N, D = 64, 4
X = rng.normal(size=(N, D))
W_TRUE = np.array([1.5, -2.0, 0.5, 1.0])
Y_REG = X @ W_TRUE + 0.3 + 0.5 * rng.standard_t(3, size=N)  # heavy tails: Huber's kink is visited
Y_BIN = (X @ W_TRUE + rng.normal(size=N) > 0).astype(np.float64)
BATCHES = [rng.choice(N, size=16, replace=False) for _ in range(200)]  # one SGD schedule for both frameworks
CURVE_TOL = 1e-10  # float64: the same model trained by xploss+autograd and by torch's built-in loss


@pytest.fixture
def no_autograd(monkeypatch):
    """autograd made unavailable: NumPy gradients come from the tape of xploss operations."""
    monkeypatch.setattr(_numpy, "_load_autograd", lambda: None)


# -- 1. every loss is an autograd primitive --------------------------------------------------

def _through_arithmetic(x: np.ndarray) -> np.ndarray:
    return 2.0 * x - x  # exactly x, but not an argument: only autograd can follow it


def _grads(case: Case, args: tuple, opts: dict, w, reduction: str, *, arithmetic: bool) -> tuple:
    nums = tl.argnums(case, args, w)
    xs = (*args, w) if w is not None else args

    def f(*a):
        a = tuple(_through_arithmetic(v) if arithmetic and i in nums else v for i, v in enumerate(a))
        if w is None:
            return case.fn(*a, reduction=reduction, **opts)
        return case.fn(*a[:-1], sample_weight=a[-1], reduction=reduction, **opts)

    if arithmetic:
        return autograd.value_and_grad(f, nums)(*xs)
    return xploss.value_and_grad(f, nums)(*xs)


def _check_case(case: Case, *, arithmetic: bool) -> None:
    for reduction, weighted in tl.grad_combos(case):
        args, opts, w = tl.grad_inputs(case, weighted)
        value, grads = _grads(case, args, opts, w, reduction, arithmetic=arithmetic)
        ref_value, ref_grads = tl.fd_grads(case.id, reduction, weighted)
        what = f"{case.id} {reduction} weighted={weighted}"
        assert_close(value, ref_value, dtype="float64", b=Backend.NUMPY, what=what)
        for k, g, e in zip(tl.grad_names(case, weighted), grads, ref_grads):
            assert_close(g, e, dtype="float64", b=Backend.NUMPY, rtol=tl.FD_RTOL, what=f"{what} d/d({k})")


@tl.for_cases(CASES)
def test_autograd_grad_through_arithmetic(case: Case) -> None:
    """``autograd.value_and_grad`` of every loss whose inputs are computed, vs finite differences."""
    _check_case(case, arithmetic=True)


@tl.for_cases(CASES)
def test_tape_without_autograd(case: Case, no_autograd) -> None:
    """The hand-written tape (autograd unavailable) on every loss, vs finite differences."""
    _check_case(case, arithmetic=False)


def test_autograd_float32_and_weight_cast():
    """float32 stays float32; a weight of another dtype is cast differentiably (inside xploss)."""
    x32 = X[:8, :2].astype(np.float32)
    y32 = Y_REG[:8].astype(np.float32)
    v = np.array([0.5, -1.0], dtype=np.float32)
    value, grad = xploss.value_and_grad(lambda w: xploss.mse(x32 @ w, y32))(v)
    assert value.dtype == np.float32 and grad.dtype == np.float32
    x64, y64 = x32.astype(np.float64), y32.astype(np.float64)
    assert_close(grad, 2 * x64.T @ (x64 @ v.astype(np.float64) - y64) / 8, dtype="float32", what="float32 grad")
    # d/ds of mean(s * r^2) with a float32 weight s for a float64 loss: r^2 / n
    r = X[:8, 0] - Y_REG[:8]
    g = autograd.grad(lambda s: xploss.mse(X[:8, 0], Y_REG[:8], sample_weight=s * 1.0))(np.ones(8, np.float32))
    assert_close(g, r * r / 8, dtype="float32", what="weight cast")


def test_value_checks_see_unboxed_values():
    z = X[:3, :3]
    with pytest.raises(XplossError, match=r"xploss.cross_entropy: argument `labels`: expected class indices"):
        autograd.grad(lambda v: xploss.cross_entropy(v * 2.0, np.array([0, 1, 3])))(z)
    with pytest.raises(XplossError, match=r"binary_cross_entropy: argument `probs`: expected values in \[0, 1\]"):
        autograd.grad(lambda v: xploss.binary_cross_entropy(v + 1.0, np.ones(3)))(np.full(3, 0.5))


def test_higher_order_is_refused():
    """The hand VJPs are NumPy code: a derivative of a derivative would be silently wrong, so it raises."""
    with pytest.raises(XplossError, match="a derivative of a derivative through autograd.*use torch, jax"):
        autograd.grad(lambda v: autograd.grad(lambda u: xploss.huber(u, np.zeros(3)))(v).sum())(np.ones(3))
    with pytest.raises(XplossError, match="a derivative of a derivative"):
        autograd.hessian(lambda u: xploss.mse(u, np.zeros(3)))(np.ones(3))


def test_detection_never_imports_autograd():
    code = ("import sys, numpy as np, xploss; p = np.ones((2, 3)); xploss.mse(p, p); xploss.cross_entropy(p, "
            "np.array([0, 2])); xploss.array_namespace(p); print('autograd' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


# -- 2. the textbook models, trained in NumPy with xploss gradients ----------------------------

def _sgd_numpy(loss, params: list, lr: float) -> tuple[list[float], list]:
    """Minibatch SGD on BATCHES with ``xploss.value_and_grad`` (autograd inside); the loss curve."""
    curve = []
    step = xploss.value_and_grad(loss, argnums=tuple(range(len(params))))
    for idx in BATCHES:
        value, grads = step(*params, X[idx], idx)
        curve.append(float(value))
        params = [p - lr * g for p, g in zip(params, grads)]
    return curve, params


def _sgd_torch(loss, params: list, lr: float) -> tuple[list[float], list]:
    import torch

    ps = [torch.tensor(p, requires_grad=True) for p in params]
    xt = torch.from_numpy(X)
    curve = []
    for idx in BATCHES:
        value = loss(*ps, xt[idx], torch.from_numpy(idx))
        value.backward()
        curve.append(float(value.detach()))
        with torch.no_grad():
            for p in ps:
                p -= lr * p.grad
                p.grad = None
    return curve, [p.detach().numpy() for p in ps]


def _compare(xploss_loss, torch_loss, lr: float, what: str) -> float:
    init = [np.zeros(D), np.zeros(())]
    curve, params = _sgd_numpy(xploss_loss, init, lr)
    ref_curve, ref_params = _sgd_torch(torch_loss, init, lr)
    worst = float(np.max(np.abs(np.subtract(curve, ref_curve))))
    assert worst <= CURVE_TOL, f"loss curves differ by {worst}"
    for p, e in zip(params, ref_params):
        np.testing.assert_allclose(p, e, rtol=0, atol=CURVE_TOL)
    assert curve[-1] < 0.8 * curve[0], "the model did not train"
    print(f"{what}: worst loss-curve difference vs torch over {len(curve)} SGD steps: {worst:.1e}")
    return worst


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))  # plain NumPy ufuncs: autograd boxes pass through them


def test_linear_regression_mse_reaches_the_normal_equations():
    """Full-batch gradient descent with xploss' MSE gradient converges to the least-squares solution."""
    A = np.hstack([X, np.ones((N, 1))])
    w = np.zeros(D + 1)
    step = xploss.value_and_grad(lambda w: xploss.mse(A @ w, Y_REG))
    for _ in range(300):
        value, grad = step(w)
        np.testing.assert_allclose(grad, 2 * A.T @ (A @ w - Y_REG) / N, rtol=1e-12, atol=1e-14)
        w = w - 0.25 * grad
    exact = np.linalg.solve(A.T @ A, A.T @ Y_REG)
    np.testing.assert_allclose(w, exact, rtol=0, atol=1e-10)
    assert float(value) == pytest.approx(np.mean((A @ exact - Y_REG) ** 2), rel=1e-10)


def test_linear_regression_huber_matches_torch():
    import torch.nn.functional as F

    _compare(lambda w, b, x, idx: xploss.huber(x @ w + b, Y_REG[idx], delta=1.0),
             lambda w, b, x, idx: F.huber_loss(x @ w + b, torch_of(Y_REG)[idx], delta=1.0), lr=0.1,
             what="huber")


def test_logistic_regression_bce_on_probabilities_matches_torch():
    import torch
    import torch.nn.functional as F

    _compare(lambda w, b, x, idx: xploss.binary_cross_entropy(_sigmoid(x @ w + b), Y_BIN[idx]),
             lambda w, b, x, idx: F.binary_cross_entropy(torch.sigmoid(x @ w + b), torch_of(Y_BIN)[idx]), lr=0.5,
             what="bce on sigmoid")


def test_logistic_regression_sigmoid_bce_on_logits_matches_torch():
    import torch.nn.functional as F

    _compare(lambda w, b, x, idx: xploss.sigmoid_binary_cross_entropy(x @ w + b, Y_BIN[idx]),
             lambda w, b, x, idx: F.binary_cross_entropy_with_logits(x @ w + b, torch_of(Y_BIN)[idx]), lr=0.5,
             what="sigmoid bce")


def test_linear_svm_hinge_matches_torch():
    """Keras-style hinge (0/1 labels become ∓1) vs torch's margin ranking loss against 0 (BUILTINS §2.10)."""
    import torch
    import torch.nn.functional as F

    ypm = torch_of(2 * Y_BIN - 1)
    _compare(lambda w, b, x, idx: xploss.hinge(x @ w + b, Y_BIN[idx]),
             lambda w, b, x, idx: F.margin_ranking_loss(x @ w + b, torch.zeros(len(idx), dtype=torch.float64),
                                                        ypm[idx], margin=1.0), lr=0.1, what="hinge svm")


def torch_of(a: np.ndarray):
    import torch

    return torch.from_numpy(a)


def test_autograd_grad_directly_and_autograd_numpy():
    """``autograd.grad`` itself differentiates a two-layer model written with autograd.numpy."""
    W1, W2 = rng.normal(size=(D, 5)) * 0.5, rng.normal(size=(5, 3)) * 0.5
    labels = np.argmax(X @ rng.normal(size=(D, 3)), axis=1)

    def loss(W1, W2):
        return xploss.cross_entropy(anp.tanh(X @ W1) @ W2, labels)

    g1, g2 = autograd.grad(loss, (0, 1))(W1, W2)
    # reference: the softmax cross-entropy chain rule written out in NumPy
    h = np.tanh(X @ W1)
    z = h @ W2
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    dz = (p - np.eye(3)[labels]) / N
    np.testing.assert_allclose(g2, h.T @ dz, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(g1, X.T @ ((dz @ W2.T) * (1 - h * h)), rtol=1e-12, atol=1e-15)


# -- 3. without autograd: never silently wrong --------------------------------------------------

INSTALL = r'pip install "xploss\[autograd\]"'


@pytest.mark.parametrize("fn", [
    lambda w: xploss.mse(X @ w, Y_REG),
    lambda w: xploss.huber(np.tanh(w), Y_REG[:D]),
    lambda w: xploss.mse(np.concatenate([w, w]), Y_REG[:2 * D]),
    lambda w: xploss.mse(w[::-1], Y_REG[:D]),
    lambda w: xploss.mse(X.dot(w), Y_REG),
    lambda w: xploss.mse(np.stack([w[0], w[1]]), Y_REG[:2]),
    lambda w: xploss.mse(w, Y_REG[:D], sample_weight=w * w),
    lambda w: xploss.mse(xploss.mse(w, Y_REG[:D], reduction="none"), 2 * w),  # used directly *and* through arithmetic
], ids=["matmul", "ufunc", "concatenate", "reversed", "dot-method", "elements", "weight",
        "direct-and-arithmetic"])
def test_numpy_arithmetic_before_a_loss_raises(fn, no_autograd):
    with pytest.raises(XplossError, match="computed from a differentiated argument by other arithmetic.*" + INSTALL):
        xploss.value_and_grad(fn)(np.full(D, 0.5))


def test_numpy_output_arithmetic_raises(no_autograd):
    with pytest.raises(XplossError, match="must return the result of an xploss loss.*" + INSTALL):
        xploss.value_and_grad(lambda w: xploss.mse(w, Y_REG[:D]) + 1.0)(np.zeros(D))


def test_numpy_tape_what_it_can_follow(no_autograd):
    """Direct inputs, chained losses and unused arguments: exact; arithmetic off the gradient path is fine."""
    w, u, y = np.array([0.5, -1.0, 2.0, 0.0]), np.ones(D), Y_REG[:D]
    _ = np.exp(w)  # computed, never reaches a loss: no gradient lost

    def f(w, u):
        inner = xploss.mse(w, y, reduction="none")  # (w - y)^2
        return xploss.mae(inner, np.zeros(D), reduction="sum")  # sum |(w - y)^2|

    value, (gw, gu) = xploss.value_and_grad(f, argnums=(0, 1))(w, u)
    assert_close(value, np.sum((w - y) ** 2), dtype="float64")
    assert_close(gw, 2 * (w - y), dtype="float64", what="chained")
    assert_close(gu, np.zeros(D), dtype="float64", what="unused")
    # integer labels computed from an argument carry no gradient: allowed
    z = X[:4, :3]
    value, grad = xploss.value_and_grad(lambda z: xploss.cross_entropy(z, np.argmax(z, axis=1)))(z)
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    assert_close(grad, (p - np.eye(3)[np.argmax(z, 1)]) / 4, dtype="float64", what="labels from argmax")


def test_array_api_strict_rule():
    import array_api_strict as xps

    w, y = to_backend(Backend.ARRAY_API_STRICT, np.full(D, 0.5)), to_backend(Backend.ARRAY_API_STRICT, Y_REG[:D])
    value, grad = xploss.value_and_grad(lambda w: xploss.mse(w, y))(w)
    assert_close(grad, 2 * (0.5 - Y_REG[:D]) / D, dtype="float64", b=Backend.ARRAY_API_STRICT)
    xs = to_backend(Backend.ARRAY_API_STRICT, X[:D, :D])
    with pytest.raises(XplossError, match="on array_api_strict gradients follow xploss losses only"):
        xploss.value_and_grad(lambda w: xploss.mse(xs @ w, y))(w)  # the mark rides on the wrapped NumPy array
    with pytest.raises(XplossError, match=r"argument `args\[0\]`: expected an array passed directly to an xploss "
                                          r"loss.*unused, or used through other arithmetic"):
        xploss.value_and_grad(lambda w: xploss.mse(xps.asarray(w, copy=True), y))(w)  # a copy drops the mark
    with pytest.raises(XplossError, match=r"argument `args\[1\]`: expected an array passed directly"):
        xploss.value_and_grad(lambda w, u: xploss.mse(w, y), argnums=(0, 1))(w, w)
    with pytest.raises(XplossError, match="on array_api_strict gradients follow xploss losses only"):
        xploss.value_and_grad(lambda w: xploss.mse(xploss.mse(w, y, reduction="none"), xps.exp(w)))(w)


# -- 4. the guide page's examples ---------------------------------------------------------------

@pytest.mark.parametrize("with_autograd", [True, False], ids=["autograd", "no-autograd"])
def test_numpy_guide_doctests(with_autograd, monkeypatch):
    """docs/numpy.rst: the autograd examples, then the fallback's, each in its environment."""
    if not with_autograd:
        monkeypatch.setattr(_numpy, "_load_autograd", lambda: None)
    text = (ROOT / "docs" / "numpy.rst").read_text()
    part = text.split(".. _numpy-without-autograd:")[0 if with_autograd else 1]
    parser, runner = doctest.DocTestParser(), doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE
                                                                     | doctest.ELLIPSIS)
    test = parser.get_doctest(part, {}, f"numpy.rst ({'with' if with_autograd else 'without'} autograd)",
                              str(ROOT / "docs" / "numpy.rst"), 0)
    assert test.examples, "no examples found"
    report: list[str] = []
    result = runner.run(test, out=report.append)
    assert result.failed == 0, "".join(report)


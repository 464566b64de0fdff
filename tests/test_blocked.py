"""Blocked eager evaluation (``xploss._define.Bound``, issue #11) equals the whole-array body.

On NumPy, torch eager and TensorFlow eager a row-local loss is evaluated over blocks of leading rows.  Here
every case of the loss table runs with blocks of a few rows (``_define.ROWS``: uneven blocks, the last one
shorter) and with blocking off: values and gradients agree to float64 rounding, and the blocked value also
matches the independent NumPy reference of the table.  Each blocked call is checked to have blocked (a spy on
the blocked forward and backward), so a loss that silently stopped blocking fails its row here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from cases import BY_ID, CASES, Case
from conftest import Backend, _load
from helpers import assert_close, to_backend, to_numpy
from test_losses import ONE_PER_MODULE, grad_combos, inputs, reduce_ref, xploss_grad

import xploss
from xploss import _define
from xploss._api import LOSSES

ROWS = 3  # N = 4 rows in the table: blocks of 3 and 1
RTOL = 1e-12  # the same kernel on fewer rows: only the summation order of the reduction differs


class _Spy:
    """Counts the blocked forwards and backwards while it is active."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.forward = self.backward = 0
        fwd, bwd = _define.Bound._forward_blocked, _define.Bound._vjp_blocked

        def forward(bound: Any, *a: Any) -> Any:
            self.forward += 1
            return fwd(bound, *a)

        def backward(bound: Any, *a: Any) -> Any:
            self.backward += 1
            return bwd(bound, *a)

        monkeypatch.setattr(_define.Bound, "_forward_blocked", forward)
        monkeypatch.setattr(_define.Bound, "_vjp_blocked", backward)


def _blocked_and_whole(monkeypatch: pytest.MonkeyPatch, run: Any) -> tuple[Any, Any, _Spy]:
    spy = _Spy(monkeypatch)
    monkeypatch.setattr(_define, "ROWS", ROWS)
    monkeypatch.setattr(_define, "WHOLE_GRAD", 0)  # every gradient through the blocked backward (the memory-bound path)
    blocked = run()
    monkeypatch.setattr(_define, "ROWS", 0)
    monkeypatch.setattr(_define, "MIN_BLOCKS", 1 << 60)  # off: the whole-array path
    calls = spy.forward, spy.backward
    whole = run()
    assert (spy.forward, spy.backward) == calls, "the whole-array run blocked"
    return blocked, whole, spy


# the row-local cases: a primitive that cannot block (batch-coupled, pooled) keeps the whole-array path
_ROWWISE = [c for c in CASES if not c.coupled]
# TensorFlow eager costs ~1 ms an op: one case per kernel module there (the mechanism is backend-independent
# code; the backend only says whether to block)
_TF = [c for c in ONE_PER_MODULE if not c.coupled]


def _cases_for(backend: Backend) -> list[Case]:
    return _TF if backend is Backend.TENSORFLOW else _ROWWISE


@pytest.mark.parametrize(("backend", "case_id"), [
    pytest.param(b, c.id, id=f"{c.id}-{b.value}") for b in (Backend.NUMPY, Backend.TORCH, Backend.TENSORFLOW)
    for c in _cases_for(b)])
def test_blocked_equals_whole(monkeypatch: pytest.MonkeyPatch, backend: Backend, case_id: str) -> None:
    case = BY_ID[case_id]
    _load(backend)
    args, opts, w = inputs(case, "float64")
    for reduction, weighted in grad_combos(case, backend):
        ww = w if weighted else None
        (vb, gb), (vw, gw), spy = _blocked_and_whole(
            monkeypatch, lambda: xploss_grad(case, backend, "float64", args, opts, ww, reduction))  # noqa: B023
        if spy.forward == 0:
            assert not _blockable(case, backend), f"{case.id}: a row-local loss did not block"
            pytest.skip("not row-local: the whole-array path (batch-coupled or pooled)")
        assert spy.backward >= 1, f"{case.id}: blocked forward without a blocked backward"
        assert_close(vb, reduce_ref(case, args, opts, ww, reduction), dtype="float64", b=backend)
        assert_close(vb, vw, dtype="float64", b=backend, rtol=RTOL)
        for g1, g2 in zip(gb, gw):
            assert_close(g1, g2, dtype="float64", b=backend, rtol=RTOL)


def _blockable(case: Case, backend: Backend) -> bool:
    """Does the case's first call reach a blockable primitive whose per-sample loss keeps the rows?  (Asked of
    the mechanism's own decision with blocks forced: a spy on ``Bound.forward`` records the bounds.)"""
    seen: list = []
    forward = _define.Bound.forward

    def spy(bound: Any, xp: Any, *arrays: Any) -> Any:
        seen.append(bound.blockable and bound._rows(xp, arrays) > 0)
        return forward(bound, xp, *arrays)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_define.Bound, "forward", spy)
        mp.setattr(_define, "ROWS", ROWS)
        args, opts, _ = inputs(case, "float64")
        case.fn(*(to_backend(backend, a) if isinstance(a, np.ndarray) else a for a in args),
                **{k: to_backend(backend, v) if isinstance(v, np.ndarray) else v for k, v in opts.items()})
    return any(seen)


# -- the losses that must block, and the paths around the kernel ------------------------------------------

@pytest.mark.parametrize("name", ["mean_squared_error", "mean_absolute_error", "huber", "smooth_l1",
                                  "sigmoid_binary_cross_entropy", "binary_cross_entropy", "cross_entropy",
                                  "triplet_margin", "kl_divergence", "cosine_embedding", "distillation",
                                  "gaussian_kl", "vae_elbo"])
def test_row_local_losses_block(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """The issue's losses (and the newer families' row-local ones) take the blocked path eagerly."""
    fn = LOSSES[name]
    cases = [c for c in CASES if c.fn is fn]
    assert cases, name
    assert _blockable(cases[0], Backend.NUMPY), name


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_low_precision_blocks(monkeypatch: pytest.MonkeyPatch, dtype: str) -> None:
    """16-bit inputs (torch): each block computed in float32 and the result cast back, like the whole-array
    path (the same float32 numbers up to the reduction's summation order, then one rounding)."""
    import torch

    case = BY_ID["ce-int-cw-ignore-smoothing"]
    (z, labels), opts, w = inputs(case, "float32")
    low = getattr(torch, dtype)
    zt = torch.from_numpy(np.tile(z, (5, 1))).to(low)
    yt = torch.from_numpy(np.tile(labels, 5))
    cw = torch.from_numpy(opts["class_weight"]).to(low)

    def run() -> tuple:
        zz = zt.clone().requires_grad_()
        out = xploss.cross_entropy(zz, yt, class_weight=cw, label_smoothing=0.2, reduction="weighted_mean")
        out.backward()
        return out.detach(), zz.grad

    (vb, gb), (vw, gw), spy = _blocked_and_whole(monkeypatch, run)
    assert spy.forward and spy.backward
    assert vb.dtype == vw.dtype == low and gb.dtype == gw.dtype == low
    tol = 1e-2 if dtype == "bfloat16" else 1e-3
    assert torch.allclose(vb.float(), vw.float(), rtol=tol, atol=0)
    assert torch.allclose(gb.float(), gw.float(), rtol=tol, atol=tol * float(gw.float().abs().max()))


def test_reduction_none_assembles_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """``reduction="none"`` on torch: the per-sample losses of the blocks are written in place into one output,
    and the cotangent of a per-sample ``g`` is sliced per block."""
    import torch

    p = torch.linspace(-3, 3, 40, dtype=torch.float64).reshape(10, 4).requires_grad_()
    y = torch.zeros(10, 4, dtype=torch.float64)
    g = torch.arange(40, dtype=torch.float64).reshape(10, 4)
    monkeypatch.setattr(_define, "ROWS", 3)
    monkeypatch.setattr(_define, "WHOLE_GRAD", 0)
    out = xploss.huber(p, y, reduction="none")
    (grad,) = torch.autograd.grad(out, p, g)
    ref = torch.nn.functional.huber_loss(p, y, reduction="none")
    (rgrad,) = torch.autograd.grad(ref, p, g)
    assert torch.equal(out.detach(), ref.detach())
    assert torch.allclose(grad, rgrad, rtol=0, atol=1e-15)


def test_torch_double_backward_and_func(monkeypatch: pytest.MonkeyPatch) -> None:
    """torch: a double backward (create_graph) recomputes the residuals on the whole-array path (autograd
    records it), with the exact second derivative; torch.func transforms give the blocked-off numbers."""
    import torch

    spy = _Spy(monkeypatch)
    monkeypatch.setattr(_define, "ROWS", 2)
    monkeypatch.setattr(_define, "WHOLE_GRAD", 0)
    x = torch.linspace(-2, 2, 24, dtype=torch.float64).reshape(8, 3).requires_grad_()
    y = torch.zeros(8, 3, dtype=torch.float64)
    (g,) = torch.autograd.grad(xploss.log_cosh(x, y), x, create_graph=True)
    (h,) = torch.autograd.grad(g.sum(), x)
    ref = 1.0 / torch.cosh(x.detach()) ** 2 / 24  # d²/dx² of mean log cosh
    assert torch.allclose(h, ref, rtol=1e-12, atol=0)
    assert spy.forward == 1 and spy.backward == 0  # the first forward blocks; the recorded backward does not

    def transforms() -> tuple:
        return (torch.func.grad(lambda v: xploss.huber(v, y))(x.detach()),
                torch.func.vmap(torch.func.grad(lambda v: xploss.huber(v, y[0])))(x.detach()),
                torch.func.jacrev(lambda v: xploss.huber(v, y, reduction="none"))(x.detach()),
                torch.func.hessian(lambda v: xploss.log_cosh(v, y))(x.detach()))

    blocked = transforms()
    monkeypatch.setattr(_define, "ROWS", 0)
    monkeypatch.setattr(_define, "MIN_BLOCKS", 1 << 60)
    for a, b in zip(blocked, transforms()):
        assert torch.allclose(a, b, rtol=1e-13, atol=0)


def test_tf_function_does_not_block(monkeypatch: pytest.MonkeyPatch) -> None:
    tf = _load(Backend.TENSORFLOW)
    spy = _Spy(monkeypatch)
    monkeypatch.setattr(_define, "ROWS", 2)
    x = tf.reshape(tf.linspace(tf.constant(-2.0, tf.float64), 2.0, 24), (8, 3))
    y = tf.zeros((8, 3), tf.float64)
    eager = xploss.huber(x, y)
    assert spy.forward == 1
    traced = tf.function(lambda a, b: xploss.huber(a, b))(x, y)
    assert spy.forward == 1
    np.testing.assert_allclose(to_numpy(traced), to_numpy(eager), rtol=1e-15)


# -- which backward: whole-array for elementwise residuals up to WHOLE_GRAD, blocked above and for small ones --

def _grad_call(backend: Backend, fn: Any, args: tuple) -> tuple:
    """Value and gradient of ``fn`` with respect to its first argument, through the backend's own autodiff."""
    if backend is Backend.TORCH:
        import torch

        x = torch.from_numpy(args[0]).requires_grad_()
        out = fn(x, *(torch.from_numpy(a) for a in args[1:]))
        (g,) = torch.autograd.grad(out, x)
        return to_numpy(out), to_numpy(g)
    if backend is Backend.TENSORFLOW:
        tf = _load(backend)
        x = tf.constant(args[0])
        with tf.GradientTape() as tape:
            tape.watch(x)
            out = fn(x, *(tf.constant(a) for a in args[1:]))
        return to_numpy(out), to_numpy(tape.gradient(out, x))
    out, g = xploss.value_and_grad(fn)(*args)
    return np.asarray(out), np.asarray(g)


@pytest.mark.parametrize("backend", [Backend.NUMPY, Backend.TORCH, Backend.TENSORFLOW], ids=lambda b: b.value)
def test_gradient_path_by_residual_size(monkeypatch: pytest.MonkeyPatch, backend: Backend) -> None:
    """With a gradient to come, an elementwise loss (residuals as large as the inputs) blocks its forward only
    above ``WHOLE_GRAD`` elements (the whole-array path's one-pass backward is faster below it where operations
    cost more dispatch than the blocked backward saves: torch's default; NumPy keeps the blocked one), while a
    cross-entropy (a per-row log-sum-exp, smaller than its logits) keeps the blocked backward at any size;
    every path gives the numbers of the unblocked one (closed forms: the mean of squares, the softmax)."""
    _load(backend)
    spy = _Spy(monkeypatch)
    monkeypatch.setattr(_define, "ROWS", 2)
    rng = np.random.default_rng(3)
    p, t = rng.standard_normal((8, 3)), rng.standard_normal((8, 3))
    z, y = rng.standard_normal((8, 5)), rng.integers(0, 5, 8)

    monkeypatch.setattr(_define, "WHOLE_GRAD", 1 << 22)
    value, grad = _grad_call(backend, xploss.mse, (p, t))  # 24 elements <= WHOLE_GRAD: whole-array backward
    assert (spy.forward, spy.backward) == (1, 0)  # the forward saw a first block of large residuals, then whole
    np.testing.assert_allclose(value, np.mean((p - t) ** 2), rtol=1e-14)
    np.testing.assert_allclose(grad, 2 * (p - t) / 24, rtol=1e-14)

    monkeypatch.setattr(_define, "WHOLE_GRAD", 23)  # now above it: the blocked backward (memory-bound)
    value, grad = _grad_call(backend, xploss.mse, (p, t))
    assert (spy.forward, spy.backward) == (2, 1)
    np.testing.assert_allclose(grad, 2 * (p - t) / 24, rtol=1e-14)

    monkeypatch.setattr(_define, "WHOLE_GRAD", 1 << 22)
    value, grad = _grad_call(backend, xploss.cross_entropy, (z, y))  # small residuals: blocked at any size
    assert (spy.forward, spy.backward) == (3, 2)
    soft = np.exp(z - z.max(1, keepdims=True))
    soft /= soft.sum(1, keepdims=True)
    np.testing.assert_allclose(value, np.mean(-np.log(soft[np.arange(8), y])), rtol=1e-13)
    soft[np.arange(8), y] -= 1
    np.testing.assert_allclose(grad, soft / 8, rtol=1e-12, atol=1e-15)


def test_whole_grad_defaults() -> None:
    """torch takes the whole-array path for gradients of elementwise inputs up to 4 Mi elements; NumPy and
    TensorFlow keep the blocked backward."""
    import array_api_compat.numpy as npx

    _load(Backend.TORCH)
    _load(Backend.TENSORFLOW)
    from xploss.backends import _tensorflow, _torch

    assert _define._whole_grad(_torch.xp) == 1 << 22
    assert _define._whole_grad(npx) == 0 and _define._whole_grad(_tensorflow.xp) == 0

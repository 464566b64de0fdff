"""TensorFlow eager under tapes and accumulators: the recorded operation computes the cotangents of the inputs
some tape or accumulator watches, and only those (``xploss.backends._tensorflow._recorded``).

Closed forms: mse ``mean((p - t)^2)`` has ``d/dp = 2 (p - t) / n`` and ``d/dt = -2 (p - t) / n``;
``d2/dp2 = 2 / n``.  KL (``reduction="sum"``) ``sum t (log t - lq)``: ``d2/dt2 = 1 / t`` where ``t != 0``, and 0 where
``t = 0`` (the target's gradient is defined as 0 there), on TensorFlow and torch (double backward through the
native log-ratio block).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import Backend, _load

import xploss

RNG = np.random.default_rng(11)
P, T = RNG.normal(size=6), RNG.normal(size=6)
N = P.size


@pytest.fixture(scope="module")
def tf() -> object:
    _load(Backend.TENSORFLOW)
    import tensorflow as tf

    return tf


def test_only_the_watched_input(tf: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """Watching the target alone: its gradient, and the prediction's cotangent is never formed."""
    from xploss import _define

    asked = []
    vjp = _define.Bound.vjp
    monkeypatch.setattr(_define.Bound, "vjp", lambda self, xp, a, r, g, needs: asked.append(needs) or
                        vjp(self, xp, a, r, g, needs))
    p, t = tf.constant(P), tf.constant(T)
    with tf.GradientTape() as tape:
        tape.watch(t)
        out = xploss.mse(p, t)
    np.testing.assert_allclose(tape.gradient(out, t).numpy(), -2 * (P - T) / N, rtol=1e-13)
    assert asked == [(False, True, False, False)]  # pred, target, poison, weight
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([p, t])
        out = xploss.mse(p, t)
    gp, gt = tape.gradient(out, [p, t])
    np.testing.assert_allclose(gp.numpy(), 2 * (P - T) / N, rtol=1e-13)
    np.testing.assert_allclose(gt.numpy(), -2 * (P - T) / N, rtol=1e-13)


def test_accumulator_and_second_order(tf: object) -> None:
    """A ForwardAccumulator watching the target only gets its JVP; nested tapes give the second derivative."""
    p, t = tf.constant(P), tf.constant(T)
    v = RNG.normal(size=N)
    with tf.autodiff.ForwardAccumulator(t, tf.constant(v)) as acc:
        out = xploss.mse(p, t)
    np.testing.assert_allclose(acc.jvp(out).numpy(), np.dot(-2 * (P - T) / N, v), rtol=1e-12)
    with tf.GradientTape() as outer:
        outer.watch(p)
        with tf.GradientTape() as inner:
            inner.watch(p)
            out = xploss.mse(p, t)
        g = inner.gradient(out, p)
    np.testing.assert_allclose(outer.jacobian(g, p).numpy(), 2 / N * np.eye(N), atol=1e-15)


LQ = np.log(np.array([0.2, 0.3, 0.1, 0.4]))
TK = np.array([0.0, 0.5, 0.0, 0.5])
V = np.array([1.0, -2.0, 3.0, 0.5])
HV = np.where(TK != 0, V / np.where(TK != 0, TK, 1.0), 0.0)  # the KL Hessian (in the target) times V


def test_kl_second_order_in_the_target_is_finite(tf: object) -> None:
    lq, t, v = tf.constant(LQ), tf.constant(TK), tf.constant(V)
    with tf.GradientTape() as outer:
        outer.watch(t)
        with tf.GradientTape() as inner:
            inner.watch(t)
            out = xploss.kl_divergence(lq, t, reduction="sum")
        gv = tf.reduce_sum(inner.gradient(out, t) * v)
    np.testing.assert_allclose(outer.gradient(gv, t).numpy(), HV, rtol=1e-13)


def test_kl_second_order_in_the_target_is_finite_torch() -> None:
    _load(Backend.TORCH)
    import torch

    lq, t = torch.tensor(LQ), torch.tensor(TK, requires_grad=True)
    (g,) = torch.autograd.grad(xploss.kl_divergence(lq, t, reduction="sum"), t, create_graph=True)
    (h,) = torch.autograd.grad((g * torch.tensor(V)).sum(), t)
    np.testing.assert_allclose(h.numpy(), HV, rtol=1e-13)

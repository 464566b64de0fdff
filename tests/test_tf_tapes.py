"""TensorFlow eager under tapes and accumulators: the recorded operation computes the cotangents of the inputs
some tape or accumulator watches, and only those (``xploss.backends._tensorflow._recorded``).

Closed forms: mse ``mean((p - t)^2)`` has ``d/dp = 2 (p - t) / n`` and ``d/dt = -2 (p - t) / n``;
``d2/dp2 = 2 / n``.
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

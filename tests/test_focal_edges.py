"""Finite derivatives at the documented edges of the focal losses (issue #7, category 5).

Guards two NaN gradients that the values never showed:

* ``focal`` (softmax) with a ``-inf`` logit at a class whose target is 0: the class contributes
  ``0 · log 0 = 0`` and its slope is 0, so the logits gradient is finite and equals the closed form
  (``softmax(z) - t`` for ``gamma=0``, i.e. ``cross_entropy``'s gradient), for probability and
  integer targets, on every backend;
* ``sigmoid_focal`` at confident, correct hard labels (``44 <= |z| <= 100``): the Hessian in the
  logits is finite and ~0 in float32 and float64 on JAX (``custom_jvp`` built from the partials,
  so autodiff of the partials' formulas), torch (double backward) and TensorFlow (nested tapes);
  a moderate logit's Hessian matches central differences of the gradient.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import Backend
from helpers import assert_close, hessian, to_backend, to_numpy

import xploss

NEG_INF = -np.inf
LOGITS = np.array([[NEG_INF, 0.0, 1.0], [2.0, NEG_INF, -1.0], [0.5, -0.5, NEG_INF]])
PROBS = np.array([[0.0, 0.3, 0.7], [1.0, 0.0, 0.0], [0.2, 0.8, 0.0]])  # 0 wherever the logit is -inf
LABELS = np.array([2, 0, 1])  # never the -inf class


def _softmax(z: np.ndarray) -> np.ndarray:
    m = np.max(z, axis=-1, keepdims=True)
    ez = np.exp(z - m)  # exp(-inf) = 0
    return ez / ez.sum(axis=-1, keepdims=True)


def _focal_grad(z: np.ndarray, t: np.ndarray, gamma: float) -> np.ndarray:
    """Closed form (float64) of d/dz mean_i sum_k t_ik (1 - p_ik)^γ (-log p_ik), 0 · log 0 = 0.

    With s_k = d term_k / d log p_k = γ p_k (1 - p_k)^(γ-1) log p_k - (1 - p_k)^γ (only where t_k > 0):
    d/dz_j = t_j s_j - p_j Σ_k t_k s_k.
    """
    p = _softmax(z)
    live = t > 0
    pl = np.where(live, p, 0.5)
    s = np.where(live, gamma * pl * (1.0 - pl) ** (gamma - 1.0) * np.log(pl) - (1.0 - pl) ** gamma, 0.0)
    ts = t * s
    return (ts - p * ts.sum(axis=-1, keepdims=True)) / z.shape[0]


def _grad(b: Backend, fn, z: np.ndarray, dtype: str):
    _, g = xploss.value_and_grad(fn)(to_backend(b, z, dtype))
    return g


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_focal_gamma0_neg_inf_logit_is_cross_entropy(backend, dtype):
    """gamma=0: focal is cross-entropy, so is its gradient (softmax(z) - t, 0 at the -inf class)."""
    t = to_backend(backend, PROBS, dtype)
    g = _grad(backend, lambda x: xploss.focal(x, t, gamma=0.0), LOGITS, dtype)
    ce = _grad(backend, lambda x: xploss.cross_entropy(x, t), LOGITS, dtype)
    expected = (_softmax(LOGITS) - PROBS) / LOGITS.shape[0]
    assert np.all(np.isfinite(to_numpy(g))), f"focal gradient not finite: {to_numpy(g)}"
    assert_close(g, expected, dtype=dtype, b=backend, what="focal(gamma=0) gradient vs softmax(z) - t")
    assert_close(g, to_numpy(ce), dtype=dtype, b=backend, what="focal(gamma=0) gradient vs cross_entropy's")
    assert np.all(to_numpy(g)[np.isneginf(LOGITS)] == 0.0)


@pytest.mark.parametrize("gamma", [0.5, 1.0, 2.0, 3.0])
def test_focal_neg_inf_logit_closed_form_gradient(backend, gamma):
    """gamma>0: the closed-form gradient, the -inf class contributing 0, for probability and integer targets."""
    dtype = "float64"
    t = to_backend(backend, PROBS, dtype)
    g = _grad(backend, lambda x: xploss.focal(x, t, gamma=gamma), LOGITS, dtype)
    assert_close(g, _focal_grad(LOGITS, PROBS, gamma), dtype=dtype, b=backend,
                 what=f"focal(gamma={gamma}) gradient, probability target with a -inf logit")
    y = to_backend(backend, LABELS)
    onehot = np.eye(3)[LABELS]
    gi = _grad(backend, lambda x: xploss.focal(x, y, gamma=gamma), LOGITS, dtype)
    assert_close(gi, _focal_grad(LOGITS, onehot, gamma), dtype=dtype, b=backend,
                 what=f"focal(gamma={gamma}) gradient, integer labels with a -inf logit off the label")


# -- sigmoid_focal: Hessian in the logits --------------------------------------------------------

BIG = np.array([44.0, 50.0, 60.0, 70.0, 80.0, 100.0])
MODERATE = np.array([3.0, -3.0, 0.5])
Z = np.concatenate([BIG, -BIG, MODERATE])
Y = np.concatenate([np.ones_like(BIG), np.zeros_like(BIG), [1.0, 1.0, 0.3]])  # confident and right, then moderate


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("opts", [{}, {"alpha": None, "gamma": 0.5}, {"gamma": 1.0}, {"gamma": 3.0}],
                         ids=["default", "gamma0.5-noalpha", "gamma1", "gamma3"])
def test_sigmoid_focal_hessian_finite_at_confident_logits(ad_backend, dtype, opts):
    if ad_backend is Backend.JAX and dtype == "float64":
        pytest.skip("JAX: float32, where the confident logits saturate (each JAX hessian is a compilation)")
    y = to_backend(ad_backend, Y, dtype)

    def f(x):
        return xploss.sigmoid_focal(x, y, reduction="sum", **opts)

    h = to_numpy(hessian(ad_backend, f, to_backend(ad_backend, Z, dtype))).astype(np.float64)
    assert h.shape == (Z.size, Z.size)
    assert np.all(np.isfinite(h)), f"non-finite Hessian at z={Z[~np.isfinite(np.diag(h))]}: {np.diag(h)}"
    assert np.all(h[~np.eye(Z.size, dtype=bool)] == 0.0), "elementwise loss: the Hessian is diagonal"
    n = 2 * BIG.size
    assert np.all(np.abs(np.diag(h)[:n]) < 1e-20), f"Hessian at confident logits not ~0: {np.diag(h)[:n]}"
    _, g = xploss.value_and_grad(f)(to_backend(ad_backend, Z, dtype))
    g = to_numpy(g)
    assert np.all(np.isfinite(g)) and np.all(np.abs(g[:n]) < 1e-20), f"gradient at confident logits: {g[:n]}"

    # moderate logits: central differences of the float64 gradient (relative error ~h², about 1e-8)
    step = 1e-4
    y64 = to_backend(ad_backend, Y[n:], "float64")

    def grad64(x):
        return to_numpy(xploss.value_and_grad(lambda v: xploss.sigmoid_focal(v, y64, reduction="sum", **opts))(
            to_backend(ad_backend, x, "float64"))[1])

    fd = (grad64(MODERATE + step) - grad64(MODERATE - step)) / (2 * step)
    assert np.abs(fd).min() > 1e-6, f"degenerate reference: {fd}"
    np.testing.assert_allclose(np.diag(h)[n:], fd, rtol=1e-4 if dtype == "float32" else 1e-6, atol=0,
                               err_msg="Hessian at moderate logits vs central differences of the gradient")

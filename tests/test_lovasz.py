"""The Lovász losses beyond the generic table of ``cases_lovasz.py``: the batch-pooled ranking, void
pixels, ``classes``, channels-last layouts, compiled calls, finite differences of the batch form and the
input errors.  References: ``cases_lovasz`` (Berman et al.'s algorithm in NumPy)."""

from __future__ import annotations

import cases  # noqa: F401 - loads cases_lovasz (imported by the table; importing it first is circular)
import numpy as np
import pytest
from cases_lovasz import VOID, hinge_inputs, ref_lovasz_hinge, ref_lovasz_softmax, softmax_inputs  # noqa: E402, I001
from helpers import assert_close

import xploss

RNG = np.random.default_rng(20261202)


def _fd(f, x, eps=1e-6):
    out = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        d = np.zeros_like(x)
        d[i] = eps
        out[i] = (f(x + d) - f(x - d)) / (2 * eps)
    return out


def _with_void(y, share=0.25):
    y = y.copy()
    y[RNG.random(size=y.shape) < share] = VOID
    return y


@pytest.mark.parametrize("per", ["batch", "sample"])
@pytest.mark.parametrize("classes", ["present", "all"])
def test_softmax_value_and_gradient(per, classes):
    z, y = softmax_inputs(RNG)
    y = _with_void(y)
    opts = dict(axis=1, from_logits=True, per=per, classes=classes, ignore_index=VOID)
    got = xploss.lovasz_softmax(z, y, **opts)
    want = ref_lovasz_softmax(z, y, **opts)
    assert_close(got, np.mean(want), dtype="float64")
    _, g = xploss.value_and_grad(lambda z: xploss.lovasz_softmax(z, y, **opts))(z)
    assert_close(g, _fd(lambda z: float(np.mean(ref_lovasz_softmax(z, y, **opts))), z), dtype="float64", rtol=1e-7)


def test_void_pixels_change_neither_value_nor_gradient():
    z, y = softmax_inputs(RNG)
    y = _with_void(y)
    void = np.broadcast_to((y == VOID)[:, None], z.shape)
    z2 = np.where(void, RNG.normal(scale=5.0, size=z.shape), z)
    f = xploss.value_and_grad(lambda z: xploss.lovasz_softmax(z, y, axis=1, from_logits=True, ignore_index=VOID))
    (v1, g1), (v2, g2) = f(z), f(z2)
    assert v1 == pytest.approx(v2, abs=1e-15)
    assert np.all(g1[void] == 0) and np.all(g2[void] == 0)
    assert_close(g1, g2, dtype="float64")
    x, yb = hinge_inputs(RNG)
    yb = np.where(RNG.random(size=yb.shape) < 0.3, VOID, yb)
    h = xploss.value_and_grad(lambda x: xploss.lovasz_hinge(x, yb, ignore_index=VOID, per="batch"))
    (u1, k1), (u2, k2) = h(x), h(np.where(yb == VOID, -x * 7.0, x))
    assert u1 == pytest.approx(u2, abs=1e-15) and np.all(k1[yb == VOID] == 0)
    assert_close(k1, k2, dtype="float64")
    assert u1 == pytest.approx(float(ref_lovasz_hinge(x, yb, per="batch", ignore_index=VOID)), abs=1e-13)


def test_hinge_batch_gradient_and_channels_last():
    x, y = hinge_inputs(RNG)
    _, g = xploss.value_and_grad(lambda x: xploss.lovasz_hinge(x, y, per="batch"))(x)
    assert_close(g, _fd(lambda x: float(ref_lovasz_hinge(x, y, per="batch")), x), dtype="float64", rtol=1e-7)
    z, lab = softmax_inputs(RNG)
    first = xploss.lovasz_softmax(z, lab, axis=1, from_logits=True, per="sample", reduction="none")
    last = xploss.lovasz_softmax(np.moveaxis(z, 1, -1), lab, axis=-1, from_logits=True, per="sample",
                                 reduction="none")
    assert_close(last, first, dtype="float64")


def test_compiled_and_poisoned():
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    z, y = softmax_inputs(RNG)
    f = jax.jit(lambda z, y: xploss.lovasz_softmax(z, y, axis=1, from_logits=True, per="sample", reduction="none"))
    assert_close(np.asarray(f(jnp.asarray(z, jnp.float32), jnp.asarray(y))),
                 ref_lovasz_softmax(z, y, axis=1, from_logits=True, per="sample"), dtype="float32")
    bad = y.copy()
    bad[1, 0, 0] = 9  # out of range: NaN for that image only under jit (eagerly an error)
    out = np.asarray(f(jnp.asarray(z, jnp.float32), jnp.asarray(bad)))
    assert np.isnan(out[1]) and np.isfinite(out[[0, 2]]).all()
    with pytest.raises(xploss.XplossError, match=r"labels.*\[0, 3\).*9"):
        xploss.lovasz_softmax(z, bad, axis=1, from_logits=True)
    tf = pytest.importorskip("tensorflow")
    x, yb = hinge_inputs(RNG)
    g = tf.function(lambda x, y: xploss.lovasz_hinge(x, y, per="batch"), jit_compile=True)
    assert float(g(tf.constant(x), tf.constant(yb))) == pytest.approx(float(ref_lovasz_hinge(x, yb, per="batch")),
                                                                      abs=1e-12)


@pytest.mark.parametrize("call, match", [
    (lambda z, y: xploss.lovasz_softmax(z, y), "axis.*axis=1.*channels-first"),
    (lambda z, y: xploss.lovasz_softmax(z, y.astype(float), axis=1, from_logits=True), "labels.*integer class maps"),
    (lambda z, y: xploss.lovasz_softmax(z, y[:, :1], axis=1, from_logits=True), "labels.*shape"),
    (lambda z, y: xploss.lovasz_softmax(z, y, axis=1, from_logits=True, per="batch",
                                        sample_weight=np.ones(3)), "sample_weight.*per='batch'"),
    (lambda z, y: xploss.lovasz_softmax(z, y, axis=1), r"probs.*\[0, 1\]"),
    (lambda z, y: xploss.lovasz_hinge(z[:, 0], y * 2), "binary labels"),
    (lambda z, y: xploss.lovasz_hinge(z[:, 0], y.astype(float), ignore_index=5), "ignore_index"),
])
def test_errors(call, match):
    z, y = softmax_inputs(RNG)
    with pytest.raises(xploss.XplossError, match=match):
        call(z, y)

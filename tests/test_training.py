"""Training where people train: JAX with optax under ``jax.jit``, TensorFlow under ``tf.function``.

Each model trains from one seed for a few hundred steps twice, once with an
xploss loss and once with the framework's own loss, and the two loss curves
(and final parameters) agree to float32 precision:

* JAX: a small MLP with ``optax.adam`` (``xploss.cross_entropy`` vs
  ``optax.losses.softmax_cross_entropy_with_integer_labels``) and a linear
  model with ``optax.sgd`` (``xploss.sigmoid_binary_cross_entropy`` vs
  ``optax.sigmoid_binary_cross_entropy``); per-sample gradients under
  ``jax.vmap`` vs optax's;
* TensorFlow: GradientTape + SGD inside a ``tf.function`` step
  (``xploss.cross_entropy`` vs ``tf.nn.sparse_softmax_cross_entropy_with_logits``,
  ``xploss.sigmoid_binary_cross_entropy`` vs ``tf.nn.sigmoid_cross_entropy_with_logits``).

docs/jax.rst and docs/tensorflow.rst run as doctests here.
"""

from __future__ import annotations

import doctest
from pathlib import Path

import numpy as np
import pytest
from conftest import Backend, _load

import xploss

ROOT = Path(__file__).resolve().parents[1]
STEPS = 300
N, D, H, C = 128, 6, 16, 4
# float32 curves of two implementations of the same loss: rounding differences of ~1e-7 per step,
# carried by a few hundred optimizer steps
CURVE_RTOL = 1e-5

rng = np.random.default_rng(20241201)
X = rng.normal(size=(N, D)).astype(np.float32)
LABELS = np.argmax(X @ rng.normal(size=(D, C)) + 0.5 * rng.normal(size=(N, C)), axis=1).astype(np.int32)
BINARY = (X @ rng.normal(size=D) + 0.3 * rng.normal(size=N) > 0).astype(np.float32)
MLP_INIT = {"W1": 0.4 * rng.normal(size=(D, H)), "b1": np.zeros(H), "W2": 0.4 * rng.normal(size=(H, C)),
            "b2": np.zeros(C)}
LIN_INIT = {"w": np.zeros(D), "b": np.zeros(())}


def _f32(params: dict) -> dict:
    return {k: np.asarray(v, dtype=np.float32) for k, v in params.items()}


def _compare_curves(curve: list, ref: list, params: dict, ref_params: dict, what: str) -> float:
    curve, ref = np.asarray(curve, np.float64), np.asarray(ref, np.float64)
    worst = float(np.max(np.abs(curve - ref) / np.maximum(np.abs(ref), 1.0)))
    assert worst <= CURVE_RTOL, f"{what}: loss curves differ by {worst:.2e} (relative)"
    for k in ref_params:
        np.testing.assert_allclose(np.asarray(params[k]), np.asarray(ref_params[k]), rtol=CURVE_RTOL,
                                   atol=CURVE_RTOL, err_msg=f"{what}: parameter {k}")
    assert curve[-1] < 0.5 * curve[0], f"{what}: the model did not train ({curve[0]} -> {curve[-1]})"
    print(f"{what}: worst relative curve difference {worst:.2e} over {len(curve)} steps")
    return worst


# -- JAX + optax ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def jax_mods():
    _load(Backend.JAX)
    import jax
    import jax.numpy as jnp
    import optax

    return jax, jnp, optax


def _mlp(jnp, p, x):
    return jnp.tanh(x @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]


def _jax_train(jax, optax, loss_fn, init: dict, opt) -> tuple[list, dict]:
    """STEPS optimizer steps in one jitted ``lax.scan``; the loss curve and the final parameters."""
    params = jax.tree_util.tree_map(jax.numpy.asarray, _f32(init))

    def step(carry, _):
        params, state = carry
        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, state = opt.update(grads, state, params)
        return (optax.apply_updates(params, updates), state), loss

    run = jax.jit(lambda params: jax.lax.scan(step, (params, opt.init(params)), length=STEPS))
    (params, _), curve = run(params)
    return np.asarray(curve).tolist(), params


def test_jax_mlp_adam_cross_entropy_matches_optax(jax_mods):
    jax, jnp, optax = jax_mods
    x, y = jnp.asarray(X), jnp.asarray(LABELS)

    def ours(p):
        return xploss.cross_entropy(_mlp(jnp, p, x), y)

    def theirs(p):
        return optax.losses.softmax_cross_entropy_with_integer_labels(_mlp(jnp, p, x), y).mean()

    curve, params = _jax_train(jax, optax, ours, MLP_INIT, optax.adam(1e-2))
    ref, ref_params = _jax_train(jax, optax, theirs, MLP_INIT, optax.adam(1e-2))
    assert jax.tree_util.tree_leaves(params)[0].dtype == jnp.float32
    _compare_curves(curve, ref, params, ref_params, "jax mlp adam")


def test_jax_linear_sgd_sigmoid_bce_matches_optax(jax_mods):
    jax, jnp, optax = jax_mods
    x, t = jnp.asarray(X), jnp.asarray(BINARY)

    def ours(p):
        return xploss.sigmoid_binary_cross_entropy(x @ p["w"] + p["b"], t)

    def theirs(p):
        return optax.sigmoid_binary_cross_entropy(x @ p["w"] + p["b"], t).mean()

    curve, params = _jax_train(jax, optax, ours, LIN_INIT, optax.sgd(0.5))
    ref, ref_params = _jax_train(jax, optax, theirs, LIN_INIT, optax.sgd(0.5))
    _compare_curves(curve, ref, params, ref_params, "jax linear sgd")


def test_jax_vmap_per_sample_gradients_match_optax(jax_mods):
    """Per-sample gradients (``jax.vmap`` of ``jax.grad``, jitted) vs optax's; their mean is the batch gradient."""
    jax, jnp, optax = jax_mods
    p = jax.tree_util.tree_map(jnp.asarray, _f32(MLP_INIT))
    x, y = jnp.asarray(X), jnp.asarray(LABELS)

    def ours(p, xi, yi):
        return xploss.cross_entropy(_mlp(jnp, p, xi[None]), yi[None])

    def theirs(p, xi, yi):
        return optax.losses.softmax_cross_entropy_with_integer_labels(_mlp(jnp, p, xi[None]), yi[None]).mean()

    def per_sample(f):
        return jax.jit(jax.vmap(jax.grad(f), in_axes=(None, 0, 0)))

    got, ref = per_sample(ours)(p, x, y), per_sample(theirs)(p, x, y)
    batch = jax.jit(jax.grad(lambda p: xploss.cross_entropy(_mlp(jnp, p, x), y)))(p)
    for k in ref:
        assert got[k].shape == (N, *p[k].shape)
        np.testing.assert_allclose(np.asarray(got[k]), np.asarray(ref[k]), rtol=1e-5, atol=1e-6, err_msg=k)
        np.testing.assert_allclose(np.asarray(got[k]).mean(0), np.asarray(batch[k]), rtol=1e-5, atol=1e-6,
                                   err_msg=f"mean of per-sample {k}")


# -- TensorFlow: GradientTape under tf.function --------------------------------------------------

@pytest.fixture(scope="module")
def tf():
    return _load(Backend.TENSORFLOW)


def _tf_train(tf, loss_fn, init: dict, lr: float) -> tuple[list, dict]:
    """STEPS plain SGD steps (GradientTape) in one ``tf.function``; the loss curve and the final parameters."""
    params = {k: tf.Variable(v) for k, v in _f32(init).items()}

    @tf.function
    def run():
        curve = tf.TensorArray(tf.float32, size=STEPS)
        for i in tf.range(STEPS):
            with tf.GradientTape() as tape:
                loss = loss_fn(params)
            grads = tape.gradient(loss, params)
            for k, g in grads.items():
                params[k].assign_sub(lr * g)
            curve = curve.write(i, loss)
        return curve.stack()

    curve = run().numpy().tolist()
    return curve, {k: v.numpy() for k, v in params.items()}


def _tf_mlp(tf, p, x):
    return tf.tanh(x @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]


def test_tf_function_mlp_cross_entropy_matches_tf_nn(tf):
    x, y = tf.constant(X), tf.constant(LABELS)

    def ours(p):
        return xploss.cross_entropy(_tf_mlp(tf, p, x), y)

    def theirs(p):
        return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=_tf_mlp(tf, p, x)))

    curve, params = _tf_train(tf, ours, MLP_INIT, 0.5)
    ref, ref_params = _tf_train(tf, theirs, MLP_INIT, 0.5)
    _compare_curves(curve, ref, params, ref_params, "tf mlp sgd")


def test_tf_function_linear_sigmoid_bce_matches_tf_nn(tf):
    x, t = tf.constant(X), tf.constant(BINARY)

    def ours(p):
        return xploss.sigmoid_binary_cross_entropy(tf.linalg.matvec(x, p["w"]) + p["b"], t)

    def theirs(p):
        z = tf.linalg.matvec(x, p["w"]) + p["b"]
        return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=t, logits=z))

    curve, params = _tf_train(tf, ours, LIN_INIT, 0.5)
    ref, ref_params = _tf_train(tf, theirs, LIN_INIT, 0.5)
    _compare_curves(curve, ref, params, ref_params, "tf linear sgd")


# -- the guide pages ------------------------------------------------------------------------------

@pytest.mark.parametrize("page,b", [("jax.rst", Backend.JAX), ("tensorflow.rst", Backend.TENSORFLOW)])
def test_guide_doctests(page: str, b: Backend):
    _load(b)
    path = ROOT / "docs" / page
    test = doctest.DocTestParser().get_doctest(path.read_text(), {}, page, str(path), 0)
    assert test.examples, "no examples found"
    report: list[str] = []
    result = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS).run(
        test, out=report.append)
    assert result.failed == 0, "".join(report)

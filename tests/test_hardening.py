"""Hardening (#7): inputs that used to give a backend error or a silently wrong number.

* Class labels of every integer dtype give the int64 result on every backend
  (eager and traced): TensorFlow's gather and comparison kernels refuse
  int8/int16/uint8/uint16/uint32 indices, so its backend widens them
  (``TensorFlowBackend.call``).
* A NaN input gives a NaN loss and a NaN gradient, never a finite number
  (``binary_cross_entropy``'s -100 log clamp gave 100; the margin losses'
  ``u > 0`` masks dropped a NaN score).
* NumPy subclasses whose arithmetic would change a loss (``np.matrix``: ``*``
  is a matrix product; ``np.ma.MaskedArray``: masked entries dropped from sums
  but counted in means) are refused with the fix; other subclasses
  (``np.memmap``) are plain arrays.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import Backend
from helpers import assert_close, to_backend, to_numpy

import xploss
from xploss import XplossError, XplossTypeError

Z = np.array([[1.0, 2.0, 3.0], [0.0, 1.0, -1.0], [0.5, -0.5, 2.0]])
P = np.exp(Z) / np.exp(Z).sum(-1, keepdims=True)
Y = np.array([2, 0, 1])
LOSSES = {
    "cross_entropy": lambda T, y: xploss.cross_entropy(T(Z), y),
    "nll": lambda T, y: xploss.nll(T(np.log(P)), y),
    "focal": lambda T, y: xploss.focal(T(Z), y),
    "poly1_cross_entropy": lambda T, y: xploss.poly1_cross_entropy(T(Z), y),
    "multi_margin": lambda T, y: xploss.multi_margin(T(Z), y),
    "zero_one": lambda T, y: xploss.zero_one(T(Z), y),
    "categorical_hinge": lambda T, y: xploss.categorical_hinge(T(Z), y),
    "probability_cross_entropy": lambda T, y: xploss.probability_cross_entropy(T(P), y),
    "categorical_focal": lambda T, y: xploss.categorical_focal(T(P), y),
}
SMALL = ("int8", "int16", "int32", "uint8", "uint16", "uint32")


def _dtypes(b: Backend) -> tuple[str, ...]:
    # torch's uint16/uint32 are storage-only dtypes (no indexing kernels), in torch's own losses too
    return tuple(d for d in SMALL if not (b is Backend.TORCH and d in ("uint16", "uint32")))


@pytest.mark.parametrize("loss", list(LOSSES))
def test_small_integer_labels_equal_int64(backend, loss):
    T = lambda x: to_backend(backend, x)  # noqa: E731
    expected = LOSSES[loss](T, T(Y))
    for dtype in _dtypes(backend):
        got = LOSSES[loss](T, T(Y.astype(dtype)))
        assert_close(got, expected, dtype="float64", b=backend, what=f"{loss}, labels {dtype}")


def test_small_integer_labels_under_tf_function():
    tf = pytest.importorskip("tensorflow")
    z = tf.constant(Z)
    for dtype in (tf.int8, tf.uint8, tf.uint32):
        f = tf.function(lambda z, y: xploss.cross_entropy(z, y), jit_compile=True)
        got = f(z, tf.constant(Y, dtype))
        assert_close(got, xploss.cross_entropy(Z, Y), dtype="float64", what=f"XLA, labels {dtype.name}")


@pytest.mark.parametrize("make,fix", [
    (lambda: np.matrix([[1.0, 2.0], [3.0, 4.0]]), r"np\.asarray\(x\)"),
    (lambda: np.ma.masked_array([[1.0, 2.0], [3.0, 4.0]], [[0, 1], [0, 0]]), r"x\.filled\(0\.0\) with sample_weight"),
], ids=["matrix", "masked"])
@pytest.mark.parametrize("position", ["pred", "target"])
def test_numpy_subclasses_that_change_a_loss_are_refused(make, fix, position):
    x, plain = make(), np.zeros((2, 2))
    args = (x, plain) if position == "pred" else (plain, x)
    with pytest.raises(XplossTypeError, match=rf"argument `{position}`: expected a plain array .*Received: a "
                                              rf"numpy\.(matrix|ma\.MaskedArray)\. Pass {fix}"):
        xploss.mse(*args)


def test_memmap_is_a_plain_array(tmp_path):
    m = np.memmap(tmp_path / "x", dtype="float64", mode="w+", shape=(2, 2))
    m[:] = [[1.0, 2.0], [3.0, 4.0]]
    assert_close(xploss.mse(m, np.zeros((2, 2))), 7.5, dtype="float64")


Z_NAN = np.array([[1.0, np.nan, 0.0], [0.0, 1.0, 2.0]])
P_NAN, Y01 = np.array([np.nan, 0.3]), np.array([0.0, 1.0])
NAN_CASES = {  # loss name -> (fn(scores, T, reduction), the scores with a NaN in row 0, value of the clean row 1)
    "binary_cross_entropy": (lambda x, T, r: xploss.binary_cross_entropy(x, T(Y01), reduction=r), P_NAN,
                             -np.log(0.3)),
    "multi_margin": (lambda x, T, r: xploss.multi_margin(x, T(np.array([0, 1])), reduction=r), Z_NAN, 2.0 / 3.0),
    "multi_margin-p2": (lambda x, T, r: xploss.multi_margin(x, T(np.array([0, 1])), p=2, reduction=r), Z_NAN,
                        4.0 / 3.0),
    "multilabel_margin": (lambda x, T, r: xploss.multilabel_margin(x, T(np.array([[0, -1, 0], [1, -1, 0]])),
                                                                   reduction=r), Z_NAN, 2.0 / 3.0),
}


@pytest.mark.parametrize("case", list(NAN_CASES))
def test_nan_input_gives_nan_loss_and_gradient(backend, case):
    fn, x, clean = NAN_CASES[case]
    T = lambda a: to_backend(backend, a)  # noqa: E731
    out = to_numpy(fn(T(x), T, "none"))
    assert np.isnan(out[0]), f"{case}: a NaN input gave {out[0]}"
    assert_close(out[1], clean, dtype="float64", what=f"{case}: the clean row")
    if backend.has_autodiff:
        _, g = xploss.value_and_grad(lambda a: fn(a, T, "sum"))(T(x))
        assert np.isnan(to_numpy(g)[0]).any(), f"{case}: gradient of the NaN row is finite: {to_numpy(g)}"


# -- an empty class axis (#7, category 6) -------------------------------------------------------------
E0 = np.zeros((2, 0))  # two samples, no class
EMPTY = {
    "cross_entropy": lambda T: xploss.cross_entropy(T(E0), T(np.zeros(2, dtype=int))),
    "cross_entropy (probabilities)": lambda T: xploss.cross_entropy(T(E0), T(E0)),
    "cross_entropy (0, 0)": lambda T: xploss.cross_entropy(T(np.zeros((0, 0))), T(np.zeros(0, dtype=int))),
    "nll": lambda T: xploss.nll(T(E0), T(np.zeros(2, dtype=int))),
    "focal": lambda T: xploss.focal(T(E0), T(np.zeros(2, dtype=int))),
    "poly1_cross_entropy": lambda T: xploss.poly1_cross_entropy(T(E0), T(np.zeros(2, dtype=int))),
    "categorical_hinge": lambda T: xploss.categorical_hinge(T(E0), T(E0)),
    "zero_one": lambda T: xploss.zero_one(T(E0), T(np.zeros(2, dtype=int))),
    "multi_margin": lambda T: xploss.multi_margin(T(E0), T(np.zeros(2, dtype=int))),
    "multilabel_margin": lambda T: xploss.multilabel_margin(T(E0), T(np.zeros((2, 0), dtype=int))),
    "multilabel_soft_margin": lambda T: xploss.multilabel_soft_margin(T(E0), T(E0)),
    "probability_cross_entropy": lambda T: xploss.probability_cross_entropy(T(E0), T(np.zeros(2, dtype=int))),
    "categorical_focal": lambda T: xploss.categorical_focal(T(E0), T(E0)),
    "probability_kl_divergence": lambda T: xploss.probability_kl_divergence(T(E0), T(E0)),
    "categorical_generalized_cross_entropy": lambda T: xploss.categorical_generalized_cross_entropy(
        T(E0), T(np.zeros(2, dtype=int))),
}


@pytest.mark.parametrize("loss", list(EMPTY))
def test_empty_class_axis_is_an_error(backend, loss):
    """No class at all: the loss is undefined; an xploss error naming the scores, not a reduction error
    from the backend (``zero-size array to reduction operation maximum``), an IndexError or a NaN."""
    with pytest.raises(XplossError, match=r"argument `(logits|log_probs|probs)`: expected at least one class "
                       r"along axis 1\. Received: shape \((2|0), 0\)"):
        EMPTY[loss](lambda x: to_backend(backend, x))


def test_empty_batch_with_classes_is_fine(backend):
    """The batch may be empty (a sum of nothing is 0); only the class axis may not."""
    got = xploss.cross_entropy(to_backend(backend, np.zeros((0, 3))), to_backend(backend, np.zeros(0, dtype=int)),
                               reduction="sum")
    assert float(to_numpy(got)) == 0.0


# -- domains: binary labels in [0, 1], Poisson rates and counts >= 0 (#7, category 8) --------------------
B = np.array([[0.3, -1.2], [2.0, 0.5]])
BINARY = {
    "binary_cross_entropy": lambda T, y: xploss.binary_cross_entropy(T(np.full((2, 2), 0.4)), T(y)),
    "binary_focal": lambda T, y: xploss.binary_focal(T(np.full((2, 2), 0.4)), T(y)),
    "sigmoid_binary_cross_entropy": lambda T, y: xploss.sigmoid_binary_cross_entropy(T(B), T(y)),
    "binary_cross_entropy_with_logits": lambda T, y: xploss.binary_cross_entropy_with_logits(T(B), T(y)),
    "sigmoid_focal": lambda T, y: xploss.sigmoid_focal(T(B), T(y)),
    "multilabel_soft_margin": lambda T, y: xploss.multilabel_soft_margin(T(B), T(y)),
}


@pytest.mark.parametrize("bad", [2.0, -1.0])
@pytest.mark.parametrize("loss", list(BINARY))
def test_binary_labels_outside_unit_interval(backend, loss, bad):
    """A binary label is a probability: 2.0 or -1.0 (±1 labels of a margin loss) is an error, where it gave
    a finite, meaningless loss; soft labels inside [0, 1] are fine."""
    T = lambda x: to_backend(backend, x)  # noqa: E731
    y = np.array([[1.0, 0.0], [0.25, bad]])
    low, high = min(0.0, bad), max(1.0, bad)
    with pytest.raises(XplossError, match=rf"argument `labels`: expected values in \[0, 1\]\. Received: values "
                       rf"from {low} to {high}\."):
        BINARY[loss](T, y)
    assert np.isfinite(to_numpy(BINARY[loss](T, np.array([[1.0, 0.0], [0.25, 0.75]]))))


def test_margin_labels_stay_signed(backend):
    """soft_margin and hinge take ±1 labels: not checked against [0, 1]."""
    T = lambda x: to_backend(backend, x)  # noqa: E731
    y = np.array([[1.0, -1.0], [-1.0, 1.0]])
    assert_close(xploss.soft_margin(T(B), T(y)), np.mean(np.log1p(np.exp(-y * B))), dtype="float64", b=backend)
    assert_close(xploss.hinge(T(B), T(y)), np.maximum(1 - y * B, 0).mean(-1).mean(), dtype="float64", b=backend)


POISSON = {
    "poisson rate": (lambda T: xploss.poisson(T(np.array([1.0, -0.5])), T(np.array([1.0, 2.0]))),
                     "pred", "non-negative rates", "-0.5"),
    "poisson count": (lambda T: xploss.poisson(T(np.array([1.0, 0.5])), T(np.array([-1.0, 2.0]))),
                      "target", "non-negative counts", "-1.0"),
    "poisson_nll rate": (lambda T: xploss.poisson_nll(T(np.array([1.0, -0.5])), T(np.array([1.0, 2.0])),
                                                      log_input=False), "pred", "non-negative rates", "-0.5"),
    "poisson_nll count": (lambda T: xploss.poisson_nll(T(np.array([1.0, -0.5])), T(np.array([-3.0, 2.0]))),
                          "target", "non-negative counts", "-3.0"),
}


@pytest.mark.parametrize("case", list(POISSON))
def test_poisson_domain(backend, case):
    """Negative rates gave NaN silently (log of a negative number); negative counts a finite, meaningless
    value.  A log-rate (poisson_nll's default ``log_input=True``) may be negative."""
    call, arg, what, low = POISSON[case]
    with pytest.raises(XplossError, match=rf"argument `{arg}`: expected {what}\. Received: a minimum of {low}\."):
        call(lambda x: to_backend(backend, x))
    got = xploss.poisson_nll(to_backend(backend, np.array([-0.5, 1.0])), to_backend(backend, np.array([1.0, 2.0])))
    assert_close(got, np.mean(np.exp([-0.5, 1.0]) - np.array([1.0, 2.0]) * [-0.5, 1.0]), dtype="float64", b=backend)


# -- under tracing a value that cannot be checked gives NaN, never a plausible number (#7, category 9) -----
ZL = np.array([[1.0, 2.0, 3.0], [0.0, 1.0, -1.0], [0.5, -0.5, 2.0]])
PR = np.exp(ZL) / np.exp(ZL).sum(-1, keepdims=True)


def _index_case(fn, bad: int, x: np.ndarray = ZL) -> tuple:
    """A class-index loss whose second label is ``bad`` (and the same labels made valid)."""
    return lambda z, y: fn(z, y, reduction="none"), (x, np.array([0, bad, 2])), (x, np.array([0, 1, 2]))


TRACED_BAD = {  # name: (loss of the arrays, arrays with one bad sample (the second), the same arrays made valid)
    "cross_entropy label -1": _index_case(xploss.cross_entropy, -1),
    "cross_entropy label C": _index_case(xploss.cross_entropy, 3),
    "focal label -1": _index_case(xploss.focal, -1),
    "nll label C": _index_case(xploss.nll, 7, np.log(PR)),
    "poly1 label -2": _index_case(xploss.poly1_cross_entropy, -2),
    "multi_margin label C": _index_case(xploss.multi_margin, 3),
    "zero_one label -1": _index_case(xploss.zero_one, -1),
    "categorical_hinge label C": _index_case(xploss.categorical_hinge, 3),
    "probability_cross_entropy label C": _index_case(xploss.probability_cross_entropy, 3, PR),
    "multilabel_margin entry C": (lambda z, y: xploss.multilabel_margin(z, y, reduction="none"),
                                  (ZL, np.array([[0, -1, 0], [1, 5, -1], [2, 0, -1]])),
                                  (ZL, np.array([[0, -1, 0], [1, 2, -1], [2, 0, -1]]))),
    "binary_cross_entropy prob > 1": (lambda p, y: xploss.binary_cross_entropy(p, y, reduction="none"),
                                      (np.array([0.2, 1.5, 0.7]), np.array([1.0, 0.0, 1.0])),
                                      (np.array([0.2, 0.5, 0.7]), np.array([1.0, 0.0, 1.0]))),
    "binary_focal label 2": (lambda p, y: xploss.binary_focal(p, y, reduction="none"),
                             (np.array([0.2, 0.5, 0.7]), np.array([1.0, 2.0, 1.0])),
                             (np.array([0.2, 0.5, 0.7]), np.array([1.0, 1.0, 1.0]))),
    "sigmoid_binary_cross_entropy label -1": (
        lambda z, y: xploss.sigmoid_binary_cross_entropy(z, y, reduction="none"),
        (np.array([0.2, -1.5, 0.7]), np.array([1.0, -1.0, 0.0])),
        (np.array([0.2, -1.5, 0.7]), np.array([1.0, 0.0, 0.0]))),
    "sigmoid_focal label 2": (lambda z, y: xploss.sigmoid_focal(z, y, reduction="none"),
                              (np.array([0.2, -1.5, 0.7]), np.array([1.0, 2.0, 0.0])),
                              (np.array([0.2, -1.5, 0.7]), np.array([1.0, 1.0, 0.0]))),
    "multilabel_soft_margin label 2": (lambda z, y: xploss.multilabel_soft_margin(z, y, reduction="none"),
                                       (ZL, np.array([[1.0, 0, 0], [0, 2.0, 0], [1, 1, 0]])),
                                       (ZL, np.array([[1.0, 0, 0], [0, 1.0, 0], [1, 1, 0]]))),
    "poisson negative rate": (lambda p, y: xploss.poisson(p, y, reduction="none"),
                              (np.array([1.0, -0.5, 2.0]), np.array([1.0, 2.0, 0.0])),
                              (np.array([1.0, 0.5, 2.0]), np.array([1.0, 2.0, 0.0]))),
    "poisson_nll negative count": (lambda p, y: xploss.poisson_nll(p, y, reduction="none"),
                                   (np.array([1.0, -0.5, 2.0]), np.array([1.0, -2.0, 0.0])),
                                   (np.array([1.0, -0.5, 2.0]), np.array([1.0, 2.0, 0.0]))),
    "gaussian_nll negative var": (lambda p, y, v: xploss.gaussian_nll(p, y, v, reduction="none"),
                                  (np.array([1.0, 0.5, 2.0]), np.array([1.0, 2.0, 0.0]), np.array([1.0, -0.5, 2.0])),
                                  (np.array([1.0, 0.5, 2.0]), np.array([1.0, 2.0, 0.0]), np.array([1.0, 0.5, 2.0]))),
}
# one case per kind of check under torch.compile (~1-2 s a trace): label range, class lists, [0, 1], >= 0
TORCH_COMPILED = ("cross_entropy label -1", "multilabel_margin entry C", "binary_focal label 2",
                  "gaussian_nll negative var")
COMPILERS = [(c, k) for k in TRACED_BAD for c in ("jax.jit", "tf.function", "torch.compile")
             if c != "torch.compile" or k in TORCH_COMPILED]


def _compiled(compiler: str, fn):
    if compiler == "jax.jit":
        import jax
        return jax.jit(fn), Backend.JAX
    if compiler == "tf.function":
        import tensorflow as tf
        return tf.function(fn), Backend.TENSORFLOW
    import torch
    torch._dynamo.reset()
    return torch.compile(fn, backend="eager"), Backend.TORCH


@pytest.mark.parametrize("compiler,case", COMPILERS, ids=[f"{k}-{c}" for c, k in COMPILERS])
def test_traced_bad_values_give_nan(compiler, case):
    """Eagerly these raise; traced (values unknown) the sample concerned has a NaN loss (so does any mean
    over it), and only that one: the other samples keep their eager values.  Before, the label -1 was read
    as class C-1 (JAX), a probability 1.5 or a label 2 gave a finite loss, a label C a GatherV2 error (TF)."""
    pytest.importorskip({"tf.function": "tensorflow", "jax.jit": "jax", "torch.compile": "torch"}[compiler])
    fn, bad, good = TRACED_BAD[case]
    compiled, b = _compiled(compiler, fn)
    with pytest.raises(XplossError):
        fn(*(to_backend(b, x) for x in bad))
    got = to_numpy(compiled(*(to_backend(b, x) for x in bad)))
    expected = to_numpy(fn(*(to_backend(b, x) for x in good)))
    assert np.isnan(got[1]), f"{case}: sample 1 gave {got[1]}"
    np.testing.assert_allclose(got[[0, 2]], expected[[0, 2]], rtol=1e-12)
    assert np.all(np.isfinite(expected))


def test_traced_bad_label_gives_nan_gradient():
    """The gradient of the affected sample is NaN too (the poison enters the cotangent); the others are exact."""
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    y_bad, y_good = jnp.asarray(np.array([0, -1, 2])), jnp.asarray(np.array([0, 1, 2]))
    z = jnp.asarray(ZL)
    grad = jax.jit(jax.grad(lambda z, y: xploss.cross_entropy(z, y, reduction="sum")))
    g_bad, g_good = np.asarray(grad(z, y_bad)), np.asarray(grad(z, y_good))
    assert np.all(np.isnan(g_bad[1]))
    np.testing.assert_allclose(g_bad[[0, 2]], g_good[[0, 2]], rtol=1e-12)
    tf = pytest.importorskip("tensorflow")

    @tf.function
    def tf_grad(z, y):
        with tf.GradientTape() as tape:
            tape.watch(z)
            out = xploss.focal(z, y)
        return out, tape.gradient(out, z)

    out, g = tf_grad(tf.constant(ZL), tf.constant([0, 3, 2]))
    assert np.isnan(out.numpy()) and np.all(np.isnan(g.numpy()[1])), g.numpy()


# -- sizes unknown while tracing (TensorFlow's None dimensions): checked at run time (#7, category 2) -------
def _spec(*shape, dtype="float64"):
    tf = pytest.importorskip("tensorflow")
    return tf.TensorSpec(shape, getattr(tf, dtype))


UNKNOWN = {  # name: (loss, argument named in the error, input signature, mismatched inputs, matching inputs)
    "mse": (lambda p, y: xploss.mse(p, y), "target", lambda: [_spec(None)] * 2,
            (np.array([1.0, 2, 3, 4]), np.array([0.0])), (np.array([1.0, 2, 3, 4]), np.zeros(4))),
    "huber": (lambda p, y: xploss.huber(p, y), "target", lambda: [_spec(None, 3)] * 2,
              (np.ones((4, 3)), np.zeros((1, 3))), (np.ones((4, 3)), np.zeros((4, 3)))),
    "sigmoid_binary_cross_entropy": (lambda z, y: xploss.sigmoid_binary_cross_entropy(z, y), "labels",
                                     lambda: [_spec(None, None)] * 2,
                                     (np.ones((2, 3)), np.ones((2, 1))), (np.ones((2, 3)), np.ones((2, 3)))),
    "triplet_margin": (lambda a, p, n: xploss.triplet_margin(a, p, n), "positive", lambda: [_spec(None, 2)] * 3,
                       (np.ones((4, 2)), np.zeros((1, 2)), np.ones((4, 2))),
                       (np.ones((4, 2)), np.zeros((4, 2)), np.ones((4, 2)))),
    "cross_entropy labels": (lambda z, y: xploss.cross_entropy(z, y), "labels",
                             lambda: [_spec(None, 3), _spec(None, dtype="int64")],
                             (np.ones((4, 3)), np.array([0, 1])), (np.ones((4, 3)), np.array([0, 1, 2, 0]))),
    "multi_margin labels": (lambda z, y: xploss.multi_margin(z, y), "labels",
                            lambda: [_spec(None, 3), _spec(None, dtype="int64")],
                            (np.ones((4, 3)), np.array([0])), (np.ones((4, 3)), np.array([0, 1, 2, 0]))),
    "focal labels": (lambda z, y: xploss.focal(z, y), "labels", lambda: [_spec(None, None), _spec(None, dtype="int64")],
                     (np.ones((4, 3)), np.array([0])), (np.ones((4, 3)), np.array([0, 1, 2, 0]))),
    "mse sample_weight": (lambda p, y, w: xploss.mse(p, y, sample_weight=w), "sample_weight",
                          lambda: [_spec(None)] * 3, (np.ones(4), np.zeros(4), np.ones(3)),
                          (np.ones(4), np.zeros(4), np.arange(4.0))),
    "cross_entropy sample_weight": (lambda z, y, w: xploss.cross_entropy(z, y, sample_weight=w), "sample_weight",
                                    lambda: [_spec(None, 3), _spec(None, dtype="int64"), _spec(None)],
                                    (np.ones((4, 3)), np.array([0, 1, 2, 0]), np.ones(2)),
                                    (np.ones((4, 3)), np.array([0, 1, 2, 0]), np.arange(4.0))),
}


@pytest.mark.parametrize("case", list(UNKNOWN))
def test_unknown_sizes_are_checked_at_run_time(case):
    """``tf.function`` with ``None`` dimensions: the static check cannot see a mismatch; an assertion in
    the graph fails with the xploss message (an (N,) vs (1,) pair broadcast silently: mse gave 7.5); a
    matching pair under the same signature gives the eager value."""
    tf = pytest.importorskip("tensorflow")
    fn, arg, signature, bad, good = UNKNOWN[case]
    traced = tf.function(fn, input_signature=signature())
    with pytest.raises(tf.errors.InvalidArgumentError, match=rf"xploss\.\w+: argument `{arg}`: expected .*\. "
                       r"Received: another size at run time"):
        traced(*(tf.constant(x) for x in bad))
    assert_close(traced(*(tf.constant(x) for x in good)), fn(*(tf.constant(x) for x in good)), dtype="float64")


@pytest.mark.parametrize("case", ["mse", "huber", "triplet_margin", "sigmoid_binary_cross_entropy"])
def test_unknown_sizes_under_xla_give_nan(case):
    """XLA (``jit_compile=True``) drops assertions: the mismatch makes the loss NaN instead, never the
    broadcast value; matching sizes are exact."""
    tf = pytest.importorskip("tensorflow")
    fn, _, signature, bad, good = UNKNOWN[case]
    traced = tf.function(fn, input_signature=signature(), jit_compile=True)
    assert np.isnan(traced(*(tf.constant(x) for x in bad)).numpy())
    assert_close(traced(*(tf.constant(x) for x in good)), fn(*(tf.constant(x) for x in good)), dtype="float64")


def test_unknown_size_weight_of_one_still_broadcasts():
    """A weight of size 1 is a legal broadcast, also when its size is only known at run time."""
    tf = pytest.importorskip("tensorflow")
    fn = tf.function(lambda p, y, w: xploss.mse(p, y, sample_weight=w, reduction="sum"),
                     input_signature=[_spec(None)] * 3)
    got = fn(*(tf.constant(x, tf.float64) for x in ([1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [2.0])))
    assert float(got) == 28.0

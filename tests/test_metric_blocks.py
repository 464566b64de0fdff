"""The metric-learning building blocks (``xploss.losses._metric``) and the mechanism they ride on.

Each block's hand VJP against central finite differences of the block itself written in NumPy
(independent formulas: explicit differences, no Gram form), on every backend; the edge conventions
(zero vectors, coincident points, empty masks, huge logits); and the two additions to the mechanism:
``Primitive(counted=True)`` and ``_checks.learnable``.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import Backend
from helpers import assert_close, to_backend, to_numpy

import xploss
from xploss._define import Primitive, apply
from xploss._namespace import backend_for
from xploss.losses import _metric as M

RNG = np.random.default_rng(3)
A = RNG.normal(size=(4, 3))
B = RNG.normal(size=(5, 3))
STEP = 1e-6


def _fd(f, x: np.ndarray, g: np.ndarray, step: float = STEP) -> np.ndarray:
    """d <g, f(x)> / dx by central differences (float64)."""
    out = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp_, xm = x.copy(), x.copy()
        xp_[i] += step
        xm[i] -= step
        out[i] = np.sum(g * (f(xp_) - f(xm))) / (2 * step)
    return out


def _np_normalize(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), M.NORM_EPS)


def _np_sq(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum((a[:, None, :] - b[None, :, :]) ** 2, axis=-1)


def _ns(b: Backend):
    return backend_for(b.value).xp


def test_normalize_and_its_vjp(backend: Backend) -> None:
    xp = _ns(backend)
    g = np.random.default_rng(11).normal(size=A.shape)
    xhat, n = M.normalize(xp, to_backend(backend, A, "float64"))
    assert_close(xhat, _np_normalize(A), dtype="float64", b=backend)
    got = M.normalize_vjp(xp, xhat, n, to_backend(backend, g, "float64"))
    assert_close(got, _fd(_np_normalize, A, g), dtype="float64", b=backend, rtol=1e-7)


def test_normalize_zero_vector_is_torchs_subgradient(backend: Backend) -> None:
    """A zero row normalises to 0 and its gradient is g / eps (torch's F.normalize): finite."""
    xp = _ns(backend)
    x = np.array([[0.0, 0.0], [3.0, 4.0]])
    g = np.array([[1.0, -2.0], [0.5, 0.5]])
    xhat, n = M.normalize(xp, to_backend(backend, x, "float64"))
    assert np.all(to_numpy(xhat)[0] == 0.0)
    got = to_numpy(M.normalize_vjp(xp, xhat, n, to_backend(backend, g, "float64")))
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got[0], g[0] / M.NORM_EPS, rtol=1e-12)


def test_cosine_matrix_vjp(backend: Backend) -> None:
    xp = _ns(backend)
    G = np.random.default_rng(12).normal(size=(4, 5))
    S, res = M.cosine_matrix(xp, to_backend(backend, A, "float64"), to_backend(backend, B, "float64"))
    assert_close(S, _np_normalize(A) @ _np_normalize(B).T, dtype="float64", b=backend)
    da, db = M.cosine_matrix_vjp(xp, res, to_backend(backend, G, "float64"))
    assert_close(da, _fd(lambda a: _np_normalize(a) @ _np_normalize(B).T, A, G), dtype="float64", b=backend,
                 rtol=1e-7)
    assert_close(db, _fd(lambda b: _np_normalize(A) @ _np_normalize(b).T, B, G), dtype="float64", b=backend,
                 rtol=1e-7)


def test_sq_distances_and_vjp_two_sets(backend: Backend) -> None:
    xp = _ns(backend)
    G = np.random.default_rng(13).normal(size=(4, 5))
    a, b = to_backend(backend, A, "float64"), to_backend(backend, B, "float64")
    sq = M.sq_distances(xp, a, b)
    assert_close(sq, _np_sq(A, B), dtype="float64", b=backend)
    da, db = M.sq_distances_vjp(xp, a, b, sq, to_backend(backend, G, "float64"))
    assert_close(da, _fd(lambda x: _np_sq(x, B), A, G), dtype="float64", b=backend, rtol=1e-7)
    assert_close(db, _fd(lambda x: _np_sq(A, x), B, G), dtype="float64", b=backend, rtol=1e-7)


def test_sq_distances_one_set_has_an_exact_zero_diagonal(backend: Backend) -> None:
    xp = _ns(backend)
    G = np.random.default_rng(14).normal(size=(4, 4))
    a = to_backend(backend, A * 30.0, "float64")  # larger norms: the Gram form's diagonal would round
    sq = M.sq_distances(xp, a)
    assert np.all(np.diag(to_numpy(sq)) == 0.0)
    da, none = M.sq_distances_vjp(xp, a, None, sq, to_backend(backend, G, "float64"))
    assert none is None
    # a quadratic: central differences are exact but for rounding, smallest with a large step
    assert_close(da, _fd(lambda x: _np_sq(x, x), A * 30.0, G, step=1e-2), dtype="float64", b=backend, rtol=1e-8)


def test_distance_subgradient_is_zero_at_coincident_points(backend: Backend) -> None:
    """Two equal rows: d = 0 exactly and the gradient through sqrt is 0 there (torch.cdist, TF Addons)."""
    xp = _ns(backend)
    x = np.array([[1.0, 2.0], [1.0, 2.0], [0.0, -1.0]])
    a = to_backend(backend, x, "float64")
    sq = M.sq_distances(xp, a)
    d = M.distances(xp, sq)
    assert to_numpy(d)[0, 1] == 0.0
    G = np.ones((3, 3))
    gsq = M.distances_vjp(xp, d, to_backend(backend, G, "float64"))
    assert to_numpy(gsq)[0, 1] == 0.0 and np.all(np.isfinite(to_numpy(gsq)))
    da, _ = M.sq_distances_vjp(xp, a, None, sq, gsq)
    got = to_numpy(da)
    # f = Σ_{i≠j} d_ij: rows 0 and 1 coincide, their mutual terms contribute 0; the rest is the true gradient
    u = (x[0] - x[2]) / np.linalg.norm(x[0] - x[2])
    np.testing.assert_allclose(got[0], 2 * u, rtol=1e-12)
    np.testing.assert_allclose(got[1], 2 * u, rtol=1e-12)
    np.testing.assert_allclose(got[2], -4 * u, rtol=1e-12)


def test_label_masks_and_masked_logsumexp(backend: Backend) -> None:
    xp = _ns(backend)
    y = to_backend(backend, np.array([0, 0, 1, 2]))
    pos, neg = M.label_masks(xp, y)
    np.testing.assert_array_equal(to_numpy(pos), [[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]])
    np.testing.assert_array_equal(to_numpy(neg), [[0, 0, 1, 1], [0, 0, 1, 1], [1, 1, 0, 1], [1, 1, 1, 0]])
    z = np.array([[1e4, -1e4, 3.0, 2.0]] * 4)
    lse = to_numpy(M.masked_logsumexp(xp, to_backend(backend, z, "float64"), pos))
    assert lse[0, 0] == -1e4 and lse[1, 0] == 1e4  # one candidate each: exactly its logit
    assert lse[2, 0] == -np.inf and lse[3, 0] == -np.inf  # no candidate: -inf, never NaN
    lse_neg = to_numpy(M.masked_logsumexp(xp, to_backend(backend, z, "float64"), neg))
    np.testing.assert_allclose(lse_neg[0, 0], np.logaddexp(3.0, 2.0), rtol=1e-14)
    np.testing.assert_allclose(lse_neg[2, 0], 1e4, rtol=1e-14)
    p = to_numpy(M.masked_softmax(xp, to_backend(backend, z, "float64"), pos,
                                  to_backend(backend, lse, "float64")))
    assert np.all(np.isfinite(p)) and np.all(p[2:] == 0.0) and p[0, 1] == 1.0


# -- the mechanism: counted primitives and learnable hyperparameters --------------------------

def _scaled_fwd(xp, x, t, *, counted):
    """A toy batch-coupled loss: l_i = t · Σ_j x_i x_j, counting the j with x_i x_j > 0."""
    prod = x[:, None] * x[None, :]
    loss = t * xp.sum(prod, axis=-1)
    if not counted:
        return loss, ()
    count = xp.sum(xp.astype(prod > 0, x.dtype), axis=-1)
    return loss, (), (count, count)


def _scaled_vjp(xp, arrays, res, g, **_):
    x, t = arrays
    s = xp.sum(x)
    return (lambda: t * (g * s + xp.sum(g * x))), (lambda: xp.sum(g * x * s))


_COUNTED = Primitive("toy_counted", lambda xp, x, t: _scaled_fwd(xp, x, t, counted=True), vjp=_scaled_vjp,
                     counted=True)


def test_counted_mean_divides_by_the_items_and_gradients_are_exact(backend: Backend) -> None:
    x = np.array([1.0, -2.0, 3.0])
    prod = x[:, None] * x[None, :]
    t = 0.7
    per = t * prod.sum(axis=1)
    count = (prod > 0).sum()
    be = backend_for(backend.value)
    X = to_backend(backend, x, "float64")
    T = to_backend(backend, np.array(t), "float64")
    if backend is Backend.TORCH:  # helpers.to_backend makes a 0-d array 1-d on torch
        T = T.reshape(())
    for reduction, expected in (("mean", per.sum() / count), ("sum", per.sum()), ("count", float(count))):
        got = apply(be, _COUNTED, (X, T), reduction=reduction)
        assert_close(got, expected, dtype="float64", b=backend, what=reduction)
    value, (gx, gt) = xploss.value_and_grad(lambda a, b: apply(be, _COUNTED, (a, b), reduction="mean"),
                                            argnums=(0, 1))(X, T)
    fx = _fd(lambda v: np.array(t * np.sum(v[:, None] * v[None, :]) / count), x, np.array(1.0))
    assert_close(gx, fx, dtype="float64", b=backend, rtol=1e-7)
    assert_close(gt, prod.sum() / count, dtype="float64", b=backend)


@pytest.mark.parametrize("value,shape", [(0.5, None), (0.5, ()), (0.5, (1,))])
def test_learnable_accepts_floats_and_0d_arrays(backend: Backend, value, shape) -> None:
    be = backend_for(backend.value)
    ref = to_backend(backend, A, "float32")
    given = value if shape is None else to_backend(backend, np.full(shape, value), "float64")
    t, bad = xploss._checks.learnable("f", "temperature", be, given, ref)
    assert bad is None and tuple(t.shape) == () and t.dtype == ref.dtype and float(to_numpy(t)) == value


@pytest.mark.parametrize("given,match", [(0.0, r"temperature`: expected a value in \(0.0, inf\]"),
                                         (-1.0, "Received: -1.0"),
                                         ("x", "expected a Python float or a 0-d floating array"),
                                         (np.ones(2), r"shape \(2,\)"), (np.array(1), "dtype int64"),
                                         (np.array(-0.5), "Received: -0.5")])
def test_learnable_errors_name_the_argument(given, match) -> None:
    be = backend_for("numpy")
    with pytest.raises(xploss.XplossError, match=match) as info:
        xploss._checks.learnable("nt_xent", "temperature", be, given, A)
    assert str(info.value).startswith("xploss.nt_xent: argument `temperature`")


def test_learnable_traced_out_of_bounds_is_a_mask() -> None:
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    be = backend_for("jax")
    out = jax.jit(lambda t: xploss._checks.learnable("f", "temperature", be, t, jnp.ones(3))[1])(jnp.asarray(-1.0))
    assert bool(out)


def test_torch_unreduced_vjp_loss_is_differentiable() -> None:
    """reduction="none", no weight: the per-sample loss is the output itself, not a (non-differentiable) residual."""
    torch = pytest.importorskip("torch")
    be = backend_for("torch")
    x = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64, requires_grad=True)
    t = torch.tensor(0.7, dtype=torch.float64)
    out = apply(be, _COUNTED, (x, t), reduction="none")
    assert out.grad_fn is not None
    (g,) = torch.autograd.grad(out.sum(), x)
    np.testing.assert_allclose(g.numpy(), 0.7 * 2 * np.sum(x.detach().numpy()) * np.ones(3), rtol=1e-14)


def test_learnable_bfloat16_on_torch() -> None:
    """A bfloat16 Parameter's value is read (NumPy has no bfloat16: through float32)."""
    torch = pytest.importorskip("torch")
    be = backend_for("torch")
    t, bad = xploss._checks.learnable("f", "scale", be, torch.tensor(0.5, dtype=torch.bfloat16),
                                      torch.ones(3, dtype=torch.bfloat16))
    assert bad is None and t.dtype == torch.bfloat16
    with pytest.raises(xploss.XplossError, match="Received: -0.5"):
        xploss._checks.learnable("f", "scale", be, torch.tensor(-0.5, dtype=torch.bfloat16), torch.ones(3))


# -- an unknown batch size (tf.function with a None batch, as Keras fit retraces a smaller last batch) --------

def _unknown_batch_cases():
    import xploss as x

    rng = np.random.default_rng(0)
    z1, z2, lab = rng.normal(size=(6, 4)), rng.normal(size=(6, 4)), np.array([0, 0, 1, 1, 2, 2])
    w = rng.normal(size=(3, 4))
    return {  # loss -> (function of two tensors, inputs, whether it runs with a None batch)
        "info_nce": (lambda a, b: x.info_nce(a, b), (z1, z2), True),
        "clip": (lambda a, b: x.clip(a, b, 10.0), (z1, z2), True),
        "circle": (lambda a, y: x.circle(a, y), (z1, lab), True),
        "arcface": (lambda a, y: x.arcface(a, a[:3] * 0 + w, y), (z1, lab), True),
        "center": (lambda a, y: x.center(a, a[:3] * 0 + w, y), (z1, lab), True),
        "batch_hard_triplet": (lambda a, y: x.batch_hard_triplet(a, y), (z1, lab), True),
        "batch_all_triplet": (lambda a, y: x.batch_all_triplet(a, y), (z1, lab), True),
        "contrastive": (lambda a, b: x.contrastive(a, b, a[:, 0] * 0 + 1.0), (z1, z2), True),
        "nt_xent": (lambda a, b: x.nt_xent(a, b), (z1, z2), False),
        "supcon": (lambda a, y: x.supcon(a, y), (z1, lab), False),
    }


@pytest.mark.parametrize("name", list(_unknown_batch_cases()))
def test_unknown_batch_size_runs_or_names_the_fix(name) -> None:
    """Traced with a None batch: the value equals eager's, or (losses that pair and block rows statically) an
    XplossError naming the argument and the fix, not a TensorFlow stack trace."""
    tf = pytest.importorskip("tensorflow")
    f, args, runs = _unknown_batch_cases()[name]
    sig = [tf.TensorSpec([None, *a.shape[1:]], tf.float64 if a.dtype.kind == "f" else tf.int64) for a in args]
    traced = tf.function(f, input_signature=sig, autograph=False)
    tensors = [tf.constant(a) for a in args]
    if not runs:
        with pytest.raises(xploss.XplossError, match=rf"xploss.{name}: argument `\w+`: expected a batch size known"):
            traced(*tensors)
        return
    assert_close(traced(*tensors), to_numpy(f(*tensors)), dtype="float64")

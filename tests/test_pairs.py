"""Edges, kinks, callable distances, errors, second order and properties of the pair and ranking losses
(``xploss/losses/_pairs.py``) beyond the generic table of ``test_losses.py``.

Documented conventions under test:

* contrastive: the exact Euclidean distance with the subgradient 0 at ``d = 0`` (coincident pairs: value 0
  or ``m^k``, gradient 0); PML's relu hinges have slope 0 at exactly 0;
* torch's hinges (cosine_embedding, margin_ranking, hinge_embedding, triplet_margin_with_distance) pass the
  full gradient at exactly 0 (``clamp_min``); ``torch.minimum`` splits the gradient at a swap tie;
* zero vectors: torch's cosine_embedding (1e-12 inside the squared norms), Keras' cosine (norm floored at
  1e-7), xploss' cosine_distance (norm floored at 1e-12) and torch's cosine distance (1e-8) are finite;
* ±1e4 score gaps stay finite (bpr, margin_ranking);
* a callable distance is differentiated by the arrays' framework.

No loss of this family has a learnable hyperparameter (no temperature or scale).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from cases import BY_ID  # noqa: F401  (imports the family tables in order)
from cases_pairs import (
    ref_contrastive,
    ref_cosine_distance,
    ref_cosine_similarity,
    ref_triplet_distance,
    squared_distance,
)
from conftest import Backend, _load
from helpers import assert_close, to_backend, to_numpy
from hypothesis import given, settings
from hypothesis import strategies as st

import xploss

PROPERTY = settings(max_examples=20, deadline=None)
RNG = np.random.default_rng(20261202)
X1, X2, X3 = (RNG.normal(size=(4, 3)) for _ in range(3))


def _vg(fn, b: Backend, arrays: tuple, argnums: tuple, dtype: str = "float64", **kw):
    """Value and gradients (NumPy) of ``fn(*arrays, **kw)`` on backend ``b``; integer arrays stay integer."""
    xs = tuple(to_backend(b, a, dtype) for a in arrays)
    value, grads = xploss.value_and_grad(lambda *a: fn(*a, **kw), argnums=argnums)(*xs)
    return to_numpy(value), [to_numpy(g) for g in grads]


# -- 1. edges: coincident and zero vectors, empty terms, extreme scores ---------------------------------

@pytest.mark.parametrize("squared", [True, False], ids=["squared", "pml"])
def test_contrastive_coincident_pairs(backend: Backend, squared: bool) -> None:
    """d = 0: a similar pair costs 0, a dissimilar one m^k; both with the subgradient 0."""
    x = np.array([[0.5, -1.0, 2.0], [0.5, -1.0, 2.0], [1.0, 0.0, 0.0]])
    x2 = x.copy()
    x2[2] = [1.0, 0.3, 0.4]  # d = 0.5, a free pair
    y = np.array([1, 0, 1])
    value, (g1, g2) = _vg(xploss.contrastive, backend, (x, x2, y), (0, 1), margin=1.5, squared=squared,
                          reduction="sum")
    k = 2 if squared else 1
    assert_close(value, 1.5 ** k + 0.5 ** k, dtype="float64")
    assert np.all(g1[:2] == 0.0) and np.all(g2[:2] == 0.0), (g1, g2)
    u = x[2] - x2[2]
    expected = 2 * u if squared else u / 0.5
    assert_close(g1[2], expected, dtype="float64")
    assert_close(g2[2], -expected, dtype="float64")


def test_contrastive_from_distances_zero_distance(backend: Backend) -> None:
    d, y = np.array([0.0, 0.0, 2.0]), np.array([1, 0, 0])
    value, (g,) = _vg(xploss.contrastive_from_distances, backend, (d, y), (0,), reduction="sum")
    assert_close(value, 1.0, dtype="float64")
    assert_close(g, [0.0, -2.0, 0.0], dtype="float64")


def test_contrastive_pml_hinge_kink(backend: Backend) -> None:
    """PML's relu: at d = pos_margin and d = margin exactly the slope is 0."""
    d, y = np.array([0.25, 1.0]), np.array([1, 0])
    value, (g,) = _vg(xploss.contrastive_from_distances, backend, (d, y), (0,), margin=1.0, pos_margin=0.25,
                      squared=False, reduction="sum")
    assert value == 0.0 and np.all(g == 0.0), (value, g)


def test_cosine_embedding_zero_vector(backend: Backend) -> None:
    """torch: cos = 0 for a zero vector, gradient ∓x2 / sqrt(eps (|x2|² + eps)) with eps = float32(1e-12)."""
    eps = float(np.float32(1e-12))
    x1 = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, 2.0, 0.5]])
    x2 = np.array([[1.0, 2.0, 2.0], [0.6, 0.8, 0.0], [1.0, 2.0, 0.5]])
    y = np.array([1, -1, 1])
    value, (g1, _) = _vg(xploss.cosine_embedding, backend, (x1, x2, y), (0, 1), margin=-0.5, reduction="sum")
    cos2 = 1.0 / math.sqrt(1 + eps / 5.25) ** 2  # row 2: identical vectors, cos = |x|² / (|x|² + eps)
    assert_close(value, 1.0 + 0.5 + (1.0 - cos2), dtype="float64")
    assert_close(g1[0], -x2[0] / math.sqrt(eps * (9.0 + eps)), dtype="float64", rtol=1e-12)
    assert_close(g1[1], x2[1] / math.sqrt(eps * (1.0 + eps)), dtype="float64", rtol=1e-12)
    assert np.all(np.isfinite(g1))


def test_cosine_embedding_no_valid_label_is_zero(backend: Backend) -> None:
    """Labels that are neither 1 nor -1 give 0 with a zero gradient (torch), for every reduction."""
    y = np.array([0, 0, 2, 0])
    for reduction in ("mean", "weighted_mean"):
        value, (g1, g2) = _vg(xploss.cosine_embedding, backend, (X1, X2, y), (0, 1), reduction=reduction)
        assert value == 0.0 and np.all(g1 == 0.0) and np.all(g2 == 0.0)


@pytest.mark.parametrize("which", ["similarity", "distance"])
def test_cosine_zero_vector(backend: Backend, which: str) -> None:
    """Keras (floor 1e-7): value 0, gradient -t̂/1e-7; xploss cosine_distance (floor 1e-12): 1, -t̂/1e-12."""
    fn, offset, floor = ((xploss.cosine_similarity, 0.0, 1e-7) if which == "similarity"
                         else (xploss.cosine_distance, 1.0, 1e-12))
    p, t = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]), np.array([[1.0, 2.0, 2.0], [1.0, 1.0, 0.0]])
    value, (gp, gt) = _vg(fn, backend, (p, t), (0, 1), reduction="sum")
    assert_close(value, offset + (offset - 1.0 / math.sqrt(2.0)), dtype="float64")
    assert_close(gp[0], -t[0] / 3.0 / floor, dtype="float64")
    assert np.all(gt[0] == 0.0) and np.all(np.isfinite(gp)), (gp, gt)


def test_triplet_distance_edges(backend: Backend) -> None:
    """Coincident anchor and positive (torch's eps: finite) and a zero negative with the cosine distance."""
    a = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    neg = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    for distance in ("euclidean", "squared_euclidean", "cosine"):
        value, grads = _vg(xploss.triplet_margin_with_distance, backend, (a, a.copy(), neg), (0, 1, 2),
                           distance=distance, margin=1.5)
        assert_close(value, np.mean(ref_triplet_distance(a, a, neg, distance=distance, margin=1.5)),
                     dtype="float64")
        assert all(np.all(np.isfinite(g)) for g in grads), (distance, grads)
    _, (_, _, gn) = _vg(xploss.triplet_margin_with_distance, backend, (a, a.copy(), neg), (0, 1, 2),
                        distance="cosine", margin=1.5, reduction="sum")
    assert_close(gn, a / 1e-8, dtype="float64")  # d(1 - cos)/dn at n = 0: -â / 1e-8, negated by the hinge


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_huge_score_gaps(backend: Backend, dtype: str) -> None:
    pos, neg = np.array([1e4, -1e4, 0.0]), np.array([-1e4, 1e4, 0.0])
    value, (gp, gn) = _vg(xploss.bpr, backend, (pos, neg), (0, 1), dtype, reduction="sum")
    assert_close(value, 2e4 + math.log(2.0), dtype=dtype)
    assert_close(gp, [0.0, -1.0, -0.5], dtype=dtype)
    assert_close(gn, [0.0, 1.0, 0.5], dtype=dtype)
    y = np.array([1.0, 1.0, -1.0])
    value, (g1,) = _vg(xploss.margin_ranking, backend, (pos, neg, y), (0,), dtype, reduction="sum")
    assert_close(value, 2e4, dtype=dtype)
    assert_close(g1, [0.0, -1.0, 1.0], dtype=dtype)


# -- 2. kinks: torch's clamp_min and torch.minimum ---------------------------------------------------

def test_torch_hinges_pass_the_full_gradient_at_zero(backend: Backend) -> None:
    x1, x2, y = np.array([1.0, 0.5]), np.array([0.5, 1.0]), np.array([1.0, -1.0])
    _, (g1, g2, gy) = _vg(xploss.margin_ranking, backend, (x1, x2, y), (0, 1, 2), margin=0.5, reduction="sum")
    assert_close(g1, [-1.0, 1.0], dtype="float64")  # z = 0.5 - y (x1 - x2) = 0 on both rows
    assert_close(g2, [1.0, -1.0], dtype="float64")
    assert_close(gy, [-0.5, 0.5], dtype="float64")
    _, (g,) = _vg(xploss.hinge_embedding, backend, (np.array([1.0, 2.0]), np.array([-1, -1])), (0,),
                  margin=1.0, reduction="sum")
    assert_close(g, [-1.0, 0.0], dtype="float64")


def test_triplet_swap_tie_splits_the_gradient(backend: Backend) -> None:
    """d(a, n) = d(p, n) exactly: torch.minimum gives each half of the gradient (built-in cosine distance, and
    the hinge of a callable distance)."""
    a, p, n = np.array([[0.0, 1.0]]), np.array([[0.0, -1.0]]), np.array([[1.0, 0.0]])
    _, (ga, gp, gn) = _vg(xploss.triplet_margin_with_distance, backend, (a, p, n), (0, 1, 2), distance="cosine",
                          margin=0.5, swap=True, reduction="sum")
    assert_close(ga, [[0.5, 0.0]], dtype="float64")  # without the split: [[1, 0]] and [[0, 0]]
    assert_close(gp, [[0.5, 0.0]], dtype="float64")
    assert_close(gn, [[0.0, 0.0]], dtype="float64")
    if backend is Backend.ARRAY_API_STRICT:
        return
    n = np.array([[2.0, 0.0]])  # plain squared distances 4, 5, 5
    _, (ga, gp, gn) = _vg(xploss.triplet_margin_with_distance, backend, (a, p, n), (0, 1, 2),
                          distance=squared_distance, margin=10.0, swap=True, reduction="sum")
    assert_close(ga, [[2.0, 3.0]], dtype="float64")
    assert_close(gp, [[2.0, -3.0]], dtype="float64")
    assert_close(gn, [[-4.0, 0.0]], dtype="float64")


# -- 3. callable distances -------------------------------------------------------------------------

def _native_distance(b: Backend):
    """``|x - y + 1e-6|²`` in the backend's own ops (equal to distance="squared_euclidean")."""
    if b is Backend.TORCH:
        import torch

        return lambda x, y: torch.sum((x - y + 1e-6) ** 2, dim=-1)
    if b is Backend.JAX:
        import jax.numpy as jnp

        return lambda x, y: jnp.sum((x - y + 1e-6) ** 2, axis=-1)
    if b is Backend.TENSORFLOW:
        import tensorflow as tf

        return lambda x, y: tf.reduce_sum((x - y + 1e-6) ** 2, axis=-1)
    return lambda x, y: xploss.array_namespace(x, y).sum((x - y + 1e-6) ** 2, axis=-1)


@pytest.mark.parametrize("swap", [False, True], ids=["plain", "swap"])
def test_callable_distance_matches_builtin(backend: Backend, swap: bool) -> None:
    args = (X1, X2, X3)
    kw = {"margin": 2.0, "swap": swap, "sample_weight": to_backend(backend, np.array([0.5, 1.0, 2.0, 1.5]))}
    ref_value, ref_grads = _vg(xploss.triplet_margin_with_distance, Backend.NUMPY, args, (0, 1, 2),
                               distance="squared_euclidean", margin=2.0, swap=swap,
                               sample_weight=np.array([0.5, 1.0, 2.0, 1.5]))
    dist = _native_distance(backend)
    if backend is Backend.ARRAY_API_STRICT:  # values work; gradients do not reach the embeddings
        xs = tuple(to_backend(backend, a, "float64") for a in args)
        got = xploss.triplet_margin_with_distance(*xs, distance=dist, **kw)
        assert_close(got, ref_value, dtype="float64", b=backend)
        with pytest.raises(xploss.XplossError, match="array_api_strict"):
            xploss.value_and_grad(lambda *a: xploss.triplet_margin_with_distance(*a, distance=dist, **kw),
                                  argnums=(0, 1, 2))(*xs)
        return
    value, grads = _vg(xploss.triplet_margin_with_distance, backend, args, (0, 1, 2), distance=dist, **kw)
    assert_close(value, ref_value, dtype="float64")
    for g, e in zip(grads, ref_grads):
        assert_close(g, e, dtype="float64")


def test_callable_distance_under_jax_jit() -> None:
    jax = _load(Backend.JAX)
    import jax.numpy as jnp

    def f(a, p, n):
        return xploss.triplet_margin_with_distance(a, p, n, distance=squared_distance, margin=2.0, swap=True)

    xs = tuple(jnp.asarray(x) for x in (X1, X2, X3))
    eager = jax.value_and_grad(f, argnums=(0, 1, 2))(*xs)
    compiled = jax.jit(jax.value_and_grad(f, argnums=(0, 1, 2)))(*xs)
    ref = np.mean(ref_triplet_distance(X1, X2, X3, distance=squared_distance, margin=2.0, swap=True))
    assert_close(compiled[0], ref, dtype="float64")
    for g, e in zip(compiled[1], eager[1]):
        assert_close(g, to_numpy(e), dtype="float64")


@pytest.mark.slow
def test_callable_distance_compiles() -> None:
    """torch.compile(fullgraph=True) and tf.function(jit_compile=True) trace the user's distance and the hinge."""
    torch, tf = _load(Backend.TORCH), _load(Backend.TENSORFLOW)
    ref = np.mean(ref_triplet_distance(X1, X2, X3, distance=squared_distance, margin=2.0, swap=True))

    def f(a, p, n):
        return xploss.triplet_margin_with_distance(a, p, n, distance=squared_distance, margin=2.0, swap=True)

    torch._dynamo.reset()
    xs = [torch.tensor(x, requires_grad=True) for x in (X1, X2, X3)]
    value = torch.compile(f, backend="eager", fullgraph=True)(*xs)
    value.backward()
    assert_close(value, ref, dtype="float64")
    eager = _vg(f, Backend.TORCH, (X1, X2, X3), (0, 1, 2))[1]
    for x, e in zip(xs, eager):
        assert_close(x.grad, e, dtype="float64")
    compiled = tf.function(xploss.value_and_grad(f, argnums=(0, 1, 2)), jit_compile=True)
    value, grads = compiled(*(tf.constant(x) for x in (X1, X2, X3)))
    assert_close(value, ref, dtype="float64")
    for g, e in zip(grads, eager):
        assert_close(g, e, dtype="float64")


# -- 4. errors --------------------------------------------------------------------------------------

def _error_calls(T):
    y4 = T(np.array([1, 0, 1, 0]))
    return [
        (lambda: xploss.contrastive(T(X1), T(X2), T(np.array([1, 0]))), "contrastive", "labels", "shape (2,)"),
        (lambda: xploss.contrastive(T(X1), T(X2), T(np.array([1.0, 0.0, 1.0, 0.0], dtype="float32"))),
         "contrastive", "labels", "dtype float32"),
        (lambda: xploss.contrastive(T(X1), T(X2[:, :2]), y4), "contrastive", "x2", "shape (4, 2)"),
        (lambda: xploss.contrastive(T(X1), T(X2), T(np.array([1, 0, 2, 0]))), "contrastive", "labels",
         "values from 0.0 to 2.0"),
        (lambda: xploss.contrastive(T(X1), T(X2), y4, margin=-1.0), "contrastive", "margin", "-1.0"),
        (lambda: xploss.contrastive(T(X1), T(X2), y4, distance="cosine"), "contrastive", "distance", "'cosine'"),
        (lambda: xploss.contrastive_from_distances(T(np.array([1.0, -0.5])), T(np.array([1, 0]))),
         "contrastive_from_distances", "distances", "a minimum of -0.5"),
        (lambda: xploss.cosine_embedding(T(X1), T(X2), T(np.ones((4, 1)))), "cosine_embedding", "labels",
         "shape (4, 1)"),
        (lambda: xploss.margin_ranking(T(X1), T(X2), T(np.ones(3))), "margin_ranking", "labels", "shape (3,)"),
        (lambda: xploss.margin_ranking(T(X1), T(X2), T(np.ones((3, 1)))), "margin_ranking", "labels",
         "shape (3, 1)"),
        (lambda: xploss.hinge_embedding(T(np.ones(3, dtype="int64")), T(np.ones(3))), "hinge_embedding", "x",
         "int64"),
        (lambda: xploss.cosine_similarity(T(X1), T(X2), axis=2), "cosine_similarity", "axis", "2"),
        (lambda: xploss.cosine_distance(T(X1), T(X2), epsilon=-1.0), "cosine_distance", "epsilon", "-1.0"),
        (lambda: xploss.triplet_margin_with_distance(T(X1), T(X2), T(X3[:, :2])), "triplet_margin_with_distance",
         "negative", "shape (4, 2)"),
        (lambda: xploss.triplet_margin_with_distance(T(X1), T(X2), T(X3), margin=-0.1),
         "triplet_margin_with_distance", "margin", "-0.1"),
        (lambda: xploss.triplet_margin_with_distance(T(X1), T(X2), T(X3), distance="manhattan"),
         "triplet_margin_with_distance", "distance", "'manhattan'"),
        (lambda: xploss.triplet_margin_with_distance(T(X1), T(X2), T(X3), distance=lambda x, y: x - y),
         "triplet_margin_with_distance", "distance", "shape (4, 3)"),
        (lambda: xploss.bpr(T(X1), T(X2[:2])), "bpr", "neg_scores", "shape (2, 3)"),
    ]


def test_errors_name_the_argument(backend: Backend) -> None:
    for call, fn, arg, received in _error_calls(lambda a: to_backend(backend, a)):
        with pytest.raises(xploss.XplossError) as info:
            call()
        message = str(info.value)
        assert f"xploss.{fn}: argument `{arg}`" in message and received in message, message


def test_errors_under_jax_jit_and_traced_nan() -> None:
    jax = _load(Backend.JAX)
    import jax.numpy as jnp

    x1, x2 = jnp.asarray(X1), jnp.asarray(X2)
    with pytest.raises(xploss.XplossError, match="argument `labels`"):
        jax.jit(lambda a, y: xploss.contrastive(a, x2, y))(x1, jnp.asarray(np.array([1, 0])))
    with pytest.raises(xploss.XplossError, match="argument `x2`"):
        jax.jit(lambda a, b: xploss.cosine_embedding(a, b, jnp.asarray(np.ones(4))))(x1, x2[:, :2])
    with pytest.raises(xploss.XplossError, match="argument `distance`"):
        jax.jit(lambda a: xploss.triplet_margin_with_distance(a, a, a, distance=lambda u, v: u))(x1)
    # traced label values cannot raise: NaN for the pairs concerned, the others untouched
    per = jax.jit(lambda y: xploss.contrastive(x1, x2, y, reduction="none"))(jnp.asarray(np.array([1, 0, 2, 1])))
    per = to_numpy(per)
    assert np.isnan(per[2]) and np.all(np.isfinite(per[[0, 1, 3]]))
    d = jax.jit(lambda d: xploss.contrastive_from_distances(d, jnp.asarray(np.array([1, 0])), reduction="none"))(
        jnp.asarray(np.array([-1.0, 0.5])))
    assert np.isnan(to_numpy(d)[0]) and np.isfinite(to_numpy(d)[1])


# -- 5. second order (smooth away from the kinks) -----------------------------------------------------

def _smooth(torch, name: str):
    """Losses smooth at the sampled points (every hinge strictly active or inactive), as functions of 3 arrays."""
    y01, ypm = torch.tensor(np.array([1, 0, 1, 0])), torch.tensor(np.array([1, -1, 1, -1]))
    return {
        "contrastive": lambda a, b, c: xploss.contrastive(a, b, y01, margin=3.0),
        "contrastive-soft": lambda a, b, c: xploss.contrastive(a, b, 0.5 + 0.1 * c[:, 0], margin=3.0),
        "cosine_embedding": lambda a, b, c: xploss.cosine_embedding(a, b, ypm, margin=-1.5),
        "cosine_similarity": lambda a, b, c: xploss.cosine_similarity(a, b),
        "cosine_distance": lambda a, b, c: xploss.cosine_distance(a, b, axis=0),
        "triplet-cosine": lambda a, b, c: xploss.triplet_margin_with_distance(a, b, c, distance="cosine",
                                                                              margin=3.0),
        "bpr": lambda a, b, c: xploss.bpr(a, b),
    }[name]


SMOOTH = ["contrastive", "contrastive-soft", "cosine_embedding", "cosine_similarity", "cosine_distance",
          "triplet-cosine", "bpr"]


@pytest.mark.parametrize("name", SMOOTH)
def test_gradgradcheck_torch(name: str) -> None:
    torch = _load(Backend.TORCH)
    xs = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in (X1, X2, X3)]
    assert torch.autograd.gradgradcheck(_smooth(torch, name), xs)


def test_jax_hessian_matches_torch() -> None:
    torch, jax = _load(Backend.TORCH), _load(Backend.JAX)
    import jax.numpy as jnp

    def jf(a):
        return xploss.cosine_similarity(a, jnp.asarray(X2)) + xploss.bpr(a, jnp.asarray(X3))

    def tf_(a):
        return xploss.cosine_similarity(a, torch.tensor(X2)) + xploss.bpr(a, torch.tensor(X3))

    hj = to_numpy(jax.hessian(jf)(jnp.asarray(X1)))
    ht = torch.autograd.functional.hessian(tf_, torch.tensor(X1)).numpy()
    assert_close(hj, ht, dtype="float64")


# -- 6. data: TF Addons' docstring example --------------------------------------------------------

def test_tfa_docstring_distances() -> None:
    """tensorflow/addons ``losses/contrastive.py`` docstring: ``tf.linalg.norm(a - b, axis=1)`` of these a, b in
    float16 prints ``[8.06, 2., 4.473]``; xploss' similar-pair loss is d² = [65, 4, 20]."""
    a = np.array([[1, 2], [3, 4], [5, 6]], dtype=np.float16)
    b = np.array([[5, 9], [3, 6], [1, 8]], dtype=np.float16)
    tfa_printed = np.array([8.06, 2.0, 4.473], dtype=np.float16)
    per = xploss.contrastive(a, b, np.array([1, 1, 1]), reduction="none")
    assert per.dtype == np.float16 and per.tolist() == [65.0, 4.0, 20.0]
    assert np.array_equal(np.sqrt(per.astype(np.float32)).astype(np.float16), tfa_printed)


# -- 7. properties (NumPy, float64) -------------------------------------------------------------------

SEEDS = st.integers(0, 2**32 - 1)


@PROPERTY
@given(seed=SEEDS, scale=st.floats(1e-3, 1e3), perm_seed=SEEDS)
def test_cosines_scale_and_permutation_invariant(seed: int, scale: float, perm_seed: int) -> None:
    rng = np.random.default_rng(seed)
    p, t = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    perm = np.random.default_rng(perm_seed).permutation(5)
    for fn, ref in ((xploss.cosine_similarity, ref_cosine_similarity), (xploss.cosine_distance, ref_cosine_distance)):
        base = fn(p, t)
        assert_close(fn(scale * p, t / scale), base, dtype="float64")
        assert_close(fn(p[perm], t[perm]), base, dtype="float64")
        assert_close(fn(p, t, reduction="none"), ref(p, t), dtype="float64")


@PROPERTY
@given(seed=SEEDS, margin=st.floats(0.0, 2.0))
def test_pair_symmetries(seed: int, margin: float) -> None:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    y01, ypm = rng.integers(0, 2, 5), rng.choice([-1.0, 1.0], size=(5, 3))
    assert_close(xploss.contrastive(x1, x2, y01, margin=margin, reduction="none"),
                 xploss.contrastive(x2, x1, y01, margin=margin, reduction="none"), dtype="float64")
    assert_close(xploss.contrastive(x1, x2, y01, margin=margin, reduction="none"),
                 ref_contrastive(x1, x2, y01, margin=margin), dtype="float64")
    assert_close(xploss.margin_ranking(x1, x2, ypm, margin=margin, reduction="none"),
                 xploss.margin_ranking(x2, x1, -ypm, margin=margin, reduction="none"), dtype="float64")
    assert_close(xploss.bpr(x1, x2, reduction="none"), xploss.sigmoid_binary_cross_entropy(
        x1 - x2, np.ones((5, 3)), reduction="none"), dtype="float64")
    assert_close(xploss.bpr(x1, x2, reduction="none"), np.logaddexp(0.0, x2 - x1), dtype="float64")

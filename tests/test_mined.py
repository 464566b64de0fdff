"""The mined losses (``xploss.losses._mined``) beyond the generic table of ``cases_mined.py``.

On every backend: coincident embeddings (d = 0) give finite values and the documented subgradient (0 for
the root, checked against central differences of the loop references, which are 0 at a cone's tip);
batches without a valid positive or negative give exactly 0 with a zero gradient; zero embeddings under
normalisation stay finite; ties go to the first index.  Input errors name their argument, eagerly and
under ``jax.jit``.  Second order by ``torch.autograd.gradgradcheck``.  NumPy: exact distance ties (integer
grids), an ``N = 64`` batch against a vectorised ``O(N³)`` formula, and hypothesis properties (batch
permutation, embedding scale under normalisation).
"""

from __future__ import annotations

import cases  # noqa: F401 - loads cases_mined (imported by the table; importing it first is circular)
import numpy as np
import pytest
from cases_mined import ref_all, ref_hard, ref_lifted, ref_semi  # noqa: E402, I001
from conftest import Backend, _load
from helpers import assert_close, to_backend, to_numpy
from hypothesis import given, settings
from hypothesis import strategies as st

import xploss

MINED = [xploss.batch_hard_triplet, xploss.batch_semi_hard_triplet, xploss.batch_all_triplet, xploss.lifted_structure]
REFS = {xploss.batch_hard_triplet: ref_hard, xploss.batch_semi_hard_triplet: ref_semi,
        xploss.batch_all_triplet: ref_all, xploss.lifted_structure: ref_lifted}
IDS = [f.__name__ for f in MINED]


def _vg(b: Backend, fn, x: np.ndarray, labels: np.ndarray, reduction: str = "mean", w=None, **opts):
    xs = (to_backend(b, x, "float64"),)
    y = to_backend(b, labels)
    if w is None:
        return xploss.value_and_grad(lambda e: fn(e, y, reduction=reduction, **opts))(*xs)
    return xploss.value_and_grad(lambda e, w_: fn(e, y, sample_weight=w_, reduction=reduction, **opts),
                                 argnums=(0, 1))(*xs, to_backend(b, w, "float64"))


def _fd(f, x: np.ndarray, step: float = 1e-6) -> np.ndarray:
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        hi, lo = x.copy(), x.copy()
        hi[i] += step
        lo[i] -= step
        g[i] = (f(hi) - f(lo)) / (2 * step)
    return g


# -- edges ----------------------------------------------------------------------------------------

COINCIDENT = np.array([[0.3, -0.2, 0.5], [0.3, -0.2, 0.5], [1.4, 0.9, -0.3], [1.1, -1.3, 0.2], [-0.8, 0.4, 1.2]])
COINCIDENT_LABELS = np.array([0, 0, 1, 1, 2])


@pytest.mark.parametrize("fn", MINED, ids=IDS)
def test_coincident_positives_take_the_zero_subgradient(backend: Backend, fn) -> None:
    """Rows 0 and 1 coincide (d = 0): finite, and the gradient is central differences of the reference
    (0 for the root at the cone's tip).  Only the anchors 0 and 1 are weighted: for the others the two rows
    are tied negatives, whose gradient goes to the first one (``test_batch_hard_ties_go_to_the_first_index``)."""
    ref = REFS[fn]
    w = np.array([1.0, 1.0, 0.0, 0.0, 0.0])
    value, (grad, _) = _vg(backend, fn, COINCIDENT, COINCIDENT_LABELS, reduction="sum", w=w, margin=2.0)

    def f(x):
        return np.sum(w * ref(x, COINCIDENT_LABELS, margin=2.0))

    assert to_numpy(value) > 0
    assert_close(value, f(COINCIDENT), dtype="float64", b=backend)
    # rtol 1e-6: a cone term |h| times a linear one leaves an O(step) error in the central difference
    assert_close(grad, _fd(f, COINCIDENT, step=1e-7), dtype="float64", b=backend, rtol=1e-6)


@pytest.mark.parametrize("labels", [np.arange(5), np.zeros(5, dtype=np.int64)], ids=["all-distinct", "one-class"])
@pytest.mark.parametrize("fn", MINED, ids=IDS)
def test_no_valid_item_is_exactly_zero(backend: Backend, fn, labels: np.ndarray) -> None:
    """No positive pair, or no negative: exactly 0, zero gradients (TF Addons: NaN or a spurious term)."""
    x = np.random.default_rng(0).normal(size=(5, 3))
    w = np.linspace(0.5, 2.0, 5)
    for reduction in ("mean", "weighted_mean"):
        value, (gx, gw) = _vg(backend, fn, x, labels, reduction=reduction, w=w)
        assert to_numpy(value) == 0.0, reduction
        assert np.all(to_numpy(gx) == 0.0) and np.all(to_numpy(gw) == 0.0), (reduction, to_numpy(gx), to_numpy(gw))


def test_multi_similarity_empty_sets_are_zero_logits(backend: Backend) -> None:
    """One class: the negative term is log(1 + 0) = 0; all distinct: the positive term is 0 (PML)."""
    x = np.random.default_rng(1).normal(size=(4, 3))
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    s = xn @ xn.T
    off = ~np.eye(4, dtype=bool)
    one = np.mean([np.log1p(np.sum(np.exp(-2.0 * (s[a][off[a]] - 0.5)))) / 2.0 for a in range(4)])
    distinct = np.mean([np.log1p(np.sum(np.exp(50.0 * (s[a][off[a]] - 0.5)))) / 50.0 for a in range(4)])
    for labels, expected in ((np.zeros(4, dtype=np.int64), one), (np.arange(4), distinct)):
        value, grad = _vg(backend, xploss.multi_similarity, x, labels)
        assert_close(value, expected, dtype="float64", b=backend)
        assert np.all(np.isfinite(to_numpy(grad)))


@pytest.mark.parametrize("call", [
    lambda e, y: xploss.multi_similarity(e, y),
    lambda e, y: xploss.batch_hard_triplet(e, y, distance="cosine"),
    lambda e, y: xploss.batch_all_triplet(e, y, normalize=True, margin=0.2),
    lambda e, y: xploss.lifted_structure(e, y, normalize=True),
    lambda e, y: xploss.n_pairs(e, e, labels=y, similarity="cosine"),
], ids=["multi_similarity", "hard-cosine", "all-normalize", "lifted-normalize", "n_pairs-cosine"])
def test_zero_embedding_under_normalisation_is_finite(backend: Backend, call) -> None:
    """A zero row normalises to 0 (F.normalize); value and gradient finite, equal to NumPy's."""
    x = np.random.default_rng(2).normal(size=(6, 3))
    x[2] = 0.0
    labels = np.array([0, 0, 1, 1, 2, 2])
    v_np, g_np = xploss.value_and_grad(lambda e: call(e, labels))(x)
    y = to_backend(backend, labels)
    value, grad = xploss.value_and_grad(lambda e: call(e, y))(to_backend(backend, x, "float64"))
    assert np.isfinite(to_numpy(value)) and np.all(np.isfinite(to_numpy(grad)))
    assert_close(value, v_np, dtype="float64", b=backend)
    assert_close(grad, g_np, dtype="float64", b=backend)


def test_batch_hard_ties_go_to_the_first_index(backend: Backend) -> None:
    """Two positives at the same distance: only the lower index receives the gradient."""
    x = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.5, 0.2]])
    labels = np.array([0, 0, 0, 1])
    # anchor 0 alone (weight 1): hp = d01 = d02 = 1 (a tie), hn = d03; its positive term pulls only row 1
    value, (grad, _) = _vg(backend, xploss.batch_hard_triplet, x, labels, reduction="sum", margin=1.0,
                           w=np.array([1.0, 0.0, 0.0, 0.0]))
    g = to_numpy(grad)
    assert to_numpy(value) > 0
    assert np.all(g[2] == 0.0) and np.any(g[1] != 0.0), g


@pytest.mark.parametrize("fn", [xploss.batch_semi_hard_triplet, xploss.batch_all_triplet], ids=["semi", "all"])
def test_sort_based_losses_on_large_scale_embeddings(backend: Backend, fn) -> None:
    """±1e4-scale embeddings: finite values and gradients, and the value matches the loop reference."""
    x = 1e4 * np.random.default_rng(4).normal(size=(6, 3))
    labels = np.array([0, 0, 1, 1, 1, 2])
    value, grad = _vg(backend, fn, x, labels, reduction="sum")
    assert np.all(np.isfinite(to_numpy(grad)))
    assert_close(value, np.sum(REFS[fn](x, labels)), dtype="float64", b=backend)


# -- errors ------------------------------------------------------------------------------------------

X8 = np.random.default_rng(5).normal(size=(4, 3))
Y8 = np.array([0, 0, 1, 1])
BAD = [
    ("labels shape", lambda T: xploss.batch_hard_triplet(T(X8), T(np.array([0, 1, 0]))), "labels"),
    ("labels 2-d", lambda T: xploss.batch_all_triplet(T(X8), T(Y8[:, None])), "labels"),
    ("labels float", lambda T: xploss.lifted_structure(T(X8), T(Y8.astype(np.float64))), "labels"),
    ("embeddings 1-d", lambda T: xploss.batch_semi_hard_triplet(T(X8[0]), T(Y8[:3])), "embeddings"),
    ("negative margin", lambda T: xploss.batch_hard_triplet(T(X8), T(Y8), margin=-0.1), "margin"),
    ("unknown distance", lambda T: xploss.batch_all_triplet(T(X8), T(Y8), distance="l1"), "distance"),
    ("unknown average", lambda T: xploss.batch_all_triplet(T(X8), T(Y8), average="mean"), "average"),
    ("alpha <= 0", lambda T: xploss.multi_similarity(T(X8), T(Y8), alpha=0.0), "alpha"),
    ("n_pairs D", lambda T: xploss.n_pairs(T(X8), T(X8[:, :2])), "positives"),
    ("n_pairs labels", lambda T: xploss.n_pairs(T(X8), T(X8), labels=T(Y8[:2])), "labels"),
    ("similarity", lambda T: xploss.n_pairs(T(X8), T(X8), similarity="l2"), "similarity"),
]


@pytest.mark.parametrize("call,arg", [(c, a) for _, c, a in BAD], ids=[n for n, _, _ in BAD])
def test_bad_input_names_the_argument(backend: Backend, call, arg: str) -> None:
    with pytest.raises(xploss.XplossError, match=f"argument `{arg}`"):
        call(lambda a: to_backend(backend, a))


@pytest.mark.parametrize("call,arg", [(c, a) for _, c, a in BAD], ids=[n for n, _, _ in BAD])
def test_bad_input_names_the_argument_under_jit(call, arg: str) -> None:
    """The same errors with every array a tracer of ``jax.jit``."""
    jax = _load(Backend.JAX)
    import jax.numpy as jnp

    seen: list = []

    def record(a):
        seen.append(np.asarray(a))
        return a

    with pytest.raises(xploss.XplossError):
        call(record)  # the arguments are built before the call raises

    def traced(*arrays):
        it = iter(arrays)
        return call(lambda _: next(it))

    with pytest.raises(xploss.XplossError, match=f"argument `{arg}`"):
        jax.jit(traced)(*(jnp.asarray(a) for a in seen))


# -- second order -------------------------------------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda e, y: xploss.lifted_structure(e, y, margin=2.0),
    lambda e, y: xploss.multi_similarity(e, y, beta=10.0),
    lambda e, y: xploss.batch_hard_triplet(e, y, soft=True),
    lambda e, y: xploss.n_pairs(e, e.flip(0), labels=y),
], ids=["lifted_structure", "multi_similarity", "batch_hard-soft", "n_pairs"])
def test_torch_gradgradcheck(call) -> None:
    torch = _load(Backend.TORCH)
    x = torch.tensor(np.random.default_rng(6).normal(size=(6, 3)), dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 0, 1, 1, 2, 2])
    assert torch.autograd.gradgradcheck(lambda e: call(e, y), (x,))


# -- NumPy: ties, a larger batch, properties ----------------------------------------------------------

@pytest.mark.parametrize("fn", MINED, ids=IDS)
def test_exact_distance_ties_match_the_reference(fn) -> None:
    """Integer grid points: many exactly equal distances; the values do not depend on the tie rule."""
    x = np.random.default_rng(7).integers(-2, 3, size=(8, 2)).astype(np.float64)
    labels = np.array([0, 0, 1, 1, 1, 2, 2, 3])
    for distance in ("euclidean", "squared_euclidean"):
        got = fn(x, labels, reduction="none", distance=distance, margin=1.0)
        assert_close(got, REFS[fn](x, labels, distance=distance, margin=1.0), dtype="float64")


def test_batch_all_on_64_rows_matches_the_cubic_formula() -> None:
    rng = np.random.default_rng(8)
    x, labels = rng.normal(size=(64, 4)), rng.integers(0, 6, size=64)
    d = np.sqrt(np.sum((x[:, None] - x[None]) ** 2, axis=-1))
    same = (labels[:, None] == labels[None]) & ~np.eye(64, dtype=bool)
    diff = labels[:, None] != labels[None]
    t = np.maximum(d[:, :, None] - d[:, None, :] + 0.5, 0.0) * same[:, :, None] * diff[:, None, :]
    for average, den in (("nonzero", np.sum(t > 0)), ("all", np.sum(same[:, :, None] & diff[:, None, :]))):
        assert_close(xploss.batch_all_triplet(x, labels, margin=0.5, average=average), t.sum() / den,
                     dtype="float64")
    v, g = xploss.value_and_grad(lambda e: xploss.batch_all_triplet(e, labels, margin=0.5, reduction="sum"))(x)
    assert_close(v, t.sum(), dtype="float64")
    assert np.all(np.isfinite(g))


PROPERTY = settings(max_examples=10, deadline=None)


@PROPERTY
@given(seed=st.integers(0, 2**32 - 1))
def test_permuting_the_batch_changes_nothing(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x, labels = rng.normal(size=(7, 3)), rng.integers(0, 3, size=7)
    perm = rng.permutation(7)
    for fn in (*MINED, xploss.multi_similarity):
        assert_close(fn(x[perm], labels[perm]), fn(x, labels), dtype="float64", what=fn.__name__)
        assert_close(fn(x[perm], labels[perm], reduction="none"), fn(x, labels, reduction="none")[perm],
                     dtype="float64", what=fn.__name__)
    assert_close(xploss.n_pairs(x[perm], x[::-1][perm], labels=labels[perm]),
                 xploss.n_pairs(x, x[::-1], labels=labels), dtype="float64")


@PROPERTY
@given(seed=st.integers(0, 2**32 - 1), scale=st.floats(1e-3, 1e3))
def test_normalised_losses_ignore_the_embedding_scale(seed: int, scale: float) -> None:
    rng = np.random.default_rng(seed)
    x, labels = rng.normal(size=(7, 3)), rng.integers(0, 3, size=7)
    calls = [lambda e: xploss.multi_similarity(e, labels),
             lambda e: xploss.batch_hard_triplet(e, labels, normalize=True),
             lambda e: xploss.batch_semi_hard_triplet(e, labels, distance="cosine"),
             lambda e: xploss.lifted_structure(e, labels, normalize=True),
             lambda e: xploss.n_pairs(e, e[::-1], similarity="cosine")]
    for call in calls:
        assert_close(call(scale * x), call(x), dtype="float64")


@pytest.mark.parametrize("fn", [xploss.batch_all_triplet, xploss.batch_semi_hard_triplet], ids=["all", "semi"])
def test_no_cubic_memory(fn) -> None:
    """N = 256 on NumPy: the value and gradient peak well below one (N, N, N) float64 tensor (128 MiB)."""
    import tracemalloc

    rng = np.random.default_rng(9)
    x, labels = rng.normal(size=(256, 8)), rng.integers(0, 20, size=256)
    tracemalloc.start()
    try:
        xploss.value_and_grad(lambda e: fn(e, labels))(x)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 32 * 2**20, f"peak {peak / 2**20:.1f} MiB"


def test_tensorflow_unknown_batch_size() -> None:
    """``tf.function`` with a ``None`` batch dimension (as Keras ``fit`` traces): equal to eager."""
    tf = _load(Backend.TENSORFLOW)
    x, labels = np.random.default_rng(10).normal(size=(6, 3)), np.array([0, 0, 1, 1, 2, 2])
    spec = [tf.TensorSpec([None, 3], tf.float64), tf.TensorSpec([None], tf.int64)]
    # four of the eight (all eight traced took 20 s of the default suite): a triplet miner, the pairwise lifted
    # structure, multi_similarity, n_pairs with labels
    for fn in (MINED[0], MINED[3], xploss.multi_similarity, lambda e, y: xploss.n_pairs(e, e[::-1], labels=y)):
        traced = tf.function(lambda e, y, fn=fn: xploss.value_and_grad(lambda e_: fn(e_, y))(e), input_signature=spec)
        value, grad = traced(tf.constant(x), tf.constant(labels))
        v0, g0 = xploss.value_and_grad(lambda e_, fn=fn: fn(e_, labels))(x)
        assert_close(value, v0, dtype="float64")
        assert_close(grad, g0, dtype="float64")

"""Edges, learnable temperature / scale, errors, second order, row blocking, memory and properties of the
in-batch contrastive losses (``nt_xent``, ``info_nce``, ``supcon``, ``clip``, ``circle``) beyond the generic
table of ``test_losses.py``.

Documented conventions under test (``xploss/losses/_contrastive.py``):

* a zero embedding normalises to 0 (torch's eps): finite value and gradient; coincident embeddings are finite;
* an anchor without a positive (SupCon singleton, InfoNCE query without a same-label key) or, for Circle,
  without a positive or a negative: loss exactly 0 with a zero gradient, left out of ``"mean"``; a batch
  with none at all gives exactly 0 (never NaN);
* ±1e4-scale logits stay finite (the log-sum-exps subtract the maximum);
* the row-blocked core gives the numbers of one block, with the memory of one block.
"""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest
from cases import BY_ID  # noqa: F401 - imports the family tables in order
from cases_contrastive import ref_circle, ref_clip, ref_nt_xent, ref_supcon
from conftest import Backend, _load
from helpers import assert_close, to_backend, to_numpy
from hypothesis import given, settings
from hypothesis import strategies as st

import xploss
from xploss.losses import _contrastive

PROPERTY = settings(max_examples=20, deadline=None)
RNG = np.random.default_rng(20261202)
Z1 = RNG.normal(size=(4, 3))
Z2 = Z1 + 0.5 * RNG.normal(size=(4, 3))
F = RNG.normal(size=(5, 3))
L = np.array([0, 1, 0, 2, 1])
TAU = 0.4


def _grad(b: Backend, f, *xs: np.ndarray, dtype: str = "float64"):
    value, grads = xploss.value_and_grad(f, argnums=tuple(range(len(xs))))(*(to_backend(b, x, dtype) for x in xs))
    return to_numpy(value), [to_numpy(g) for g in grads]


# -- 1. edges ----------------------------------------------------------------------------------

def test_zero_and_coincident_embeddings_are_finite(backend: Backend) -> None:
    z1 = Z1.copy()
    z1[0] = 0.0  # a zero view
    z2 = Z2.copy()
    z2[1] = z1[1]  # coincident views
    value, (g1, g2) = _grad(backend, lambda a, c: xploss.nt_xent(a, c, temperature=TAU), z1, z2)
    assert_close(value, ref_nt_xent(z1, z2, temperature=TAU).mean(), dtype="float64")
    assert np.all(np.isfinite(g1)) and np.all(np.isfinite(g2))
    yb = to_backend(backend, np.array([0, 0, 1, 1]))
    value, (gc,) = _grad(backend, lambda a: xploss.circle(a, yb, gamma=16.0, margin=0.25), np.vstack([z1, z1[:1]])[:4])
    assert np.isfinite(value) and np.all(np.isfinite(gc))


@pytest.mark.parametrize("reduction", ["mean", "weighted_mean", "sum"])
def test_no_positive_anywhere_is_exactly_zero(backend: Backend, reduction: str) -> None:
    """All-distinct labels, one view: no anchor has a positive (SupCon, InfoNCE with labels); one class:
    no anchor has a negative (Circle).  Exactly 0, zero gradients, never NaN."""
    w = to_backend(backend, np.ones(5))
    distinct, same = to_backend(backend, np.arange(5)), to_backend(backend, np.zeros(5, dtype=np.int64))
    other = to_backend(backend, np.arange(5) + 10)
    losses = [
        lambda x: xploss.supcon(x, distinct, reduction=reduction, sample_weight=w),
        lambda x: xploss.info_nce(x, x, labels=distinct, key_labels=other, reduction=reduction, sample_weight=w),
        lambda x: xploss.circle(x, same, reduction=reduction, sample_weight=w),
    ]
    for f in losses:
        value, (g,) = _grad(backend, f, F)
        assert value == 0.0 and np.all(g == 0.0), (value, g)


def test_positive_less_anchor_is_left_out_of_the_mean(backend: Backend) -> None:
    labels = np.array([0, 1, 0, 3, 1])  # label 3: no positive
    yb = to_backend(backend, labels)
    per = to_numpy(xploss.supcon(to_backend(backend, F), yb, reduction="none"))
    assert per[3] == 0.0
    mean = to_numpy(xploss.supcon(to_backend(backend, F), yb))
    assert_close(mean, per.sum() / 4, dtype="float64")
    assert to_numpy(xploss.supcon(to_backend(backend, F), yb, reduction="count")) == 4.0
    assert to_numpy(xploss.supcon(to_backend(backend, F), yb, count="all", reduction="count")) == 5.0
    _, (g,) = _grad(backend, lambda x: xploss.supcon(x, yb, reduction="sum"), F)
    ref = ref_supcon(F, labels)
    assert_close(per, ref, dtype="float64")
    assert np.all(np.isfinite(g))


def test_huge_logits_stay_finite(backend: Backend) -> None:
    """Temperatures of 1e-4 (logits ~1e4) and a logit scale of 1e4."""
    yb = to_backend(backend, L)
    for f, xs in [
        (lambda a, c: xploss.nt_xent(a, c, temperature=1e-4), (Z1, Z2)),
        (lambda a, c: xploss.info_nce(a, c, temperature=1e-4), (Z1, Z2)),
        (lambda a: xploss.supcon(a, yb, temperature=1e-4), (F,)),
        (lambda a, c: xploss.clip(a, c, 1e4), (Z1, Z2)),
        (lambda a: xploss.circle(a, yb, gamma=1e4), (F,)),
    ]:
        value, grads = _grad(backend, f, *xs, dtype="float32")
        assert np.isfinite(value) and all(np.all(np.isfinite(g)) for g in grads), (value, grads)


# -- 2. learnable temperature / scale ------------------------------------------------------------

def _fd(f, x: float, h: float = 1e-5) -> float:
    return (-f(x + 2 * h) + 8 * f(x + h) - 8 * f(x - h) + f(x - 2 * h)) / (12 * h)


LEARNABLE = {
    "nt_xent": (lambda b, t: xploss.nt_xent(*(to_backend(b, z) for z in (Z1, Z2)), temperature=t),
                lambda t: ref_nt_xent(Z1, Z2, temperature=t).mean(), TAU),
    "supcon": (lambda b, t: xploss.supcon(to_backend(b, F), to_backend(b, L), temperature=t, base_temperature=0.07),
               lambda t: ref_supcon(F, L, temperature=t).sum() / 4, TAU),  # label 2: no positive
    "clip": (lambda b, s: xploss.clip(to_backend(b, Z1), to_backend(b, Z2), s),
             lambda s: ref_clip(Z1, Z2, s).mean(), 3.0),
    "clip-bias": (lambda b, c: xploss.clip(to_backend(b, Z1), to_backend(b, Z2), 3.0, logit_bias=c),
                  lambda c: ref_clip(Z1, Z2, 3.0, logit_bias=c).mean(), -0.7),
}


@pytest.mark.parametrize("name", list(LEARNABLE))
def test_learnable_torch(name: str) -> None:
    torch = _load(Backend.TORCH)
    f, ref, t0 = LEARNABLE[name]
    t = torch.nn.Parameter(torch.tensor(t0, dtype=torch.float64))
    out = f(Backend.TORCH, t)
    out.backward()
    assert_close(out.detach(), ref(t0), dtype="float64")
    assert_close(t.grad, _fd(ref, t0), dtype="float64", rtol=1e-7)


@pytest.mark.parametrize("name", list(LEARNABLE))
def test_learnable_jax(name: str) -> None:
    jax = _load(Backend.JAX)
    f, ref, t0 = LEARNABLE[name]
    import jax.numpy as jnp

    g = jax.grad(lambda t: f(Backend.JAX, t))(jnp.asarray(t0))
    gj = jax.jit(jax.grad(lambda t: f(Backend.JAX, t)))(jnp.asarray(t0))
    fd = _fd(ref, t0)
    assert_close(g, fd, dtype="float64", rtol=1e-7)
    assert_close(gj, fd, dtype="float64", rtol=1e-7)


@pytest.mark.parametrize("name", list(LEARNABLE))
def test_learnable_tensorflow(name: str) -> None:
    tf = _load(Backend.TENSORFLOW)
    f, ref, t0 = LEARNABLE[name]
    t = tf.Variable(t0, dtype=tf.float64)
    with tf.GradientTape() as tape:
        out = f(Backend.TENSORFLOW, t)
    assert_close(tape.gradient(out, t), _fd(ref, t0), dtype="float64", rtol=1e-7)


def test_nonpositive_temperature_traced_is_nan() -> None:
    jax = _load(Backend.JAX)
    import jax.numpy as jnp

    out = jax.jit(lambda t: xploss.nt_xent(jnp.asarray(Z1), jnp.asarray(Z2), temperature=t))(jnp.asarray(-0.5))
    assert np.isnan(to_numpy(out))


# -- 3. wrong inputs --------------------------------------------------------------------------------

BAD = {
    "label shape": (lambda xp, f: xploss.supcon(f, xp.asarray(np.array([0, 1, 0]))), "labels"),
    "float labels": (lambda xp, f: xploss.circle(f, xp.asarray(L.astype(np.float64))), "labels"),
    "mismatched D": (lambda xp, f: xploss.info_nce(f, xp.asarray(np.ones((5, 2)))), "keys"),
    "mismatched N": (lambda xp, f: xploss.nt_xent(f, xp.asarray(np.ones((4, 3)))), "z2"),
    "temperature <= 0": (lambda xp, f: xploss.nt_xent(f, f, temperature=0.0), "temperature"),
    "logit_scale <= 0": (lambda xp, f: xploss.clip(f, f, -1.0), "logit_scale"),
    "few keys": (lambda xp, f: xploss.info_nce(f, f[:3, :]), "keys"),
    "supcon 1-d": (lambda xp, f: xploss.supcon(f[:, 0], xp.asarray(L)), "features"),
    "circle gamma": (lambda xp, f: xploss.circle(f, xp.asarray(L), gamma=0.0), "gamma"),
    "directions": (lambda xp, f: xploss.nt_xent(f, f, directions="both"), "directions"),
    "count": (lambda xp, f: xploss.supcon(f, xp.asarray(L), count="some"), "count"),
}


@pytest.mark.parametrize("what", list(BAD))
def test_errors_name_the_argument(backend: Backend, what: str) -> None:
    fn, arg = BAD[what]

    class _XP:  # arrays of the backend under test
        @staticmethod
        def asarray(a: np.ndarray):
            return to_backend(backend, np.asarray(a))

    with pytest.raises(xploss.XplossError, match=f"`{arg}`"):
        fn(_XP, to_backend(backend, F))


@pytest.mark.parametrize("what", list(BAD))
def test_errors_under_jax_jit(what: str) -> None:
    jax = _load(Backend.JAX)
    import jax.numpy as jnp

    fn, arg = BAD[what]
    with pytest.raises(xploss.XplossError, match=f"`{arg}`"):
        jax.jit(lambda f: fn(jnp, f))(jnp.asarray(F))


# -- 4. second order ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["nt_xent", "supcon", "clip", "circle"])
def test_gradgradcheck_torch(name: str) -> None:
    torch = _load(Backend.TORCH)
    y = torch.from_numpy(L)
    fns = {
        "nt_xent": (lambda a, c: xploss.nt_xent(a, c, temperature=TAU), (Z1, Z2)),
        "supcon": (lambda a: xploss.supcon(a, y, temperature=TAU), (F,)),
        "clip": (lambda a, c: xploss.clip(a, c, 3.0, logit_bias=0.2), (Z1, Z2)),
        "circle": (lambda a: xploss.circle(a, y, gamma=4.0, margin=0.25), (F,)),
    }
    f, xs = fns[name]
    ts = tuple(torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs)
    assert torch.autograd.gradcheck(f, ts)
    assert torch.autograd.gradgradcheck(f, ts)


# -- 5. row blocking and memory ------------------------------------------------------------------------

@pytest.mark.parametrize("backend_name", ["numpy", "torch", "jax"])
def test_row_blocks_equal_one_block(monkeypatch: pytest.MonkeyPatch, backend_name: str) -> None:
    """3 keys per block (blocks of 1 row for 6 keys, uneven splits elsewhere): the same values and gradients."""
    b = Backend(backend_name)
    _load(b)
    rng = np.random.default_rng(5)
    x1, x2, f = rng.normal(size=(5, 3)), rng.normal(size=(5, 3)), rng.normal(size=(7, 2, 3))
    yb = to_backend(b, np.array([0, 1, 2, 0, 1, 2, 3]))
    w = to_backend(b, rng.uniform(0.5, 2.0, size=5))
    losses = [
        (lambda a, c: xploss.nt_xent(a, c, temperature=0.3, sample_weight=w, reduction="weighted_mean"), (x1, x2)),
        (lambda a, c: xploss.info_nce(a, c, temperature=0.3), (x1[:3], x2)),
        (lambda a: xploss.supcon(a, yb, temperature=0.3), (f,)),
        (lambda a, c: xploss.clip(a, c, 4.0, logit_bias=-1.0, sample_weight=w), (x1, x2)),
    ]
    for fn, xs in losses:
        whole = _grad(b, fn, *xs)
        monkeypatch.setattr(_contrastive, "BLOCK_ELEMENTS", 17)
        blocked = _grad(b, fn, *xs)
        monkeypatch.undo()
        assert_close(blocked[0], whole[0], dtype="float64")
        for g, e in zip(blocked[1], whole[1]):
            assert_close(g, e, dtype="float64")


def test_memory_is_one_block(monkeypatch: pytest.MonkeyPatch) -> None:
    """NumPy, N = 256 (2N = 512 rows): the peak of forward + backward stays below one (2N)² float64 matrix
    when a block holds 2**14 logits (32 rows), the residuals O(N·D)."""
    rng = np.random.default_rng(0)
    z1, z2 = rng.normal(size=(256, 8)), rng.normal(size=(256, 8))
    monkeypatch.setattr(_contrastive, "BLOCK_ELEMENTS", 2 ** 14)
    f = xploss.value_and_grad(lambda a, c: xploss.nt_xent(a, c), argnums=(0, 1))
    f(z1, z2)
    tracemalloc.start()
    f(z1, z2)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    full = 512 * 512 * 8
    assert peak < full, f"peak {peak} bytes >= one (2N)² matrix {full}"


# -- 6. properties (NumPy) -------------------------------------------------------------------------------

@PROPERTY
@given(seed=st.integers(0, 2**32 - 1), scale=st.floats(1e-2, 1e2))
def test_invariant_to_batch_permutation_and_scale(seed: int, scale: float) -> None:
    rng = np.random.default_rng(seed)
    z1, z2 = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    labels = rng.integers(0, 3, size=5)
    perm = rng.permutation(5)
    for f in (lambda a, c, y: xploss.nt_xent(a, c), lambda a, c, y: xploss.clip(a, c, 2.0),
              lambda a, c, y: xploss.info_nce(a, c, labels=y), lambda a, c, y: xploss.supcon(a, y),
              lambda a, c, y: xploss.circle(a, y, gamma=8.0)):
        base = f(z1, z2, labels)
        assert_close(f(z1[perm], z2[perm], labels[perm]), base, dtype="float64")
        assert_close(f(scale * z1, scale * z2, labels), base, dtype="float64")


@PROPERTY
@given(seed=st.integers(0, 2**32 - 1))
def test_supcon_two_views_is_nt_xent(seed: int) -> None:
    """Two views, distinct labels, no factor: SupCon's anchors are NT-Xent's (the mean over 2N anchors)."""
    rng = np.random.default_rng(seed)
    z1, z2 = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    got = xploss.supcon(np.stack([z1, z2], axis=1), np.arange(4), temperature=0.3, base_temperature=None)
    assert_close(got, xploss.nt_xent(z1, z2, temperature=0.3), dtype="float64")
    assert_close(xploss.nt_xent(z1, z2, directions="sum", reduction="none"),
                 2 * xploss.nt_xent(z1, z2, reduction="none"), dtype="float64")


def test_circle_detached_weights_gradient() -> None:
    """detach_weights=True: the gradient with α_p, α_n frozen (finite differences of the loss whose weights are
    computed at the base point)."""
    x, labels = F, L
    g = xploss.value_and_grad(lambda a: xploss.circle(a, labels, gamma=4.0, margin=0.25, detach_weights=True,
                                                       reduction="sum"))(x)[1]
    xn0 = x / np.linalg.norm(x, axis=1, keepdims=True)

    def frozen(a: np.ndarray) -> float:
        an = a / np.linalg.norm(a, axis=1, keepdims=True)
        s, s0 = an @ an.T, xn0 @ xn0.T
        out = 0.0
        for i in range(len(a)):
            pos = [-4.0 * max(1.25 - s0[i, j], 0) * (s[i, j] - 0.75) for j in range(len(a))
                   if labels[j] == labels[i] and j != i]
            neg = [4.0 * max(s0[i, j] + 0.25, 0) * (s[i, j] - 0.25) for j in range(len(a)) if labels[j] != labels[i]]
            if pos and neg:
                out += math.log1p(math.exp(np.logaddexp.reduce(pos) + np.logaddexp.reduce(neg)))
        return out

    fd = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        def at(h: float, idx=idx) -> float:
            a = x.copy()
            a[idx] += h
            return frozen(a)
        fd[idx] = _fd(at, 0.0)
    assert_close(g, fd, dtype="float64", rtol=1e-7)
    assert_close(xploss.circle(x, labels, gamma=4.0, margin=0.25, detach_weights=True),
                 xploss.circle(x, labels, gamma=4.0, margin=0.25), dtype="float64")
    assert ref_circle(x, labels, gamma=4.0, margin=0.25).shape == (5,)


def test_nt_xent_raw_sum_and_info_nce_diagonal(backend: Backend) -> None:
    """The options kept out of the generic table (its test time): ``normalize=False, directions="sum"``
    (SimCLR's value) and InfoNCE's diagonal form with extra keys, against the loop references; the gradients
    equal NumPy's."""
    from cases_contrastive import ref_info_nce

    keys = np.vstack([Z2, F[:2]])
    calls = [
        (lambda a, c: xploss.nt_xent(a, c, temperature=0.7, normalize=False, directions="sum"), (Z1, Z2),
         ref_nt_xent(Z1, Z2, temperature=0.7, normalize=False, directions="sum").mean()),
        (lambda a, c: xploss.info_nce(a, c, temperature=0.2), (Z1, keys),
         ref_info_nce(Z1, keys, temperature=0.2).mean()),
    ]
    for f, xs, ref in calls:
        value, grads = _grad(backend, f, *xs)
        assert_close(value, ref, dtype="float64")
        _, expected = _grad(Backend.NUMPY, f, *xs)
        for g, e in zip(grads, expected):
            assert_close(g, e, dtype="float64")

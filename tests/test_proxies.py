"""Edges, learnable scale, errors, second order, training and properties of the proxy losses
(``arcface``, ``cosface``, ``center``, ``center_update``) beyond the generic table of ``test_losses.py``.

Documented conventions under test (``xploss/losses/_proxies.py``):

* ArcFace's ``sin θ = sqrt(max(1 - cos², 0))`` with derivative 0 where it is 0: at ``cos θ = 1`` (an
  embedding equal to its class weight) ``dφ/dcos = cos m``, and since ``dcos/dx`` vanishes there the target
  contributes nothing to either gradient; a float32 cosine rounded above 1 is finite (no NaN trap);
* at ``cos θ = -1`` the fallback ``cos θ - m sin m`` (or ``cos θ`` with ``easy_margin``) is linear;
* a zero embedding or class-weight row normalises to 0 (cosine 0), gradient finite (torch's eps);
* labels out of range: an error eagerly, NaN for those samples under ``jax.jit``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from cases import BY_ID  # imports the family tables (cases_proxies among them) in order
from cases_proxies import ref_arcface, ref_center, ref_cosface
from conftest import Backend, _load
from helpers import assert_close, to_backend, to_numpy
from hypothesis import given, settings
from hypothesis import strategies as st

import xploss

PROPERTY = settings(max_examples=20, deadline=None)
RNG = np.random.default_rng(20261202)
X = RNG.normal(size=(6, 4))  # one shape and one margin per loss throughout: one JAX compilation each
W = RNG.normal(size=(5, 4))
Y = np.array([0, 1, 2, 3, 4, 1])
MARGIN = {xploss.arcface: 0.5, xploss.cosface: 0.35}
MARGIN_LOSSES = [(xploss.arcface, ref_arcface), (xploss.cosface, ref_cosface)]
IDS = ["arcface", "cosface"]


def _vg(fn, b: Backend, dtype: str, x: np.ndarray, w: np.ndarray, y: np.ndarray, **kw):
    yb = to_backend(b, y)
    value, (gx, gw) = xploss.value_and_grad(lambda a, c: fn(a, c, yb, **kw), argnums=(0, 1))(
        to_backend(b, x, dtype), to_backend(b, w, dtype))
    return to_numpy(value), to_numpy(gx), to_numpy(gw)


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


# -- 1. edges ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("easy", [False, True], ids=["standard", "easy_margin"])
def test_arcface_aligned_embedding_subgradient(backend: Backend, easy: bool) -> None:
    """cos θ = 1 exactly (x̂ = ŵ_y = e_0): value cos m on the target, and the gradient of the frozen target
    (dcos/dx = 0 at alignment): d/dx = s Σ_{k≠y} p_k (ŵ_k - x̂ c_k) / |x|, d/dw_y = 0."""
    s, m = 4.0, 0.5
    x = np.array([[2.0, 0.0, 0.0]])
    w = np.array([[3.0, 0.0, 0.0], [0.6, 0.8, 0.0], [0.0, -1.0, 1.0]])
    y = np.array([0])
    value, gx, gw = _vg(xploss.arcface, backend, "float64", x, w, y, scale=s, margin=m, easy_margin=easy)
    wh = w / np.linalg.norm(w, axis=1, keepdims=True)
    c = wh @ np.array([1.0, 0.0, 0.0])
    z = s * np.array([math.cos(m), c[1], c[2]])
    p = _softmax(z)
    assert_close(value, -math.log(p[0]), dtype="float64", what="value")
    ex = sum(s * p[k] * (wh[k] - np.array([1.0, 0, 0]) * c[k]) for k in (1, 2)) / 2.0
    assert_close(gx, ex[None], dtype="float64", what="d/dx")
    ew = np.zeros_like(w)
    for k in (1, 2):
        ew[k] = s * p[k] * (np.array([1.0, 0, 0]) - wh[k] * c[k]) / np.linalg.norm(w[k])
    assert_close(gw, ew, dtype="float64", what="d/dW")


@pytest.mark.parametrize("dtype", ["float32"])
def test_arcface_float32_nan_trap(backend: Backend, dtype: str) -> None:
    """Embeddings equal to (multiples of) their class weights: three of these six float32 self-cosines round
    above 1 in NumPy; value and gradients stay finite, and the value is the reference's at cos θ = 1 within
    the function's own conditioning there: cos(θ + m) moves by sin m · sqrt(2 δ) when the cosine rounds by δ
    (an infinite slope at θ = 0)."""
    w = np.random.default_rng(2).normal(size=(5, 4))
    x = 1.5 * w[Y]
    for easy in (False, True):
        value, gx, gw = _vg(xploss.arcface, backend, dtype, x, w, Y, scale=30.0, margin=0.5, easy_margin=easy)
        assert np.isfinite(value) and np.all(np.isfinite(gx)) and np.all(np.isfinite(gw))
        xr, wr = x.astype(dtype).astype(np.float64), w.astype(dtype).astype(np.float64)
        ref = ref_arcface(xr, wr, Y, scale=30.0, margin=0.5, easy_margin=easy).mean()
        tol = 30.0 * math.sin(0.5) * math.sqrt(4 * float(np.finfo(dtype).eps))
        assert_close(value, ref, dtype=dtype, rtol=tol, what=f"easy={easy}")


@pytest.mark.parametrize("easy", [False, True], ids=["standard", "easy_margin"])
def test_arcface_opposite_embedding(backend: Backend, easy: bool) -> None:
    """cos θ = -1 (x = -w_y): the linear fallback, value and gradient equal to the reference and finite differences."""
    x = np.array([[-2.0, 0.0, 0.0], [0.3, 1.0, -0.5]])
    w = np.array([[1.0, 0.0, 0.0], [0.2, -0.4, 1.0]])
    y = np.array([0, 1])
    kw = {"scale": 5.0, "margin": 0.4, "easy_margin": easy}
    value, gx, gw = _vg(xploss.arcface, backend, "float64", x, w, y, **kw)
    assert_close(value, ref_arcface(x, w, y, **kw).mean(), dtype="float64")
    h = 1e-6  # central differences of the reference along the other coordinates (the fallback is smooth)
    for i, j in ((0, 1), (0, 2), (1, 0), (1, 2)):
        e = np.zeros_like(x)
        e[i, j] = h
        fd = (ref_arcface(x + e, w, y, **kw).mean() - ref_arcface(x - e, w, y, **kw).mean()) / (2 * h)
        assert abs(gx[i, j] - fd) < 1e-7, (i, j, gx[i, j], fd)
    assert np.all(np.isfinite(gw))


@pytest.mark.parametrize("fn", [xploss.arcface, xploss.cosface], ids=IDS)
@pytest.mark.parametrize("zero", ["embedding", "class_weight"])
def test_zero_rows_are_finite(backend: Backend, fn, zero: str) -> None:
    """A zero embedding / class-weight row normalises to 0: cosine 0 (ArcFace: θ = π/2, φ = -sin m), finite
    gradients (torch's F.normalize subgradient g / 1e-12)."""
    x, w = X.copy(), W.copy()
    if zero == "embedding":
        x[1] = 0.0
    else:
        w[2] = 0.0
    value, gx, gw = _vg(fn, backend, "float64", x, w, Y, scale=4.0, margin=MARGIN[fn])
    assert_close(value, _zero_safe_ref(fn, x, w, Y, 4.0, MARGIN[fn]), dtype="float64")
    assert np.all(np.isfinite(gx)) and np.all(np.isfinite(gw))


def _zero_safe_ref(fn, x: np.ndarray, w: np.ndarray, y: np.ndarray, s: float, m: float) -> float:
    """The per-sample loop of the references, a zero row normalised to 0 (cosine 0)."""
    def unit(a: np.ndarray) -> np.ndarray:
        n = np.linalg.norm(a, axis=1, keepdims=True)
        return np.where(n > 0, a / np.where(n > 0, n, 1.0), 0.0)

    cos = unit(x) @ unit(w).T
    out = []
    for i in range(x.shape[0]):
        c = cos[i, y[i]]
        if fn is xploss.cosface:
            t = c - m
        else:
            th = math.acos(c)
            t = math.cos(th + m) if th + m < math.pi else c - m * math.sin(m)
        z = s * np.where(np.arange(w.shape[0]) == y[i], t, cos[i])
        out.append(-math.log(_softmax(z)[y[i]]))
    return float(np.mean(out))


@pytest.mark.parametrize(("fn", "ref"), MARGIN_LOSSES, ids=IDS)
@pytest.mark.parametrize("scale", [1e4, 1e-4])
def test_extreme_scales_are_finite(backend: Backend, fn, ref, scale: float) -> None:
    for dtype in ("float32", "float64"):
        value, gx, gw = _vg(fn, backend, dtype, X, W, Y, scale=scale, margin=MARGIN[fn])
        assert np.isfinite(value) and np.all(np.isfinite(gx)) and np.all(np.isfinite(gw)), (dtype, value)
    assert_close(value, ref(X, W, Y, scale=scale, margin=MARGIN[fn]).mean(), dtype="float64")


def test_center_coincident_and_absent_class(backend: Backend) -> None:
    """x_i = c_{y_i}: loss 0 and zero gradients for that sample; an absent class' centre: zero gradient."""
    c = RNG.normal(size=(4, 3))
    y = np.array([0, 0, 2])
    x = np.stack([c[0], c[0] + np.array([1.0, 0.0, -2.0]), c[2]])
    yb = to_backend(backend, y)
    value, (gx, gc) = xploss.value_and_grad(lambda a, b: xploss.center(a, b, yb, reduction="sum"), argnums=(0, 1))(
        to_backend(backend, x, "float64"), to_backend(backend, c, "float64"))
    assert_close(value, 2.5, dtype="float64", b=backend)
    eg = np.zeros((3, 3))
    eg[1] = [1.0, 0.0, -2.0]
    ec = np.zeros((4, 3))
    ec[0] = -eg[1]
    assert_close(gx, eg, dtype="float64", b=backend)
    assert_close(gc, ec, dtype="float64", b=backend)


# -- 2. learnable scale ----------------------------------------------------------------------------------

def _fd_scale(fn, ref, s: float, **kw) -> tuple[float, float]:
    h = 1e-5
    f = lambda v: ref(X, W, Y, scale=v, **kw).mean()  # noqa: E731
    return f(s), (f(s + h) - f(s - h)) / (2 * h)


@pytest.mark.parametrize(("fn", "ref"), MARGIN_LOSSES, ids=IDS)
def test_learnable_scale_torch(fn, ref) -> None:
    torch = _load(Backend.TORCH)
    value_ref, grad_ref = _fd_scale(fn, ref, 7.0, margin=MARGIN[fn])
    for shape in ((), (1,)):
        s = torch.nn.Parameter(torch.full(shape, 7.0, dtype=torch.float64))
        x = torch.tensor(X, requires_grad=True)
        out = fn(x, torch.tensor(W), torch.tensor(Y), scale=s, margin=MARGIN[fn])
        out.backward()
        assert_close(out, value_ref, dtype="float64")
        assert_close(s.grad.reshape(()), grad_ref, dtype="float64", rtol=1e-8, what=f"shape {shape}")


@pytest.mark.parametrize(("fn", "ref"), MARGIN_LOSSES, ids=IDS)
def test_learnable_scale_jax(fn, ref) -> None:
    jax = _load(Backend.JAX)
    import jax.numpy as jnp

    value_ref, grad_ref = _fd_scale(fn, ref, 7.0, margin=MARGIN[fn])
    xj, wj, yj = jnp.asarray(X), jnp.asarray(W), jnp.asarray(Y)

    def f(s, x):
        return fn(x, wj, yj, scale=s, margin=MARGIN[fn])

    for vg in (jax.value_and_grad(f), jax.jit(jax.value_and_grad(f))):
        value, g = vg(jnp.asarray(7.0), xj)
        assert_close(value, value_ref, dtype="float64")
        assert_close(g, grad_ref, dtype="float64", rtol=1e-8)


@pytest.mark.parametrize(("fn", "ref"), MARGIN_LOSSES, ids=IDS)
def test_learnable_scale_tensorflow(fn, ref) -> None:
    tf = _load(Backend.TENSORFLOW)
    value_ref, grad_ref = _fd_scale(fn, ref, 7.0, margin=MARGIN[fn])
    s = tf.Variable(7.0, dtype=tf.float64)
    with tf.GradientTape() as tape:
        out = fn(tf.constant(X), tf.constant(W), tf.constant(Y), scale=s, margin=MARGIN[fn])
    assert_close(out, value_ref, dtype="float64")
    assert_close(tape.gradient(out, s), grad_ref, dtype="float64", rtol=1e-8)


# -- 3. errors ---------------------------------------------------------------------------------------------

BAD = [
    ("labels", lambda x, w, y: (x, w, y[:, None])),
    ("labels", lambda x, w, y: (x, w, y.astype(np.float64))),
    ("labels", lambda x, w, y: (x, w, y[:-1])),
    ("class_weights", lambda x, w, y: (x, w[:, :-1], y)),
    ("class_weights", lambda x, w, y: (x, w[0], y)),
    ("embeddings", lambda x, w, y: (x[0], w, y)),
]


@pytest.mark.parametrize(("fn", "ref"), MARGIN_LOSSES, ids=IDS)
def test_errors_name_the_argument(backend: Backend, fn, ref) -> None:
    def run(x, w, y, **kw):
        return fn(to_backend(backend, x, "float64"), to_backend(backend, w, "float64"), to_backend(backend, y), **kw)

    for name, bad in BAD:
        with pytest.raises(xploss.XplossError, match=f"`{name}`"):
            run(*bad(X, W, Y))
    for kw, name in (({"scale": 0.0}, "scale"), ({"scale": -1.0}, "scale"), ({"margin": -0.1}, "margin")):
        with pytest.raises(xploss.XplossError, match=f"`{name}`"):
            run(X, W, Y, **kw)
    with pytest.raises(xploss.XplossError, match="`labels`"):
        run(X, W, np.array([0, 1, 5, 1, 0, 2]))
    with pytest.raises(xploss.XplossError, match="`labels`"):
        run(X, W, np.array([0, -1, 2, 1, 0, 2]))
    with pytest.raises(xploss.XplossError, match="`class_weights`"):
        fn(to_backend(backend, X, "float64"), to_backend(backend, W, "float32"), to_backend(backend, Y))
    if fn is xploss.arcface:
        with pytest.raises(xploss.XplossError, match="`margin`"):
            run(X, W, Y, margin=math.pi)
        with pytest.raises(xploss.XplossError, match="`easy_margin`"):
            run(X, W, Y, easy_margin=1)


def test_center_errors(backend: Backend) -> None:
    c = W.copy()

    def run(f, x, cc, y, **kw):
        return f(to_backend(backend, x, "float64"), to_backend(backend, cc, "float64"), to_backend(backend, y), **kw)

    for f in (xploss.center, xploss.center_update):
        for name, bad in [(n.replace("class_weights", "centers"), b) for n, b in BAD]:
            with pytest.raises(xploss.XplossError, match=f"`{name}`"):
                run(f, *bad(X, c, Y))
        with pytest.raises(xploss.XplossError, match="`labels`"):
            run(f, X, c, np.array([0, 1, 5, 1, 0, 2]))
    with pytest.raises(xploss.XplossError, match="`alpha`"):
        run(xploss.center_update, X, c, Y, alpha=1.5)


def test_errors_under_jax_jit_and_traced_nan() -> None:
    jax = _load(Backend.JAX)
    import jax.numpy as jnp

    xj, wj = jnp.asarray(X), jnp.asarray(W)
    for fn in (xploss.arcface, xploss.cosface):
        with pytest.raises(xploss.XplossError, match="`labels`"):
            jax.jit(lambda x, y, fn=fn: fn(x, wj, y))(xj, jnp.asarray(Y[:, None]))
        with pytest.raises(xploss.XplossError, match="`class_weights`"):
            jax.jit(lambda x, w, fn=fn: fn(x, w, jnp.asarray(Y)))(xj, jnp.asarray(W[:, :-1]))
    # traced values (arcface; cosface shares the checks): NaN for the bad samples, eagerly an error (above)
    bad = jnp.asarray(np.array([0, 7, 2, 1, 0, 3]))
    per = jax.jit(lambda x, y: xploss.arcface(x, wj, y, reduction="none"))(xj, bad)
    assert np.isnan(per[1]) and np.all(np.isfinite(np.delete(np.asarray(per), 1)))
    g = jax.jit(jax.grad(lambda x, y: xploss.arcface(x, wj, y)))(xj, bad)
    assert np.all(np.isnan(np.asarray(g)[1])) and np.all(np.isfinite(np.delete(np.asarray(g), 1, axis=0)))
    s_bad = jax.jit(lambda x, s: xploss.arcface(x, wj, jnp.asarray(Y), scale=s))(xj, jnp.asarray(-1.0))
    assert np.isnan(s_bad)
    per = jax.jit(lambda x, y: xploss.center(x, wj, y, reduction="none"))(xj, jnp.asarray(np.array([0, 9, 2, 1, 0, 3])))
    assert np.isnan(per[1]) and np.isfinite(per[0])
    moved = jax.jit(lambda x, y: xploss.center_update(x, wj, y))(xj, jnp.asarray(np.array([0, 9, 2, 1, 0, 3])))
    assert_close(moved, _center_update_ref(X, W, np.array([0, 9, 2, 1, 0, 3]), 0.5), dtype="float64")


# -- 4. second order ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["arcface", "arcface-easy", "cosface", "center"])
def test_gradgradcheck_torch(name: str) -> None:
    """Double backward (torch recomputes the forward) on a 3 x 3 slice of the table's case, off the branches."""
    torch = _load(Backend.TORCH)
    case = BY_ID[name]
    x, w, y = case.make(np.random.default_rng(1))
    x, y = x[:3], y[:3] % 3
    w = w[:3]
    yt = torch.tensor(y)
    xt, wt = (torch.tensor(a, requires_grad=True) for a in (x, w))
    assert torch.autograd.gradgradcheck(lambda a, b: case.fn(a, b, yt, **case.opts), (xt, wt))


def test_jax_hessian_arcface() -> None:
    """JAX: custom_vjp's backward is jnp code, so jax.hessian works; it equals differences of the gradient."""
    jax = _load(Backend.JAX)
    import jax.numpy as jnp

    case = BY_ID["arcface"]
    x, w, y = case.make(np.random.default_rng(1))
    x, w, y = x[:3], w[:3], y[:3] % 3
    wj, yj = jnp.asarray(w), jnp.asarray(y)

    def f(a):
        return xploss.arcface(a, wj, yj, **case.opts)

    hess = np.asarray(jax.hessian(f)(jnp.asarray(x))).reshape(x.size, x.size)
    grad = jax.grad(f)
    fd = np.zeros_like(hess)
    h = 1e-5
    for k in range(x.size):
        e = np.zeros(x.size)
        e[k] = h
        e = e.reshape(x.shape)
        fd[:, k] = ((np.asarray(grad(jnp.asarray(x + e))) - np.asarray(grad(jnp.asarray(x - e)))) / (2 * h)).ravel()
    assert_close(hess, fd, dtype="float64", rtol=1e-6)


# -- 5. one training step lowers the loss -------------------------------------------------------------------

@pytest.mark.parametrize("name", ["arcface", "cosface", "center"])
def test_training_step_lowers_loss(ad_backend: Backend, name: str) -> None:
    """A tiny head: embeddings = features @ P, class weights (or centres) learnable; one SGD step on both."""
    fn = getattr(xploss, name)
    kw = {} if name == "center" else {"scale": 8.0}
    rng = np.random.default_rng(11)
    feats, p0, w0 = rng.normal(size=(8, 5)), rng.normal(size=(5, 4)), rng.normal(size=(3, 4))
    y = rng.integers(0, 3, size=8)
    lr = 0.05
    if ad_backend is Backend.TORCH:
        import torch

        f, labels = torch.tensor(feats), torch.tensor(y)
        proj, weights = torch.nn.Parameter(torch.tensor(p0)), torch.nn.Parameter(torch.tensor(w0))
        before = fn(f @ proj, weights, labels, **kw)
        before.backward()
        with torch.no_grad():
            for p in (proj, weights):
                p -= lr * p.grad
        after = fn(f @ proj, weights, labels, **kw)
    elif ad_backend is Backend.JAX:
        import jax
        import jax.numpy as jnp

        f, labels = jnp.asarray(feats), jnp.asarray(y)

        def objective(params):
            return fn(f @ params[0], params[1], labels, **kw)

        params = (jnp.asarray(p0), jnp.asarray(w0))
        before, grads = jax.jit(jax.value_and_grad(objective))(params)
        after = objective(tuple(a - lr * g for a, g in zip(params, grads)))
    else:
        import tensorflow as tf

        f, labels = tf.constant(feats), tf.constant(y)
        proj, weights = tf.Variable(p0), tf.Variable(w0)
        with tf.GradientTape() as tape:
            before = fn(f @ proj, weights, labels, **kw)
        grads = tape.gradient(before, [proj, weights])
        for v, g in zip([proj, weights], grads):
            v.assign_sub(lr * g)
        after = fn(f @ proj, weights, labels, **kw)
    assert float(to_numpy(after)) < float(to_numpy(before)) - 1e-4, (to_numpy(before), to_numpy(after))


# -- 6. center_update ---------------------------------------------------------------------------------------

def _center_update_ref(x: np.ndarray, c: np.ndarray, y: np.ndarray, alpha: float) -> np.ndarray:
    """Wen et al. eq. 4, a loop over classes and samples (labels outside [0, C) match no class)."""
    out = c.copy()
    for j in range(c.shape[0]):
        members = [i for i in range(x.shape[0]) if y[i] == j]
        delta = sum((c[j] - x[i] for i in members), np.zeros(c.shape[1]))
        out[j] = c[j] - alpha * delta / (1 + len(members))
    return out


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_center_update_matches_loop(backend: Backend, dtype: str) -> None:
    rng = np.random.default_rng(5)
    x, c = rng.normal(size=(7, 3)), rng.normal(size=(4, 3))
    y = np.array([0, 2, 2, 0, 2, 1, 0])  # class 3 absent: unchanged
    for alpha in (0.5, 0.0, 1.0):
        got = xploss.center_update(to_backend(backend, x, dtype), to_backend(backend, c, dtype), to_backend(backend, y),
                                   alpha=alpha)
        xr, cr = x.astype(dtype).astype(np.float64), c.astype(dtype).astype(np.float64)
        assert_close(got, _center_update_ref(xr, cr, y, alpha), dtype=dtype, b=backend, what=f"alpha={alpha}")


def test_center_update_then_loss_decreases() -> None:
    rng = np.random.default_rng(8)
    x, c = rng.normal(size=(10, 3)), rng.normal(size=(3, 3)) * 3
    y = rng.integers(0, 3, size=10)
    before = xploss.center(x, c, y, reduction="sum")
    assert xploss.center(x, xploss.center_update(x, c, y, alpha=0.5), y, reduction="sum") < before


# -- 7. properties (NumPy, float64) ---------------------------------------------------------------------

@pytest.mark.parametrize(("fn", "ref"), MARGIN_LOSSES, ids=IDS)
@PROPERTY
@given(seed=st.integers(0, 2**32 - 1), a=st.floats(1e-3, 1e3), b=st.floats(1e-3, 1e3))
def test_invariant_to_norms_and_batch_order(fn, ref, seed: int, a: float, b: float) -> None:
    """Normalised inside: scaling every embedding / class weight row changes nothing; the per-sample loss
    permutes with the batch."""
    rng = np.random.default_rng(seed)
    x, w = rng.normal(size=(6, 4)), rng.normal(size=(4, 4))
    y = rng.integers(0, 4, size=6)
    base = fn(x, w, y, scale=10.0, reduction="none")
    rows = rng.uniform(0.5, 2.0, size=(6, 1))
    assert_close(fn(a * rows * x, b * w, y, scale=10.0, reduction="none"), base, dtype="float64")
    perm = rng.permutation(6)
    assert_close(fn(x[perm], w, y[perm], scale=10.0, reduction="none"), base[perm], dtype="float64")
    classes = rng.permutation(4)  # relabelling the classes with their weight rows
    inv = np.argsort(classes)
    assert_close(fn(x, w[classes], inv[y], scale=10.0, reduction="none"), base, dtype="float64")


@PROPERTY
@given(seed=st.integers(0, 2**32 - 1), shift=st.floats(-10, 10))
def test_center_translation_invariance(seed: int, shift: float) -> None:
    rng = np.random.default_rng(seed)
    x, c = rng.normal(size=(6, 3)), rng.normal(size=(3, 3))
    y = rng.integers(0, 3, size=6)
    assert_close(xploss.center(x + shift, c + shift, y, reduction="none"), ref_center(x, c, y), dtype="float64")
    assert_close(xploss.center_update(x + shift, c + shift, y) - shift, _center_update_ref(x, c, y, 0.5),
                 dtype="float64")


@pytest.mark.slow
def test_center_update_compiles() -> None:
    """No scatter, no data-dependent shape: tf.function(jit_compile=True) traces it (jax.jit: above)."""
    tf = _load(Backend.TENSORFLOW)
    c = W.copy()
    expected = _center_update_ref(X, c, Y, 0.5)
    xla = tf.function(lambda a, b, y: xploss.center_update(a, b, y), jit_compile=True)
    assert_close(xla(tf.constant(X), tf.constant(c), tf.constant(Y)), expected, dtype="float64")


@pytest.mark.parametrize("fn", [xploss.arcface, xploss.center], ids=["arcface", "center"])
def test_torch_reduction_none_is_differentiable(fn) -> None:
    """torch.autograd's Jacobian of the per-sample losses (one backward per sample) equals torch.func.jacrev's."""
    torch = _load(Backend.TORCH)
    x, w, y = (torch.tensor(a) for a in (X, W, Y))
    out = fn(x.requires_grad_(True), w, y, reduction="none")
    rows = [torch.autograd.grad(out[i], x, retain_graph=True)[0] for i in range(out.shape[0])]
    expected = torch.func.jacrev(lambda a: fn(a, w, y, reduction="none"))(x.detach())
    assert_close(torch.stack(rows), expected.numpy(), dtype="float64")

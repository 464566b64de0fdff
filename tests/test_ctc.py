"""CTC (#9): the scan block, and :func:`xploss.ctc` against independent references.

References: a brute-force sum over every alignment (tiny T), the NumPy forward algorithm of
``cases_ctc`` (checked against the brute force here), torch ``F.ctc_loss`` with ``log_softmax`` in its
graph (value and gradient w.r.t. the logits), ``optax.ctc_loss``, ``tf.nn.ctc_loss`` and central finite
differences.  The generic table (``cases_ctc``) adds finite differences on every backend, the native
autodiff of the kernel and the compiled modes (jax.jit, tf.function(jit_compile=True),
torch.compile(fullgraph=True)).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from cases_ctc import _log_softmax, ctc_nll, ref_ctc
from conftest import Backend, _load
from helpers import assert_close, to_backend, to_numpy

import xploss
from xploss import _ops
from xploss._namespace import backend_for

RNG = np.random.default_rng(9)


def _brute(z: np.ndarray, target: list, blank: int) -> float:
    """``-log Σ_π Π_t p_t(π_t)`` over every path of length T that collapses to ``target``."""
    lp = _log_softmax(z)
    total = 0.0
    for path in itertools.product(range(z.shape[1]), repeat=z.shape[0]):
        out, prev = [], None
        for k in path:
            if k != prev and k != blank:
                out.append(k)
            prev = k
        if out == target:
            total += math.exp(sum(lp[t, k] for t, k in enumerate(path)))
    return -math.log(total) if total > 0 else math.inf


def _fd(f, x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp_, xm = x.copy(), x.copy()
        xp_[i] += h
        xm[i] -= h
        g[i] = (f(xp_) - f(xm)) / (2 * h)
    return g


def _grad(b: Backend, fn, z: np.ndarray, *args, dtype: str = "float64", **kw):
    conv = [to_backend(b, a) if isinstance(a, np.ndarray) else a for a in args]
    kw = {k: to_backend(b, v, dtype) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    return xploss.value_and_grad(lambda x: fn(x, *conv, **kw))(to_backend(b, z, dtype))


# -- the scan block ---------------------------------------------------------------------------------------

def _step(xp):
    def step(carry, x):
        a, b = carry
        u, v = x
        a = a * 0.5 + u
        b = b + a * v
        return (a, b), (a * b, -a)
    return step


@pytest.mark.parametrize("reverse", [False, True])
def test_scan_matches_python_loop(backend: Backend, reverse: bool) -> None:
    """Final carry and stacked outputs of every backend's path equal a NumPy loop (forward and reverse)."""
    u, v = RNG.normal(size=(6, 3)), RNG.normal(size=(6, 3))
    a, b = np.zeros(3), np.ones(3)
    ys = [None] * 6
    for t in (range(5, -1, -1) if reverse else range(6)):
        a = a * 0.5 + u[t]
        b = b + a * v[t]
        ys[t] = (a * b, -a)
    xp = backend_for(backend.value).xp
    to = lambda x: to_backend(backend, x)  # noqa: E731
    (ca, cb), (y1, y2) = _ops.scan(xp, _step(xp), (to(np.zeros(3)), to(np.ones(3))), (to(u), to(v)), reverse=reverse)
    for got, want in ((ca, a), (cb, b), (y1, np.stack([y[0] for y in ys])), (y2, np.stack([y[1] for y in ys]))):
        assert_close(got, want, dtype="float64", b=backend)


def test_scan_is_one_loop_under_jax_jit() -> None:
    """The jaxpr of the loss and its gradient holds two scans (forward, backward), whatever T: not T steps."""
    jax = _load(Backend.JAX)
    import jax.numpy as jnp

    y = jnp.asarray([[1, 2], [3, 0]])
    for t in (5, 60):
        z = jnp.asarray(RNG.normal(size=(2, t, 4)))
        jaxpr = str(jax.make_jaxpr(jax.value_and_grad(lambda x: xploss.ctc(x, y)))(z))
        assert jaxpr.count("scan[") == 2, t
        assert jaxpr.count("\n") < 800, (t, jaxpr.count("\n"))


def test_scan_is_one_while_loop_under_tf_function() -> None:
    """The TensorFlow graph of the loss holds one while loop (its size does not grow with T), and a T
    unknown while tracing works (tf.function with a None time axis)."""
    tf = _load(Backend.TENSORFLOW)
    y = tf.constant([[1, 2], [3, 0]])

    def ops_of(t: int) -> list:
        f = tf.function(lambda x: xploss.ctc(x, y))
        g = f.get_concrete_function(tf.TensorSpec((2, t, 4), tf.float64)).graph
        return [op.type for op in g.get_operations()]

    small, large = ops_of(5), ops_of(60)
    assert sum(o in ("While", "StatelessWhile") for o in large) == 1
    assert len(large) == len(small)
    z = RNG.normal(size=(2, 7, 4))
    f = tf.function(lambda x: xploss.ctc(x, y, reduction="none"),
                    input_signature=[tf.TensorSpec((2, None, 4), tf.float64)])
    assert_close(f(tf.constant(z)), ref_ctc(z, np.array([[1, 2], [3, 0]]), [7, 7], [2, 1]), dtype="float64")


# -- values: brute force, forward algorithm ---------------------------------------------------------------

TARGETS = [([1], 0), ([1, 2], 0), ([1, 1], 0), ([2, 2, 1], 0), ([], 0), ([0, 0], 1), ([0, 2], 1)]


def test_reference_and_xploss_equal_the_brute_force() -> None:
    """Every alignment enumerated (T <= 4, C = 3): the table's reference and xploss (NumPy) at 1e-12."""
    for t in (1, 2, 3, 4):
        z = RNG.normal(scale=1.5, size=(t, 3))
        for target, blank in TARGETS:
            want = _brute(z, target, blank)
            assert ctc_nll(_log_softmax(z), target, blank) == pytest.approx(want, rel=1e-12, abs=0) or \
                want == math.inf
            y = np.array([target + [blank] * (3 - len(target))])
            got = xploss.ctc(z[None], y, np.array([t]), np.array([len(target)]), blank=blank, reduction="none")
            if want == math.inf:
                assert got[0] == math.inf, (t, target)
            else:
                assert got[0] == pytest.approx(want, rel=1e-12), (t, target, blank)


def test_empty_target_is_minus_sum_of_log_blank(backend: Backend) -> None:
    z = RNG.normal(size=(2, 4, 3))
    want = -np.sum(_log_softmax(z)[..., 1], axis=1)
    got = xploss.ctc(to_backend(backend, z), to_backend(backend, np.zeros((2, 0), np.int64)), blank=1,
                     reduction="none")
    assert_close(got, want, dtype="float64", b=backend)


def test_gradient_matches_finite_differences_numpy() -> None:
    """Time-major, another blank, length-normalised, variable lengths: the hand VJP vs central differences
    of the reference (float64)."""
    z = RNG.normal(size=(5, 3, 4))
    y, il, ll = np.array([[0, 1, 1], [3, 0, 9], [1, 3, 1]]), np.array([5, 4, 5]), np.array([3, 1, 2])
    w = np.array([0.5, 1.0, 2.0])
    opts = dict(blank=2, time_major=True, length_normalize=True)
    _, g = _grad(Backend.NUMPY, xploss.ctc, z, y, il, ll, sample_weight=w, reduction="sum", **opts)
    fd = _fd(lambda x: float(np.sum(w * ref_ctc(x, y, il, ll, **opts))), z)
    assert_close(g, fd, dtype="float64", rtol=1e-8)


# -- torch F.ctc_loss, optax, tf.nn.ctc_loss ------------------------------------------------------------------

def _batch(infeasible: bool = False) -> tuple:
    """(T, N, C) logits, padded labels, lengths; the last row infeasible (a repeat in too few frames)."""
    z = RNG.normal(scale=1.5, size=(6, 4, 5))
    y = np.array([[1, 2, 3], [4, 4, 0], [2, 7, 7], [3, 3, 3]])
    il = np.array([6, 5, 3, 4 if infeasible else 6])
    ll = np.array([3, 2, 1, 3])
    return z, y, il, ll


def _torch_ref(z, y, il, ll, reduction: str, zero_infinity: bool = False, w=None) -> tuple[float, np.ndarray]:
    torch = _load(Backend.TORCH)
    x = torch.tensor(z, requires_grad=True)
    loss = torch.nn.functional.ctc_loss(x.log_softmax(-1), torch.tensor(y), torch.tensor(il), torch.tensor(ll),
                                        reduction="none" if w is not None else reduction,
                                        zero_infinity=zero_infinity)
    if w is not None:
        loss = (loss * torch.tensor(w)).sum()
    (g,) = torch.autograd.grad(loss, x)
    return loss.item(), g.numpy()


def test_torch_ctc_loss_every_backend(backend: Backend) -> None:
    """Time-major, padded variable lengths, an infeasible row with zero_infinity, weights: value and
    gradient equal torch's (log_softmax in torch's graph) at 1e-12."""
    z, y, il, ll = _batch(infeasible=True)
    w = np.array([0.5, 2.0, 1.0, 3.0])
    want, g_want = _torch_ref(z, y, il, ll, "sum", zero_infinity=True, w=w)
    value, g = _grad(backend, xploss.ctc, z, y, il, ll, time_major=True, zero_infinity=True, sample_weight=w,
                     reduction="sum")
    assert_close(value, want, dtype="float64", b=backend)
    assert_close(g, g_want, dtype="float64", b=backend)


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_torch_reductions(reduction: str) -> None:
    """torch's none / sum / mean (divided by the target lengths) are xploss' none / sum / length_normalize +
    mean, batch-major logits transposed; float32 at float32 precision."""
    torch = _load(Backend.TORCH)
    z, y, il, ll = _batch()
    ours = dict(reduction=reduction, length_normalize=reduction == "mean")
    if reduction == "none":
        want = torch.nn.functional.ctc_loss(torch.tensor(z).log_softmax(-1), torch.tensor(y), torch.tensor(il),
                                            torch.tensor(ll), reduction="none").numpy()
        got = xploss.ctc(torch.tensor(z.transpose(1, 0, 2)), torch.tensor(y), torch.tensor(il), torch.tensor(ll),
                         **ours)
        assert_close(got, want, dtype="float64", b=Backend.TORCH)
        return
    want, g_want = _torch_ref(z, y, il, ll, reduction)
    value, g = _grad(Backend.TORCH, xploss.ctc, z.transpose(1, 0, 2), y, il, ll, **ours)
    assert_close(value, want, dtype="float64")
    assert_close(g, g_want.transpose(1, 0, 2), dtype="float64")
    v32, g32 = _grad(Backend.TORCH, xploss.ctc, z.transpose(1, 0, 2), y, il, ll, dtype="float32", **ours)
    assert_close(v32, want, dtype="float32")
    assert_close(g32, g_want.transpose(1, 0, 2), dtype="float32")


def test_torch_infeasible_is_inf_with_nan_gradient() -> None:
    """[1, 1] in 2 frames: +inf and NaN gradients as torch; zero_infinity: 0 and a zero gradient."""
    z = RNG.normal(size=(2, 1, 3))
    y, il, ll = np.array([[1, 1]]), np.array([2]), np.array([2])
    for zero in (False, True):
        want, g_want = _torch_ref(z, y, il, ll, "sum", zero_infinity=zero)
        for b in (Backend.NUMPY, Backend.TORCH):
            value, g = _grad(b, xploss.ctc, z, y, il, ll, time_major=True, zero_infinity=zero, reduction="sum")
            assert float(to_numpy(value)) == want
            np.testing.assert_array_equal(to_numpy(g), g_want)


def test_optax_ctc_loss() -> None:
    """optax (paddings from the lengths): values and gradients at 1e-12, away from near-zero losses."""
    _load(Backend.JAX)
    import jax
    import jax.numpy as jnp
    import optax

    z, y, il, ll = _batch()
    z = np.ascontiguousarray(z.transpose(1, 0, 2))
    t, s = z.shape[1], y.shape[1]
    lpad = (np.arange(t)[None] >= il[:, None]).astype(np.float64)
    ypad = (np.arange(s)[None] >= ll[:, None]).astype(np.float64)
    per, g_want = jax.value_and_grad(lambda x: optax.ctc_loss(x, jnp.asarray(lpad), jnp.asarray(y),
                                                                jnp.asarray(ypad)).sum())(jnp.asarray(z)), None
    (total, g_want) = per
    assert_close(np.asarray(total), float(np.sum(ref_ctc(z, y, il, ll))), dtype="float64")  # optax = the reference
    value, g = _grad(Backend.JAX, xploss.ctc, z, y, il, ll, reduction="sum")
    assert_close(value, np.asarray(total), dtype="float64", b=Backend.JAX)
    assert_close(g, np.asarray(g_want), dtype="float64")


def test_tf_nn_ctc_loss() -> None:
    """tf.nn.ctc_loss (dense labels, blank_index 0, float32: its only dtype): value and gradient."""
    tf = _load(Backend.TENSORFLOW)
    z, y, il, ll = _batch()
    z = np.ascontiguousarray(z.transpose(1, 0, 2)).astype(np.float32)
    x = tf.constant(z)
    with tf.GradientTape() as tape:
        tape.watch(x)
        want = tf.reduce_sum(tf.nn.ctc_loss(tf.constant(y), x, tf.constant(ll), tf.constant(il),
                                            logits_time_major=False, blank_index=0))
    g_want = tape.gradient(want, x)
    value, g = _grad(Backend.TENSORFLOW, xploss.ctc, z, y, il, ll, dtype="float32", reduction="sum")
    assert_close(value, want.numpy(), dtype="float32")
    assert_close(g, g_want.numpy(), dtype="float32")


@pytest.mark.parametrize("mode", ["jax.jit", "tf.function-xla", "torch.compile"])
def test_compiled_modes_match_torch(mode: str) -> None:
    """jax.jit, tf.function(jit_compile=True), torch.compile(fullgraph=True) (dynamo with torch's scan op;
    backend "eager": tracing only): traced labels and lengths, value and gradient equal torch's at 1e-12."""
    z, y, il, ll = _batch(infeasible=True)
    w = np.array([0.5, 2.0, 1.0, 3.0])
    want, g_want = _torch_ref(z, y, il, ll, "sum", zero_infinity=True, w=w)
    b = {"jax.jit": Backend.JAX, "tf.function-xla": Backend.TENSORFLOW, "torch.compile": Backend.TORCH}[mode]
    mod = _load(b)

    def f(x, y_, il_, ll_, w_):
        return xploss.ctc(x, y_, il_, ll_, time_major=True, zero_infinity=True, sample_weight=w_, reduction="sum")

    vg = xploss.value_and_grad(f)
    if b is Backend.JAX:
        run = mod.jit(vg)
    elif b is Backend.TENSORFLOW:
        run = mod.function(vg, jit_compile=True)
    else:
        mod._dynamo.reset()
        run = xploss.value_and_grad(mod.compile(f, backend="eager", fullgraph=True))
    value, g = run(*(to_backend(b, a) for a in (z, y, il, ll, w)))
    assert_close(value, want, dtype="float64", b=b)
    assert_close(g, g_want, dtype="float64", b=b)


# -- properties ------------------------------------------------------------------------------------------

def test_near_certain_alignment_is_not_negative(backend: Backend) -> None:
    """optax#1771: logits [[0, 17], [0, 17]], label [1] gives -8.28e-8 in optax float32; clamped at 0 here."""
    z = np.array([[[0.0, 17.0], [0.0, 17.0]]], np.float32)
    value = to_numpy(xploss.ctc(to_backend(backend, z), to_backend(backend, np.array([[1]])), reduction="none"))
    assert value.dtype == np.float32 and value[0] >= 0 and value[0] < 1e-6
    big = (RNG.normal(size=(3, 6, 4)) * 1e3).astype(np.float32)
    value = to_numpy(xploss.ctc(to_backend(backend, big), to_backend(backend, np.array([[1], [2], [3]])),
                                reduction="none"))
    assert np.all(value >= 0)


def test_padding_content_changes_nothing() -> None:
    """Labels past their length and frames past the input length: any content, the same value and
    gradient, and a zero gradient on the padded frames."""
    z = RNG.normal(size=(2, 6, 4))
    y, il, ll = np.array([[1, 2, 0, 0], [3, 3, 0, 0]]), np.array([4, 6]), np.array([2, 2])
    v0, g0 = _grad(Backend.NUMPY, xploss.ctc, z, y, il, ll, reduction="sum")
    z2, y2 = z.copy(), y.copy()
    z2[0, 4:] = RNG.normal(size=(2, 4)) * 50
    y2[:, 2:] = [[3, 99], [-5, 1]]
    v1, g1 = _grad(Backend.NUMPY, xploss.ctc, z2, y2, il, ll, reduction="sum")
    assert v1 == v0
    np.testing.assert_array_equal(g1, g0)
    assert np.all(g0[0, 4:] == 0)


def test_keras_default_label_lengths() -> None:
    """label_lengths=None counts the labels != blank (Keras: 0 is blank and padding); input_lengths=None is T."""
    z = RNG.normal(size=(2, 5, 5))
    y = np.array([[1, 2, 0], [3, 0, 0]])
    assert_close(xploss.ctc(z, y, reduction="none"), ref_ctc(z, y, [5, 5], [2, 1]), dtype="float64")
    y4 = np.where(y == 0, 4, y)
    assert_close(xploss.ctc(z, y4, blank=4, reduction="none"), ref_ctc(z, y4, [5, 5], [2, 1], blank=4),
                 dtype="float64")


def test_low_precision_is_computed_in_float32() -> None:
    torch = _load(Backend.TORCH)
    z, y, il, ll = _batch()
    want = ref_ctc(z.astype(np.float16).astype(np.float64), y, il, ll, time_major=True)
    for dt in (torch.float16, torch.bfloat16):
        x = torch.tensor(z, dtype=dt, requires_grad=True)
        value = xploss.ctc(x, torch.tensor(y), torch.tensor(il), torch.tensor(ll), time_major=True, reduction="none")
        value.sum().backward()
        assert value.dtype == dt and x.grad.dtype == dt
        ref = want if dt == torch.float16 else ref_ctc(x.detach().double().numpy(), y, il, ll, time_major=True)
        np.testing.assert_allclose(value.detach().double().numpy(), ref, rtol=1e-2)
    value = xploss.ctc(z.astype(np.float16), y, il, ll, time_major=True, reduction="none")
    assert value.dtype == np.float16
    np.testing.assert_allclose(value.astype(np.float64), want, rtol=2e-3)


def test_deterministic() -> None:
    z, y, il, ll = _batch()
    for b in (Backend.NUMPY, Backend.TORCH):
        _load(b)
        first = [to_numpy(a) for a in _grad(b, xploss.ctc, z, y, il, ll, time_major=True)]
        again = [to_numpy(a) for a in _grad(b, xploss.ctc, z, y, il, ll, time_major=True)]
        for a, c in zip(first, again):
            np.testing.assert_array_equal(a, c)


def test_jax_vmap_and_grad() -> None:
    """jax.vmap over problems of jax.grad: each slice equals the unbatched gradient."""
    jax = _load(Backend.JAX)
    import jax.numpy as jnp

    z = RNG.normal(size=(3, 2, 5, 4))
    y = jnp.asarray([[1, 2], [3, 3]])
    grad = jax.grad(lambda x: xploss.ctc(x, y, reduction="sum"))
    batched = jax.vmap(grad)(jnp.asarray(z))
    for i in range(3):
        fd = _fd(lambda x: float(np.sum(ref_ctc(x, np.asarray(y), [5, 5], [2, 2]))), z[i])
        assert_close(batched[i], fd, dtype="float64", rtol=1e-8)


# -- errors ---------------------------------------------------------------------------------------------

BAD = [
    ("logits", lambda z, y, il, ll: (z[0], y, il, ll), {}),
    ("logits", lambda z, y, il, ll: (z.astype(np.int64), y, il, ll), {}),
    ("logits", lambda z, y, il, ll: (z[:, :0], y, il, ll), {}),
    ("labels", lambda z, y, il, ll: (z, y.astype(np.float64), il, ll), {}),
    ("labels", lambda z, y, il, ll: (z, y[0], il, ll), {}),
    ("labels", lambda z, y, il, ll: (z, y[:1], il, ll), {}),
    ("labels", lambda z, y, il, ll: (z, np.where(y == 2, 4, y), il, ll), {}),
    ("labels", lambda z, y, il, ll: (z, np.where(y == 2, -1, y), il, ll), {}),
    ("labels", lambda z, y, il, ll: (z, np.where(y == 2, 0, y), il, ll), {}),
    ("input_lengths", lambda z, y, il, ll: (z, y, il + 1, ll), {}),
    ("input_lengths", lambda z, y, il, ll: (z, y, -il, ll), {}),
    ("input_lengths", lambda z, y, il, ll: (z, y, il[:1], ll), {}),
    ("input_lengths", lambda z, y, il, ll: (z, y, il.astype(np.float64), ll), {}),
    ("label_lengths", lambda z, y, il, ll: (z, y, il, ll + 2), {}),
    ("label_lengths", lambda z, y, il, ll: (z, y, il, ll - 3), {}),
    ("blank", lambda *a: a, {"blank": 4}),
    ("blank", lambda *a: a, {"blank": -1}),
    ("blank", lambda *a: a, {"blank": 1.0}),
    ("time_major", lambda *a: a, {"time_major": 1}),
    ("zero_infinity", lambda *a: a, {"zero_infinity": None}),
    ("length_normalize", lambda *a: a, {"length_normalize": "yes"}),
    ("sample_weight", lambda *a: a, {"sample_weight": np.ones(3)}),
]


@pytest.mark.parametrize(("arg", "mutate", "kw"), BAD, ids=[f"{a}-{i}" for i, (a, _, _) in enumerate(BAD)])
def test_bad_inputs_raise(arg: str, mutate, kw: dict) -> None:
    z, y = RNG.normal(size=(2, 5, 4)), np.array([[1, 2], [3, 0]])
    with pytest.raises(xploss.XplossError, match=rf"^xploss\.ctc: argument `{arg}`: expected .*Received"):
        xploss.ctc(*mutate(z, y, np.array([5, 5]), np.array([2, 1])), **kw)


def test_traced_bad_inputs_give_nan_for_their_sequence() -> None:
    """Under jax.jit the value checks cannot raise: the offending sequence's loss and gradient are NaN, the
    others exact."""
    jax = _load(Backend.JAX)
    import jax.numpy as jnp

    z = RNG.normal(size=(4, 5, 4))
    y = np.array([[1, 2], [3, 9], [1, 0], [2, 2]])  # row 1: label 9 >= C; row 2: blank within the length
    il, ll = np.array([5, 5, 7, 5]), np.array([2, 2, 2, 2])  # row 2's input length 7 > T too
    f = jax.jit(lambda x, y_, i, l_: xploss.value_and_grad(
        lambda a: xploss.ctc(a, y_, i, l_, reduction="sum"))(x))
    _, g = f(jnp.asarray(z), jnp.asarray(y), jnp.asarray(il), jnp.asarray(ll))
    values = jax.jit(lambda x, y_, i, l_: xploss.ctc(x, y_, i, l_, reduction="none"))(
        jnp.asarray(z), jnp.asarray(y), jnp.asarray(il), jnp.asarray(ll))
    values, g = np.asarray(values), np.asarray(g)
    assert np.isnan(values[1:3]).all() and np.isnan(g[1:3]).all()
    keep = [0, 3]
    assert_close(values[keep], ref_ctc(z[keep], y[keep], il[keep], ll[keep]), dtype="float64")


def test_second_order_torch() -> None:
    """torch's double backward (the VJP recomputed under autograd): a Hessian-vector product equals central
    differences of the hand gradient (NumPy)."""
    torch = _load(Backend.TORCH)
    z, y, v = RNG.normal(size=(2, 5, 4)), np.array([[1, 2], [3, 3]]), RNG.normal(size=(2, 5, 4))

    def gdot(x: np.ndarray) -> float:
        _, g = _grad(Backend.NUMPY, xploss.ctc, x, y, reduction="sum")
        return float(np.sum(g * v))

    x = torch.tensor(z, requires_grad=True)
    (g,) = torch.autograd.grad(xploss.ctc(x, torch.tensor(y), reduction="sum"), x, create_graph=True)
    (hv,) = torch.autograd.grad((g * torch.tensor(v)).sum(), x)
    assert_close(hv, _fd(gdot, z), dtype="float64", rtol=1e-8)

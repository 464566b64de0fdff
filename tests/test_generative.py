"""The generative, distillation and multi-task losses (#10) beyond the generic table of ``test_losses.py``.

References: a WGAN-GP critic step written by hand in torch (``x̂.requires_grad_()``,
``autograd.grad(create_graph=True)``, ``sqrt(Σ g² + 1e-10)``, manual SGD), NumPy formulas of the penalties
for a critic whose input gradient is known in closed form, finite differences of them, BUILTINS-2's
numbers (§1.13, §3), torch's ``F.kl_div`` / ``F.binary_cross_entropy`` / ``torch.distributions``, and
the separate xploss calls a composite's parts must equal.  Conventions under test:

* a WGAN-GP critic trains identically (1e-12) with each framework's own optimiser: torch, JAX (optax, under
  ``jax.jit``), TensorFlow (keras SGD under ``tf.function``, a Keras model as the critic too), NumPy (autograd);
* the penalties: eps inside the square root (a critic without input gradient gives ``λ(1e-5 - 1)²`` and a
  zero, finite parameter gradient), ``alpha``'s forms and errors (NaN for the offending sample when traced),
  the critic's errors, no autodiff -> an error;
* the parts convention ``total == Σ c_k parts[k]``, each part equal to its separate call and differentiable;
* distillation: the teacher's gradient is ``None`` (torch, TensorFlow) / zero (JAX) unless asked for;
* uncertainty weighting: the three forms, their minimisers, the gradient; ``weighted_sum``;
* ``gaussian_kl``'s ``expm1`` accuracy, GAN sides of unequal sizes, ``torch.compile(fullgraph=True)``, and a VAE
  step that gives the same losses on torch and JAX.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
from cases import BY_ID  # noqa: F401  (imports the family tables in order)
from cases_generative import ref_gaussian_kl, ref_minimax_discriminator
from conftest import BACKENDS, Backend, _load
from helpers import assert_close, to_backend, to_numpy

import xploss
from xploss import XplossError, XplossTypeError

rng = np.random.default_rng(1010)
N = 4

# NumPy with autograd, torch, JAX, TensorFlow: the backends that differentiate a critic
CRITIC = [b for b in BACKENDS if b is not Backend.ARRAY_API_STRICT]
# Test time: on JAX every eager configuration is a compilation (the generic table checks the reductions of these
# losses there): one reduction where the others are shared code, and no repeat of backend-generic code (alpha).
JAX_REDUCTIONS = ("mean",)


def reductions(b: Backend, names: tuple = ("mean", "sum")) -> tuple:
    return tuple(r for r in names if b is not Backend.JAX or r in JAX_REDUCTIONS)


@pytest.fixture(params=CRITIC, ids=[b.value for b in CRITIC])
def critic_backend(request: pytest.FixtureRequest) -> Backend:
    _load(request.param)
    return request.param


def _t(b: Backend):
    """NumPy -> backend ``b`` (a 0-d array stays 0-d on torch: ``to_backend``'s contiguous copy makes it 1-d)."""
    def convert(x):
        if b is Backend.TORCH and np.ndim(x) == 0:
            import torch

            return torch.tensor(np.asarray(x))
        return to_backend(b, x)
    return convert


# -- 1. the done-when check: a WGAN-GP critic step in each framework's own API --------------------------

REAL, FAKE = rng.normal(size=(N, 3)), rng.normal(size=(N, 3)) + 1.0
ALPHA = rng.uniform(size=N)
INIT = (0.7 * rng.normal(size=(3, 4)), 0.1 * rng.normal(size=4), rng.normal(size=4), np.array(0.3))  # W1 b1 w2 b2
LR, STEPS = 0.0625, 3  # a float32 number: keras keeps its learning rate in a float32 variable


@functools.cache
def wgan_gp_by_hand() -> tuple:
    """The critic step written by hand in torch, no xploss: the loss sequence and the final weights."""
    torch = _load(Backend.TORCH)
    params = [torch.tensor(v, requires_grad=True) for v in INIT]
    real, fake, alpha = torch.tensor(REAL), torch.tensor(FAKE), torch.tensor(ALPHA)[:, None]

    def critic(x):
        w1, b1, w2, b2 = params
        return torch.tanh(x @ w1 + b1) @ w2 + b2

    losses = []
    for _ in range(STEPS):
        interpolates = (real + alpha * (fake - real)).requires_grad_()
        (g,) = torch.autograd.grad(critic(interpolates).sum(), interpolates, create_graph=True)
        slope = torch.sqrt(torch.sum(g ** 2, dim=1) + 1e-10)
        loss = critic(fake).mean() - critic(real).mean() + 10.0 * torch.mean((slope - 1.0) ** 2)
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, dp in zip(params, grads):
                p -= LR * dp
        losses.append(loss.item())
    return np.array(losses), [p.detach().numpy() for p in params]


def _wgan_torch() -> tuple:
    torch = _load(Backend.TORCH)
    critic = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1)).double()
    with torch.no_grad():
        for p, v in zip(critic.parameters(), (INIT[0].T, INIT[1], INIT[2][None], INIT[3][None])):
            p.copy_(torch.tensor(v))
    opt = torch.optim.SGD(critic.parameters(), lr=LR)
    real, fake, alpha = (torch.tensor(v) for v in (REAL, FAKE, ALPHA))
    losses = []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = (xploss.wasserstein_discriminator_loss(critic(real), critic(fake))
                + xploss.gradient_penalty(critic, real, fake, alpha=alpha))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    w1, b1, w2, b2 = critic.parameters()
    return losses, [w1.T, b1, w2[0], b2[0]]


def _wgan_jax() -> tuple:
    jax = _load(Backend.JAX)
    import jax.numpy as jnp
    import optax

    real, fake, alpha = (jnp.asarray(v) for v in (REAL, FAKE, ALPHA))

    def critic(p, x):
        return jnp.tanh(x @ p[0] + p[1]) @ p[2] + p[3]

    def loss_fn(p):
        return (xploss.wasserstein_discriminator_loss(critic(p, real), critic(p, fake))
                + xploss.gradient_penalty(lambda x: critic(p, x), real, fake, alpha=alpha))

    opt = optax.sgd(LR)

    @jax.jit
    def step(p, state):
        loss, grads = jax.value_and_grad(loss_fn)(p)
        updates, state = opt.update(grads, state)
        return optax.apply_updates(p, updates), state, loss

    params = [jnp.asarray(v) for v in INIT]
    state, losses = opt.init(params), []
    for _ in range(STEPS):
        params, state, loss = step(params, state)
        losses.append(float(loss))
    return losses, params


def _tf_step(critic, variables: list) -> tuple:
    """``STEPS`` keras-SGD steps under ``tf.function``: the losses."""
    tf = _load(Backend.TENSORFLOW)
    import keras

    real, fake, alpha = (tf.constant(v) for v in (REAL, FAKE, ALPHA))
    opt = keras.optimizers.SGD(learning_rate=LR)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = (xploss.wasserstein_discriminator_loss(critic(real), critic(fake))
                    + xploss.gradient_penalty(critic, real, fake, alpha=alpha))
        opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    return [float(step()) for _ in range(STEPS)]


def _wgan_tensorflow() -> tuple:
    tf = _load(Backend.TENSORFLOW)
    variables = [tf.Variable(v) for v in INIT]

    def critic(x):
        w1, b1, w2, b2 = variables
        return tf.linalg.matvec(tf.tanh(x @ w1 + b1), w2) + b2

    return _tf_step(critic, variables), variables


def _wgan_keras() -> tuple:
    _load(Backend.TENSORFLOW)
    import keras

    model = keras.Sequential([keras.Input((3,), dtype="float64"),
                              keras.layers.Dense(4, activation="tanh", dtype="float64"),
                              keras.layers.Dense(1, dtype="float64")])
    model.set_weights([INIT[0], INIT[1], INIT[2][:, None], INIT[3][None]])
    losses = _tf_step(model, model.trainable_variables)
    w1, b1, w2, b2 = (to_numpy(v) for v in model.trainable_variables)
    return losses, [w1, b1, w2[:, 0], b2[0]]


def _wgan_numpy() -> tuple:
    import autograd
    import autograd.numpy as anp

    def critic(p, x):
        return anp.tanh(x @ p[0] + p[1]) @ p[2] + p[3]

    def loss_fn(p):
        return (xploss.wasserstein_discriminator_loss(critic(p, REAL), critic(p, FAKE))
                + xploss.gradient_penalty(lambda x: critic(p, x), REAL, FAKE, alpha=ALPHA))

    params, losses = list(INIT), []
    for _ in range(STEPS):
        loss, grads = autograd.value_and_grad(loss_fn)(params)
        params = [p - LR * g for p, g in zip(params, grads)]
        losses.append(float(loss))
    return losses, params


WGAN = {"torch": _wgan_torch, "jax": _wgan_jax, "tensorflow": _wgan_tensorflow, "keras": _wgan_keras,
        "numpy": _wgan_numpy}


@pytest.mark.parametrize("framework", list(WGAN))
def test_wgan_gp_critic_step_matches_the_hand_written_torch_step(framework: str) -> None:
    """Critic loss = wasserstein_discriminator_loss(D(real), D(fake)) + gradient_penalty(D, real, fake): the
    loss sequence and the final weights of three SGD steps equal the hand-written torch step at 1e-12, so
    the frameworks agree with each other too."""
    ref_losses, ref_params = wgan_gp_by_hand()
    losses, params = WGAN[framework]()
    assert_close(np.array(losses), ref_losses, dtype="float64", what=f"{framework} losses")
    assert ref_losses[-1] < ref_losses[0]  # it trains
    for name, p, e in zip(("W1", "b1", "w2", "b2"), params, ref_params):
        assert_close(to_numpy(p), e, dtype="float64", what=f"{framework} final {name}")


# -- 2. the penalties ------------------------------------------------------------------------------

X, Y = rng.normal(size=(N, 3)), rng.normal(size=(N, 3))
W = rng.normal(size=3)
A = rng.uniform(0.1, 0.9, size=N)


def tanh_critic(w):
    """A patch critic ``tanh(x) w`` (``(N, 3)`` scores, summed per sample): input gradient ``(1 - tanh²) w``."""
    def critic(x):
        return xploss.array_namespace(x).tanh(x) * w
    return critic


def _lead(a, ndim: int):
    return np.reshape(a, (-1,) + (1,) * (ndim - 1)) if np.ndim(a) == 1 else a


def gp_slopes(w, real, fake, alpha) -> np.ndarray:
    """``sqrt(Σ g² + 1e-10)`` per sample (TF-GAN's eps), ``g`` the tanh critic's gradient at the interpolates."""
    g = (1.0 - np.tanh(real + _lead(alpha, real.ndim) * (fake - real)) ** 2) * w
    return np.sqrt(np.sum(g ** 2, axis=tuple(range(1, g.ndim))) + 1e-10)


def ref_gp(w, real, fake, alpha, *, weight=10.0, target=1.0, one_sided=False):
    """WGAN-GP per sample, from the definition."""
    u = gp_slopes(w, real, fake, alpha) / target - 1.0
    return weight * (np.maximum(u, 0.0) if one_sided else u) ** 2


def ref_r1(w, real, *, gamma=10.0):
    g = (1.0 - np.tanh(real) ** 2) * w
    return 0.5 * gamma * np.sum(g ** 2, axis=tuple(range(1, g.ndim)))


_MID = float(np.mean(np.sort(gp_slopes(W, X, Y, A))[1:3]))  # a target between the slopes: one_sided clamps two
PENALTIES = {  # id -> (xploss call (critic, real, fake, alpha, reduction), reference per sample as a function of w)
    "gp": (lambda c, x, y, a, r: xploss.gradient_penalty(c, x, y, alpha=a, reduction=r),
           lambda w: ref_gp(w, X, Y, A)),
    "gp-one_sided-target": (
        lambda c, x, y, a, r: xploss.gradient_penalty(c, x, y, alpha=a, weight=3.0, target=_MID, one_sided=True,
                                                      reduction=r),
        lambda w: ref_gp(w, X, Y, A, weight=3.0, target=_MID, one_sided=True)),
    "r1": (lambda c, x, y, a, r: xploss.r1_penalty(c, x, gamma=3.0, reduction=r), lambda w: ref_r1(w, X, gamma=3.0)),
}


def _central(f, w: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """4-point central differences (truncation ~h⁴ f⁽⁵⁾, rounding ~1e-16 / h: ~1e-11 here)."""
    g = np.zeros_like(w)
    for j in range(w.size):
        e = np.zeros_like(w)
        e[j] = h
        g[j] = (8 * (f(w + e) - f(w - e)) - (f(w + 2 * e) - f(w - 2 * e))) / (12 * h)
    return g


@pytest.mark.parametrize("kind", list(PENALTIES))
def test_penalty_values_and_parameter_gradient(critic_backend: Backend, kind: str) -> None:
    """Per-sample values, "mean" and "sum" against the formula; the gradient of the mean with respect to
    the critic's weights (a second derivative through the backend's autodiff) against its central differences."""
    call, ref = PENALTIES[kind]
    T = _t(critic_backend)
    x, y, a = T(X), T(Y), T(A)
    if kind == "gp-one_sided-target":
        assert np.sum(ref(W) == 0) == 2  # the clamp is visited; every slope is far from it for the differences
        assert np.min(np.abs(gp_slopes(W, X, Y, A) / _MID - 1.0)) > 0.01
    reduce_by = {"none": lambda v: v, "mean": np.mean, "sum": np.sum}
    for reduction in reductions(critic_backend, ("none", "mean", "sum")):
        reduce = reduce_by[reduction]
        assert_close(call(tanh_critic(T(W)), x, y, a, reduction), reduce(ref(W)), dtype="float64", b=critic_backend,
                     what=f"{kind} {reduction}")
    value, grad = xploss.value_and_grad(lambda w: call(tanh_critic(w), x, y, a, "mean"))(T(W))
    assert_close(value, np.mean(ref(W)), dtype="float64", b=critic_backend, what=f"{kind} value")
    assert_close(grad, _central(lambda w: np.mean(ref(w)), W), dtype="float64", b=critic_backend, rtol=1e-9,
                 what=f"{kind} d/dw")


def test_penalties_compile_under_jax_jit() -> None:
    """``jax.jit`` of the penalty and of its gradient with respect to the critic's weights (an outer
    ``jax.grad`` of an inner one): the formula and its central differences."""
    jax = _load(Backend.JAX)
    x, y, a, w = (to_backend(Backend.JAX, v) for v in (X, Y, A, W))
    for kind, (call, ref) in PENALTIES.items():
        step = jax.jit(xploss.value_and_grad(lambda w_, call=call: call(tanh_critic(w_), x, y, a, "mean")))
        value, grad = step(w)
        assert_close(value, np.mean(ref(W)), dtype="float64", b=Backend.JAX, what=f"{kind} jit value")
        assert_close(grad, _central(lambda w_, ref=ref: np.mean(ref(w_)), W), dtype="float64", b=Backend.JAX,
                     rtol=1e-9, what=f"{kind} jit d/dw")


@pytest.mark.parametrize("jit_compile", [False, True], ids=["graph", "xla"])
def test_penalties_compile_under_tf_function(jit_compile: bool) -> None:
    """A nested ``GradientTape`` inside ``tf.function``, XLA included (TF-GAN's own penalty refuses eager mode
    instead): the formula and the eager gradient."""
    tf = _load(Backend.TENSORFLOW)
    x, y, a = (tf.constant(v) for v in (X, Y, A))
    w = tf.Variable(W)
    for kind, (call, ref) in PENALTIES.items():
        def step(call=call):
            with tf.GradientTape() as tape:
                value = call(tanh_critic(w), x, y, a, "mean")
            return value, tape.gradient(value, w)

        value, grad = tf.function(step, jit_compile=jit_compile)()
        _, eager_grad = step()
        assert_close(value, np.mean(ref(W)), dtype="float64", b=Backend.TENSORFLOW, what=f"{kind} value")
        assert_close(grad, to_numpy(eager_grad), dtype="float64", b=Backend.TENSORFLOW, what=f"{kind} d/dw")


def test_penalty_under_torch_no_grad() -> None:
    """Under ``torch.no_grad`` the penalty is computed (its input gradient needs autograd, which xploss enables
    for that inner gradient only) and equals the eager value, but it is *not* differentiable: no graph is
    recorded under ``no_grad``, as for every torch operation (an evaluation pass must not keep the critic's
    graph alive); the critic's parameters get no gradient."""
    torch = _load(Backend.TORCH)
    w = torch.tensor(W, requires_grad=True)
    args = (torch.tensor(X), torch.tensor(Y))
    with torch.no_grad():
        value = xploss.gradient_penalty(tanh_critic(w), *args, alpha=torch.tensor(A))
        r1 = xploss.r1_penalty(tanh_critic(w), args[0])
    assert not value.requires_grad and not r1.requires_grad and w.grad is None
    assert_close(value, np.mean(ref_gp(W, X, Y, A)), dtype="float64", b=Backend.TORCH, what="no_grad value")
    assert_close(r1, np.mean(ref_r1(W, X)), dtype="float64", b=Backend.TORCH, what="no_grad r1")
    assert xploss.gradient_penalty(tanh_critic(w), *args, alpha=torch.tensor(A)).requires_grad  # and outside it


def test_zero_input_gradient_is_finite(critic_backend: Backend) -> None:
    """The NaN trap (pytorch/pytorch#2534): a critic whose input gradient is exactly 0 (``x w`` at ``w = 0``)
    gives ``λ (√1e-10 - 1)² = λ (1e-5 - 1)²`` and a zero, finite gradient for its weights (``sqrt(Σ g²)``
    without the eps: 0 / 0); R1 (no square root) gives 0."""
    T = _t(critic_backend)
    x, y, zero = T(X), T(Y), T(np.zeros(3))

    def linear(w):
        return lambda v: v * w

    for fn, expected in ((lambda w: xploss.gradient_penalty(linear(w), x, y, alpha=0.3, weight=7.0),
                          7.0 * (1e-5 - 1) ** 2),
                         (lambda w: xploss.r1_penalty(linear(w), x), 0.0)):
        value, grad = xploss.value_and_grad(fn)(zero)
        assert_close(value, expected, dtype="float64", b=critic_backend, what="zero-gradient value")
        assert np.all(to_numpy(grad) == 0.0), to_numpy(grad)


def test_target_and_one_sided_closed_form(critic_backend: Backend) -> None:
    """A linear critic of gradient norm 5 (BUILTINS-2 §3.2: 16.0 without λ; one-sided with target 10: 0)."""
    T = _t(critic_backend)
    x, y = T(X), T(Y)
    w = T(np.array([3.0, 4.0, 0.0]))

    def critic(v):
        return v * w

    slope = math.sqrt(25.0 + 1e-10)
    for opts, expected in (({"weight": 1.0}, (slope - 1) ** 2), ({}, 10 * (slope - 1) ** 2),
                           ({"target": 10.0, "one_sided": True}, 0.0), ({"target": 10.0}, 10 * (slope / 10 - 1) ** 2),
                           ({"target": 2.0, "one_sided": True, "weight": 2.0}, 2 * (slope / 2 - 1) ** 2)):
        got = xploss.gradient_penalty(critic, x, y, alpha=0.5, **opts)
        assert_close(got, expected, dtype="float64", b=critic_backend, what=f"{opts}")


@pytest.mark.parametrize("b", [b for b in CRITIC if b is not Backend.JAX], ids=lambda b: b.value)
def test_alpha_forms(b: Backend) -> None:
    """``alpha`` as a float, ``(N,)`` (reshaped to ``(N, 1, ..., 1)``), ``(N, 1, 1)`` and a full array, on
    ``(N, 2, 3)`` images: the formula with the interpolates ``x + α (y - x)`` (JAX: traced, below)."""
    _load(b)
    T = _t(b)
    x, y, w = rng.normal(size=(N, 2, 3)), rng.normal(size=(N, 2, 3)), rng.normal(size=(2, 3))
    full = rng.uniform(size=(N, 2, 3))
    for alpha, ref_alpha in ((0.25, 0.25), (A, A), (A[:, None, None], A), (full, full)):
        got = xploss.gradient_penalty(tanh_critic(T(w)), T(x), T(y), alpha=alpha if isinstance(alpha, float)
                                      else T(alpha), reduction="none")
        assert_close(got, ref_gp(w, x, y, ref_alpha), dtype="float64", b=b, what=f"alpha {np.shape(alpha)}")


@pytest.mark.parametrize("alpha,match", [
    (np.ones(3), r"argument `alpha`: expected shape \(4,\), one coefficient per sample\. Received: shape \(3,\)"),
    (np.ones((4, 2)), r"argument `alpha`: expected shape \(\), \(4,\) or one broadcasting against real \(4, 3\)"),
    (np.array([0.5, 1.5, 0.2, 0.0]), r"argument `alpha`: expected values in \[0, 1\]\. Received: values from 0\.0 "
                                     r"to 1\.5"),
    (-0.1, r"argument `alpha`: expected a value in \[0\.0, 1\.0\]\. Received: -0\.1"),
    ("0.5", r"argument `alpha`: expected interpolation coefficients in \[0, 1\]"),
], ids=["short", "bad-shape", "above-1", "negative-float", "string"])
def test_alpha_errors(alpha, match: str) -> None:
    with pytest.raises(XplossError, match=match):
        xploss.gradient_penalty(tanh_critic(W), X, Y, alpha=alpha)


def test_alpha_outside_unit_interval_poisons_its_sample_under_jit() -> None:
    """Traced, ``alpha`` cannot be checked: the offending samples' penalties are NaN, the others exact."""
    jax = _load(Backend.JAX)
    bad = np.array([0.5, 1.5, 0.2, -0.1])
    x, y, w = (to_backend(Backend.JAX, v) for v in (X, Y, W))
    got = to_numpy(jax.jit(lambda a: xploss.gradient_penalty(tanh_critic(w), x, y, alpha=a, reduction="none"))(
        to_backend(Backend.JAX, bad)))
    assert np.isnan(got[[1, 3]]).all()
    assert_close(got[[0, 2]], ref_gp(W, X, Y, bad)[[0, 2]], dtype="float64", what="the valid samples")


def test_critic_errors(critic_backend: Backend) -> None:
    """A critic without one score per sample (a batch mean: its gradient is scaled by 1/N), one returning a
    Python number, or no callable: an error naming `critic`."""
    T = _t(critic_backend)
    x, y = T(X), T(Y)
    mean = xploss.array_namespace(x).mean
    cases = [
        (lambda v: mean(v), XplossError, r"expected one score per sample: an output of shape \(4,\) or \(4, \.\.\.\) "
                                         r"\(the gradient of a batch mean would be scaled by 1/N\)\. Received: an "
                                         r"output of shape \(\)"),
        (lambda v: v[:2, 0], XplossError, r"expected one score per sample: .*Received: an output of shape \(2,\)"),
        (lambda v: 1.0, XplossTypeError, r"expected a callable returning an array of the input's library\. Received: "
                                         r"a return value of type float"),
        (3.0, XplossTypeError, r"expected a callable critic\(x\) returning one score per sample\. Received: float"),
    ]
    for critic, kind, match in cases:
        for name, call in (("gradient_penalty", lambda c: xploss.gradient_penalty(c, x, y, alpha=0.5)),
                           ("r1_penalty", lambda c: xploss.r1_penalty(c, x))):
            with pytest.raises(kind, match=rf"^xploss\.{name}: argument `critic`: {match}"):
                call(critic)


def test_backends_without_autodiff_refuse(monkeypatch: pytest.MonkeyPatch) -> None:
    """array_api_strict has no autodiff of a function; NumPy without HIPS autograd neither."""
    import array_api_strict as xps

    from xploss.backends import _numpy

    match = r"argument `critic`: expected a critic whose input gradient this backend can take\. Received: arrays of "
    with pytest.raises(XplossError, match=match + "array_api_strict"):
        xploss.gradient_penalty(lambda v: v, xps.asarray(X), xps.asarray(Y), alpha=0.5)
    monkeypatch.setattr(_numpy, "_AUTOGRAD", [None])
    for call in (lambda: xploss.gradient_penalty(lambda v: v, X, Y, alpha=0.5), lambda: xploss.r1_penalty(
            lambda v: v, X)):
        with pytest.raises(XplossError, match=match + r"numpy.*pip install \"xploss\[autograd\]\""):
            call()


def test_penalty_gradient_with_respect_to_real_and_fake() -> None:
    """When ``real`` and ``fake`` require grad (a generator's step through the penalty), their gradients equal
    the hand-written torch penalty's."""
    torch = _load(Backend.TORCH)
    w = torch.tensor(W)

    def by_hand(real, fake):
        x = real + torch.tensor(A)[:, None] * (fake - real)
        if not x.requires_grad:
            x.requires_grad_()
        (g,) = torch.autograd.grad((torch.tanh(x) * w).sum(), x, create_graph=True)
        return 10.0 * torch.mean((torch.sqrt(torch.sum(g ** 2, dim=1) + 1e-10) - 1.0) ** 2)

    grads = []
    for fn in (lambda r, f: xploss.gradient_penalty(tanh_critic(w), r, f, alpha=torch.tensor(A)), by_hand):
        real, fake = torch.tensor(X, requires_grad=True), torch.tensor(Y, requires_grad=True)
        fn(real, fake).backward()
        grads.append((real.grad, fake.grad))
    for name, g, e in zip(("real", "fake"), grads[0], grads[1]):
        assert g is not None and torch.any(g != 0)
        assert_close(g, to_numpy(e), dtype="float64", b=Backend.TORCH, what=f"d/d{name}")


# -- 3. the parts convention: total = Σ c_k parts[k], parts = the separate calls, differentiable -------------

ELBO_IN = (rng.normal(size=(N, 2, 3)), rng.normal(size=(N, 2, 3)), rng.normal(size=(N, 3)),
           rng.uniform(-1.0, 1.0, size=(N, 3)))
DISTILL_IN = (rng.normal(scale=2.0, size=(N, 3)), rng.normal(scale=2.0, size=(N, 3)), rng.integers(0, 3, size=N))
SIDES_IN = (rng.normal(scale=2.0, size=N), rng.normal(scale=2.0, size=N + 2))  # two batches of unequal sizes


def _per_batch(r: str, like):
    """The sample weight that turns a "sum" over (N, ...) into the ELBO's reduction (1/N: the batch mean)."""
    return xploss.array_namespace(like).ones(N, dtype=like.dtype) / (N if r == "mean" else 1)


def _ones(x, value: float = 1.0):
    return xploss.array_namespace(x).ones(x.shape, dtype=x.dtype) * value


PARTS = {  # loss -> (inputs, call(arrays, reduction, **kw), coefficients, the separate call of each part)
    "vae_elbo": (ELBO_IN, lambda a, r, **k: xploss.vae_elbo(*a, beta=0.7, reduction=r, **k),
                 {"reconstruction": 1.0, "kl": 0.7},
                 {"reconstruction": ((0, 1), lambda a, r: xploss.mse(a[0], a[1], sample_weight=_per_batch(r, a[0]),
                                                                     reduction="sum")),
                  "kl": ((2, 3), lambda a, r: xploss.gaussian_kl(a[2], a[3], reduction=r))}),
    "distillation": (DISTILL_IN, lambda a, r, **k: xploss.distillation(*a, temperature=2.5, alpha=0.3, reduction=r,
                                                                       **k),
                     {"hard": 0.7, "soft": 0.3},
                     {"hard": ((0,), lambda a, r: xploss.cross_entropy(a[0], a[2], reduction=r)),
                      "soft": ((0,), lambda a, r: xploss.distillation(a[0], a[1], None, temperature=2.5, alpha=1.0,
                                                                      reduction=r))}),
    "minimax_discriminator_loss": (
        SIDES_IN, lambda a, r, **k: xploss.minimax_discriminator_loss(*a, reduction=r, **k), {"real": 1.0, "fake": 1.0},
        {"real": ((0,), lambda a, r: xploss.sigmoid_binary_cross_entropy(a[0], _ones(a[0]), label_smoothing=0.25,
                                                                         reduction=r)),
         "fake": ((1,), lambda a, r: xploss.sigmoid_binary_cross_entropy(a[1], _ones(a[1], 0.0), reduction=r))}),
    "least_squares_discriminator_loss": (
        SIDES_IN, lambda a, r, **k: xploss.least_squares_discriminator_loss(*a, real_label=0.9, fake_label=-0.2,
                                                                            reduction=r, **k),
        {"real": 1.0, "fake": 1.0},
        {"real": ((0,), lambda a, r: xploss.least_squares_generator_loss(a[0], real_label=0.9, reduction=r)),
         "fake": ((1,), lambda a, r: xploss.least_squares_generator_loss(a[1], real_label=-0.2, reduction=r))}),
    "wasserstein_discriminator_loss": (
        SIDES_IN, lambda a, r, **k: xploss.wasserstein_discriminator_loss(*a, reduction=r, **k),
        {"real": 1.0, "fake": 1.0},
        {"real": ((0,), lambda a, r: xploss.wasserstein_generator_loss(a[0], reduction=r)),
         "fake": ((1,), lambda a, r: xploss.weighted_sum([xploss.wasserstein_generator_loss(a[1], reduction=r)],
                                                         [-1.0]))}),
    "wasserstein_hinge_discriminator_loss": (
        SIDES_IN, lambda a, r, **k: xploss.wasserstein_hinge_discriminator_loss(*a, reduction=r, **k),
        {"real": 1.0, "fake": 1.0},
        {"real": ((0,), lambda a, r: xploss.hinge(a[0], _ones(a[0]), reduction=r)),
         "fake": ((1,), lambda a, r: xploss.hinge(a[1], _ones(a[1], 0.0), reduction=r))}),
}


def _replaced(arrays: list, nums: tuple, values: tuple) -> list:
    """``arrays`` with the entries at ``nums`` replaced by ``values`` (the differentiated ones)."""
    out = list(arrays)
    for i, v in zip(nums, values):
        out[i] = v
    return out


JAX_PARTS = ("vae_elbo", "minimax_discriminator_loss")  # the two-kernel ELBO, two sides of unequal sizes


@pytest.mark.parametrize("b,name", [(b, n) for b in BACKENDS for n in PARTS if b is not Backend.JAX or n in JAX_PARTS],
                         ids=lambda v: v.value if isinstance(v, Backend) else v)
def test_parts(b: Backend, name: str) -> None:
    """``return_parts=True``: the total is the plain call's and ``Σ c_k parts[k]`` with the documented
    coefficients; each part equals its separate call, value and gradient (with respect to the inputs it
    depends on), on every backend (the NumPy / array_api_strict tapes included)."""
    inputs, call, coefs, separate = PARTS[name]
    _load(b)
    arrays = [to_backend(b, v) for v in inputs]
    for r in reductions(b):
        total, parts = call(arrays, r, return_parts=True)
        assert set(parts) == set(coefs)
        assert_close(total, to_numpy(call(arrays, r)), dtype="float64", b=b, what=f"{r} total")
        assert_close(total, sum(c * to_numpy(parts[k]) for k, c in coefs.items()), dtype="float64",
                     what=f"{r} total = Σ c_k parts[k]")
        for k, (nums, fn) in separate.items():
            def part(*xs, k=k, nums=nums, r=r):
                return call(_replaced(arrays, nums, xs), r, return_parts=True)[1][k]

            def alone(*xs, fn=fn, nums=nums, r=r):
                return fn(_replaced(arrays, nums, xs), r)

            (v, g), (e, eg) = (xploss.value_and_grad(f, tuple(range(len(nums))))(*(arrays[i] for i in nums))
                               for f in (part, alone))
            assert_close(v, to_numpy(e), dtype="float64", b=b, what=f"{r} part {k}")
            for i, gi, ei in zip(nums, g, eg):
                assert_close(gi, to_numpy(ei), dtype="float64", b=b, what=f"{r} part {k} d/d(arg {i})")


# -- 4. distillation ------------------------------------------------------------------------------------------

T_B2 = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]])  # BUILTINS-2 §1.13: teacher, student, T = 3
S_B2 = np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 2.0]])


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@functools.cache
def torch_distillation(labels: tuple | None, alpha: float) -> float:
    """``(1 - α) F.cross_entropy(s, y) + α T² F.kl_div(log_softmax(s/T), softmax(t/T), "batchmean")``, T = 3."""
    torch = _load(Backend.TORCH)
    F = torch.nn.functional
    s, t = torch.tensor(S_B2), torch.tensor(T_B2)
    soft = 9.0 * F.kl_div(F.log_softmax(s / 3.0, -1), F.softmax(t / 3.0, -1), reduction="batchmean")
    return float(soft if labels is None else (1 - alpha) * F.cross_entropy(s, torch.tensor(labels)) + alpha * soft)


def test_distillation_builtins_numbers(backend: Backend) -> None:
    """BUILTINS-2 §1.13: batchmean × T² is 0.3279502 (torch's value at 1e-12); the reversed KL's 0.3316863 is
    what swapping the two gives; the per-element mean (0.1093167, a third) is not xploss' "mean"."""
    T = _t(backend)
    s, t = T(S_B2), T(T_B2)
    soft = xploss.distillation(s, t, None, temperature=3.0, alpha=1.0)
    assert_close(soft, torch_distillation(None, 1.0), dtype="float64", b=backend, what="soft vs torch")
    assert abs(float(to_numpy(soft)) - 0.3279502) < 1e-7
    assert abs(float(to_numpy(xploss.distillation(t, s, None, temperature=3.0, alpha=1.0))) - 0.3316863) < 1e-7
    assert abs(float(to_numpy(soft)) / 3 - 0.1093167) < 1e-7  # the N·C mean is a third of it
    total = xploss.distillation(s, t, T(np.array([0, 2])), temperature=3.0, alpha=0.7)
    assert_close(total, torch_distillation((0, 2), 0.7), dtype="float64", b=backend, what="total vs torch")


def test_distillation_student_gradient(backend: Backend) -> None:
    """The soft term's student gradient is ``T (p_s - p_t) / N`` (the T² keeps it from shrinking as 1/T²)."""
    T = _t(backend)
    _, g = xploss.value_and_grad(lambda s: xploss.distillation(s, T(T_B2), None, temperature=3.0, alpha=1.0))(T(S_B2))
    expected = 3.0 * (_softmax(S_B2 / 3.0) - _softmax(T_B2 / 3.0)) / 2
    assert_close(g, expected, dtype="float64", b=backend, what="d/d student")


def test_distillation_teacher_gets_no_gradient() -> None:
    """``teacher_grad=False``: torch's ``.grad`` stays None, TensorFlow's tape gives None, JAX gives zeros;
    ``teacher_grad=True``: a gradient everywhere."""
    torch, jax, tf = (_load(b) for b in (Backend.TORCH, Backend.JAX, Backend.TENSORFLOW))
    y = np.array([0, 2])
    for teacher_grad in (False, True):
        s, t = torch.tensor(S_B2, requires_grad=True), torch.tensor(T_B2, requires_grad=True)
        xploss.distillation(s, t, torch.tensor(y), teacher_grad=teacher_grad).backward()
        assert s.grad is not None and (t.grad is not None) == teacher_grad
        s, t, yt = tf.constant(S_B2), tf.constant(T_B2), tf.constant(y)
        with tf.GradientTape() as tape:
            tape.watch([s, t])
            loss = xploss.distillation(s, t, yt, teacher_grad=teacher_grad)
        gs, gt = tape.gradient(loss, [s, t])
        assert gs is not None and (gt is not None) == teacher_grad
        gs, gt = jax.grad(lambda s_, t_, tg=teacher_grad: xploss.distillation(s_, t_, to_backend(Backend.JAX, y),
                                                                              teacher_grad=tg), argnums=(0, 1))(
            to_backend(Backend.JAX, S_B2), to_backend(Backend.JAX, T_B2))
        assert np.any(to_numpy(gs) != 0) and np.any(to_numpy(gt) != 0) == teacher_grad


def test_distillation_without_labels() -> None:
    """``labels=None`` is pure distillation, with ``alpha=1`` only."""
    soft = xploss.distillation(S_B2, T_B2, None, temperature=3.0, alpha=1.0)
    total, parts = xploss.distillation(S_B2, T_B2, None, temperature=3.0, alpha=1.0, return_parts=True)
    assert set(parts) == {"soft"} and float(total) == float(parts["soft"]) == float(soft)
    with pytest.raises(XplossError, match=r"xploss\.distillation: argument `labels`: expected class labels for the "
                                          r"hard term \(or alpha=1\.0: distillation only\)\. Received: None with "
                                          r"alpha=0\.7"):
        xploss.distillation(S_B2, T_B2, None)


# -- 5. uncertainty weighting and weighted sums -----------------------------------------------------------

FORMS = {"simple": (1.0, 1.0), "regression": (0.5, 0.5), "classification": (1.0, 0.5)}  # a e^{-s} L + b s
TASKS = np.array([2.0, 0.3])
LOG_VARS = np.array([0.4, -0.9])


def test_uncertainty_weighting_forms_and_gradients(backend: Backend) -> None:
    """The three forms against ``Σ a e^{-s} L + b s`` (Kendall et al.; BUILTINS-2 §3.5), "simple" by default;
    gradients ``a e^{-s}`` (losses) and ``b - a e^{-s} L`` (log-variances), a (K,) array or a sequence."""
    T = _t(backend)
    for form, (a, b) in FORMS.items():
        expected = np.sum(a * np.exp(-LOG_VARS) * TASKS + b * LOG_VARS)
        value, (gl, gs) = xploss.value_and_grad(lambda L, s, form=form: xploss.uncertainty_weighting(L, s, form=form),
                                                (0, 1))(T(TASKS), T(LOG_VARS))
        assert_close(value, expected, dtype="float64", b=backend, what=f"{form} value")
        assert_close(gl, a * np.exp(-LOG_VARS), dtype="float64", b=backend, what=f"{form} d/dL")
        assert_close(gs, b - a * np.exp(-LOG_VARS) * TASKS, dtype="float64", b=backend, what=f"{form} d/ds")
        listed = xploss.uncertainty_weighting([T(np.array(v)) for v in TASKS], T(LOG_VARS), form=form)
        assert_close(listed, expected, dtype="float64", b=backend, what=f"{form} sequence")
    assert_close(xploss.uncertainty_weighting(T(TASKS), T(LOG_VARS)), np.sum(np.exp(-LOG_VARS) * TASKS + LOG_VARS),
                 dtype="float64", b=backend, what="default form")


def _minimum(form: str) -> np.ndarray:
    """``s* = log(a L / b)``: ``log L`` (simple, regression), ``log 2L`` (classification)."""
    a, b = FORMS[form]
    return np.log(a * TASKS / b)


STEPS_UW = 10  # gradient steps of size 1/b: Newton's step at the minimum (u -> u²/2): 1e-15 after 8 from s = 0


@pytest.mark.parametrize("form", list(FORMS))
def test_uncertainty_weighting_minimisers(form: str) -> None:
    """The log-variances trained by each framework's optimiser reach ``s* = log L`` (simple, regression) and
    ``log 2L`` (classification): torch's ``xploss.torch.UncertaintyWeighting`` with ``torch.optim.SGD``, a
    ``tf.Variable`` with a tape, ``jax.grad``."""
    torch, jax, tf = (_load(b) for b in (Backend.TORCH, Backend.JAX, Backend.TENSORFLOW))
    import xploss.torch as xt

    lr = 1.0 / FORMS[form][1]
    weighting = xt.UncertaintyWeighting(2, form=form).double()
    opt = torch.optim.SGD(weighting.parameters(), lr=lr)
    tasks = [torch.tensor(v) for v in TASKS]
    for _ in range(STEPS_UW):
        opt.zero_grad()
        weighting(tasks).backward()
        opt.step()
    s_tf, tasks_tf = tf.Variable(np.zeros(2)), tf.constant(TASKS)
    for _ in range(STEPS_UW):
        with tf.GradientTape() as tape:
            loss = xploss.uncertainty_weighting(tasks_tf, s_tf, form=form)
        s_tf.assign_sub(lr * tape.gradient(loss, s_tf))
    s_jax, tasks_jax = to_backend(Backend.JAX, np.zeros(2)), to_backend(Backend.JAX, TASKS)
    grad = jax.jit(jax.grad(lambda s: xploss.uncertainty_weighting(tasks_jax, s, form=form)))
    for _ in range(STEPS_UW):
        s_jax = s_jax - lr * grad(s_jax)
    for name, s in (("torch", weighting.log_vars), ("tensorflow", s_tf), ("jax", s_jax)):
        assert_close(to_numpy(s), _minimum(form), dtype="float64", what=f"{name} minimiser")


def test_weighted_sum(backend: Backend) -> None:
    """Constant weights (floats) and an array of weights, whose gradient is the losses; the losses' gradient
    is the weights; a sequence of 0-d losses or one (K,) array."""
    T = _t(backend)
    w = np.array([1.0, -0.5])
    assert_close(xploss.weighted_sum([T(np.array(v)) for v in TASKS], [1.0, -0.5]), TASKS @ w, dtype="float64",
                 b=backend, what="float weights")
    value, (gl, gw) = xploss.value_and_grad(xploss.weighted_sum, (0, 1))(T(TASKS), T(w))
    assert_close(value, TASKS @ w, dtype="float64", b=backend, what="array weights")
    assert_close(gl, w, dtype="float64", b=backend, what="d/d losses")
    assert_close(gw, TASKS, dtype="float64", b=backend, what="d/d weights")
    value, g = xploss.value_and_grad(lambda a, b: xploss.weighted_sum([a, b], [0.25, 2.0]), (0, 1))(
        *(T(np.array(v)) for v in TASKS))
    assert_close(value, 0.25 * TASKS[0] + 2.0 * TASKS[1], dtype="float64", b=backend, what="sequence")
    assert [float(to_numpy(v)) for v in g] == [0.25, 2.0]


@pytest.mark.parametrize("call,kind,match", [
    (lambda: xploss.weighted_sum([], []), XplossError, r"weighted_sum: argument `losses`: expected a non-empty "
                                                       r"sequence of scalar losses or one array of them\. Received: an "
                                                       r"empty sequence"),
    (lambda: xploss.weighted_sum([np.ones(2), np.array(1.0)], [1.0, 1.0]), XplossError,
     r"weighted_sum: argument `losses`: expected scalar \(0-d\) losses.*Received: shape \(2,\) at position 0"),
    (lambda: xploss.weighted_sum(np.ones((2, 2)), [1.0, 1.0]), XplossError,
     r"weighted_sum: argument `losses`: expected one 1-d array of K scalar losses"),
    (lambda: xploss.weighted_sum(TASKS, [1.0, 2.0, 3.0]), XplossError,
     r"weighted_sum: argument `weights`: expected shape \(2,\): one entry per loss\. Received: shape \(3,\)"),
    (lambda: xploss.weighted_sum([1.0, 2.0], [1.0, 2.0]), XplossTypeError,
     r"weighted_sum: argument `losses`: expected a sequence of arrays .*Received: float at position 0"),
    (lambda: xploss.uncertainty_weighting(TASKS, np.zeros(3)), XplossError,
     r"uncertainty_weighting: argument `log_vars`: expected shape \(2,\): one entry per loss"),
    (lambda: xploss.uncertainty_weighting(TASKS, [0.0, 0.0]), XplossTypeError,
     r"uncertainty_weighting: argument `log_vars`: expected a 1-d floating array \(trainable\)"),
    (lambda: xploss.uncertainty_weighting(TASKS, np.zeros(2), form="kendall"), XplossError,
     r"uncertainty_weighting: argument `form`: expected one of 'simple', 'regression', 'classification'"),
], ids=["empty", "not-0-d", "2-d-array", "weights-length", "floats", "log_vars-length", "log_vars-floats", "form"])
def test_combination_errors(call, kind: type, match: str) -> None:
    with pytest.raises(kind, match=r"^xploss\." + match):
        call()


# -- 6. the Gaussian KL and the ELBO ---------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore:overflow encountered in expm1:RuntimeWarning")  # NumPy's inf, as expected
def test_gaussian_kl_tiny_and_huge_logvar(backend: Backend) -> None:
    """``logvar = 1e-9``: ``½(expm1(lv) - lv) ≈ lv²/4`` per element to 1e-6 (``1 + lv - exp(lv)`` cancels to
    noise); a huge ``logvar`` gives ``inf``, not NaN."""
    T = _t(backend)
    lv = np.full((2, 3), 1e-9)
    got = to_numpy(xploss.gaussian_kl(T(np.zeros((2, 3))), T(lv), reduction="none"))
    assert np.all(np.abs(got / (3 * 1e-18 / 4) - 1.0) < 1e-6), got
    huge = to_numpy(xploss.gaussian_kl(T(np.zeros((2, 3))), T(np.full((2, 3), 1e3)), reduction="none"))
    assert np.all(np.isposinf(huge)), huge
    assert_close(xploss.gaussian_kl(T(ELBO_IN[2]), T(ELBO_IN[3]), reduction="none"),
                 ref_gaussian_kl(ELBO_IN[2], ELBO_IN[3]), dtype="float64", b=backend, what="moderate")


def test_gaussian_kl_equals_torch_distributions() -> None:
    """BUILTINS-2 §3.4: ``kl_divergence(Normal(μ, σ), Normal(0, 1)).sum(-1)``."""
    torch = _load(Backend.TORCH)
    from torch.distributions import Normal, kl_divergence

    mu, lv = (torch.tensor(v) for v in ELBO_IN[2:])
    expected = kl_divergence(Normal(mu, torch.exp(lv / 2)), Normal(0.0, 1.0)).sum(-1)
    assert_close(xploss.gaussian_kl(mu, lv, reduction="none"), to_numpy(expected), dtype="float64", what="kl")


def test_vae_elbo_sum_is_the_pytorch_examples_loss(backend: Backend) -> None:
    """``F.binary_cross_entropy(recon, x, reduction="sum") - ½ Σ (1 + logvar - μ² - exp(logvar))`` of
    pytorch/examples' VAE (cd01f93), the probabilities of BCE and of logits, β = 1."""
    torch = _load(Backend.TORCH)
    F = torch.nn.functional
    x, z = rng.uniform(size=(N, 2, 3)), rng.normal(size=(N, 2, 3))
    probs = 1.0 / (1.0 + np.exp(-z))
    mu, lv = (torch.tensor(v) for v in ELBO_IN[2:])
    kld = -0.5 * torch.sum(1 + lv - mu.pow(2) - lv.exp())
    T = _t(backend)
    for recon, kind in ((probs, "bce"), (z, "bce_logits")):
        expected = float(F.binary_cross_entropy(torch.tensor(probs), torch.tensor(x), reduction="sum") + kld)
        got = xploss.vae_elbo(T(recon), T(x), T(ELBO_IN[2]), T(ELBO_IN[3]), reconstruction=kind, reduction="sum")
        assert_close(got, expected, dtype="float64", b=backend, what=kind)


def test_vae_elbo_bce_domain() -> None:
    """BCE of probabilities needs ``recon`` and ``x`` in [0, 1]; of logits, ``x`` (the logits are free)."""
    x, mu, lv = np.full((2, 3), 0.5), np.zeros((2, 1)), np.zeros((2, 1))
    for recon, data, kind, arg in ((np.full((2, 3), 1.2), x, "bce", "recon"), (x, x + 0.6, "bce", "x"),
                                   (np.full((2, 3), 5.0), -x, "bce_logits", "x")):
        with pytest.raises(XplossError, match=rf"xploss\.vae_elbo: argument `{arg}`: expected values in \[0, 1\]"):
            xploss.vae_elbo(recon, data, mu, lv, reconstruction=kind)
    assert np.isfinite(xploss.vae_elbo(np.full((2, 3), 5.0), x, mu, lv, reconstruction="bce_logits"))


# -- 7. GAN losses -------------------------------------------------------------------------------------------

SIDES = {  # discriminator -> (real-side term, fake-side term), from BUILTINS-2 §3.1
    "minimax_discriminator_loss": (lambda d: np.logaddexp(0.0, d) - 0.875 * d, lambda d: np.logaddexp(0.0, d)),
    "least_squares_discriminator_loss": (lambda d: 0.5 * (d - 1.0) ** 2, lambda d: 0.5 * d ** 2),
    "wasserstein_discriminator_loss": (lambda d: -d, lambda d: d),
    "wasserstein_hinge_discriminator_loss": (lambda d: np.maximum(0.0, 1.0 - d), lambda d: np.maximum(0.0, 1.0 + d)),
}


def test_discriminators_with_unequal_batches(backend: Backend) -> None:
    """Real and fake batches of different sizes, weighted: each side reduced on its own, then added
    (``"mean"``: ``Σ w l / count`` per side)."""
    T = _t(backend)
    dr, dg = SIDES_IN
    wr, wg = rng.uniform(0.5, 2.0, size=dr.shape), rng.uniform(0.5, 2.0, size=dg.shape)
    for name, (real, fake) in SIDES.items():
        fn = getattr(xploss, name)
        for r in reductions(backend):
            red = {"mean": np.mean, "sum": np.sum}[r]
            got = fn(T(dr), T(dg), real_weight=T(wr), fake_weight=T(wg), reduction=r)
            assert_close(got, red(wr * real(dr)) + red(wg * fake(dg)), dtype="float64", b=backend, what=f"{name} {r}")


def test_minimax_discriminator_label_smoothing() -> None:
    """TF-GAN's default 0.25 is the real target 0.875 (TF v1: ``y (1 - ls) + ls / 2``, not 0.75): the
    real side's gradient vanishes at ``σ(d) = 0.875``, ``d = log 7``; ``label_smoothing=0`` targets 1."""
    d = np.array([math.log(7.0), 0.3, -1.2])
    fake = np.array([0.1])
    _, (g_real, _) = xploss.value_and_grad(lambda r, f: xploss.minimax_discriminator_loss(r, f), (0, 1))(d, fake)
    assert abs(g_real[0]) < 1e-15
    assert_close(g_real, (1.0 / (1.0 + np.exp(-d)) - 0.875) / 3, dtype="float64", what="d/d real")
    assert_close(xploss.minimax_discriminator_loss(d, fake), ref_minimax_discriminator(d, np.full(3, 0.1)).mean(),
                 dtype="float64", what="default")
    plain = xploss.minimax_discriminator_loss(d, fake, label_smoothing=0.0)
    assert_close(plain, np.mean(np.logaddexp(0.0, -d)) + np.logaddexp(0.0, 0.1), dtype="float64", what="ls=0")


@pytest.mark.parametrize("name", list(SIDES))
def test_discriminators_refuse_per_sample_reductions(name: str) -> None:
    """The two sides are batches, not pairs: no "none" (nor "weighted_mean")."""
    for r in ("none", "weighted_mean"):
        with pytest.raises(XplossError, match=rf"xploss\.{name}: argument `reduction`: expected one of 'mean', "
                                              rf"'sum'\. Received: '{r}'"):
            getattr(xploss, name)(*SIDES_IN, reduction=r)


# -- 8. compiled composites, and a VAE trained on two frameworks ----------------------------------------------

def test_torch_compile_fullgraph_composites() -> None:
    """``torch.compile(fullgraph=True)`` (dynamo: a graph break raises) of the ELBO with its parts and of
    distillation: the eager values and gradients."""
    torch = _load(Backend.TORCH)
    torch._dynamo.reset()
    def elbo(r, x, m, v):
        return xploss.vae_elbo(r, x, m, v, beta=0.5, reconstruction="bce_logits", return_parts=True)[0]

    calls = [(elbo, [np.abs(ELBO_IN[0]), 1.0 / (1.0 + np.exp(-ELBO_IN[1])), *ELBO_IN[2:]], (0, 1, 2, 3)),
             (lambda s, t, y: xploss.distillation(s, t, y, teacher_grad=True), list(DISTILL_IN), (0, 1))]
    for fn, inputs, nums in calls:
        arrays = [torch.tensor(v) for v in inputs]
        compiled = xploss.value_and_grad(torch.compile(fn, fullgraph=True, backend="eager"), nums)
        value, grads = compiled(*arrays)
        eager_value, eager_grads = xploss.value_and_grad(fn, nums)(*arrays)
        assert_close(value, to_numpy(eager_value), dtype="float64", b=Backend.TORCH, what="compiled value")
        for g, e in zip(grads, eager_grads):
            assert_close(g, to_numpy(e), dtype="float64", b=Backend.TORCH, what="compiled gradient")


VAE_X = rng.uniform(size=(6, 5))  # data in [0, 1]
VAE_EPS = rng.normal(size=(6, 2))  # the reparametrisation noise, fixed
VAE_INIT = (0.3 * rng.normal(size=(5, 4)), np.zeros(4), 0.3 * rng.normal(size=(2, 5)), np.zeros(5))


def vae_loss(we, be, wd, bd, x, eps):
    """One xploss loss code for every framework: a linear encoder to (μ, log σ²), the reparametrised z, a
    linear decoder to logits, the ELBO with the logits' BCE."""
    h = x @ we + be
    mu, logvar = h[:, :2], h[:, 2:]
    z = mu + xploss.array_namespace(x).exp(0.5 * logvar) * eps
    return xploss.vae_elbo(z @ wd + bd, x, mu, logvar, reconstruction="bce_logits", beta=0.5)


def test_vae_training_step_torch_and_jax_agree() -> None:
    """Three SGD steps of a tiny VAE (torch.optim.SGD on nn.Parameters; jax.jit of jax.value_and_grad): the
    same losses and weights at 1e-12."""
    torch, jax = _load(Backend.TORCH), _load(Backend.JAX)
    params = [torch.nn.Parameter(torch.tensor(v)) for v in VAE_INIT]
    opt = torch.optim.SGD(params, lr=0.5)
    x, eps = torch.tensor(VAE_X), torch.tensor(VAE_EPS)
    torch_losses = []
    for _ in range(3):
        opt.zero_grad()
        loss = vae_loss(*params, x, eps)
        loss.backward()
        opt.step()
        torch_losses.append(loss.item())
    step = jax.jit(jax.value_and_grad(lambda p, x_, e_: vae_loss(*p, x_, e_)))
    p = [to_backend(Backend.JAX, v) for v in VAE_INIT]
    jax_losses = []
    for _ in range(3):
        loss, grads = step(p, to_backend(Backend.JAX, VAE_X), to_backend(Backend.JAX, VAE_EPS))
        p = [v - 0.5 * g for v, g in zip(p, grads)]
        jax_losses.append(float(loss))
    assert torch_losses[-1] < torch_losses[0]
    assert_close(np.array(jax_losses), np.array(torch_losses), dtype="float64", what="losses")
    for a, b in zip(p, params):
        assert_close(a, to_numpy(b), dtype="float64", what="weights")

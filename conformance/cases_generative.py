"""Conformance cases of the generative, distillation and multi-task losses (``xploss.losses._generative``,
``_distillation``, ``_multitask``; issue #10).

References (BUILTINS-2 §1.13, §3, §5):

* TF-GAN 2.1.0 ``losses_impl`` (loaded from the installed files by :func:`conformance.stubs.load`:
  ``import tensorflow_gan`` needs tensorflow_probability), run eagerly on TensorFlow, gradients by
  ``tf.GradientTape``, bridged into torch's autograd (:func:`tfgan_ref`).  TF-GAN computes in float32
  whatever the input dtype, so each GAN case also has a torch row of the same formula from torch's
  built-ins (``F.binary_cross_entropy_with_logits``, ``F.mse_loss``, ``F.relu``) that checks float64 at
  1e-12.  ``wasserstein_gradient_penalty`` runs inside ``tf.function`` (it refuses eager mode) with a
  named ``discriminator_scope``; it draws its interpolation α itself, so its rows take ``real == fake``
  (the interpolate is ``real`` whatever α) and multiply nothing (xploss ``weight=1``).
* The penalties against torch autograd written by hand (``torch.autograd.grad(create_graph=True)``, then
  ``sqrt(Σ g² + 1e-10)`` or ``(γ/2) Σ g²``); the gaussian KL against ``torch.distributions.kl_divergence``,
  the ELBO against pytorch/examples' ``loss_function`` (``F.binary_cross_entropy(reduction="sum")`` + the
  closed-form KLD) and its MSE / logits forms, distillation against ``F.cross_entropy`` +
  ``T² F.kl_div(log_softmax(s/T), softmax(t/T), reduction="batchmean")``; ``weighted_sum`` and
  ``uncertainty_weighting`` against their formulas (BUILTINS-2 §3.5).

The critic of the penalties is an input of the case: a small tanh MLP ``D(x) = Σ_h v_h tanh(x W + b)_h``
(seeded float64 parameters, cast to the input's dtype at each call) written with the array namespace of
its input, so one definition serves every backend and the torch reference.  The gradient compared is the
one the harness takes, with respect to ``real`` / ``fake``: it goes through the critic's Hessian (the
input gradient is taken with the graph kept).  The gradient with respect to the critic's parameters is
not a harness gradient (the runner differentiates the loss' own positional arrays); tests/ check it.
Inputs stay away from kinks: hinge logits off ±1, one-sided slopes off the target.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from . import stubs
from .cases import GAP, Call, Case, Formula, In, N, Tol, X, _away

NG, D, H, K = 6, 6, 4, 3  # generated batch (two-sided losses: another size than N), features, hidden, tasks
C, Z = 5, 3  # classes (distillation), latent size (VAE)
NO_AUTODIFF = ("numpy", "torch", "jax", "tensorflow")  # the penalties: array_api_strict has no autodiff

TFGAN_F32 = Tol("TF-GAN casts its inputs and losses to float32 (losses_impl._to_float, compute_weighted_loss) "
                "whatever the input dtype; the torch row of the case checks float64 at 1e-12", float64=1e-6)
SOFTPLUS_M1 = float(np.log1p(np.exp(-1.0)))  # TF-GAN's minimax generator offset
TFGAN_NOTE = "TF-GAN 2.1.0 losses_impl (conformance.stubs), gradients by tf.GradientTape"
TFGAN_MINIMAX_G = ("TF-GAN's value is xploss' − softplus(−1) (it calls its discriminator loss with constant real "
                   "logits 1, BUILTINS-2 §3.1): the row compares TF-GAN + softplus(−1), and the gradients as they are")
TFGAN_GP = ("TF-GAN wasserstein_gradient_penalty in tf.function (discriminator_scope='critic'), float32 only (its "
            "α is float32); it draws α itself: real = fake makes the interpolate real for any α (xploss alpha=0, "
            "weight=1: TF-GAN applies no λ); d/dreal is TF-GAN's d/dx of both arguments")
TFGAN_GP_TOL = Tol("TF-GAN's penalty accepts float32 only (α = tf.random.uniform is float32): the reference runs "
                   "in float32; the torch autograd rows check float64 at 1e-12", float64=1e-6)
ONE_SHAPE = "TF-GAN requires real and generated logits of one shape (N = 8 each)"
SIZES = "8 real and 6 generated logits: the sides are reduced separately (TF-GAN refuses two shapes)"
TORCH_GAN = "the formula from torch built-ins"
GP_NOTE = ("torch autograd by hand: x̂.grad by autograd.grad(ΣD(x̂), x̂, create_graph=True), sqrt(Σ g² + 1e-10); "
           "the gradient w.r.t. real / fake goes through the critic's Hessian")
CRITIC_NOTE = "critic: a tanh MLP written with the input's array namespace (the same function on every backend)"


# -- TF-GAN, bridged into torch autograd --------------------------------------------------------

_BRIDGE: dict[str, Any] = {}


def _losses_impl() -> Any:
    try:
        return stubs.load("tensorflow_gan.python.losses.losses_impl")
    except stubs.Unavailable as exc:
        raise stubs.Unavailable("tensorflow-gan 2.1.0 is not installed (nox -s conformance installs it with "
                                "--no-deps)") from exc


def _tf_function(torch: Any) -> Any:
    """A ``torch.autograd.Function`` running ``fn(losses_impl, *tensors)`` eagerly in TensorFlow, its
    backward by ``tf.GradientTape``; non-tensor arguments (a critic) pass through; the value is returned in
    the dtype of the first tensor."""
    if "fn" not in _BRIDGE:
        import tensorflow as tf

        class TFCall(torch.autograd.Function):
            @staticmethod
            def forward(ctx: Any, fn: Callable, *xs: Any) -> Any:
                ts = [tf.constant(x.detach().cpu().numpy()) if torch.is_tensor(x) else x for x in xs]
                ctx.watched = [t for t in ts if isinstance(t, tf.Tensor)]
                with tf.GradientTape() as tape:
                    tape.watch(ctx.watched)
                    out = fn(_losses_impl(), *ts)
                ctx.tape, ctx.out, ctx.is_tensor = tape, out, [torch.is_tensor(x) for x in xs]
                dtype = next(x.dtype for x in xs if torch.is_tensor(x))
                return torch.from_numpy(np.array(out)).to(dtype)

            @staticmethod
            def backward(ctx: Any, g: Any) -> tuple:
                seed = tf.constant(g.detach().cpu().numpy(), dtype=ctx.out.dtype)
                grads = iter(ctx.tape.gradient(ctx.out, ctx.watched, output_gradients=seed))
                out = []
                for is_tensor in ctx.is_tensor:
                    gr = next(grads) if is_tensor else None
                    out.append(None if gr is None else torch.from_numpy(np.array(gr)))
                return (None, *out)

        _BRIDGE["fn"] = TFCall
    return _BRIDGE["fn"]


def tfgan_ref(text: str, fn: Callable, *args: str, tol: Tol | None = TFGAN_F32, note: str = TFGAN_NOTE,
              shift: float = 0.0) -> Call:
    """``fn(losses_impl, *tf_tensors)`` as a reference (plus the constant ``shift``)."""
    def run(torch: Any, *ts: Any) -> Any:
        return _tf_function(torch).apply(fn, *ts) + shift
    return dataclasses.replace(Formula(f"tfgan.losses_impl.{text}", run, *args, note=note), tol=tol)


def _tfgan(name: str, **opts: Any) -> Callable:
    """``losses_impl.<name>(*tensors, reduction=..., **opts)``; ``reduction`` ``"sum"`` is TF-GAN's ``SUM``."""
    def fn(impl: Any, *ts: Any, **weights: Any) -> Any:
        import tensorflow as tf

        kw = {**opts, **weights}
        if kw.pop("reduction", "mean") == "sum":
            kw["reduction"] = tf.compat.v1.losses.Reduction.SUM
        return getattr(impl, name)(*ts, **kw)
    return fn


def _tfgan_weighted(name: str, **opts: Any) -> Callable:
    """Two-sided ``name(dr, dg, real_weights=wr, generated_weights=wg)``."""
    def fn(impl: Any, dr: Any, dg: Any, wr: Any, wg: Any) -> Any:
        return _tfgan(name, **opts)(impl, dr, dg, real_weights=wr, generated_weights=wg)
    return fn


def _minimax_g_sum(impl: Any, d: Any, w: Any) -> Any:
    """TF-GAN's weighted minimax generator loss (SUM) plus its constant, softplus(−1) Σ w."""
    import tensorflow as tf

    out = _tfgan("minimax_generator_loss", reduction="sum")(impl, d, weights=w)
    return out + SOFTPLUS_M1 * tf.reduce_sum(tf.cast(w, out.dtype))


def _tfgan_penalty(**opts: Any) -> Callable:
    def fn(impl: Any, critic: Any, x: Any, _same_x: Any) -> Any:
        import tensorflow as tf

        @tf.function(autograph=False)
        def penalty(x32: Any) -> Any:
            return impl.wasserstein_gradient_penalty(x32, x32, None, lambda v, _: critic(v), "critic", **opts)
        return tf.cast(penalty(tf.cast(x, tf.float32)), x.dtype)
    return fn


# -- the torch rows of the GAN losses ---------------------------------------------------------------

def _reduce(torch: Any, per: Any, w: Any, reduction: str) -> Any:
    per = per if w is None else per * w
    return per.sum() if reduction == "sum" else per.mean()


def _bce(target: float, sign: float = 1.0) -> Callable:
    """``sign · F.binary_cross_entropy_with_logits(d, target, reduction="none")``."""
    def term(torch: Any, d: Any) -> Any:
        return sign * torch.nn.functional.binary_cross_entropy_with_logits(d, torch.full_like(d, target),
                                                                           reduction="none")
    return term


def _hinge(sign: float) -> Callable:
    """``F.relu(1 + sign · d)``."""
    return lambda torch, d: torch.nn.functional.relu(1.0 + sign * d)


def _linear(sign: float) -> Callable:
    return lambda torch, d: sign * d


def _two_sided(real: Callable, fake: Callable, reduction: str = "mean") -> Callable:
    """``red(real(torch, dr) · wr) + red(fake(torch, dg) · wg)``, per-sample terms from torch built-ins."""
    def fn(torch: Any, dr: Any, dg: Any, wr: Any = None, wg: Any = None) -> Any:
        return _reduce(torch, real(torch, dr), wr, reduction) + _reduce(torch, fake(torch, dg), wg, reduction)
    return fn


def _one_sided(term: Callable, reduction: str = "mean") -> Callable:
    def fn(torch: Any, dg: Any, w: Any = None) -> Any:
        per = term(torch, dg)
        return per if reduction == "none" else _reduce(torch, per, w, reduction)
    return fn


def _half_sq(label: float) -> Callable:
    return lambda torch, d: 0.5 * torch.nn.functional.mse_loss(d, torch.full_like(d, label), reduction="none")


# -- inputs -------------------------------------------------------------------------------------

def gan_logits(rng: np.random.Generator) -> dict:
    """Discriminator logits ``dr`` (N,) of real and ``dg`` (NG,) of generated samples, ``dg_n`` (N,) for the
    losses TF-GAN wants of one shape; per-sample weights ``wr``, ``wg``, ``wg_n``.  Every logit stays GAP off
    ±1 (the hinge kinks)."""
    return {"dr": _away(rng, (N,), -3.0, 3.0, (1.0,)), "dg": _away(rng, (NG,), -3.0, 3.0, (1.0,)),
            "dg_n": _away(rng, (N,), -3.0, 3.0, (1.0,)), "wr": rng.uniform(0.2, 2.0, N),
            "wg": rng.uniform(0.2, 2.0, NG), "wg_n": rng.uniform(0.2, 2.0, N)}


def latents(shape: tuple = (N, Z), data: tuple = (N, D)) -> Callable:
    """``mu``, ``logvar`` of ``shape`` (logvar in [-2, 1]); the data ``x`` in [0, 1] of ``data`` with a
    quarter exactly 0 or 1 (binarised pixels); reconstructions ``recon_p`` (probabilities in [0.02, 0.98]),
    ``recon_z`` (logits), ``recon`` (real values); per-sample weights ``w``."""
    def gen(rng: np.random.Generator) -> dict:
        x = rng.uniform(0.0, 1.0, data)
        hard = rng.random(data) < 0.25
        x[hard] = np.round(x[hard])
        return {"mu": rng.normal(size=shape), "logvar": rng.uniform(-2.0, 1.0, shape), "x": x,
                "recon_p": rng.uniform(0.02, 0.98, data), "recon_z": rng.normal(scale=2.0, size=data),
                "recon": rng.normal(size=data), "w": rng.uniform(0.2, 2.0, shape[0])}
    return gen


def student_teacher(shape: tuple = (N, C)) -> Callable:
    """Student ``s`` and teacher ``t`` logits, integer ``y`` and soft ``q`` labels; ``None`` (no labels)."""
    def gen(rng: np.random.Generator) -> dict:
        q = rng.uniform(0.1, 1.0, shape)
        return {"s": rng.normal(scale=2.0, size=shape), "t": rng.normal(scale=3.0, size=shape),
                "y": rng.integers(0, shape[-1], shape[:-1]), "q": q / q.sum(-1, keepdims=True), "None": None}
    return gen


def task_losses(rng: np.random.Generator) -> dict:
    """K task losses ``L`` (positive), log-variances ``s``, weights ``wk`` (an array) and ``wl`` (floats)."""
    return {"L": rng.uniform(0.1, 3.0, K), "s": rng.uniform(-1.0, 1.0, K), "wk": rng.uniform(-1.0, 2.0, K),
            "wl": [1.0, 0.5, 2.0]}


# -- the critic ------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True, eq=False)
class MLPCritic:
    """``D(x) = Σ_h v_h tanh(flat(x) W + b)_h`` (``scale=0``: ``0 · Σ x²``, a zero input gradient), written
    with the array namespace of ``x``: a function of each backend's arrays (and of torch in the references)."""

    w: np.ndarray
    b: np.ndarray
    v: np.ndarray
    scale: float = 1.0

    def __call__(self, x: Any) -> Any:
        import xploss

        xp = xploss.array_namespace(x)
        flat = xp.reshape(x, (x.shape[0], -1))
        if self.scale == 0.0:  # an input gradient of exactly 0 that still depends on x (0 · 2x)
            return 0.0 * xp.sum(flat * flat, axis=-1)
        h = xp.tanh(flat @ xp.asarray(self.w, dtype=x.dtype) + xp.asarray(self.b, dtype=x.dtype))
        return xp.sum(h * xp.asarray(self.v, dtype=x.dtype), axis=-1)

    def slopes(self, x: np.ndarray) -> np.ndarray:
        """The input-gradient norm per sample (NumPy, for drawing inputs off the one-sided kink)."""
        flat = x.reshape(x.shape[0], -1)
        g = (self.v * (1.0 - np.tanh(flat @ self.w + self.b) ** 2)) @ self.w.T
        return np.sqrt((g * g).sum(-1))

    def __repr__(self) -> str:
        return "critic"


def _off_target(rng: np.random.Generator, critic: MLPCritic, target: float, real: np.ndarray, fake: np.ndarray,
                alpha: np.ndarray) -> None:
    """Redraw samples (in place) until ``real`` and the interpolates have slopes GAP off ``target``, at least two
    above and two below it (the one-sided clamp both active and inactive)."""
    tail = (1,) * (real.ndim - 1)
    for _ in range(2000):
        bad = np.zeros(real.shape[0], bool)
        for x in (real, real + alpha.reshape((-1, *tail)) * (fake - real)):
            ratio = critic.slopes(x) / target
            bad |= np.abs(ratio - 1.0) < GAP
            for side in (ratio > 1.0, ratio < 1.0):  # a side holding all but < 2: redraw one of its samples
                if (~side).sum() < 2:
                    bad[np.flatnonzero(side)[0]] = True
        if not bad.any():
            return
        k = int(bad.sum())
        real[bad], fake[bad] = rng.normal(size=(k, *real.shape[1:])), rng.normal(size=(k, *real.shape[1:]))
        alpha[bad] = rng.uniform(0.0, 1.0, k)
    raise RuntimeError("could not draw slopes off the one-sided target, on both sides of it")


def critic_inputs(shape: tuple = (N, D), target: float | None = None, zero: bool = False) -> Callable:
    """``critic`` (an MLP of seeded parameters), ``real``, ``fake`` of ``shape``, per-sample ``alpha`` in
    [0, 1]; with ``target``, slopes off and on both sides of it (:func:`_off_target`)."""
    def gen(rng: np.random.Generator) -> dict:
        d = int(np.prod(shape[1:]))
        critic = MLPCritic(rng.normal(scale=1.5 / np.sqrt(d), size=(d, H)), rng.normal(scale=0.3, size=H),
                           rng.normal(size=H), 0.0 if zero else 1.0)
        real, fake, alpha = rng.normal(size=shape), rng.normal(size=shape), rng.uniform(0.0, 1.0, shape[0])
        if target is not None:
            _off_target(rng, critic, target, real, fake, alpha)
        return {"critic": critic, "real": real, "fake": fake, "alpha": alpha}
    return gen


# -- reference formulas ---------------------------------------------------------------------------

def _input_grad(torch: Any, critic: Callable, x: Any) -> Any:
    if not x.requires_grad:
        x = x.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
    return g.flatten(1)


def _gp(weight: float = 10.0, target: float = 1.0, one_sided: bool = False, reduction: str = "mean",
        alpha: float | None = None) -> Callable:
    def fn(torch: Any, critic: Callable, real: Any, fake: Any, a: Any = None) -> Any:
        a = alpha if a is None else a.reshape((-1,) + (1,) * (real.ndim - 1))
        x_hat = real + a * (fake - real)
        u = torch.sqrt((_input_grad(torch, critic, x_hat) ** 2).sum(-1) + 1e-10) / target - 1.0
        if one_sided:
            u = torch.clamp(u, min=0.0)
        per = weight * u ** 2
        return {"none": per, "sum": per.sum(), "mean": per.mean()}[reduction]
    return fn


def _r1(gamma: float = 10.0, reduction: str = "mean") -> Callable:
    def fn(torch: Any, critic: Callable, real: Any) -> Any:
        per = 0.5 * gamma * (_input_grad(torch, critic, real) ** 2).sum(-1)
        return {"none": per, "sum": per.sum(), "mean": per.mean()}[reduction]
    return fn


def _kl(reduction: str = "none") -> Callable:
    def fn(torch: Any, mu: Any, lv: Any, w: Any = None) -> Any:
        from torch.distributions import Normal, kl_divergence

        per = kl_divergence(Normal(mu, torch.exp(0.5 * lv)), Normal(torch.zeros_like(mu), torch.ones_like(mu)))
        per = per.flatten(1).sum(-1)
        if w is not None:
            return (per * w).sum() / w.sum()
        return {"none": per, "sum": per.sum(), "mean": per.mean()}[reduction]
    return fn


def _elbo(kind: str, reduction: str = "sum", beta: float = 1.0) -> Callable:
    """pytorch/examples' ``loss_function`` (reconstruction ``reduction='sum'`` + the closed-form KLD); ``mean``
    divides by the batch; ``none`` sums per sample."""
    def fn(torch: Any, recon: Any, x: Any, mu: Any, lv: Any) -> Any:
        F = torch.nn.functional
        per = reduction == "none"
        red = "none" if per else "sum"
        rec = {"bce": lambda: F.binary_cross_entropy(recon, x, reduction=red),
               "mse": lambda: F.mse_loss(recon, x, reduction=red),
               "bce_logits": lambda: F.binary_cross_entropy_with_logits(recon, x, reduction=red)}[kind]()
        kld = -0.5 * (1 + lv - mu.pow(2) - lv.exp())
        if per:
            return rec.flatten(1).sum(-1) + beta * kld.flatten(1).sum(-1)
        total = rec + beta * kld.sum()
        return total / recon.shape[0] if reduction == "mean" else total
    return fn


def _distill(temperature: float, alpha: float, reduction: str = "mean") -> Callable:
    """``(1 − α) F.cross_entropy(s, y) + α T² F.kl_div(log_softmax(s/T), softmax(t/T), batchmean)``
    (``sum``: both summed; ``none``: per sample; ``y`` None: the soft term only)."""
    def fn(torch: Any, s: Any, t: Any, y: Any = None) -> Any:
        F = torch.nn.functional
        c = s.shape[-1]
        log_ps, pt = F.log_softmax(s / temperature, -1), F.softmax(t / temperature, -1)
        if reduction == "none":
            soft = F.kl_div(log_ps, pt, reduction="none").sum(-1)
        else:
            soft = F.kl_div(log_ps.reshape(-1, c), pt.reshape(-1, c), reduction="batchmean" if reduction == "mean"
                            else "sum")
        soft = temperature ** 2 * soft
        if y is None:
            return soft
        hard = F.cross_entropy(s.reshape(-1, c), y.reshape(-1, *y.shape[s.ndim - 1:]), reduction=reduction)
        return (1 - alpha) * hard.reshape(soft.shape) + alpha * soft
    return fn


FORMS = {"simple": (1.0, 1.0), "regression": (0.5, 0.5), "classification": (1.0, 0.5)}  # BUILTINS-2 §3.5


# -- the table -----------------------------------------------------------------------------------

def _gan_cases() -> list[Case]:
    two, two_n, wts, wts_n = ("dr", "dg"), ("dr", "dg_n"), ("wr", "wg"), ("wr", "wg_n")
    cases = [
        Case("gen/minimax_discriminator_loss", X("minimax_discriminator_loss", *two),
             (tfgan_ref("minimax_discriminator_loss(dr, dg)", _tfgan("minimax_discriminator_loss"), *two),
              Formula("mean BCE_logits(dr, 0.875) + mean BCE_logits(dg, 0)", _two_sided(_bce(0.875), _bce(0.0)),
                      *two, note=TORCH_GAN)),
             gan_logits, two, note="label_smoothing 0.25 (TF-GAN's default): real target 1 − ls/2"),
        Case("gen/minimax_discriminator_loss/ls=0", X("minimax_discriminator_loss", *two, label_smoothing=0.0),
             (tfgan_ref("minimax_discriminator_loss(dr, dg, label_smoothing=0)",
                        _tfgan("minimax_discriminator_loss", label_smoothing=0.0), *two),
              Formula("mean BCE_logits(dr, 1) + mean BCE_logits(dg, 0)", _two_sided(_bce(1.0), _bce(0.0)), *two,
                      note=TORCH_GAN)),
             gan_logits, two),
        Case("gen/minimax_discriminator_loss/weights,sum",
             X("minimax_discriminator_loss", *two, real_weight=In("wr"), fake_weight=In("wg"), reduction="sum"),
             (tfgan_ref("minimax_discriminator_loss(dr, dg, real_weights=wr, generated_weights=wg, reduction=SUM)",
                        _tfgan_weighted("minimax_discriminator_loss", reduction="sum"), *two, *wts),
              Formula("Σ wr BCE_logits(dr, 0.875) + Σ wg BCE_logits(dg, 0)", _two_sided(_bce(0.875), _bce(0.0), "sum"),
                      *two, *wts, note=TORCH_GAN)),
             gan_logits, two),
        Case("gen/minimax_discriminator_loss/weights", X("minimax_discriminator_loss", *two, real_weight=In("wr"),
                                                         fake_weight=In("wg")),
             (tfgan_ref("minimax_discriminator_loss(dr, dg, real_weights=wr, generated_weights=wg)",
                        _tfgan_weighted("minimax_discriminator_loss"), *two, *wts),
              Formula("mean wr BCE_logits(dr, 0.875) + mean wg BCE_logits(dg, 0)", _two_sided(_bce(0.875), _bce(0.0)),
                      *two, *wts, note=TORCH_GAN)),
             gan_logits, two, note="TF-GAN's SUM_BY_NONZERO_WEIGHTS divides Σ w·l by the count of non-zero "
                                   "weights: xploss 'mean' (Σ w·l / N) when every weight is non-zero"),
        Case("gen/minimax_generator_loss", X("minimax_generator_loss", "dg"),
             (tfgan_ref("minimax_generator_loss(dg) + softplus(−1)", _tfgan("minimax_generator_loss"), "dg",
                        shift=SOFTPLUS_M1, note=TFGAN_MINIMAX_G),
              Formula("−mean BCE_logits(dg, 0)", _one_sided(_bce(0.0, -1.0)), "dg",
                      note=TORCH_GAN)),
             gan_logits, ("dg",)),
        Case("gen/minimax_generator_loss/weights,sum", X("minimax_generator_loss", "dg", sample_weight=In("wg"),
                                                         reduction="sum"),
             (tfgan_ref("minimax_generator_loss(dg, weights=wg, reduction=SUM) + softplus(−1) Σ wg", _minimax_g_sum,
                        "dg", "wg", note=TFGAN_MINIMAX_G + "; weighted, TF-GAN's constant is softplus(−1) Σ w (its "
                                                         "real side takes the weights too)"),
              Formula("−Σ wg BCE_logits(dg, 0)", _one_sided(_bce(0.0, -1.0), "sum"), "dg", "wg",
                      note=TORCH_GAN)),
             gan_logits, ("dg",)),
        Case("gen/modified_generator_loss", X("modified_generator_loss", "dg"),
             (tfgan_ref("modified_generator_loss(dg)", _tfgan("modified_generator_loss"), "dg"),
              Formula("mean BCE_logits(dg, 1)", _one_sided(_bce(1.0)), "dg",
                      note=TORCH_GAN)),
             gan_logits, ("dg",)),
        Case("gen/modified_generator_loss/ls=0.2", X("modified_generator_loss", "dg", label_smoothing=0.2),
             (tfgan_ref("modified_generator_loss(dg, label_smoothing=0.2)",
                        _tfgan("modified_generator_loss", label_smoothing=0.2), "dg"),
              Formula("mean BCE_logits(dg, 0.9)", _one_sided(_bce(0.9)), "dg",
                      note=TORCH_GAN)),
             gan_logits, ("dg",), note="the target 1 becomes 1 − ls/2 (TF v1 smoothing)"),
        Case("gen/modified_generator_loss/none", X("modified_generator_loss", "dg", reduction="none"),
             (tfgan_ref("modified_generator_loss(dg, reduction=NONE)",
                        lambda impl, d: impl.modified_generator_loss(d, reduction="none"), "dg"),
              Formula("BCE_logits(dg, 1, reduction='none')", _one_sided(_bce(1.0), "none"), "dg", note=TORCH_GAN)),
             gan_logits, ("dg",)),
        Case("gen/least_squares_generator_loss", X("least_squares_generator_loss", "dg"),
             (tfgan_ref("least_squares_generator_loss(dg)", _tfgan("least_squares_generator_loss"), "dg"),
              Formula("mean ½ (dg − 1)²", _one_sided(_half_sq(1.0)), "dg", note=TORCH_GAN)),
             gan_logits, ("dg",)),
        Case("gen/least_squares_generator_loss/real_label=0.8",
             X("least_squares_generator_loss", "dg", real_label=0.8, sample_weight=In("wg")),
             (tfgan_ref("least_squares_generator_loss(dg, real_label=0.8, weights=wg)",
                        lambda impl, d, w: impl.least_squares_generator_loss(d, real_label=0.8, weights=w),
                        "dg", "wg"),
              Formula("mean wg ½ (dg − 0.8)²", _one_sided(_half_sq(0.8)), "dg", "wg", note=TORCH_GAN)),
             gan_logits, ("dg",)),
        Case("gen/least_squares_discriminator_loss", X("least_squares_discriminator_loss", *two_n),
             (tfgan_ref("least_squares_discriminator_loss(dr, dg)", _tfgan("least_squares_discriminator_loss"),
                        *two_n),
              Formula("mean ½ (dr − 1)² + mean ½ dg²", _two_sided(_half_sq(1.0), _half_sq(0.0)), *two_n,
                      note=TORCH_GAN)),
             gan_logits, two_n, note=ONE_SHAPE),
        Case("gen/least_squares_discriminator_loss/labels,weights,sum",
             X("least_squares_discriminator_loss", *two_n, real_label=0.9, fake_label=0.1, real_weight=In("wr"),
               fake_weight=In("wg_n"), reduction="sum"),
             (tfgan_ref("least_squares_discriminator_loss(dr, dg, real_label=0.9, fake_label=0.1, real_weights=wr, "
                        "generated_weights=wg, reduction=SUM)",
                        _tfgan_weighted("least_squares_discriminator_loss", real_label=0.9, fake_label=0.1,
                                        reduction="sum"), *two_n, *wts_n),
              Formula("Σ wr ½ (dr − 0.9)² + Σ wg ½ (dg − 0.1)²", _two_sided(_half_sq(0.9), _half_sq(0.1), "sum"),
                      *two_n, *wts_n, note=TORCH_GAN)),
             gan_logits, two_n),
        Case("gen/wasserstein_generator_loss", X("wasserstein_generator_loss", "dg"),
             (tfgan_ref("wasserstein_generator_loss(dg)", _tfgan("wasserstein_generator_loss"), "dg"),
              Formula("−mean dg", _one_sided(_linear(-1.0)), "dg", note="the formula")),
             gan_logits, ("dg",)),
        Case("gen/wasserstein_generator_loss/weights,sum",
             X("wasserstein_generator_loss", "dg", sample_weight=In("wg"), reduction="sum"),
             (tfgan_ref("wasserstein_generator_loss(dg, weights=wg, reduction=SUM)",
                        lambda impl, d, w: _tfgan("wasserstein_generator_loss", reduction="sum")(impl, d, weights=w),
                        "dg", "wg"),
              Formula("−Σ wg dg", _one_sided(_linear(-1.0), "sum"), "dg", "wg", note="the formula")),
             gan_logits, ("dg",)),
        Case("gen/wasserstein_discriminator_loss", X("wasserstein_discriminator_loss", *two_n),
             (tfgan_ref("wasserstein_discriminator_loss(dr, dg)", _tfgan("wasserstein_discriminator_loss"),
                        *two_n),
              Formula("mean dg − mean dr", _two_sided(_linear(-1.0), _linear(1.0)), *two_n, note="the formula")),
             gan_logits, two_n, note=ONE_SHAPE),
        Case("gen/wasserstein_discriminator_loss/weights",
             X("wasserstein_discriminator_loss", *two_n, real_weight=In("wr"), fake_weight=In("wg_n")),
             (tfgan_ref("wasserstein_discriminator_loss(dr, dg, real_weights=wr, generated_weights=wg)",
                        _tfgan_weighted("wasserstein_discriminator_loss"), *two_n, *wts_n),
              Formula("mean wg dg − mean wr dr", _two_sided(_linear(-1.0), _linear(1.0)), *two_n, *wts_n,
                      note="the formula")),
             gan_logits, two_n),
        Case("gen/wasserstein_discriminator_loss/sizes,sum",
             X("wasserstein_discriminator_loss", *two, real_weight=In("wr"), fake_weight=In("wg"), reduction="sum"),
             (Formula("Σ wg dg − Σ wr dr", _two_sided(_linear(-1.0), _linear(1.0), "sum"), *two, *wts,
                      note="the formula"),),
             gan_logits, two, note=SIZES),
        Case("gen/wasserstein_hinge_discriminator_loss", X("wasserstein_hinge_discriminator_loss", *two_n),
             (tfgan_ref("wasserstein_hinge_discriminator_loss(dr, dg)",
                        _tfgan("wasserstein_hinge_discriminator_loss"), *two_n),
              Formula("mean relu(1 − dr) + mean relu(1 + dg)", _two_sided(_hinge(-1.0), _hinge(1.0)), *two_n,
                      note=TORCH_GAN)),
             gan_logits, two_n, note="logits GAP off ±1 (the hinges); " + ONE_SHAPE),
        Case("gen/wasserstein_hinge_discriminator_loss/weights,sum",
             X("wasserstein_hinge_discriminator_loss", *two_n, real_weight=In("wr"), fake_weight=In("wg_n"),
               reduction="sum"),
             (tfgan_ref("wasserstein_hinge_discriminator_loss(dr, dg, real_weights=wr, generated_weights=wg, "
                        "reduction=SUM)", _tfgan_weighted("wasserstein_hinge_discriminator_loss", reduction="sum"),
                        *two_n, *wts_n),
              Formula("Σ wr relu(1 − dr) + Σ wg relu(1 + dg)", _two_sided(_hinge(-1.0), _hinge(1.0), "sum"),
                      *two_n, *wts_n, note=TORCH_GAN)),
             gan_logits, two_n),
        Case("gen/wasserstein_hinge_discriminator_loss/sizes",
             X("wasserstein_hinge_discriminator_loss", *two),
             (Formula("mean relu(1 − dr) + mean relu(1 + dg)", _two_sided(_hinge(-1.0), _hinge(1.0)), *two,
                      note=TORCH_GAN),),
             gan_logits, two, note=SIZES),
        Case("gen/least_squares_discriminator_loss/sizes", X("least_squares_discriminator_loss", *two),
             (Formula("mean ½ (dr − 1)² + mean ½ dg²", _two_sided(_half_sq(1.0), _half_sq(0.0)), *two,
                      note=TORCH_GAN),),
             gan_logits, two, note=SIZES),
    ]
    return cases


def _penalty_cases() -> list[Case]:
    crf, cr, crr = ("critic", "real", "fake"), ("critic", "real"), ("critic", "real", "real")
    rf = ("real", "fake")
    gp_text = "mean(λ (sqrt(Σ (∂ΣD(x̂)/∂x̂)² + 1e-10) / t − 1)²), x̂ = real + α (fake − real)"
    r1_text = "mean((γ/2) Σ (∂ΣD(x)/∂x)²)"
    note = f"{GP_NOTE}; {CRITIC_NOTE}"
    cases = [
        Case("gen/gradient_penalty", X("gradient_penalty", *crf, alpha=In("alpha")),
             (Formula(gp_text + ", λ = 10, t = 1", _gp(), *crf, "alpha", note=note),), critic_inputs(), rf,
             backends=NO_AUTODIFF),
        Case("gen/gradient_penalty/one_sided,target=0.9,sum",
             X("gradient_penalty", *crf, alpha=In("alpha"), weight=2.0, target=0.9, one_sided=True, reduction="sum"),
             (Formula("Σ λ max(0, sqrt(Σ g² + 1e-10) / t − 1)², λ = 2, t = 0.9",
                      _gp(2.0, 0.9, True, "sum"), *crf, "alpha", note=note),),
             critic_inputs(target=0.9), rf, backends=NO_AUTODIFF,
             note="slopes drawn GAP off the target (the one-sided kink), some on each side"),
        Case("gen/gradient_penalty/images,alpha=0.3,none",
             X("gradient_penalty", *crf, alpha=0.3, reduction="none"),
             (Formula("λ (sqrt(Σ_{C,H,W} g² + 1e-10) − 1)² per sample, α = 0.3", _gp(reduction="none", alpha=0.3),
                      *crf, note=note),),
             critic_inputs((N, 2, 3, 3)), rf, backends=NO_AUTODIFF,
             note="(N, 2, 3, 3) inputs: the norm over every non-batch axis"),
        Case("gen/gradient_penalty/zero-gradient", X("gradient_penalty", *crf, alpha=In("alpha")),
             (Formula(gp_text + ", D = 0 · Σ x²", _gp(), *crf, "alpha", note=GP_NOTE),),
             critic_inputs(zero=True), rf, backends=NO_AUTODIFF,
             note="a critic whose input gradient is 0 (D = 0 · Σ x²): λ (1e-5 − 1)², and zero gradients through the "
                  "sqrt at Σ g² = 0 (finite by the eps inside it; NaN without: the BUILTINS-2 §3.2 trap)"),
        Case("gen/gradient_penalty/tfgan", X("gradient_penalty", *crr, alpha=0.0, weight=1.0),
             (tfgan_ref("wasserstein_gradient_penalty(real, real, None, critic, 'critic')", _tfgan_penalty(), *crr,
                        tol=TFGAN_GP_TOL, note=TFGAN_GP),
              Formula("(sqrt(Σ (∂ΣD(x)/∂x)² + 1e-10) − 1)².mean()", _gp(weight=1.0, alpha=0.0), *crr,
                      note=GP_NOTE)),
             critic_inputs(), ("real",), backends=NO_AUTODIFF),
        Case("gen/gradient_penalty/tfgan,one_sided,target=0.9",
             X("gradient_penalty", *crr, alpha=0.0, weight=1.0, target=0.9, one_sided=True),
             (tfgan_ref("wasserstein_gradient_penalty(real, real, None, critic, 'critic', target=0.9, one_sided=True)",
                        _tfgan_penalty(target=0.9, one_sided=True), *crr, tol=TFGAN_GP_TOL, note=TFGAN_GP),
              Formula("max(0, sqrt(Σ (∂ΣD(x)/∂x)² + 1e-10) / 0.9 − 1)².mean()",
                      _gp(weight=1.0, target=0.9, one_sided=True, alpha=0.0), *crr, note=GP_NOTE)),
             critic_inputs(target=0.9), ("real",), backends=NO_AUTODIFF),
        Case("gen/r1_penalty", X("r1_penalty", *cr), (Formula(r1_text + ", γ = 10", _r1(), *cr, note=note),),
             critic_inputs(), ("real",), backends=NO_AUTODIFF),
        Case("gen/r1_penalty/images,gamma=1,sum", X("r1_penalty", *cr, gamma=1.0, reduction="sum"),
             (Formula("Σ (1/2) Σ_{C,H,W} (∂ΣD(x)/∂x)²", _r1(1.0, "sum"), *cr, note=note),),
             critic_inputs((N, 2, 3, 3)), ("real",), backends=NO_AUTODIFF),
        Case("gen/r1_penalty/none", X("r1_penalty", *cr, reduction="none"),
             (Formula("(γ/2) Σ (∂ΣD(x)/∂x)² per sample", _r1(reduction="none"), *cr, note=note),),
             critic_inputs(), ("real",), backends=NO_AUTODIFF),
    ]
    return cases


KL_TEXT = "kl_divergence(Normal(mu, exp(logvar / 2)), Normal(0, 1))"
ELBO_NOTE = "pytorch/examples' VAE loss_function: reconstruction reduction='sum' + KLD = −½ Σ(1 + lv − mu² − e^lv)"


def _vae_cases() -> list[Case]:
    ml = ("mu", "logvar")
    cases = [
        Case("gen/gaussian_kl/none", X("gaussian_kl", *ml, reduction="none"),
             (Formula(KL_TEXT + ".sum(-1)", _kl(), *ml, note="torch.distributions"),), latents(), ml),
        Case("gen/gaussian_kl", X("gaussian_kl", *ml),
             (Formula(KL_TEXT + ".sum(-1).mean()", _kl("mean"), *ml, note="torch.distributions"),), latents(), ml),
        Case("gen/gaussian_kl/sum", X("gaussian_kl", *ml, reduction="sum"),
             (Formula(KL_TEXT + ".sum()", _kl("sum"), *ml, note="torch.distributions"),), latents(), ml),
        Case("gen/gaussian_kl/conv-latents", X("gaussian_kl", *ml, reduction="none"),
             (Formula(KL_TEXT + ".flatten(1).sum(-1)", _kl(), *ml, note="torch.distributions"),),
             latents((N, 2, 2, 2)), ml, note="(N, C, H, W) latents: summed over every non-batch axis"),
        Case("gen/gaussian_kl/weighted_mean", X("gaussian_kl", *ml, sample_weight=In("w"), reduction="weighted_mean"),
             (Formula("Σ w · " + KL_TEXT + ".sum(-1) / Σ w", _kl(), *ml, "w", note="torch.distributions"),),
             latents(), ml),
    ]
    elbo = {"bce": ("recon_p", "F.binary_cross_entropy"), "mse": ("recon", "F.mse_loss"),
            "bce_logits": ("recon_z", "F.binary_cross_entropy_with_logits")}
    for kind, (recon, builtin) in elbo.items():
        args = (recon, "x", *ml)
        grad = (recon, *ml) if kind == "bce" else args  # torch has no d/dtarget of F.binary_cross_entropy
        cases.append(Case(f"gen/vae_elbo/{kind},sum", X("vae_elbo", *args, reconstruction=kind, reduction="sum"),
                          (Formula(f"{builtin}(recon, x, reduction='sum') + KLD", _elbo(kind), *args,
                                   note=ELBO_NOTE),), latents(), grad))
    cases += [
        Case("gen/vae_elbo/mse,mean,beta=0.5", X("vae_elbo", "recon", "x", *ml, beta=0.5),
             (Formula("(F.mse_loss(recon, x, reduction='sum') + 0.5 KLD) / N", _elbo("mse", "mean", 0.5),
                      "recon", "x", *ml, note=ELBO_NOTE + "; 'mean' is the per-sample mean (divided by N)"),),
             latents(), ("recon", "x", *ml)),
        Case("gen/vae_elbo/bce,images,mean", X("vae_elbo", "recon_p", "x", *ml, reconstruction="bce"),
             (Formula("(F.binary_cross_entropy(recon, x, reduction='sum') + KLD) / N", _elbo("bce", "mean"),
                      "recon_p", "x", *ml, note=ELBO_NOTE + "; 'mean' is the per-sample mean (divided by N)"),),
             latents(data=(N, 1, 3, 3)), ("recon_p", *ml), note="(N, 1, 3, 3) images, (N, 3) latents"),
        Case("gen/vae_elbo/bce_logits,none", X("vae_elbo", "recon_z", "x", *ml, reconstruction="bce_logits",
                                               beta=2.0, reduction="none"),
             (Formula("F.binary_cross_entropy_with_logits(recon, x, reduction='none').sum(1) + 2 KLD per sample",
                      _elbo("bce_logits", "none", 2.0), "recon_z", "x", *ml, note=ELBO_NOTE),),
             latents(), ("recon_z", "x", *ml)),
    ]
    return cases


DISTILL_TEXT = "(1 − α) F.cross_entropy(s, y) + α T² F.kl_div(F.log_softmax(s/T, −1), F.softmax(t/T, −1)"
DISTILL_NOTE = "Hinton et al.; torch built-ins (BUILTINS-2 §1.13)"


def _distillation_cases() -> list[Case]:
    sty = ("s", "t", "y")
    cases = [
        Case("gen/distillation", X("distillation", *sty),
             (Formula(DISTILL_TEXT + ", reduction='batchmean'), T = 4, α = 0.7", _distill(4.0, 0.7), *sty,
                      note=DISTILL_NOTE),), student_teacher(), ("s",),
             note="teacher_grad=False: the student's gradient only (the teacher is a constant)"),
        Case("gen/distillation/teacher_grad", X("distillation", *sty, temperature=2.0, alpha=0.3, teacher_grad=True),
             (Formula(DISTILL_TEXT + ", reduction='batchmean'), T = 2, α = 0.3", _distill(2.0, 0.3), *sty,
                      note=DISTILL_NOTE),), student_teacher(), ("s", "t"),
             note="teacher_grad=True: the teacher's gradient through softmax(t/T) too"),
        Case("gen/distillation/soft-labels,sum", X("distillation", "s", "t", "q", temperature=3.0, reduction="sum"),
             (Formula(DISTILL_TEXT + ", reduction='sum'), soft labels q, T = 3", _distill(3.0, 0.7, "sum"),
                      "s", "t", "q", note=DISTILL_NOTE),), student_teacher(), ("s",)),
        Case("gen/distillation/none", X("distillation", *sty, alpha=0.5, teacher_grad=True, reduction="none"),
             (Formula(DISTILL_TEXT + ", reduction='none').sum(−1) per sample, T = 4", _distill(4.0, 0.5, "none"),
                      *sty, note=DISTILL_NOTE),), student_teacher(), ("s", "t")),
        Case("gen/distillation/labels=None", X("distillation", "s", "t", "None", alpha=1.0, teacher_grad=True),
             (Formula("T² F.kl_div(F.log_softmax(s/T, −1), F.softmax(t/T, −1), reduction='batchmean'), T = 4",
                      _distill(4.0, 1.0), "s", "t", note=DISTILL_NOTE),), student_teacher(), ("s", "t"),
             note="pure distillation: labels None, alpha = 1"),
        Case("gen/distillation/sequence,sum", X("distillation", *sty, teacher_grad=True, reduction="sum"),
             (Formula(DISTILL_TEXT + ", reduction='sum') over the (N·L, C) rows", _distill(4.0, 0.7, "sum"),
                      *sty, note=DISTILL_NOTE),), student_teacher((4, 3, C)), ("s", "t"),
             note="(N, L, C) logits, classes last"),
    ]
    return cases


def _uw(form: str) -> Callable:
    a, b = FORMS[form]
    return lambda torch, losses, s: (a * torch.exp(-s) * losses + b * s).sum()


def _multitask_cases() -> list[Case]:
    cases = [
        Case("gen/weighted_sum", X("weighted_sum", "L", "wk"),
             (Formula("Σ w_k L_k", lambda torch, losses, w: (w * losses).sum(), "L", "wk"),), task_losses,
             ("L", "wk"), note="(K,) losses and a (K,) weight array: gradients w and L"),
        Case("gen/weighted_sum/floats", X("weighted_sum", "L", "wl"),
             (Formula("L_1 + 0.5 L_2 + 2 L_3", lambda torch, losses: losses[0] + 0.5 * losses[1] + 2.0 * losses[2],
                      "L"),), task_losses, ("L",), note="constant weights as a sequence of floats [1, 0.5, 2]"),
    ]
    for form, (a, b) in FORMS.items():
        cases.append(Case(f"gen/uncertainty_weighting/{form}", X("uncertainty_weighting", "L", "s", form=form),
                          (Formula(f"Σ {a} e^(−s_k) L_k + {b} s_k", _uw(form), "L", "s",
                                   note="Kendall et al. 2018 (BUILTINS-2 §3.5)"),), task_losses, ("L", "s")))
    return cases


def cases() -> list[Case]:
    return _gan_cases() + _penalty_cases() + _vae_cases() + _distillation_cases() + _multitask_cases()

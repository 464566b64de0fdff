"""Per-loss test table of the generative, distillation and multi-task family (#10; extends ``cases.py``).

References are naive formulas written from the definitions: the Gaussian KL
:math:`-\\tfrac12 \\sum (1 + \\log\\sigma^2 - \\mu^2 - \\sigma^2)` (Kingma & Welling), the ELBO as
the reconstruction summed over the data axes plus β KL, TF-GAN's GAN losses (BUILTINS-2 §3.1: ``log(1 - σ(d))``,
``-log σ(d)``, ``½(d - c)²``, ``-d``, the hinges), Hinton et al.'s distillation with explicit softmaxes; the
binary cross-entropies, squared errors, hinges and cross-entropy are ``cases_binary`` / ``cases``' references.
No xploss code.

The discriminator losses reduce their two sides separately and add them (``"mean"``: mean real + mean fake): with
real and fake batches of one size the reference is the elementwise sum of the two sides' terms, whose sum and
mean are those of the loss.  Unequal sizes, the penalties (a callable critic) and the combinations of scalar
losses (no reduction) do not fit the table: ``test_generative.py`` tests them.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from cases import GAP, Case, N, _away, ref_cross_entropy, ref_mse, scaled
from cases_binary import ref_bce, ref_hinge, ref_sigmoid_bce

import xploss

D, IMAGE, C = 3, (2, 3), 3  # latent size, the ELBO's (C, H) "images", distillation classes


# -- references ---------------------------------------------------------------------------------------

def ref_gaussian_kl(mu, logvar):
    """``-½ Σ_j (1 + log σ² - μ² - σ²)`` per sample (the textbook form; fine away from tiny ``logvar``)."""
    return -0.5 * np.sum(1.0 + logvar - mu ** 2 - np.exp(logvar), axis=tuple(range(1, mu.ndim)))


_RECON = {
    "mse": ref_mse,
    "bce": ref_bce,
    "bce_logits": ref_sigmoid_bce,
}


def ref_vae_elbo(recon, x, mu, logvar, *, beta=1.0, reconstruction="mse"):
    rec = _RECON[reconstruction](recon, x)
    return np.sum(rec, axis=tuple(range(1, rec.ndim))) + beta * ref_gaussian_kl(mu, logvar)


def _sigmoid(d):
    return 1.0 / (1.0 + np.exp(-d))


def ref_minimax_generator(d):
    return np.log(1.0 - _sigmoid(d))


def ref_modified_generator(d, *, label_smoothing=0.0):
    return ref_sigmoid_bce(d, np.ones_like(d), label_smoothing=label_smoothing)


def ref_least_squares_generator(d, *, real_label=1.0):
    return 0.5 * (d - real_label) ** 2


def ref_wasserstein_generator(d):
    return -d


def ref_minimax_discriminator(dr, dg, *, label_smoothing=0.25):
    """TF v1 smoothing: the real target ``1 - ls/2`` (0.875 at TF-GAN's default 0.25)."""
    return ref_sigmoid_bce(dr, np.ones_like(dr), label_smoothing=label_smoothing) - np.log(1.0 - _sigmoid(dg))


def ref_least_squares_discriminator(dr, dg, *, real_label=1.0, fake_label=0.0):
    return 0.5 * (dr - real_label) ** 2 + 0.5 * (dg - fake_label) ** 2


def ref_wasserstein_discriminator(dr, dg):
    return dg - dr


def ref_wasserstein_hinge_discriminator(dr, dg):
    return ref_hinge(dr, np.ones_like(dr)) + ref_hinge(dg, np.zeros_like(dg))


def _softmax_rows(z):
    """Row-wise softmax with explicit ``math.exp`` sums (no log-sum-exp)."""
    out = np.zeros_like(z)
    for i in np.ndindex(z.shape[:-1]):
        e = [math.exp(v) for v in z[i]]
        out[i] = [v / sum(e) for v in e]
    return out


def ref_distillation(s, t, y, *, temperature=4.0, alpha=0.7, teacher_grad=False):
    """``(1 - α) CE(s, y) + α T² Σ_k p_t (log p_t - log p_s)``, softmaxes of the logits over ``T``."""
    p_t, p_s = _softmax_rows(t / temperature), _softmax_rows(s / temperature)
    soft = temperature ** 2 * np.sum(p_t * (np.log(p_t) - np.log(p_s)), axis=-1)
    return (1.0 - alpha) * ref_cross_entropy(s, y) + alpha * soft


# -- generators ------------------------------------------------------------------------------------------

def latents(rng: np.random.Generator) -> tuple:
    """``(mu, logvar)`` of shape ``(N, D)``: moderate means, variances from e^-1.5 to e^1."""
    return rng.normal(size=(N, D)), rng.uniform(-1.5, 1.0, size=(N, D))


def vae_inputs(kind: str) -> Callable:
    """``(recon, x, mu, logvar)``: ``(N, 2, 3)`` images, ``(N, D)`` latents; ``x`` in [0.1, 0.9] for the BCE
    forms (finite differences stay inside [0, 1]), probabilities ``recon`` in [0.1, 0.9]."""
    def make(rng: np.random.Generator) -> tuple:
        shape = (N, *IMAGE)
        if kind == "mse":
            recon, x = rng.normal(size=shape), rng.normal(size=shape)
        else:
            x = rng.uniform(0.1, 0.9, size=shape)
            recon = rng.uniform(0.1, 0.9, size=shape) if kind == "bce" else rng.normal(scale=2.0, size=shape)
        return (recon, x, *latents(rng))
    return make


def fake_logits(rng: np.random.Generator) -> tuple:
    """Generator-side logits ``(N, 2)`` (a weight ``(N,)`` aligns on the leading axis)."""
    return (rng.normal(scale=1.5, size=(N, 2)),)


def two_sides(rng: np.random.Generator) -> tuple:
    """Real and fake logits ``(N, 2)``, ``GAP`` away from the hinges' kinks at ±1."""
    return _away(rng, (N, 2), -2.5, 2.5, (1.0,)), _away(rng, (N, 2), -2.5, 2.5, (1.0,))


def distillation_inputs(rng: np.random.Generator) -> tuple:
    s, t = rng.normal(scale=2.0, size=(N, C)), rng.normal(scale=2.0, size=(N, C))
    return s, t, rng.integers(0, C, size=N)


def _huge_latents(a: tuple) -> tuple:
    """Means of ±1e6 (the KL 1e12: finite in float32); ``logvar`` kept (``exp`` of a huge one is inf)."""
    return (a[0] * 1e6, a[1])


def _huge_elbo(a: tuple) -> tuple:
    """Huge reconstructions (values or logits) and means; probabilities are bounded (no extreme row)."""
    return (a[0] * 1e4, a[1], a[2] * 1e4, a[3])


# -- the table ---------------------------------------------------------------------------------------------

assert GAP < 0.5  # the hinge rows' draws keep |d| - 1 >= GAP within [-2.5, 2.5]
_GEN = dict(make=fake_logits, diff=(0,), light=True, extreme=scaled(1e6))
_DIS = dict(make=two_sides, reductions=("sum", "mean"), weighted=False, light=True, extreme=scaled(1e6, 2))
_VAE = dict(fn=xploss.vae_elbo, ref=ref_vae_elbo, diff=(0, 1, 2, 3), light=True)
_DISTILL = dict(fn=xploss.distillation, make=distillation_inputs, ref=ref_distillation, nonneg=True,
                extreme=scaled(1e4, 2))

CASES = [
    Case("gaussian_kl", xploss.gaussian_kl, latents, ref_gaussian_kl, nonneg=True, extreme=_huge_latents),
    Case("vae_elbo-mse-beta0.5", make=vae_inputs("mse"), opts={"beta": 0.5}, nonneg=True, extreme=_huge_elbo,
         **_VAE),
    Case("vae_elbo-bce-beta2", make=vae_inputs("bce"), opts={"beta": 2.0, "reconstruction": "bce"}, **_VAE),
    Case("vae_elbo-bce_logits-beta0.3", make=vae_inputs("bce_logits"),
         opts={"beta": 0.3, "reconstruction": "bce_logits"}, nonneg=True, extreme=_huge_elbo, **_VAE),
    Case("gan-minimax_generator", xploss.minimax_generator_loss, ref=ref_minimax_generator, **_GEN),
    Case("gan-modified_generator-smoothing", xploss.modified_generator_loss, ref=ref_modified_generator,
         opts={"label_smoothing": 0.2}, nonneg=True, **_GEN),
    Case("gan-least_squares_generator-label", xploss.least_squares_generator_loss, ref=ref_least_squares_generator,
         opts={"real_label": 0.8}, nonneg=True, **_GEN),
    Case("gan-wasserstein_generator", xploss.wasserstein_generator_loss, ref=ref_wasserstein_generator, **_GEN),
    Case("gan-minimax_discriminator", xploss.minimax_discriminator_loss, ref=ref_minimax_discriminator, nonneg=True,
         **_DIS),
    Case("gan-least_squares_discriminator-labels", xploss.least_squares_discriminator_loss,
         ref=ref_least_squares_discriminator, opts={"real_label": 0.9, "fake_label": -0.2}, nonneg=True, **_DIS),
    Case("gan-wasserstein_discriminator", xploss.wasserstein_discriminator_loss, ref=ref_wasserstein_discriminator,
         **_DIS),
    Case("gan-wasserstein_hinge_discriminator", xploss.wasserstein_hinge_discriminator_loss,
         ref=ref_wasserstein_hinge_discriminator, nonneg=True, **_DIS),
    Case("distillation", opts={"temperature": 3.0, "alpha": 0.6}, diff=(0,), **_DISTILL),
    Case("distillation-teacher_grad", opts={"temperature": 2.0, "alpha": 0.4, "teacher_grad": True}, diff=(0, 1),
         **_DISTILL),
]

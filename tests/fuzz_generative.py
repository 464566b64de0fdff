"""Fuzz specs of the generative, distillation and multi-task family (#10), appended to ``fuzz_strategies.SPECS``.

* ``gaussian_kl`` / ``vae_elbo``: a batch axis, latent and data axes of any small shape, the three
  reconstructions (probabilities away from 0 for ``"bce"``, whose gradient is ``1 / p``), ``beta >= 0``.
* The GAN losses: logits of any shape; the discriminators' real and fake batches of independent shapes with
  optional per-side weights (gradients included); label smoothing and the least-squares labels.
* ``distillation``: logits ``(C,)``, ``(N, C)`` or ``(N, d, C)``, integer or soft labels, or none (``alpha=1``),
  the teacher's gradient asked for or not (then zero on every backend).
* The penalties: an elementwise critic ``x (c₁ + c₂ x)`` (a patch critic) or its per-sample sum, written with
  operators and the array namespace only, so that one critic runs on every backend; ``alpha`` a float, ``(N,)``
  or broadcasting; the gradients with respect to ``real``, ``fake`` and an array ``alpha`` (through the
  critic's input gradient, a second derivative).
* The combinations: one ``(K,)`` array of losses with its weights / log-variances (a sequence of arrays is not
  converted to the backends by the harness).

Documented exemptions (``Spec.exempt``): no ``shape`` category where any shapes are valid (the one-array
generator losses, the discriminators' independent batches, R1); no ``float_mix`` where there is no second
floating input (the generator losses, R1) or where it is cast by design (``weights`` and ``log_vars`` take the
losses' dtype: ``xploss.torch.UncertaintyWeighting`` keeps float32 log-variances).  The penalties need the
backend's autodiff of the critic (``Spec.autodiff``: array_api_strict refuses, NumPy uses autograd) and the
combinations have no ``reduction`` (``Spec.reductions == (None,)``): the harness passes no ``reduction`` and
skips array_api_strict for them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from fuzz_strategies import (
    BIG,
    CLASSES,
    LS,
    SIDES,
    SMOOTH,
    Example,
    Hyper,
    Spec,
    arr,
    distributions,
    int_labels,
    maybe,
    probs,
    reals,
    small_shape,
    weights,
)
from hypothesis import strategies as st

import xploss

BATCH = st.sampled_from(SIDES)


def _batch(draw: Callable, max_dims: int = 2) -> tuple:
    """A shape ``(N, ...)``: the batch axis first."""
    return (draw(BATCH), *small_shape(draw, max_dims=max_dims))


def _kl(draw: Callable, labels: str | None) -> Example:
    shape = _batch(draw)
    return Example("gaussian_kl", [arr(draw, shape, reals()), arr(draw, shape, reals(-5.0, 5.0))], diff=(0, 1),
                   sample_shape=shape[:1])


def _elbo(draw: Callable, labels: str | None) -> Example:
    n = draw(BATCH)
    data, latent = (n, *small_shape(draw, max_dims=2)), (n, *small_shape(draw, max_dims=2))
    kind = draw(st.sampled_from([None, "mse", "bce", "bce_logits"]))
    recon = arr(draw, data, probs() if kind == "bce" else reals())
    x = arr(draw, data, reals() if kind in (None, "mse") else probs(edges=True))
    opts = {k: v for k, v in (("reconstruction", kind), ("beta", draw(maybe(reals(0.0, 5.0))))) if v is not None}
    return Example("vae_elbo", [recon, x, arr(draw, latent, reals()), arr(draw, latent, reals(-5.0, 5.0))], opts,
                   diff=(0, 1, 2, 3), sample_shape=(n,))


def _one_side(name: str, **options: st.SearchStrategy) -> Callable:
    def gen(draw: Callable, labels: str | None) -> Example:
        shape = small_shape(draw)
        opts = {k: v for k, v in ((k, draw(s)) for k, s in options.items()) if v is not None}
        return Example(name, [arr(draw, shape, reals())], opts, diff=(0,), sample_shape=shape)
    return gen


def _side_weight(draw: Callable, shape: tuple) -> np.ndarray | None:
    """None, or a weight aligned on the leading axes of one side's logits."""
    if not draw(st.booleans()):
        return None
    k = draw(st.integers(0, len(shape)))
    return arr(draw, tuple(draw(st.sampled_from([1, s])) for s in shape[:k]), weights())


def _two_sides(name: str, **options: st.SearchStrategy) -> Callable:
    def gen(draw: Callable, labels: str | None) -> Example:
        real, fake = small_shape(draw), small_shape(draw)
        opts = {k: v for k, v in ((k, draw(s)) for k, s in options.items()) if v is not None}
        kw = {k: w for k, w in (("real_weight", _side_weight(draw, real)), ("fake_weight", _side_weight(draw, fake)))
              if w is not None}
        return Example(name, [arr(draw, real, reals()), arr(draw, fake, reals())], opts, kw=kw,
                       diff=(0, 1, *kw), sample_shape=())
    return gen


def _distillation(draw: Callable, labels: str | None) -> Example:
    c = draw(st.sampled_from(CLASSES))
    shape = draw(st.sampled_from([(c,), (draw(BATCH), c), (draw(BATCH), draw(BATCH), c)]))
    kind = labels or draw(st.sampled_from(["int", "int", "float", "none"]))
    opts = {k: v for k, v in (("temperature", draw(maybe(reals(0.5, 10.0)))),
                              ("teacher_grad", draw(maybe(st.booleans())))) if v is not None}
    if kind == "none":
        y, opts["alpha"] = None, 1.0
    else:
        y = int_labels(draw, shape[:-1], c, None) if kind == "int" else distributions(draw, shape, len(shape) - 1)
        if (alpha := draw(maybe(reals(0.0, 1.0)))) is not None:
            opts["alpha"] = alpha
    return Example("distillation", [arr(draw, shape, reals()), arr(draw, shape, reals()), y], opts,
                   diff=(0, 1) if kind != "float" else (0, 1, 2), sample_shape=shape[:-1],
                   labels=2 if kind == "int" else None, classes=c, axis=len(shape) - 1)


@dataclass(frozen=True)
class PolyCritic:
    """``x (c₁ + c₂ x)`` elementwise (a patch critic), or summed per sample: one score per sample either way."""

    c1: float
    c2: float
    summed: bool

    def __call__(self, x):
        out = x * (self.c1 + self.c2 * x)
        if not self.summed or x.ndim == 1:
            return out
        return xploss.array_namespace(x).sum(out, axis=tuple(range(1, x.ndim)))


def _critic(draw: Callable) -> PolyCritic:
    return PolyCritic(draw(reals(-2.0, 2.0)), draw(reals(-2.0, 2.0)), draw(st.booleans()))


def _gp(draw: Callable, labels: str | None) -> Example:
    shape = _batch(draw)
    kind = draw(st.sampled_from(["float", "per-sample", "broadcast"]))
    kw, opts = {}, {}
    if kind == "float":
        opts["alpha"] = draw(reals(0.0, 1.0))
    else:
        ashape = shape[:1] if kind == "per-sample" else tuple(draw(st.sampled_from([1, s])) for s in shape)
        kw["alpha"] = arr(draw, ashape, reals(0.0, 1.0))
    if (weight := draw(maybe(reals(0.0, 20.0)))) is not None:  # λ with the keywords: the `weight` category replaces it
        kw["weight"] = weight
    for name, s in (("target", reals(0.1, 5.0)), ("one_sided", st.booleans()),
                    ("eps", st.sampled_from([1e-10, 1e-3]))):  # eps = 0: NaN at a zero input gradient (documented)
        if (v := draw(maybe(s))) is not None:
            opts[name] = v
    return Example("gradient_penalty", [_critic(draw), arr(draw, shape, reals(-3.0, 3.0)),
                                        arr(draw, shape, reals(-3.0, 3.0))], opts, kw=kw,
                   diff=(1, 2, *(("alpha",) if "alpha" in kw else ())),
                   sample_shape=shape[:1])


def _r1(draw: Callable, labels: str | None) -> Example:
    shape = _batch(draw)
    opts = {} if (gamma := draw(maybe(reals(0.0, 20.0)))) is None else {"gamma": gamma}
    return Example("r1_penalty", [_critic(draw), arr(draw, shape, reals(-3.0, 3.0))], opts, diff=(1,),
                   sample_shape=shape[:1])


def _combination(name: str) -> Callable:
    def gen(draw: Callable, labels: str | None) -> Example:
        k = draw(st.integers(1, 4))
        losses = arr(draw, (k,), reals(0.0, BIG))
        second = arr(draw, (k,), reals(-3.0, 3.0))
        opts = {} if name == "weighted_sum" or (form := draw(maybe(st.sampled_from(
            ["simple", "regression", "classification"])))) is None else {"form": form}
        return Example(name, [losses, second], opts, diff=(0, 1), sample_shape=(), reduction=None)
    return gen


_GEN_SIDE = dict(exempt=("shape", "float_mix"))  # one floating input of any shape
_DIS = dict(reductions=("mean", "sum"), weighted=False, exempt=("shape",))  # two batches of any shapes
_COMBINATION = dict(reductions=(None,), weighted=False, exempt=("float_mix",))  # weights cast to the losses' dtype
REAL_LABEL = Hyper("real_label")

SPECS: list[Spec] = [
    Spec("gaussian_kl", _kl),
    Spec("vae_elbo", _elbo, hypers=(Hyper("beta", (-0.5, -1e-9)), Hyper("reconstruction", ("l2", "BCE", "")))),
    Spec("minimax_generator_loss", _one_side("minimax_generator_loss"), **_GEN_SIDE),
    Spec("modified_generator_loss", _one_side("modified_generator_loss", label_smoothing=SMOOTH), hypers=(LS,),
         **_GEN_SIDE),
    Spec("least_squares_generator_loss", _one_side("least_squares_generator_loss",
                                                   real_label=maybe(reals(-3.0, 3.0))),
         hypers=(REAL_LABEL,), **_GEN_SIDE),
    Spec("wasserstein_generator_loss", _one_side("wasserstein_generator_loss"), **_GEN_SIDE),
    Spec("minimax_discriminator_loss", _two_sides("minimax_discriminator_loss", label_smoothing=SMOOTH),
         hypers=(LS,), **_DIS),
    Spec("least_squares_discriminator_loss", _two_sides("least_squares_discriminator_loss",
                                                        real_label=maybe(reals(-3.0, 3.0)),
                                                        fake_label=maybe(reals(-3.0, 3.0))),
         hypers=(REAL_LABEL, Hyper("fake_label")), **_DIS),
    Spec("wasserstein_discriminator_loss", _two_sides("wasserstein_discriminator_loss"), **_DIS),
    Spec("wasserstein_hinge_discriminator_loss", _two_sides("wasserstein_hinge_discriminator_loss"), **_DIS),
    Spec("distillation", _distillation, hypers=(Hyper("temperature", (0.0, -1.0)), Hyper("alpha", (-0.1, 1.5))),
         int_labels=True, float_labels=True),
    Spec("gradient_penalty", _gp, reductions=("none", "sum", "mean"), weighted=False, shape_position=2,
         autodiff=True, hypers=(Hyper("weight", (-1.0,)), Hyper("target", (0.0, -1.0)), Hyper("eps", (-1e-10,)),
                                Hyper("alpha", (1.5, -0.5), array_ok=True))),
    Spec("r1_penalty", _r1, reductions=("none", "sum", "mean"), weighted=False, autodiff=True,
         hypers=(Hyper("gamma", (-1.0,)),), exempt=("shape", "float_mix")),
    Spec("weighted_sum", _combination("weighted_sum"), **_COMBINATION),
    Spec("uncertainty_weighting", _combination("uncertainty_weighting"),
         hypers=(Hyper("form", ("kendall", "Simple", "")),), **_COMBINATION),
]

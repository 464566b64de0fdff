"""The figure-spec registry of ``.. loss-figure::`` (docs/_ext/loss_figures.py).

One :class:`Spec` per figure: the x grid, the xploss curves as functions of the grid, an optional
parameter sweep and the built-ins drawn on top.  A curve is ``loss(xp, x, **params)``: ``xp`` the
array-API namespace of the backend being drawn, ``x`` its 1-D grid array; it returns one loss per
grid point (``reduction="none"``), built from ``x`` with ``xp`` operations only, so that each
framework's autodiff differentiates it (``d loss / d x`` is the gradient panel).  Batch-coupled
losses (``batched=False``) are called once per grid point with a 0-d ``x`` and return a scalar.

A built-in is ``fn(x, **params) -> (values, grads)`` on a NumPy grid, computed in its own framework
(its autodiff for the gradient); it is drawn, not checked: where a built-in differs from xploss by
design (clipping, a clamp) the figure shows it.

This module imports only NumPy and xploss; the frameworks of the built-ins are imported inside them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import xploss

Loss = Callable[..., Any]


@dataclass(frozen=True)
class Curve:
    """One xploss curve: ``loss(xp, x, **params)`` -> per-point loss."""

    label: str
    loss: Loss


@dataclass(frozen=True)
class Builtin:
    """A built-in counterpart: ``fn(x: np.ndarray, **params) -> (values, grads)`` (NumPy arrays)."""

    label: str
    fn: Callable[..., tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Spec:
    """A figure: loss and gradient panels of ``curves`` over ``x`` (optionally swept over one parameter)."""

    title: str
    xlabel: str
    x: tuple[float, float]
    curves: tuple[Curve, ...]
    params: dict[str, float] = field(default_factory=dict)
    sweep: tuple[str, tuple[float, ...]] | None = None
    builtins: dict[str, Builtin] = field(default_factory=dict)
    points: int = 201
    batched: bool = True
    xscale: str = "linear"  # "log": a log-spaced grid
    yscale: str = "linear"
    gscale: str = "linear"  # the gradient panel ("symlog" for gradients over many decades)


# --------------------------------------------------------------------------- input builders


def const(x: Any, xp: Any, value: float) -> Any:
    """``value`` with ``x``'s shape and dtype (no gradient through it)."""
    return xp.zeros_like(x) + value


def column(xp: Any, *cols: Any) -> Any:
    """Stack per-point scalars into rows: ``(n,) * k -> (n, k)`` (0-d inputs give ``(k,)``)."""
    return xp.stack(list(cols), axis=-1)


def labels_like(x: Any, xp: Any, value: int) -> Any:
    """Integer labels, one per grid point (a 0-d ``x``: a ``(1,)`` batch)."""
    return xp.zeros(tuple(x.shape), dtype=xp.int64) + value


def true_class_logits(x: Any, xp: Any) -> Any:
    """Three-class logits ``[x, 0, 0]`` per point: ``x`` is the true class' logit."""
    zero = const(x, xp, 0.0)
    return column(xp, x, zero, zero)


def binary_probs(x: Any, xp: Any) -> Any:
    """Two-class probabilities ``[p, 1 - p]``: ``x = p`` is the true class' probability."""
    return column(xp, x, 1.0 - x)


def unit_at_cosine(x: Any, xp: Any, dim: int = 2, slot: int = 1) -> Any:
    """Unit vectors at cosine ``x`` to ``e0``: ``x e0 + sqrt(1 - x^2) e_slot`` in ``dim`` dimensions."""
    zero = const(x, xp, 0.0)
    cols = [zero] * dim
    cols[0], cols[slot] = x, xp.sqrt(1.0 - x * x)
    return column(xp, *cols)


def box_at(x: Any, xp: Any) -> Any:
    """Unit boxes ``(x1, y1, x2, y2)`` shifted by ``x`` along x, against the box ``[0, 0, 1, 1]``."""
    return column(xp, x, const(x, xp, 0.0), x + 1.0, const(x, xp, 1.0))


# --------------------------------------------------------------------------- built-ins


def _torch_curve(fn: Callable[[Any], Any]) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """A torch built-in of the grid tensor (float64, one loss per point) -> values, grads by autograd."""

    def run(x: np.ndarray, **params: float) -> tuple[np.ndarray, np.ndarray]:
        import torch

        t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        values = fn(t, **params)
        (grads,) = torch.autograd.grad(values.sum(), t)
        return values.detach().numpy(), grads.numpy()

    return run


def _keras_curve(fn: Callable[[Any], Any]) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """A Keras built-in (TensorFlow backend, float32: Keras' floatx) -> values, grads by tf.GradientTape."""

    def run(x: np.ndarray, **params: float) -> tuple[np.ndarray, np.ndarray]:
        import tensorflow as tf

        t = tf.constant(x, dtype=tf.float32)
        with tf.GradientTape() as tape:
            tape.watch(t)
            values = fn(t, **params)
            total = tf.reduce_sum(values)
        grads = tape.gradient(total, t)
        return values.numpy().astype(np.float64), grads.numpy().astype(np.float64)

    return run


def _torch_huber(t: Any, **params: float) -> Any:
    import torch.nn.functional as F

    return F.huber_loss(t, t * 0, delta=params["delta"], reduction="none")


def _torch_smooth_l1(t: Any, **params: float) -> Any:
    import torch.nn.functional as F

    return F.smooth_l1_loss(t, t * 0, beta=params.get("beta", params.get("delta")), reduction="none")


def _torch_bce(t: Any, **params: float) -> Any:
    import torch.nn.functional as F

    return F.binary_cross_entropy(t, t * 0 + 1, reduction="none")


def _keras_bce(t: Any, **params: float) -> Any:
    import keras
    import tensorflow as tf

    return keras.losses.binary_crossentropy(tf.ones_like(t)[:, None], t[:, None])


def _torch_poisson(t: Any, **params: float) -> Any:
    import torch.nn.functional as F

    return F.poisson_nll_loss(t, t * 0 + params["target"], log_input=False, reduction="none")


def _torch_triplet(t: Any, **params: float) -> Any:
    import torch
    import torch.nn.functional as F

    zero = torch.zeros_like(t)
    anchor, positive = torch.stack([zero, zero], -1), torch.stack([zero + params["d_ap"], zero], -1)
    return F.triplet_margin_loss(anchor, positive, torch.stack([zero, t], -1), margin=params["margin"],
                                 reduction="none")


def _torch_multi_margin(t: Any, **params: float) -> Any:
    import torch
    import torch.nn.functional as F

    zero = torch.zeros_like(t)
    labels = torch.zeros(t.shape, dtype=torch.int64)
    return F.multi_margin_loss(torch.stack([t, zero, zero], -1), labels, reduction="none")


def _torch_smoothed_ce(t: Any, **params: float) -> Any:
    import torch
    import torch.nn.functional as F

    zero = torch.zeros_like(t)
    labels = torch.zeros(t.shape, dtype=torch.int64)
    return F.cross_entropy(torch.stack([t, zero, zero], -1), labels, label_smoothing=params["label_smoothing"],
                           reduction="none")


def _torch_ctc(t: Any, **params: float) -> Any:
    import torch
    import torch.nn.functional as F

    zero = torch.zeros_like(t)
    logits = torch.stack([torch.stack([zero, zero], -1), torch.stack([zero, t], -1), torch.stack([zero, zero], -1)])
    n = t.shape[0]
    return F.ctc_loss(logits.log_softmax(-1), torch.ones((n, 1), dtype=torch.int64), torch.full((n,), 3),
                      torch.ones(n, dtype=torch.int64), reduction="none")


# --------------------------------------------------------------------------- the registry

GAMMAS = (0.0, 0.5, 1.0, 2.0, 5.0)  # the focal sweep of Lin et al. (2017), Fig. 1
_PROXIES = np.array([[1.0, 0.0], [-1.0, 0.0]])  # two class weights: the true class' and its opposite


def _mined(fn: Loss, **options: Any) -> Loss:
    """Anchor 0's loss of the 1-D batch ``[0, -1 | x, 10]`` (classes ``[0, 0, 1, 1]``): a batch-coupled call."""

    def loss(xp: Any, x: Any) -> Any:
        embeddings = xp.stack([const(x, xp, 0.0), const(x, xp, -1.0), x, const(x, xp, 10.0)])[:, None]
        labels = xp.asarray(np.array([0, 0, 1, 1]))
        return fn(embeddings, labels, reduction="none", **options)[0]

    return loss


def _boxes(fn: Loss) -> Loss:
    """A box loss of the shifted unit box against ``[0, 0, 1, 1]``, per point."""
    return lambda xp, x: fn(box_at(x, xp), box_at(const(x, xp, 0.0), xp), reduction="none")


def _generator(fn: Loss) -> Loss:
    return lambda xp, x: fn(x, reduction="none")


def _discriminator(fn: Loss) -> Loss:
    """One real sample at logit ``x`` and one fake at ``-x`` (a batch-coupled call: the losses reduce)."""
    return lambda xp, x: fn(x[None], -x[None])


def _elementwise(fn: Loss, target: float = 0.0, **fixed: Any) -> Loss:
    """``fn(pred=x, target)`` of an elementwise loss, per point."""
    return lambda xp, x, **p: fn(x, const(x, xp, target), **fixed, **p, reduction="none")


SPECS: dict[str, Spec] = {
    # regression ------------------------------------------------------------------------------
    "mean_squared_error": Spec("mean_squared_error", "residual r = pred - target", (-3, 3),
                               (Curve("mse", _elementwise(xploss.mse)),)),
    "mean_absolute_error": Spec("mean_absolute_error", "residual r = pred - target", (-3, 3),
                                (Curve("mae", _elementwise(xploss.mae)),)),
    "huber": Spec(
        "huber vs smooth_l1 (huber = delta * smooth_l1 with beta = delta)", "residual r", (-3, 3),
        (Curve("huber", lambda xp, x, delta: xploss.huber(x, const(x, xp, 0.0), delta=delta, reduction="none")),
         Curve("smooth_l1 (beta = delta)", lambda xp, x, delta: xploss.smooth_l1(x, const(x, xp, 0.0), beta=delta,
                                                                  reduction="none"))),
        sweep=("delta", (0.5, 2.0)),
        builtins={"torch": Builtin("torch F.huber_loss", _torch_curve(_torch_huber)),
                  "torch_smooth_l1": Builtin("torch F.smooth_l1_loss", _torch_curve(_torch_smooth_l1))},
    ),
    "smooth_l1": Spec("smooth_l1", "residual r", (-3, 3),
                      (Curve("smooth_l1", lambda xp, x, beta: xploss.smooth_l1(x, const(x, xp, 0.0), beta=beta,
                                                                               reduction="none")),),
                      sweep=("beta", (0.5, 1.0, 2.0)),
                      builtins={"torch": Builtin("torch F.smooth_l1_loss", _torch_curve(_torch_smooth_l1))}),
    "quantile": Spec("quantile (pinball) family", "residual r = pred - target", (-3, 3),
                     (Curve("quantile", lambda xp, x, tau: xploss.quantile(x, const(x, xp, 0.0), tau=tau,
                                                                           reduction="none")),),
                     sweep=("tau", (0.1, 0.25, 0.5, 0.75, 0.9))),
    "log_cosh": Spec("log_cosh (quadratic near 0, |r| - log 2 far out)", "residual r", (-4, 4),
                     (Curve("log_cosh", _elementwise(xploss.log_cosh)),
                      Curve("mse / 2", lambda xp, x: 0.5 * xploss.mse(x, const(x, xp, 0.0), reduction="none")))),
    "mean_squared_log_error": Spec("mean_squared_log_error, target 1", "pred", (0, 6),
                                   (Curve("msle", _elementwise(xploss.msle, 1.0)),)),
    "mean_absolute_percentage_error": Spec("mean_absolute_percentage_error, target 1", "pred", (-1, 3),
                                           (Curve("mape", _elementwise(xploss.mape, 1.0)),)),
    "poisson": Spec(
        "poisson (rate input), target 2", "predicted rate", (0.05, 6),
        (Curve("poisson", lambda xp, x, target: xploss.poisson(x, const(x, xp, target), reduction="none")),),
        params={"target": 2.0},
        builtins={"torch": Builtin("torch F.poisson_nll_loss(log_input=False)", _torch_curve(_torch_poisson))},
    ),
    "poisson_nll": Spec("poisson_nll (log-rate input), target 2", "log rate", (-2, 2.5),
                        (Curve("poisson_nll", _elementwise(xploss.poisson_nll, 2.0)),)),
    "gaussian_nll": Spec(
        "gaussian_nll for several variances", "residual r = mean - target", (-3, 3),
        (Curve("gaussian_nll", lambda xp, x, var: xploss.gaussian_nll(x, const(x, xp, 0.0), const(x, xp, var),
                                                                      reduction="none")),),
        sweep=("var", (0.25, 1.0, 4.0)),
    ),
    # classification ---------------------------------------------------------------------------
    "cross_entropy": Spec(
        "cross_entropy of 3 classes, logits [z, 0, 0], true class 0", "z (logit of the true class)", (-6, 6),
        (Curve("cross_entropy", lambda xp, x, label_smoothing: xploss.cross_entropy(
            true_class_logits(x, xp), labels_like(x, xp, 0), label_smoothing=label_smoothing, reduction="none")),),
        sweep=("label_smoothing", (0.0, 0.2)),
        builtins={"torch": Builtin("torch F.cross_entropy", _torch_curve(_torch_smoothed_ce))},
    ),
    "binary_cross_entropy": Spec(
        "binary_cross_entropy at label 1: torch's log clamp vs Keras' clip", "p (probability of the label)",
        (1e-50, 1.0),
        (Curve("eps=None (torch)", lambda xp, x: xploss.binary_cross_entropy(x, const(x, xp, 1.0),
                                                                             reduction="none")),
         Curve("eps=1e-7 (Keras)", lambda xp, x: xploss.binary_cross_entropy(x, const(x, xp, 1.0), eps=1e-7,
                                                                             reduction="none"))),
        builtins={"torch": Builtin("torch F.binary_cross_entropy", _torch_curve(_torch_bce)),
                  "keras": Builtin("keras binary_crossentropy (float32)", _keras_curve(_keras_bce))},
        xscale="log", gscale="symlog", points=301,
    ),
    "sigmoid_binary_cross_entropy": Spec(
        "sigmoid_binary_cross_entropy", "logit z", (-8, 8),
        (Curve("label 1", lambda xp, x: xploss.sigmoid_binary_cross_entropy(x, const(x, xp, 1.0),
                                                                            reduction="none")),
         Curve("label 0", lambda xp, x: xploss.sigmoid_binary_cross_entropy(x, const(x, xp, 0.0),
                                                                            reduction="none"))),
    ),
    "binary_focal": Spec(
        "binary_focal at label 1 (alpha off)", "p (probability of the label)", (0.01, 1.0),
        (Curve("binary_focal", lambda xp, x, gamma: xploss.binary_focal(x, const(x, xp, 1.0), alpha=None,
                                                                        gamma=gamma, reduction="none")),),
        sweep=("gamma", GAMMAS),
    ),
    "sigmoid_focal": Spec(
        "sigmoid_focal at label 1 (alpha off)", "logit z", (-6, 6),
        (Curve("sigmoid_focal", lambda xp, x, gamma: xploss.sigmoid_focal(x, const(x, xp, 1.0), alpha=None,
                                                                          gamma=gamma, reduction="none")),),
        sweep=("gamma", GAMMAS),
    ),
    "hinge": Spec("hinge family at label 1", "score s", (-2, 3),
                  (Curve("hinge", _elementwise(xploss.hinge, 1.0)),
                   Curve("squared_hinge", _elementwise(xploss.squared_hinge, 1.0)),
                   Curve("soft_margin", _elementwise(xploss.soft_margin, 1.0)))),
    "categorical_hinge": Spec(
        "multi-class hinges, scores [s, 0, 0], true class 0", "s (score of the true class)", (-2, 3),
        (Curve("categorical_hinge (Keras)", lambda xp, x: xploss.categorical_hinge(
            true_class_logits(x, xp), column(xp, const(x, xp, 1.0), const(x, xp, 0.0), const(x, xp, 0.0)),
            reduction="none")),
         Curve("multi_margin (torch)", lambda xp, x: xploss.multi_margin(
             true_class_logits(x, xp), labels_like(x, xp, 0), reduction="none"))),
        builtins={"torch": Builtin("torch F.multi_margin_loss", _torch_curve(_torch_multi_margin))},
    ),
    "focal": Spec(
        "focal loss vs the probability of the true class (gamma = 0 is cross-entropy)",
        "p_t (softmax probability of the true class)", (0.05, 0.99),
        (Curve("focal", lambda xp, x, gamma: xploss.focal(xp.log(binary_probs(x, xp)), labels_like(x, xp, 0),
                                                          gamma=gamma, reduction="none")),),
        sweep=("gamma", GAMMAS),
    ),
    "poly1_cross_entropy": Spec(
        "poly1_cross_entropy vs the probability of the true class", "p_t", (0.05, 0.99),
        (Curve("poly1", lambda xp, x, epsilon: xploss.poly1_cross_entropy(
            xp.log(binary_probs(x, xp)), labels_like(x, xp, 0), epsilon=epsilon, reduction="none")),),
        sweep=("epsilon", (-1.0, 0.0, 1.0, 2.0)),
    ),
    "categorical_focal": Spec(
        "categorical_focal (probabilities [p, 1 - p], alpha 1)", "p_t", (0.01, 1.0),
        (Curve("categorical_focal", lambda xp, x, gamma: xploss.categorical_focal(
            binary_probs(x, xp), column(xp, const(x, xp, 1.0), const(x, xp, 0.0)), alpha=1.0, gamma=gamma,
            reduction="none")),),
        sweep=("gamma", GAMMAS),
    ),
    "categorical_generalized_cross_entropy": Spec(
        "categorical_generalized_cross_entropy (q -> 0: cross-entropy, q -> 1: MAE)", "p_t", (0.01, 1.0),
        (Curve("GCE", lambda xp, x, q: xploss.categorical_generalized_cross_entropy(
            binary_probs(x, xp), labels_like(x, xp, 0), q=q, reduction="none")),),
        sweep=("q", (0.1, 0.5, 0.7, 0.9)),
    ),
    "kl_divergence": Spec(
        "kl_divergence(log q, t) with t = [0.3, 0.7], q = [x, 1 - x]", "x (q's first probability)", (0.01, 0.99),
        (Curve("kl_divergence", lambda xp, x: xploss.kl_divergence(
            xp.log(binary_probs(x, xp)), column(xp, const(x, xp, 0.3), const(x, xp, 0.7)), reduction="none")),
         Curve("probability_kl_divergence", lambda xp, x: xploss.probability_kl_divergence(
             binary_probs(x, xp), column(xp, const(x, xp, 0.3), const(x, xp, 0.7)), reduction="none"))),
    ),
    # embedding --------------------------------------------------------------------------------
    "triplet_margin": Spec(
        "triplet_margin, anchor-positive distance 1", "anchor-negative distance d_an", (0, 4),
        (Curve("triplet_margin", lambda xp, x, margin, d_ap: xploss.triplet_margin(
            column(xp, const(x, xp, 0.0), const(x, xp, 0.0)), column(xp, const(x, xp, d_ap), const(x, xp, 0.0)),
            column(xp, const(x, xp, 0.0), x), margin=margin, reduction="none")),),
        params={"d_ap": 1.0}, sweep=("margin", (0.5, 1.0, 2.0)),
        builtins={"torch": Builtin("torch F.triplet_margin_loss", _torch_curve(_torch_triplet))},
    ),
    "contrastive": Spec(
        "contrastive (squared, margin 1) vs the pair distance", "distance d", (0, 2),
        (Curve("similar pair (1)", lambda xp, x: xploss.contrastive(
            column(xp, const(x, xp, 0.0), const(x, xp, 0.0)), column(xp, x, const(x, xp, 0.0)),
            const(x, xp, 1.0), reduction="none")),
         Curve("dissimilar pair (0)", lambda xp, x: xploss.contrastive(
             column(xp, const(x, xp, 0.0), const(x, xp, 0.0)), column(xp, x, const(x, xp, 0.0)),
             const(x, xp, 0.0), reduction="none"))),
    ),
    "cosine_embedding": Spec(
        "cosine_embedding (margin 0.3) vs the cosine of the pair", "cosine of the pair", (-0.99, 0.99),
        (Curve("label 1", lambda xp, x: xploss.cosine_embedding(
            unit_at_cosine(const(x, xp, 1.0), xp), unit_at_cosine(x, xp), const(x, xp, 1.0), margin=0.3,
            reduction="none")),
         Curve("label -1", lambda xp, x: xploss.cosine_embedding(
             unit_at_cosine(const(x, xp, 1.0), xp), unit_at_cosine(x, xp), const(x, xp, -1.0), margin=0.3,
             reduction="none"))),
    ),
    "margin_ranking": Spec(
        "margin_ranking, label 1 (x1 should rank higher)", "x1 - x2", (-3, 3),
        (Curve("margin_ranking", lambda xp, x, margin: xploss.margin_ranking(
            x, const(x, xp, 0.0), const(x, xp, 1.0), margin=margin, reduction="none")),),
        sweep=("margin", (0.0, 1.0)),
    ),
    "hinge_embedding": Spec(
        "hinge_embedding (margin 1) vs the distance", "distance x", (0, 2),
        (Curve("label 1", _elementwise(xploss.hinge_embedding, 1.0)),
         Curve("label -1", _elementwise(xploss.hinge_embedding, -1.0))),
    ),
    "bpr": Spec("bpr vs the score margin", "s+ - s-", (-5, 5),
                (Curve("bpr", lambda xp, x: xploss.bpr(x, const(x, xp, 0.0), reduction="none")),)),
    "arcface": Spec(
        "arcface / cosface (scale 30), two opposite class weights", "angle to the true class' weight (rad)",
        (0.0, math.pi),
        (Curve("arcface m=0.5", lambda xp, x: xploss.arcface(
            column(xp, xp.cos(x), xp.sin(x)), xp.asarray(_PROXIES, dtype=x.dtype),
            labels_like(x, xp, 0), reduction="none")),
         Curve("cosface m=0.35", lambda xp, x: xploss.cosface(
             column(xp, xp.cos(x), xp.sin(x)), xp.asarray(_PROXIES, dtype=x.dtype),
             labels_like(x, xp, 0), reduction="none")),
         Curve("no margin", lambda xp, x: xploss.cosface(
             column(xp, xp.cos(x), xp.sin(x)), xp.asarray(_PROXIES, dtype=x.dtype),
             labels_like(x, xp, 0), margin=0.0, reduction="none"))),
    ),
    "info_nce": Spec(
        "info_nce, nt_xent and clip, 4 pairs, vs the positive similarity of the first", "cosine of query 0 and key 0",
        (-0.95, 0.95),
        (Curve("info_nce", lambda xp, x, temperature: xploss.info_nce(*_pairs(x, xp), temperature=temperature)),
         Curve("nt_xent", lambda xp, x, temperature: xploss.nt_xent(*_pairs(x, xp), temperature=temperature)),
         Curve("clip (scale 1/T)", lambda xp, x, temperature: xploss.clip(*_pairs(x, xp), 1.0 / temperature))),
        sweep=("temperature", (0.1, 0.5)), batched=False, points=41,
    ),
    "batch_hard_triplet": Spec(
        "losses mined from labels: anchor 0's loss, class 0 at {0, -1}, class 1 at {x, 10} (1-D embeddings)",
        "x (position of anchor 0's nearest negative)", (0.1, 3.5),
        tuple(Curve(label, _mined(getattr(xploss, name), **options)) for label, name, options in (
            ("batch_hard_triplet", "batch_hard_triplet", {}),
            ("batch_hard_triplet soft", "batch_hard_triplet", {"soft": True}),
            ("batch_all_triplet", "batch_all_triplet", {}),
            ("lifted_structure", "lifted_structure", {}))),
        batched=False, points=41,
    ),
    "supcon": Spec(
        "label-defined positives: the 4 pairs of the info_nce figure as 8 labelled samples", "cosine of pair 0",
        (-0.95, 0.95),
        (Curve("supcon", lambda xp, x: xploss.supcon(*_labelled_pairs(x, xp))),
         Curve("circle / 10", lambda xp, x: xploss.circle(*_labelled_pairs(x, xp)) / 10.0),
         Curve("multi_similarity", lambda xp, x: xploss.multi_similarity(*_labelled_pairs(x, xp)))),
        batched=False, points=41,
    ),
    # dense --------------------------------------------------------------------------------------
    "lovasz_hinge": Spec(
        "lovasz_hinge and the hinge of a 4-pixel image, labels [1, 1, 0, 0], logits [z, 1, -1, -1]",
        "z (logit of the first foreground pixel)", (-3, 3),
        (Curve("lovasz_hinge", lambda xp, x: xploss.lovasz_hinge(_lovasz_logits(x, xp), _lovasz_labels(x, xp),
                                                                 reduction="none")),
         Curve("mean hinge (for comparison)", lambda xp, x: xploss.hinge(
             _lovasz_logits(x, xp), _lovasz_labels(x, xp), reduction="none")[..., 0] / 4.0
             + const(x, xp, 0.0))),
    ),
    "ctc": Spec(
        "ctc of the label 'a' over 3 frames (classes blank, a): logits 0 except 'a' at frame 2",
        "z (logit of 'a' at the middle frame)", (-6, 6),
        (Curve("ctc", lambda xp, x: xploss.ctc(_ctc_logits(x, xp), labels_like(x, xp, 1)[..., None],
                                               reduction="none")),),
        builtins={"torch": Builtin("torch F.ctc_loss", _torch_curve(_torch_ctc))},
    ),
    "dice": Spec(
        "overlap losses of a 4-pixel mask [1, 1, 0, 0], prediction [p, p, 1 - p, 1 - p]", "p", (0.0, 1.0),
        (Curve("dice", lambda xp, x: xploss.dice(_mask_probs(x, xp), _mask(x, xp), axis=1, reduction="none")),
         Curve("jaccard", lambda xp, x: xploss.jaccard(_mask_probs(x, xp), _mask(x, xp), axis=1, reduction="none")),
         Curve("squared dice", lambda xp, x: xploss.dice(_mask_probs(x, xp), _mask(x, xp), axis=1, squared=True,
                                                         reduction="none"))),
    ),
    "tversky": Spec(
        "tversky of the mask [1, 1, 0, 0], prediction [p, p, 0.5, 0.5] (alpha: FP weight)", "p", (0.0, 1.0),
        (Curve("tversky", lambda xp, x, alpha: xploss.tversky(_half_probs(x, xp), _mask(x, xp), axis=1, alpha=alpha,
                                                              beta=1.0 - alpha, reduction="none")),),
        sweep=("alpha", (0.3, 0.5, 0.7)),
    ),
    "focal_tversky": Spec(
        "focal_tversky (alpha 0.3, beta 0.7) of the mask [1, 1, 0, 0], prediction [p, p, 1 - p, 1 - p]", "p",
        (0.0, 1.0),
        (Curve("focal_tversky", lambda xp, x, gamma: xploss.focal_tversky(_mask_probs(x, xp), _mask(x, xp), axis=1,
                                                                          gamma=gamma, reduction="none")),),
        sweep=("gamma", (0.5, 0.75, 1.0, 2.0)),
    ),
    "iou_loss": Spec(
        "box losses of a unit box shifted by dx against [0, 0, 1, 1]", "dx (horizontal offset)", (-3, 3),
        tuple(Curve(name, _boxes(getattr(xploss, name))) for name in ("iou_loss", "giou_loss", "diou_loss",
                                                                      "ciou_loss")),
    ),
    # generative -----------------------------------------------------------------------------------
    "gaussian_kl": Spec(
        "gaussian_kl(mu, log sigma^2) vs mu", "mu", (-3, 3),
        (Curve("gaussian_kl", lambda xp, x, sigma: xploss.gaussian_kl(
            x[..., None], const(x, xp, 2 * math.log(sigma))[..., None], reduction="none")),),
        sweep=("sigma", (0.5, 1.0, 2.0)),
    ),
    "gaussian_kl_sigma": Spec(
        "gaussian_kl(mu, log sigma^2) vs sigma", "sigma", (0.1, 3),
        (Curve("gaussian_kl", lambda xp, x, mu: xploss.gaussian_kl(
            const(x, xp, mu)[..., None], (2.0 * xp.log(x))[..., None], reduction="none")),),
        sweep=("mu", (0.0, 1.0)),
    ),
    "generator": Spec(
        "GAN generator losses vs the discriminator's logit on a fake sample", "D(G(z)) logit", (-5, 5),
        tuple(Curve(name.replace("_generator_loss", ""), _generator(getattr(xploss, name)))
              for name in ("minimax_generator_loss", "modified_generator_loss", "least_squares_generator_loss",
                           "wasserstein_generator_loss")),
    ),
    "discriminator": Spec(
        "GAN discriminator losses, one real sample at logit d, one fake at -d", "d", (-4, 4),
        tuple(Curve(name.replace("_discriminator_loss", ""), _discriminator(getattr(xploss, name)))
              for name in ("minimax_discriminator_loss", "least_squares_discriminator_loss",
                           "wasserstein_discriminator_loss", "wasserstein_hinge_discriminator_loss")),
        batched=False, points=41,
    ),
    "uncertainty_weighting": Spec(
        "uncertainty_weighting of one task loss L (form 'simple': e^-s L + s, minimum at s = log L)",
        "s (the learned log variance)", (-3, 3),
        (Curve("uncertainty_weighting", lambda xp, x, task: xploss.uncertainty_weighting(
            const(x, xp, task)[None], x[None])),),
        sweep=("task", (0.5, 1.0, 2.0)), batched=False, points=41,
    ),
    "penalties": Spec(
        "l1_penalty and l2_penalty of one parameter", "w", (-2, 2),
        (Curve("l1_penalty", lambda xp, x: xploss.l1_penalty(x[None])),
         Curve("l2_penalty", lambda xp, x: xploss.l2_penalty(x[None])),
         Curve("l2_penalty half", lambda xp, x: xploss.l2_penalty(x[None], half=True))),
        batched=False, points=41,
    ),
    "distillation": Spec(
        "distillation (alpha 0.7) vs the student's true-class logit; teacher [2, 1, 0]",
        "z (student logit of the true class)", (-4, 8),
        (Curve("distillation", lambda xp, x, temperature: xploss.distillation(
            true_class_logits(x, xp), column(xp, const(x, xp, 2.0), const(x, xp, 1.0), const(x, xp, 0.0)),
            labels_like(x, xp, 0), temperature=temperature, reduction="none")),),
        sweep=("temperature", (1.0, 2.0, 4.0, 8.0)),
    ),
}


def _pairs(x: Any, xp: Any) -> tuple[Any, Any]:
    """Four query/key pairs in 5-D: query i = e_i, key 0 at cosine ``x`` to e0 (in the e0-e4 plane), key i = e_i."""
    eye = xp.asarray(np.eye(4, 5), dtype=x.dtype)
    key0 = xp.stack([x, *(const(x, xp, 0.0),) * 3, xp.sqrt(1.0 - x * x)])
    return eye, xp.stack([key0, eye[1], eye[2], eye[3]])


def _lovasz_logits(x: Any, xp: Any) -> Any:
    return column(xp, x, const(x, xp, 1.0), const(x, xp, -1.0), const(x, xp, -1.0))


def _lovasz_labels(x: Any, xp: Any) -> Any:
    return column(xp, const(x, xp, 1.0), const(x, xp, 1.0), const(x, xp, 0.0), const(x, xp, 0.0))


def _ctc_logits(x: Any, xp: Any) -> Any:
    """``(n, 3, 2)`` logits (blank, 'a'), all 0 but 'a' at the middle frame."""
    zero = const(x, xp, 0.0)
    return xp.stack([column(xp, zero, zero), column(xp, zero, x), column(xp, zero, zero)], axis=-2)


def _image(xp: Any, *pixels: Any) -> Any:
    """One single-channel 4-pixel image per point: ``(n, 1, 4)``, channels first (``axis=1``)."""
    return column(xp, *pixels)[..., None, :]


def _labelled_pairs(x: Any, xp: Any) -> tuple[Any, Any]:
    """:func:`_pairs`' queries and keys as one labelled batch: sample i and 4 + i share label i."""
    queries, keys = _pairs(x, xp)
    rows = [queries[i] for i in range(4)] + [keys[i] for i in range(4)]  # (stack: autograd boxes no concat)
    return xp.stack(rows), xp.asarray(np.array([0, 1, 2, 3, 0, 1, 2, 3]))


def _mask(x: Any, xp: Any) -> Any:
    return _image(xp, const(x, xp, 1.0), const(x, xp, 1.0), const(x, xp, 0.0), const(x, xp, 0.0))


def _mask_probs(x: Any, xp: Any) -> Any:
    return _image(xp, x, x, 1.0 - x, 1.0 - x)


def _half_probs(x: Any, xp: Any) -> Any:
    return _image(xp, x, x, const(x, xp, 0.5), const(x, xp, 0.5))

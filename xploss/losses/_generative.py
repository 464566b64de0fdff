"""Generative losses: the Gaussian KL and the VAE ELBO, GAN losses (TF-GAN's ``losses_impl`` names and
formulas, on discriminator logits), and the gradient penalties, which differentiate the user's critic.

Composites reuse the existing kernels: the ELBO's reconstruction is the MSE / BCE kernel summed per
sample (:func:`xploss._define.summed`), the GAN losses call the sigmoid cross-entropy, MSE and hinge
losses, and the parts are added by one xploss operation (:func:`xploss.losses._multitask.combine`).
The penalties take the critic's input gradient from the backend's own autodiff, with the graph kept
(``backend.input_gradient``: torch ``autograd.grad(create_graph=True)``, ``jax.grad``, a nested
``tf.GradientTape``, HIPS autograd on NumPy), then apply one penalty kernel to it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import _checks
from .._api import loss
from .._define import Primitive, apply, summed
from .._errors import XplossTypeError
from .._namespace import resolve
from . import _binary, _regression
from ._multitask import combine, with_parts

__all__ = [
    "gaussian_kl", "vae_elbo",
    "minimax_generator_loss", "minimax_discriminator_loss", "modified_generator_loss",
    "least_squares_generator_loss", "least_squares_discriminator_loss",
    "wasserstein_generator_loss", "wasserstein_discriminator_loss", "wasserstein_hinge_discriminator_loss",
    "gradient_penalty", "r1_penalty",
]

_REDUCTIONS = ("mean", "sum", "none")
_ONE_SIDED = (*_REDUCTIONS, "weighted_mean")  # the generator losses: per-sample terms with an optional weight
_SIDES = ("mean", "sum")  # two batches (real, fake) of possibly different sizes: no per-sample pairing


def _batch_axes(x: Any) -> tuple:
    return tuple(range(1, x.ndim))


# -- Gaussian KL against N(0, I) ----------------------------------------------------------------------

def _kl_fwd(xp: Any, mu: Any, lv: Any) -> tuple:
    em1 = xp.expm1(lv)  # σ² - 1 without cancellation: the KL of a small logvar is (lv²/2 + μ²)/2, not noise
    t = mu * mu + (em1 - lv)
    return 0.5 * (xp.sum(t, axis=_batch_axes(t)) if t.ndim > 1 else t), (em1,)


def _kl_partials(xp: Any, arrays: tuple, res: tuple) -> tuple:
    mu, _ = arrays
    (em1,) = res
    return mu, lambda: 0.5 * em1


_GAUSSIAN_KL = Primitive("gaussian_kl", _kl_fwd, _kl_partials, event_axis="trailing", rowwise=True)


def _first_column(x: Any) -> Any:
    """An ``(N,)`` view of ``x``'s batch axis: the reference a per-sample weight is checked against (its
    shape only; no pass over the data)."""
    return x if x.ndim <= 1 else x[(slice(None),) + (0,) * (x.ndim - 1)]


def _latent(fn: str, xp: Any, mu: Any, logvar: Any) -> Any:
    """``logvar`` checked against ``mu`` (a batch axis, one shape and dtype)."""
    _checks.floating(fn, "mu", xp, mu)
    logvar = _checks.target_like(fn, xp, ("mu", mu), ("logvar", logvar))
    if not _checks.shape_of(mu):
        raise _checks.error(fn, "mu", "an array with a batch axis (ndim >= 1): (N, D) or (N, ...)", "a 0-d array")
    return logvar


@loss
def gaussian_kl(mu: Any, logvar: Any, /, *, sample_weight: Any = None, reduction: str = "mean") -> Any:
    r"""Closed-form :math:`\mathrm{KL}(\mathcal N(\mu, \sigma^2) \,\|\, \mathcal N(0, I))` per sample, summed
    over the latent axes.

    .. math::
        \ell_i = -\tfrac12 \sum_j \left(1 + \log\sigma_{ij}^2 - \mu_{ij}^2 - \sigma_{ij}^2\right)
               = \tfrac12 \sum_j \left(\mu_{ij}^2 + \operatorname{expm1}(\log\sigma^2_{ij})
                 - \log\sigma^2_{ij}\right)

    Parameters
    ----------
    mu : array
        Real floating means, ``(N, D)`` or ``(N, ...)``: the batch on axis 0, every other axis latent
        (a convolutional VAE's ``(N, C, H, W)`` latents sum over ``C, H, W``).  A 1-d ``(N,)`` input is
        one latent dimension per sample.
    logvar : array
        :math:`\log \sigma^2`, the shape and dtype of ``mu``.
    sample_weight : array, optional
        Per-sample weight, shape ``(N,)``.
    reduction : {"mean", "sum", "none", "weighted_mean"}, default "mean"
        Over the samples: ``"sum"`` is the seeds' ``-0.5 * sum(1 + logvar - mu**2 - exp(logvar))`` (summed
        over the batch too, pytorch/examples' VAE), ``"mean"`` the mean over the batch of the per-sample
        sums, ``"none"`` the ``(N,)`` per-sample values.

    Returns
    -------
    array
        Scalar, or ``(N,)`` for ``reduction="none"``.

    Raises
    ------
    XplossError
        ``logvar`` of another shape or dtype, a 0-d ``mu``, a bad ``sample_weight`` or ``reduction``.

    Notes
    -----
    ``expm1`` keeps the value accurate for small ``logvar`` (``1 + lv - exp(lv)`` cancels to noise
    below ``|lv| ≈ 1e-8``).  Gradients: :math:`\mu` and :math:`\tfrac12(\sigma^2 - 1)`.  A huge
    ``logvar`` overflows ``exp`` to ``inf``: the divergence is infinite there, as it should be.  The
    mean over *all elements* (divided by the latent size too), common in ports, is not offered: it
    silently rescales β (BUILTINS-2 §3.4).

    See Also
    --------
    torch.distributions.kl_divergence : ``kl_divergence(Normal(mu, exp(logvar / 2)), Normal(0, 1)).sum(-1)``
        equals ``gaussian_kl(mu, logvar, reduction="none")`` for ``(N, D)`` inputs.
    vae_elbo : reconstruction + β KL.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> mu, logvar = np.array([[1.0, 0.0]]), np.array([[0.0, np.log(2.0)]])
    >>> round(float(xploss.gaussian_kl(mu, logvar)), 6)  # ½(1 + 0 - 0) + ½(0 + 1 - log 2)
    0.653426
    """
    fn = "gaussian_kl"
    be = resolve(fn, {"mu": mu, "logvar": logvar, "sample_weight": sample_weight})
    logvar = _latent(fn, be.xp, mu, logvar)
    _checks.reduction(fn, reduction)
    sample_weight = _checks.weight(fn, be.xp, sample_weight, _first_column(mu))
    return apply(be, _GAUSSIAN_KL, (mu, logvar), sample_weight=sample_weight, reduction=reduction)


# -- VAE ELBO -----------------------------------------------------------------------------------------

_RECON_MSE = summed(_regression._MSE, "vae_reconstruction_mse")
_RECON_BCE = summed(_binary._PROB, "vae_reconstruction_bce")
_RECON_BCE_LOGITS = summed(_binary._SBCE_POS_WEIGHT, "vae_reconstruction_bce_logits")
_RECONSTRUCTIONS = ("mse", "bce", "bce_logits")


def _reconstruction(fn: str, be: Any, kind: str, recon: Any, x: Any, sample_weight: Any, reduction: str) -> Any:
    xp = be.xp
    if kind == "mse":
        return apply(be, _RECON_MSE, (recon, x), sample_weight=sample_weight, reduction=reduction)
    invalid = _checks.per_sample(xp, _checks.in_unit_interval(fn, "x", be, x), None)
    if kind == "bce":
        invalid = _checks.either(xp, invalid, _checks.in_unit_interval(fn, "recon", be, recon))
        prim, arrays, static = _RECON_BCE, (recon, x), {"eps": None, "label_smoothing": 0.0, "alpha": None,
                                                        "gamma": 0.0}
    else:
        prim, arrays, static = _RECON_BCE_LOGITS, (recon, x, None), {"label_smoothing": 0.0}
    if invalid is not None and invalid.ndim > 1:
        invalid = xp.any(invalid, axis=_batch_axes(invalid))
    return apply(be, prim, arrays, sample_weight=sample_weight, invalid=invalid, reduction=reduction, **static)


@loss
def vae_elbo(recon: Any, x: Any, mu: Any, logvar: Any, /, *, beta: float = 1.0, reconstruction: str = "mse",
             sample_weight: Any = None, reduction: str = "mean", return_parts: bool = False) -> Any:
    r"""The negative evidence lower bound of a Gaussian VAE: per-sample reconstruction + β KL.

    .. math::
        \ell_i = \sum_{j} r(\hat x_{ij}, x_{ij}) + \beta\, \mathrm{KL}_i, \qquad
        \mathrm{KL}_i = \tfrac12 \sum_k \left(\mu_{ik}^2 + \sigma_{ik}^2 - 1 - \log\sigma_{ik}^2\right)

    with :math:`r` the squared error, the binary cross-entropy of probabilities, or that of logits,
    summed over every non-batch axis of ``x``.

    Parameters
    ----------
    recon : array
        Real floating reconstruction, shape ``(N, ...)``: values (``"mse"``), probabilities in [0, 1]
        (``"bce"``) or logits (``"bce_logits"``).
    x : array
        The data, the shape and dtype of ``recon`` (in [0, 1] for the BCE forms).
    mu, logvar : array
        Posterior means and :math:`\log\sigma^2`, ``(N, D)`` or ``(N, ...)`` (see :func:`gaussian_kl`),
        with the batch size of ``recon``.
    beta : float, default 1.0
        Weight of the KL term (β-VAE), ``>= 0``.
    reconstruction : {"mse", "bce", "bce_logits"}, default "mse"
        ``"bce"`` is torch's ``F.binary_cross_entropy`` (logs clamped at -100), ``"bce_logits"`` the stable
        sigmoid cross-entropy (prefer it: no clamp, no saturation).
    sample_weight : array, optional
        Per-sample weight, shape ``(N,)``.
    reduction : {"mean", "sum", "none", "weighted_mean"}, default "mean"
        Over the samples: ``"sum"`` is the seeds' (and pytorch/examples') ``vae_loss``, reconstruction
        and KL both summed over the batch; ``"mean"`` the mean over the batch of the per-sample ELBO.
    return_parts : bool, default False
        Also return ``{"reconstruction": ..., "kl": ...}``, each reduced like the total, with
        ``total = reconstruction + beta * kl`` (computed once, differentiable).

    Returns
    -------
    array, or (array, dict)
        Scalar, or ``(N,)`` for ``reduction="none"``; with ``return_parts``, ``(total, parts)``.

    Raises
    ------
    XplossError
        Mismatched shapes or batch sizes, values outside [0, 1] for the BCE forms (checked eagerly;
        a NaN loss for those samples when traced), an unknown ``reconstruction``, a negative ``beta``.

    Notes
    -----
    The reconstruction is a *sum* over the data axes, as the ELBO is; a per-pixel mean against a summed
    KL makes the KL dominate (a common porting bug, BUILTINS-2 §3.4).  Gradients are those of the
    reused kernels: :func:`mse`, :func:`binary_cross_entropy`, :func:`sigmoid_binary_cross_entropy`,
    :func:`gaussian_kl`.

    See Also
    --------
    gaussian_kl : the KL term alone.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> recon, x = np.array([[0.5, 1.0]]), np.array([[0.0, 1.0]])
    >>> mu, logvar = np.array([[1.0]]), np.array([[0.0]])
    >>> total, parts = xploss.vae_elbo(recon, x, mu, logvar, beta=2.0, return_parts=True)
    >>> float(parts["reconstruction"]), float(parts["kl"]), float(total)  # 0.25, ½·1, 0.25 + 2·0.5
    (0.25, 0.5, 1.25)
    """
    fn = "vae_elbo"
    be = resolve(fn, {"recon": recon, "x": x, "mu": mu, "logvar": logvar, "sample_weight": sample_weight})
    xp = be.xp
    kind = _checks.choice(fn, "reconstruction", reconstruction, _RECONSTRUCTIONS)
    _checks.floating(fn, "recon", xp, recon)
    x = _checks.target_like(fn, xp, ("recon", recon), ("x", x))
    logvar = _latent(fn, xp, mu, logvar)
    if not _checks.shape_of(recon):
        raise _checks.error(fn, "recon", "an array with a batch axis (ndim >= 1)", "a 0-d array")
    _checks.same_dtype(fn, ("mu", mu), ("recon", recon))
    _checks.dims_match(fn, "mu", f"the batch size of recon, {_checks.shape_of(recon)[0]}", mu, recon, [(0, 0)])
    beta = _checks.number(fn, "beta", beta, low=0.0)
    return_parts = _checks.flag(fn, "return_parts", return_parts)
    _checks.reduction(fn, reduction)
    sample_weight = _checks.weight(fn, xp, sample_weight, _first_column(recon))
    rec = _reconstruction(fn, be, kind, recon, x, sample_weight, reduction)
    kl = apply(be, _GAUSSIAN_KL, (mu, logvar), sample_weight=sample_weight, reduction=reduction)
    return with_parts(combine(be, (rec, kl), (1.0, beta)), {"reconstruction": rec, "kl": kl}, return_parts)


# -- GAN losses (TF-GAN's losses_impl, on discriminator logits) ----------------------------------------

def _full_like(be: Any, x: Any, value: float) -> Any:
    """A constant target of ``x``'s shape, dtype and device: not derived from ``x`` on NumPy (whose tape,
    without autograd, must not see a constant computed from a differentiated array)."""
    if be.name in ("numpy", "array_api_strict", "autograd"):
        return be.xp.full(_checks.shape_of(x), value, dtype=x.dtype)
    return be.xp.full_like(x, value)


def _logits(fn: str, named: dict, reduction: str, allowed: tuple = _ONE_SIDED) -> Any:
    be = resolve(fn, named)
    for name, v in named.items():
        if name.endswith("logits"):
            _checks.floating(fn, name, be.xp, v)
    _checks.reduction(fn, reduction, allowed)
    return be


def _side(fn: str, be: Any, name: str, logits: Any, w: Any) -> Any:
    """A side's per-sample weight, checked against its logits (an error names the side's argument)."""
    return _checks.weight(fn, be.xp, w, logits, name=name)


def _two_sided(fn: str, real: Any, fake: Any, real_weight: Any, fake_weight: Any, reduction: str) -> tuple:
    be = _logits(fn, {"real_logits": real, "fake_logits": fake, "real_weight": real_weight,
                      "fake_weight": fake_weight}, reduction, _SIDES)
    _checks.same_dtype(fn, ("fake_logits", fake), ("real_logits", real))
    return be, _side(fn, be, "real_weight", real, real_weight), _side(fn, be, "fake_weight", fake, fake_weight)


def _smoothing(fn: str, label_smoothing: Any) -> Any:
    """Checked here, so that an error names this loss rather than the cross-entropy it calls."""
    return _checks.number(fn, "label_smoothing", label_smoothing, low=0.0, high=1.0, traced=True)


def _sbce(be: Any, logits: Any, target: float, w: Any, reduction: str, label_smoothing: float = 0.0) -> Any:
    return _binary.sigmoid_binary_cross_entropy(logits, _full_like(be, logits, target), sample_weight=w,
                                                reduction=reduction, label_smoothing=label_smoothing)


_ONE_SIDE = """
    Parameters
    ----------
    fake_logits : array
        Real floating discriminator logits :math:`D(G(z))` of generated samples, any shape.
    sample_weight : array, optional
        Per-sample weight aligned on the leading axes of ``fake_logits``.
    reduction : {"mean", "sum", "none", "weighted_mean"}, default "mean"
        ``"mean"``: TF-GAN's default (``SUM_BY_NONZERO_WEIGHTS`` with unit weights).
"""

_ONE_SIDE_RETURNS = """
    Returns
    -------
    array
        Scalar, or the per-sample losses for ``reduction="none"``.

    Raises
    ------
    XplossError
        Non-floating logits, a bad option, ``sample_weight`` or ``reduction``.
"""

_TWO_SIDES = """
    Parameters
    ----------
    real_logits, fake_logits : array
        Real floating discriminator logits :math:`D(x)` of real and :math:`D(G(z))` of generated samples,
        any shapes (the two batches may differ in size), one dtype.
    real_weight, fake_weight : array, optional
        Per-sample weights of each side, aligned on the leading axes of its logits.
    reduction : {"mean", "sum"}, default "mean"
        Applied to each side separately, then added, as TF-GAN does (``"mean"``: its default with unit
        weights).  The sides are two batches, not pairs: there is no per-sample ``"none"`` (the
        one-sided losses give per-sample terms).
    return_parts : bool, default False
        Also return ``{"real": ..., "fake": ...}``, the two reduced terms, ``total = real + fake``.
"""

_TWO_SIDES_RETURNS = """
    Returns
    -------
    array, or (array, dict)
        Scalar; with ``return_parts``, ``(total, parts)``.

    Raises
    ------
    XplossError
        Non-floating logits or of two dtypes, a bad option or weight, a per-sample ``reduction``.
"""


def _doc(fn: Callable, parameters: str, returns: str) -> Callable:
    """Fill the shared ``{parameters}`` (then the loss' own options) and ``{returns}`` sections."""
    fn.__doc__ = fn.__doc__.replace("    {parameters}\n", parameters.lstrip("\n") + "\n").replace(
        "    {returns}\n", returns.lstrip("\n") + "\n")
    return fn


@loss
def minimax_generator_loss(fake_logits: Any, /, *, sample_weight: Any = None, reduction: str = "mean") -> Any:
    r"""The original (minimax, saturating) GAN generator loss, :math:`\log(1 - \sigma(D(G(z))))`.

    .. math::
        \ell_i = \log\left(1 - \sigma(d_i)\right) = -\operatorname{softplus}(d_i)

    {parameters}
    {returns}
    Notes
    -----
    Evaluated as ``-sigmoid_binary_cross_entropy(d, 0)`` (stable for any logit).  It saturates when the
    discriminator wins (the gradient :math:`-\sigma(d)` vanishes as :math:`d \to -\infty`): prefer
    :func:`modified_generator_loss`.  TF-GAN's ``minimax_generator_loss`` has the same gradient but a
    value offset by the constant :math:`-\operatorname{softplus}(-1) \approx -0.313262` (it calls its
    discriminator loss with constant real logits 1, BUILTINS-2 §3.1); xploss returns the formula.

    See Also
    --------
    tensorflow_gan.losses.wargs.minimax_generator_loss : TF-GAN's ``minimax_generator_loss(d)`` equals
        ``minimax_generator_loss(d) - 0.313262`` (``softplus(-1)``).

    Examples
    --------
    >>> import numpy as np, xploss
    >>> round(float(xploss.minimax_generator_loss(np.array([0.0, 2.0]))), 6)  # -(log 2 + softplus(2)) / 2
    -1.410038
    """
    fn = "minimax_generator_loss"
    be = _logits(fn, {"fake_logits": fake_logits, "sample_weight": sample_weight}, reduction)
    w = _side(fn, be, "sample_weight", fake_logits, sample_weight)
    return combine(be, (_sbce(be, fake_logits, 0.0, w, reduction),), (-1.0,))


@loss
def modified_generator_loss(fake_logits: Any, /, *, label_smoothing: float = 0.0, sample_weight: Any = None,
                            reduction: str = "mean") -> Any:
    r"""The non-saturating GAN generator loss (Goodfellow et al.'s "modified" loss),
    :math:`-\log \sigma(D(G(z)))`.

    .. math::
        \ell_i = -\log \sigma(d_i) = \operatorname{softplus}(-d_i)
        \quad (\text{with smoothing: } \mathrm{BCE}(d_i,\ 1 - \text{ls}/2))

    {parameters}
    label_smoothing : float, default 0.0
        In ``[0, 1]``: the target 1 becomes ``1 - ls/2`` (TF v1 / Keras semantics), as TF-GAN's.

    {returns}
    Notes
    -----
    Evaluated as ``sigmoid_binary_cross_entropy(d, 1)``: gradient :math:`\sigma(d) - 1`, finite and
    non-vanishing where the discriminator rejects the samples.

    See Also
    --------
    tensorflow_gan.losses.wargs.modified_generator_loss : ``modified_generator_loss(d, label_smoothing=ls)``
        equals ``modified_generator_loss(d, label_smoothing=ls)``.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> round(float(xploss.modified_generator_loss(np.array([0.0]))), 6)  # log 2
    0.693147
    """
    fn = "modified_generator_loss"
    be = _logits(fn, {"fake_logits": fake_logits, "sample_weight": sample_weight}, reduction)
    w = _side(fn, be, "sample_weight", fake_logits, sample_weight)
    label_smoothing = _smoothing(fn, label_smoothing)
    return _sbce(be, fake_logits, 1.0, w, reduction, label_smoothing)


@loss
def minimax_discriminator_loss(real_logits: Any, fake_logits: Any, /, *, label_smoothing: float = 0.25,
                               real_weight: Any = None, fake_weight: Any = None, reduction: str = "mean",
                               return_parts: bool = False) -> Any:
    r"""The GAN discriminator loss (TF-GAN's ``minimax_discriminator_loss``): cross-entropy of real
    logits against 1 (one-sided label smoothing) and of fake logits against 0.

    .. math::
        L = \operatorname{red}_i \mathrm{BCE}(d^{r}_i,\ 1 - \text{ls}/2) + \operatorname{red}_j
            \operatorname{softplus}(d^{g}_j)

    {parameters}
    label_smoothing : float, default 0.25
        TF-GAN's default: the real target is ``1 - ls/2 = 0.875`` (TF v1 semantics
        ``y (1 - ls) + ls/2``; not ``1 - ls``).  ``0`` for the unsmoothed loss.  One-sided: the fake
        target stays 0 (Salimans et al. 2016).

    {returns}
    Notes
    -----
    Stable for any logit (the sigmoid cross-entropy kernel).  TF-GAN's ``modified_discriminator_loss``
    is this same function.

    See Also
    --------
    tensorflow_gan.losses.wargs.minimax_discriminator_loss : ``minimax_discriminator_loss(dr, dg,
        label_smoothing=ls)`` equals ``minimax_discriminator_loss(dr, dg, label_smoothing=ls)``.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> total, parts = xploss.minimax_discriminator_loss(np.array([0.0]), np.array([0.0]), return_parts=True)
    >>> round(float(parts["real"]), 6), round(float(parts["fake"]), 6)  # log 2 twice: the target is irrelevant at 0
    (0.693147, 0.693147)
    """
    fn = "minimax_discriminator_loss"
    be, rw, fw = _two_sided(fn, real_logits, fake_logits, real_weight, fake_weight, reduction)
    label_smoothing = _smoothing(fn, label_smoothing)
    return_parts = _checks.flag(fn, "return_parts", return_parts)
    real = _sbce(be, real_logits, 1.0, rw, reduction, label_smoothing)
    fake = _sbce(be, fake_logits, 0.0, fw, reduction)
    return with_parts(combine(be, (real, fake), (1.0, 1.0)), {"real": real, "fake": fake}, return_parts)


def _label(fn: str, name: str, value: float) -> float:
    return _checks.number(fn, name, value)


@loss
def least_squares_generator_loss(fake_logits: Any, /, *, real_label: float = 1.0, sample_weight: Any = None,
                                 reduction: str = "mean") -> Any:
    r"""The least-squares GAN generator loss (Mao et al. 2017, TF-GAN's form with the ½).

    .. math::
        \ell_i = \tfrac12 (d_i - c)^2

    {parameters}
    real_label : float, default 1.0
        The target :math:`c` the generator pushes the fake outputs to.

    {returns}
    Notes
    -----
    ``0.5 * mse(d, c)``: gradient :math:`d - c`.

    See Also
    --------
    tensorflow_gan.losses.wargs.least_squares_generator_loss : ``least_squares_generator_loss(d,
        real_label=c)`` equals ``least_squares_generator_loss(d, real_label=c)``.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> float(xploss.least_squares_generator_loss(np.array([0.0, 3.0])))  # (½ + 2) / 2
    1.25
    """
    fn = "least_squares_generator_loss"
    be = _logits(fn, {"fake_logits": fake_logits, "sample_weight": sample_weight}, reduction)
    w = _side(fn, be, "sample_weight", fake_logits, sample_weight)
    target = _full_like(be, fake_logits, _label(fn, "real_label", real_label))
    return combine(be, (_regression.mse(fake_logits, target, sample_weight=w, reduction=reduction),), (0.5,))


@loss
def least_squares_discriminator_loss(real_logits: Any, fake_logits: Any, /, *, real_label: float = 1.0,
                                     fake_label: float = 0.0, real_weight: Any = None, fake_weight: Any = None,
                                     reduction: str = "mean", return_parts: bool = False) -> Any:
    r"""The least-squares GAN discriminator loss (TF-GAN's form with the ½ on each side).

    .. math::
        L = \operatorname{red}_i \tfrac12 (d^{r}_i - b)^2 + \operatorname{red}_j \tfrac12 (d^{g}_j - a)^2

    {parameters}
    real_label, fake_label : float, default 1.0, 0.0
        The targets :math:`b` and :math:`a`.

    {returns}
    Notes
    -----
    Parts: ``real`` and ``fake`` include the ½.

    See Also
    --------
    tensorflow_gan.losses.wargs.least_squares_discriminator_loss : ``least_squares_discriminator_loss(dr, dg,
        real_label=b, fake_label=a)`` equals ``least_squares_discriminator_loss(dr, dg, real_label=b,
        fake_label=a)``.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> float(xploss.least_squares_discriminator_loss(np.array([1.0]), np.array([2.0])))  # 0 + ½·4
    2.0
    """
    fn = "least_squares_discriminator_loss"
    be, rw, fw = _two_sided(fn, real_logits, fake_logits, real_weight, fake_weight, reduction)
    return_parts = _checks.flag(fn, "return_parts", return_parts)
    b, a = _label(fn, "real_label", real_label), _label(fn, "fake_label", fake_label)
    real = combine(be, (_regression.mse(real_logits, _full_like(be, real_logits, b), sample_weight=rw,
                                        reduction=reduction),), (0.5,))
    fake = combine(be, (_regression.mse(fake_logits, _full_like(be, fake_logits, a), sample_weight=fw,
                                        reduction=reduction),), (0.5,))
    return with_parts(combine(be, (real, fake), (1.0, 1.0)), {"real": real, "fake": fake}, return_parts)


@loss
def wasserstein_generator_loss(fake_logits: Any, /, *, sample_weight: Any = None, reduction: str = "mean") -> Any:
    r"""The Wasserstein GAN generator loss, :math:`-D(G(z))` (also the hinge GAN's generator loss).

    .. math::
        \ell_i = -d_i

    {parameters}
    {returns}
    Notes
    -----
    Gradient :math:`-1` per sample (divided by the count for ``"mean"``).  TF-GAN's
    ``wasserstein_hinge_generator_loss`` is this function.

    See Also
    --------
    tensorflow_gan.losses.wargs.wasserstein_generator_loss : ``wasserstein_generator_loss(d)`` equals
        ``wasserstein_generator_loss(d)``.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> float(xploss.wasserstein_generator_loss(np.array([1.0, 3.0])))
    -2.0
    """
    fn = "wasserstein_generator_loss"
    be = _logits(fn, {"fake_logits": fake_logits, "sample_weight": sample_weight}, reduction)
    w = _side(fn, be, "sample_weight", fake_logits, sample_weight)
    return combine(be, (fake_logits,), (-1.0,), reduction=reduction, sample_weight=w)


@loss
def wasserstein_discriminator_loss(real_logits: Any, fake_logits: Any, /, *, real_weight: Any = None,
                                   fake_weight: Any = None, reduction: str = "mean",
                                   return_parts: bool = False) -> Any:
    r"""The Wasserstein GAN critic loss, :math:`D(G(z)) - D(x)` (add :func:`gradient_penalty` for WGAN-GP).

    .. math::
        L = \operatorname{red}_j d^{g}_j - \operatorname{red}_i d^{r}_i

    {parameters}
    {returns}
    Notes
    -----
    Parts: ``real`` is :math:`-\operatorname{red}_i d^r_i` (the sign included), ``fake`` is
    :math:`\operatorname{red}_j d^g_j`.

    See Also
    --------
    tensorflow_gan.losses.wargs.wasserstein_discriminator_loss : ``wasserstein_discriminator_loss(dr, dg)``
        equals ``wasserstein_discriminator_loss(dr, dg)``.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> float(xploss.wasserstein_discriminator_loss(np.array([2.0, 4.0]), np.array([1.0])))  # 1 - 3
    -2.0
    """
    fn = "wasserstein_discriminator_loss"
    be, rw, fw = _two_sided(fn, real_logits, fake_logits, real_weight, fake_weight, reduction)
    return_parts = _checks.flag(fn, "return_parts", return_parts)
    real = combine(be, (real_logits,), (-1.0,), reduction=reduction, sample_weight=rw)
    fake = combine(be, (fake_logits,), (1.0,), reduction=reduction, sample_weight=fw)
    return with_parts(combine(be, (real, fake), (1.0, 1.0)), {"real": real, "fake": fake}, return_parts)


@loss
def wasserstein_hinge_discriminator_loss(real_logits: Any, fake_logits: Any, /, *, real_weight: Any = None,
                                         fake_weight: Any = None, reduction: str = "mean",
                                         return_parts: bool = False) -> Any:
    r"""The hinge GAN discriminator loss (Lim & Ye 2017; SAGAN, BigGAN), TF-GAN's
    ``wasserstein_hinge_discriminator_loss`` with its default hinges of 1.

    .. math::
        L = \operatorname{red}_i \max(0, 1 - d^{r}_i) + \operatorname{red}_j \max(0, 1 + d^{g}_j)

    {parameters}
    {returns}
    Notes
    -----
    The kernel is :func:`hinge`'s (its subgradient 0 at the kink).  The generator side is
    :func:`wasserstein_generator_loss`.  TF-GAN's ``real_hinge`` / ``generated_hinge`` options (other
    margins than 1) are not offered.

    See Also
    --------
    tensorflow_gan.losses.wargs.wasserstein_hinge_discriminator_loss : ``wasserstein_hinge_discriminator_loss(
        dr, dg)`` equals ``wasserstein_hinge_discriminator_loss(dr, dg)``.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> float(xploss.wasserstein_hinge_discriminator_loss(np.array([0.5]), np.array([0.5])))  # 0.5 + 1.5
    2.0
    """
    fn = "wasserstein_hinge_discriminator_loss"
    be, rw, fw = _two_sided(fn, real_logits, fake_logits, real_weight, fake_weight, reduction)
    return_parts = _checks.flag(fn, "return_parts", return_parts)
    real = _binary.hinge(real_logits, _full_like(be, real_logits, 1.0), sample_weight=rw, reduction=reduction)
    fake = _binary.hinge(fake_logits, _full_like(be, fake_logits, 0.0), sample_weight=fw, reduction=reduction)
    return with_parts(combine(be, (real, fake), (1.0, 1.0)), {"real": real, "fake": fake}, return_parts)


for _fn in (minimax_generator_loss, modified_generator_loss, least_squares_generator_loss,
            wasserstein_generator_loss):
    _doc(_fn, _ONE_SIDE, _ONE_SIDE_RETURNS)
for _fn in (minimax_discriminator_loss, least_squares_discriminator_loss, wasserstein_discriminator_loss,
            wasserstein_hinge_discriminator_loss):
    _doc(_fn, _TWO_SIDES, _TWO_SIDES_RETURNS)
del _fn


# -- gradient penalties: the critic's input gradient, then one kernel ----------------------------------

def _slope_fwd(xp: Any, g: Any, *, squared: bool, eps: float, target: float, one_sided: bool, scale: float) -> tuple:
    sq = g * g
    ss = xp.sum(sq, axis=_batch_axes(sq)) if sq.ndim > 1 else sq
    if squared:
        return scale * ss, ()
    slope = xp.sqrt(ss + eps)
    u = slope / target - 1.0
    if one_sided:
        u = xp.maximum(u, 0.0)
    return scale * u * u, (slope, u)


def _slope_partials(xp: Any, arrays: tuple, res: tuple, *, squared: bool, eps: float, target: float,
                    one_sided: bool, scale: float) -> tuple:
    (g,) = arrays
    if squared:
        return (2.0 * scale * g,)
    slope, u = res
    c = (2.0 * scale / target) * u / slope  # d(u²)/d slope · d slope/d g = 2u/target · g/slope; 0 where u clamps
    if g.ndim > 1:
        for _ in range(g.ndim - 1):
            c = xp.expand_dims(c, axis=-1)
    return (c * g,)


_SLOPE = Primitive("gradient_penalty", _slope_fwd, _slope_partials, event_axis="trailing")


def _critic_gradient(fn: str, be: Any, critic: Any, x: Any) -> Any:
    """``∂ Σ critic(x) / ∂ x`` with the graph kept, through the backend's autodiff."""
    if not callable(critic):
        raise _checks.error(fn, "critic", "a callable critic(x) returning one score per sample",
                            type(critic).__name__, kind=XplossTypeError)
    n = _checks.shape_of(x)[0]

    def scores(v: Any) -> Any:
        out = critic(v)
        if not hasattr(out, "shape") or not hasattr(out, "dtype"):
            raise _checks.error(fn, "critic", "a callable returning an array of the input's library",
                                f"a return value of type {type(out).__name__}", kind=XplossTypeError)
        shape = _checks.shape_of(out)
        if not shape or (shape[0] is not None and n is not None and shape[0] != n):
            raise _checks.error(fn, "critic", f"one score per sample: an output of shape ({n},) or ({n}, ...) "
                                "(the gradient of a batch mean would be scaled by 1/N)",
                                f"an output of shape {_checks.shape_str(shape)}")
        return out

    return be.input_gradient(fn, scores, x)


def _alpha(fn: str, be: Any, alpha: Any, real: Any) -> tuple:
    """``alpha`` broadcast against ``real`` (``(N,)`` becomes ``(N, 1, ..., 1)``), and the traced mask of
    values outside [0, 1]."""
    xp = be.xp
    if isinstance(alpha, (int, float)) and not isinstance(alpha, bool):
        a = _checks.number(fn, "alpha", alpha, low=0.0, high=1.0)
        return a, None
    if not hasattr(alpha, "shape"):
        raise _checks.error(fn, "alpha", "interpolation coefficients in [0, 1]: a float or an (N,) array",
                            type(alpha).__name__, kind=XplossTypeError)
    _checks.floating(fn, "alpha", xp, alpha)
    shape, rshape = _checks.shape_of(alpha), _checks.shape_of(real)
    if len(shape) == 1 and len(rshape) > 1:
        _checks.dims_match(fn, "alpha", f"shape ({rshape[0]},), one coefficient per sample", alpha, real, [(0, 0)])
        alpha = xp.reshape(alpha, (-1,) + (1,) * (len(rshape) - 1))
    elif shape != () and not (len(shape) == len(rshape) and all(s in (1, r) for s, r in zip(shape, rshape))):
        raise _checks.error(fn, "alpha", f"shape (), ({rshape[0]},) or one broadcasting against real "
                            f"{_checks.shape_str(rshape)}", f"shape {_checks.shape_str(shape)}")
    if alpha.dtype != real.dtype:
        alpha = xp.astype(alpha, real.dtype)
    bad = _checks.in_unit_interval(fn, "alpha", be, alpha)
    if bad is not None:
        bad = xp.any(xp.reshape(bad, (bad.shape[0] if bad.ndim else 1, -1)), axis=-1) if bad.ndim else bad
    return alpha, bad


@loss
def gradient_penalty(critic: Callable, real: Any, fake: Any, /, *, alpha: Any, weight: float = 10.0,
                     target: float = 1.0, one_sided: bool = False, eps: float = 1e-10,
                     reduction: str = "mean") -> Any:
    r"""The WGAN-GP gradient penalty (Gulrajani et al. 2017), TF-GAN's ``wasserstein_gradient_penalty``
    with the weight λ applied.

    .. math::
        \hat x = x_r + \alpha\,(x_g - x_r), \quad
        s_i = \sqrt{\textstyle\sum_{j} \big(\partial_{\hat x_{ij}} \sum_k D(\hat x)_k\big)^2 + \epsilon}, \quad
        \ell_i = \lambda \left(\frac{s_i}{t} - 1\right)^2
        \quad \left(\lambda \max\!\left(0, \tfrac{s_i}{t} - 1\right)^2 \text{ one-sided}\right)

    Parameters
    ----------
    critic : callable
        ``critic(x) -> scores``, one score per sample (shape ``(N,)`` or ``(N, ...)``: a patch critic's
        outputs are summed per sample).  Any function of arrays of the inputs' library (a
        ``torch.nn.Module``, a Keras model, a function closing over JAX parameters).  Samples must not
        interact (no batch normalisation: the paper uses layer norm).
    real, fake : array
        Real floating batches of one shape ``(N, ...)``, the batch on axis 0.
    alpha : float or array
        The interpolation coefficients in [0, 1]: ``(N,)`` (one per sample, reshaped to
        ``(N, 1, ..., 1)``), an array broadcasting against ``real``, or one float.  Passed in so that
        the result is deterministic: draw them with the framework's generator (``torch.rand(N)``,
        ``jax.random.uniform(key, (N,))``, ``tf.random.uniform((N,))``).
    weight : float, default 10.0
        λ (the paper's 10), ``>= 0``.
    target : float, default 1.0
        The target norm :math:`t > 0`.
    one_sided : bool, default False
        Penalise only norms above the target.
    eps : float, default 1e-10
        Inside the square root, TF-GAN's value: keeps the gradient finite where the input gradient is
        exactly 0 (a NaN there otherwise, pytorch/pytorch#2534), ``>= 0``.
    reduction : {"mean", "sum", "none"}, default "mean"
        Over the samples.

    Returns
    -------
    array
        Scalar, or ``(N,)`` for ``reduction="none"``.  Differentiable with respect to the critic's
        parameters (and the inputs): the input gradient is taken with the graph kept.

    Raises
    ------
    XplossError
        A non-callable critic, a critic output without one score per sample, mismatched ``real`` /
        ``fake``, ``alpha`` of a bad shape or outside [0, 1] (eagerly; traced: a NaN penalty for those
        samples), a backend without autodiff (array_api_strict; NumPy without HIPS autograd).

    Notes
    -----
    The input gradient comes from the backend's own autodiff: torch
    ``autograd.grad(create_graph=True)`` (under ``torch.no_grad`` too), ``jax.grad`` (under
    ``jax.jit`` and inside an outer ``jax.grad`` of the critic's parameters), a nested
    ``tf.GradientTape`` (eagerly and under ``tf.function``, unlike TF-GAN's, which refuses eager mode),
    HIPS ``autograd`` on NumPy.  The norm is over every non-batch axis (the classic port bug
    ``grad.norm(2, dim=1)`` on images takes it over channels only).  A critic that does not depend on
    its input gives a zero gradient and the penalty :math:`\lambda (\sqrt\epsilon/t - 1)^2`.

    See Also
    --------
    r1_penalty : the gradient penalty on real data, without interpolation.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> critic = lambda x: x @ np.array([3.0, 4.0])  # |∇| = 5 everywhere (NumPy needs autograd)
    >>> round(float(xploss.gradient_penalty(critic, np.zeros((2, 2)), np.ones((2, 2)), alpha=0.5)), 6)
    160.0
    """
    fn = "gradient_penalty"
    be = resolve(fn, {"real": real, "fake": fake})
    xp = be.xp
    _checks.floating(fn, "real", xp, real)
    fake = _checks.target_like(fn, xp, ("real", real), ("fake", fake))
    if not _checks.shape_of(real):
        raise _checks.error(fn, "real", "an array with a batch axis (ndim >= 1)", "a 0-d array")
    _checks.reduction(fn, reduction, _REDUCTIONS)
    a, invalid = _alpha(fn, be, alpha, real)
    static = {"squared": False, "eps": _checks.number(fn, "eps", eps, low=0.0),
              "target": _checks.number(fn, "target", target, low=0.0, low_open=True),
              "one_sided": _checks.flag(fn, "one_sided", one_sided),
              "scale": _checks.number(fn, "weight", weight, low=0.0)}
    x_hat = real + a * (fake - real)
    g = _critic_gradient(fn, be, critic, x_hat)
    return apply(be, _SLOPE, (g,), invalid=invalid, reduction=reduction, **static)


@loss
def r1_penalty(critic: Callable, real: Any, /, *, gamma: float = 10.0, reduction: str = "mean") -> Any:
    r"""The R1 gradient penalty (Mescheder et al. 2018; StyleGAN's ``r1_gamma``) on real data.

    .. math::
        \ell_i = \frac{\gamma}{2} \sum_j \big(\partial_{x_{ij}} \textstyle\sum_k D(x)_k\big)^2

    Parameters
    ----------
    critic : callable
        ``critic(x) -> scores``, one score per sample (see :func:`gradient_penalty`).
    real : array
        Real floating data ``(N, ...)``, the batch on axis 0.
    gamma : float, default 10.0
        γ, ``>= 0`` (StyleGAN2-ADA's default).  GAN_stability's ``reg_param`` is ``γ/2``.
    reduction : {"mean", "sum", "none"}, default "mean"
        Over the samples (StyleGAN and GAN_stability average over the batch).

    Returns
    -------
    array
        Scalar, or ``(N,)`` for ``reduction="none"``; differentiable with respect to the critic's
        parameters.

    Raises
    ------
    XplossError
        As :func:`gradient_penalty`.

    Notes
    -----
    No square root, so no NaN at a zero gradient.  The same input-gradient mechanism as
    :func:`gradient_penalty`; applied to generated samples it is R2.

    See Also
    --------
    gradient_penalty : WGAN-GP, on interpolates.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> critic = lambda x: x @ np.array([3.0, 4.0])  # |∇|² = 25 (NumPy needs autograd)
    >>> float(xploss.r1_penalty(critic, np.zeros((2, 2)), gamma=1.0))  # ½ · 25
    12.5
    """
    fn = "r1_penalty"
    be = resolve(fn, {"real": real})
    _checks.floating(fn, "real", be.xp, real)
    if not _checks.shape_of(real):
        raise _checks.error(fn, "real", "an array with a batch axis (ndim >= 1)", "a 0-d array")
    _checks.reduction(fn, reduction, _REDUCTIONS)
    gamma = _checks.number(fn, "gamma", gamma, low=0.0)
    g = _critic_gradient(fn, be, critic, real)
    return apply(be, _SLOPE, (g,), reduction=reduction, squared=True, eps=0.0, target=1.0, one_sided=False,
                 scale=0.5 * gamma)


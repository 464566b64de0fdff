"""Knowledge distillation (Hinton et al. 2015): a hard cross-entropy term (the existing kernel) plus the
temperature-scaled KL between the teacher's and the student's softened distributions (one kernel from
logits, with the teacher's gradient optional), added by one xploss operation."""

from __future__ import annotations

from typing import Any

from .. import _checks, _ops
from .._api import loss
from .._define import Primitive, apply
from .._namespace import resolve
from . import _classification
from ._multitask import combine, with_parts

__all__ = ["distillation"]


def _log_softmax(xp: Any, z: Any, inv_t: float) -> Any:
    zt = z * inv_t
    return zt - _ops.logsumexp(xp, zt, -1)


def _soft_fwd(xp: Any, s: Any, t: Any, *, temperature: float, teacher_grad: bool) -> tuple:
    inv = 1.0 / temperature
    ls, lt = _log_softmax(xp, s, inv), _log_softmax(xp, t, inv)
    pt = xp.exp(lt)
    kl = xp.sum(pt * (lt - ls), axis=-1)
    return (temperature * temperature) * kl, (ls, lt, pt, kl)


def _soft_partials(xp: Any, arrays: tuple, res: tuple, *, temperature: float, teacher_grad: bool) -> tuple:
    """``T (p_s - p_t)`` for the student; ``T p_t (log p_t - log p_s - KL)`` for the teacher when asked."""
    ls, lt, pt, kl = res
    ds = temperature * (xp.exp(ls) - pt)
    if not teacher_grad:
        return ds, None
    return ds, lambda: temperature * pt * ((lt - ls) - xp.expand_dims(kl, axis=-1))


_SOFT = Primitive("distillation_kl", _soft_fwd, _soft_partials, event_axis=-1)


@loss
def distillation(student_logits: Any, teacher_logits: Any, labels: Any, /, *, temperature: float = 4.0,
                 alpha: float = 0.7, teacher_grad: bool = False, sample_weight: Any = None,
                 reduction: str = "mean", return_parts: bool = False) -> Any:
    r"""Knowledge distillation (Hinton et al. 2015): cross-entropy on the labels plus the
    temperature-scaled KL from the teacher's softened distribution to the student's.

    .. math::
        \ell_i = (1 - \alpha)\, \mathrm{CE}(s_i, y_i)
                 + \alpha\, T^2 \,\mathrm{KL}\big(\operatorname{softmax}(t_i / T) \,\|\,
                 \operatorname{softmax}(s_i / T)\big)

    Parameters
    ----------
    student_logits, teacher_logits : array
        Real floating logits ``(N, C)`` (or ``(..., C)``), classes on the last axis, one shape and dtype.
    labels : array or None
        Integer class indices ``(N,)`` (``student_logits.shape[:-1]``), or probabilities of the logits'
        shape (soft labels) for the hard term; ``None`` (pure distillation) requires ``alpha=1``.
    temperature : float, default 4.0
        :math:`T > 0`.
    alpha : float, default 0.7
        Weight of the soft term, in [0, 1] (Keras' ``Distiller`` weighs the *student* term instead).
    teacher_grad : bool, default False
        Whether the teacher's logits get a gradient (``False``: the teacher is a constant, as in
        Hinton et al.; its gradient is ``None`` in torch and TensorFlow and zero in JAX).
    sample_weight : array, optional
        Per-sample weight, ``student_logits.shape[:-1]``.
    reduction : {"mean", "sum", "none", "weighted_mean"}, default "mean"
        Over the samples.  ``"mean"`` is the KL's ``"batchmean"`` for 2-d logits (the sum over
        samples divided by ``N``) and cross-entropy's mean.
    return_parts : bool, default False
        Also return ``{"hard": CE, "soft": T² KL}``, each reduced like the total, with
        ``total = (1 - alpha) * hard + alpha * soft``.

    Returns
    -------
    array, or (array, dict)
        Scalar, or the per-sample losses for ``reduction="none"``; with ``return_parts``,
        ``(total, parts)``.

    Raises
    ------
    XplossError
        Logits of two shapes or dtypes, labels of a bad shape or out of range, ``temperature <= 0``,
        ``alpha`` outside [0, 1], ``labels=None`` with ``alpha < 1``.

    Notes
    -----
    The soft term is computed from logits with log-sum-exp (stable for any magnitude).  Its gradient
    for the student is :math:`T (p_s - p_t)` per sample: the :math:`T^2` keeps it from shrinking as
    :math:`1/T^2`.  The direction is KL(teacher ‖ student), torch's ``F.kl_div(log p_s, p_t)``; the
    reversed KL differs (BUILTINS-2 §1.13).  The hard term is :func:`cross_entropy` (no
    ``ignore_index``: every label must be a class).

    See Also
    --------
    torch.nn.functional.kl_div : ``(1 - α) F.cross_entropy(s, y) + α T² F.kl_div(F.log_softmax(s / T, -1),
        F.softmax(t / T, -1), reduction="batchmean")`` equals ``distillation(s, t, y, temperature=T,
        alpha=α)`` for 2-d logits.
    keras.distillation.LogitsDistillation : with ``loss=keras.losses.KLDivergence()`` (an instance; the
        string default computes the KL of raw logits, BUILTINS-2 §1.13) it is the soft term.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> t = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]])
    >>> s = np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 2.0]])
    >>> total, parts = xploss.distillation(s, t, np.array([0, 2]), temperature=3.0, return_parts=True)
    >>> round(float(parts["soft"]), 6)  # BUILTINS-2 §1.13: batchmean × T²
    0.32795
    """
    fn = "distillation"
    be = resolve(fn, {"student_logits": student_logits, "teacher_logits": teacher_logits, "labels": labels,
                      "sample_weight": sample_weight})
    xp = be.xp
    _checks.class_axis(fn, xp, "student_logits", student_logits, -1)
    _checks.floating(fn, "teacher_logits", xp, teacher_logits)
    teacher_logits = _checks.target_like(fn, xp, ("student_logits", student_logits),
                                         ("teacher_logits", teacher_logits))
    temperature = _checks.number(fn, "temperature", temperature, low=0.0, low_open=True)
    alpha = _checks.number(fn, "alpha", alpha, low=0.0, high=1.0)
    teacher_grad = _checks.flag(fn, "teacher_grad", teacher_grad)
    return_parts = _checks.flag(fn, "return_parts", return_parts)
    _checks.reduction(fn, reduction)
    if labels is None and alpha != 1.0:
        raise _checks.error(fn, "labels", "class labels for the hard term (or alpha=1.0: distillation only)",
                            f"None with alpha={alpha}")
    w = _checks.weight(fn, xp, sample_weight, student_logits, -1)
    soft = apply(be, _SOFT, (student_logits, teacher_logits), sample_weight=w, reduction=reduction,
                 temperature=temperature, teacher_grad=teacher_grad)
    if labels is None:
        return with_parts(combine(be, (soft,), (1.0,)), {"soft": soft}, return_parts)
    hard = _classification.run(fn, be, student_logits, labels, sample_weight=w, reduction=reduction,
                               name="student_logits")
    total = combine(be, (hard, soft), (1.0 - alpha, alpha))
    return with_parts(total, {"hard": hard, "soft": soft}, return_parts)

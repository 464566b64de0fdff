"""Combinations of losses: ``weighted_sum``, ``uncertainty_weighting``, and the one linear combination the
composite losses (ELBO, GAN discriminators, distillation) add their parts with.

A combination is an xploss operation itself (a primitive with its partials), not array arithmetic on
the losses' results: every backend differentiates it, NumPy's tape without autograd included (a sum
written as ``a + b`` is arithmetic the tape cannot follow).

The parts convention (composite losses): the return value is the differentiable total; with
``return_parts=True`` the call returns ``(total, parts)``, ``parts`` a dict of the named terms
*before* their coefficients, each reduced like the total, computed once in the same call (no
recomputation) and differentiable like it.  Each loss documents ``total = Σ c_k parts[k]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import _checks
from .._api import loss
from .._define import Primitive, apply
from .._errors import XplossTypeError
from .._namespace import resolve

__all__ = ["weighted_sum", "uncertainty_weighting"]

_REDUCTIONS = ("mean", "sum", "none")


# -- a linear combination with constant coefficients (any broadcastable shapes) -------------------

def _linear_fwd(xp: Any, *parts: Any, coefs: tuple) -> tuple:
    out = None
    for c, p in zip(coefs, parts):
        term = p if c == 1.0 and len(parts) > 1 else c * p  # one part: a new array (torch's Function must not
        # return its input as-is: distillation(s, t, None, alpha=1) raised under autograd)
        out = term if out is None else out + term
    return out, ()


def _linear_partials(xp: Any, arrays: tuple, res: tuple, *, coefs: tuple) -> tuple:
    return tuple(xp.zeros_like(p) + c for c, p in zip(coefs, arrays))


_LINEAR = Primitive("linear_combination", _linear_fwd, _linear_partials, rowwise=False)


def combine(be: Any, parts: Sequence, coefs: Sequence[float], *, reduction: str = "none",
            sample_weight: Any = None) -> Any:
    """``Σ c_k parts[k]`` (reduced with ``reduction``) as one xploss operation; coefficients are constants."""
    return apply(be, _LINEAR, tuple(parts), sample_weight=sample_weight, reduction=reduction,
                 coefs=tuple(float(c) for c in coefs))


def with_parts(total: Any, parts: dict, return_parts: bool) -> Any:
    """The parts convention: the total, or ``(total, parts)``."""
    return (total, parts) if return_parts else total


# -- learnable combinations of scalar losses ---------------------------------------------------------

_FORMS = {  # form -> (a, b): a e^{-s} L + b s
    "simple": (1.0, 1.0),
    "regression": (0.5, 0.5),
    "classification": (1.0, 0.5),
}


def _one_array(losses: tuple) -> bool:
    """One ``(K,)`` array of the losses (not a sequence of 0-d losses, of one loss either)."""
    return len(losses) == 1 and losses[0].ndim == 1


def _stacked(xp: Any, losses: tuple) -> Any:
    return losses[0] if _one_array(losses) else xp.stack(losses)


def _split(xp: Any, d: Any, losses: tuple) -> tuple:
    """A ``(K,)`` partial for one ``(K,)`` input, or one 0-d entry per input (a sequence of one 0-d loss too)."""
    return (d,) if _one_array(losses) else tuple(d[i] for i in range(len(losses)))


def _uw_fwd(xp: Any, *arrays: Any, form: str) -> tuple:
    *losses, s = arrays
    a, b = _FORMS[form]
    e = xp.exp(-s)
    return xp.sum(a * e * _stacked(xp, tuple(losses)) + b * s), (e,)


def _uw_partials(xp: Any, arrays: tuple, res: tuple, *, form: str) -> tuple:
    *losses, s = arrays
    (e,) = res
    a, b = _FORMS[form]
    return (*_split(xp, a * e, tuple(losses)), lambda: b - a * e * _stacked(xp, tuple(losses)))


_UNCERTAINTY = Primitive("uncertainty_weighting", _uw_fwd, _uw_partials, event_axis="all")


def _ws_fwd(xp: Any, *arrays: Any) -> tuple:
    *losses, w = arrays
    return xp.sum(w * _stacked(xp, tuple(losses))), ()


def _ws_partials(xp: Any, arrays: tuple, res: tuple) -> tuple:
    *losses, w = arrays
    return (*_split(xp, w, tuple(losses)), lambda: _stacked(xp, tuple(losses)))


_WEIGHTED = Primitive("weighted_sum", _ws_fwd, _ws_partials, event_axis="all")


def _losses(fn: str, losses: Any, scalar: bool) -> tuple:
    """The losses as a tuple of arrays: one array of them (tasks on axis 0) or a sequence of scalars."""
    if isinstance(losses, (list, tuple)):
        if not losses:
            raise _checks.error(fn, "losses", "a non-empty sequence of scalar losses or one array of them",
                                "an empty sequence")
        out = tuple(losses)
        for k, v in enumerate(out):
            if not hasattr(v, "shape") or not hasattr(v, "dtype"):
                raise _checks.error(fn, "losses", "a sequence of arrays (the scalar results of losses)",
                                    f"{type(v).__name__} at position {k}", kind=XplossTypeError)
            if scalar and _checks.shape_of(v) != ():
                raise _checks.error(fn, "losses", "scalar (0-d) losses, e.g. each reduced with 'mean'",
                                    f"shape {_checks.shape_str(_checks.shape_of(v))} at position {k}")
        return out
    if not hasattr(losses, "shape"):
        raise _checks.error(fn, "losses", "a sequence of scalar losses or one array of them",
                            type(losses).__name__, kind=XplossTypeError)
    if len(_checks.shape_of(losses)) != 1:
        raise _checks.error(fn, "losses", "one 1-d array of K scalar losses (or a sequence of them)",
                            f"shape {_checks.shape_str(_checks.shape_of(losses))}")
    return (losses,)


def _count(losses: tuple) -> int | None:
    """K: the number of losses in a sequence (of one 0-d loss too), or the length of one (K,) array of them."""
    shape = _checks.shape_of(losses[0])
    return shape[0] if len(losses) == 1 and len(shape) == 1 else len(losses)


def _params(fn: str, name: str, be: Any, values: Any, losses: tuple, floats_ok: bool) -> Any:
    """``log_vars`` / ``weights``: a (K,) floating array of the losses' library, dtype and device (a
    sequence of floats becomes a constant one when ``floats_ok``)."""
    xp, ref, k = be.xp, losses[0], _count(losses)
    if isinstance(values, (list, tuple)) and floats_ok and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        values = [_checks.number(fn, name, v) for v in values]
        device = getattr(ref, "device", None) if be.name == "torch" else None
        values = xp.asarray(values, dtype=ref.dtype, device=device)
    if not hasattr(values, "shape") or not hasattr(values, "dtype"):
        expected = "a 1-d floating array" + (" or a sequence of floats" if floats_ok else " (trainable)")
        raise _checks.error(fn, name, expected, type(values).__name__, kind=XplossTypeError)
    _checks.floating(fn, name, xp, values)
    shape = _checks.shape_of(values)
    if len(shape) != 1 or (k is not None and shape[0] is not None and shape[0] != k):
        raise _checks.error(fn, name, f"shape ({k},): one entry per loss", f"shape {_checks.shape_str(shape)}")
    if values.dtype != ref.dtype:
        values = xp.astype(values, ref.dtype)
    return values


def _resolve(fn: str, losses: tuple, extra: dict) -> Any:
    named = {f"losses[{k}]" if len(losses) > 1 else "losses": v for k, v in enumerate(losses)}
    be = resolve(fn, {**named, **{k: v for k, v in extra.items() if hasattr(v, "shape")}})
    for k, v in enumerate(losses):
        _checks.floating(fn, f"losses[{k}]" if len(losses) > 1 else "losses", be.xp, v)
    if len(losses) > 1:
        for k, v in enumerate(losses[1:], 1):
            _checks.same_dtype(fn, (f"losses[{k}]", v), ("losses[0]", losses[0]))
    return be


@loss
def weighted_sum(losses: Any, weights: Any, /) -> Any:
    r"""A weighted sum of scalar losses, :math:`L = \sum_k w_k L_k` (the seeds' ``L_cls + α L_loc``).

    .. math::
        L = \sum_{k=1}^{K} w_k L_k

    Parameters
    ----------
    losses : sequence of 0-d arrays, or one ``(K,)`` array
        The task losses (each already reduced, e.g. with ``reduction="mean"``), of one library and dtype.
    weights : sequence of K floats, or a ``(K,)`` floating array
        Constant weights, or an array of the losses' library (a trainable parameter gets its gradient
        :math:`L_k`).  Any real values.

    Returns
    -------
    array
        0-d: the weighted sum.  Its gradient is :math:`w_k` for each loss.

    Raises
    ------
    XplossError
        An empty sequence, a loss that is not 0-d, losses of different dtypes, ``weights`` of another
        length or not floating.

    Notes
    -----
    One xploss operation, so that NumPy gradients (:func:`xploss.value_and_grad`) follow it even
    without autograd (``a + 0.5 * b`` is arithmetic the NumPy tape cannot follow).  The gradient
    flows to the losses and, for an array of weights, to the weights.

    See Also
    --------
    uncertainty_weighting : learned weights (Kendall et al. 2018).

    Examples
    --------
    >>> import numpy as np, xploss
    >>> cls, loc = xploss.cross_entropy(np.array([[2.0, 0.0]]), np.array([0])), xploss.mse(np.ones(2), np.zeros(2))
    >>> round(float(xploss.weighted_sum([cls, loc], [1.0, 0.5])), 6)  # 0.126928 + 0.5 · 1
    0.626928
    """
    fn = "weighted_sum"
    losses = _losses(fn, losses, scalar=True)
    be = _resolve(fn, losses, {"weights": weights})
    w = _params(fn, "weights", be, weights, losses, floats_ok=True)
    return apply(be, _WEIGHTED, (*losses, w), reduction="none")


@loss
def uncertainty_weighting(losses: Any, log_vars: Any, /, *, form: str = "simple") -> Any:
    r"""Kendall et al. (2018) homoscedastic-uncertainty weighting of scalar task losses, with learned
    :math:`s_k = \log \sigma_k^2`.

    .. math::
        L = \sum_{k=1}^{K} a\, e^{-s_k} L_k + b\, s_k, \qquad
        (a, b) = \begin{cases} (1, 1) & \text{"simple"} \\ (\tfrac12, \tfrac12) & \text{"regression"} \\
        (1, \tfrac12) & \text{"classification"} \end{cases}

    Parameters
    ----------
    losses : sequence of 0-d arrays, or one ``(K,)`` array
        The task losses, each already reduced, of one library and dtype.
    log_vars : array
        ``(K,)`` floating array of the losses' library: the learned :math:`s_k` (a
        ``torch.nn.Parameter``, a ``tf.Variable``, a JAX array).  It gets the gradient
        :math:`b - a e^{-s_k} L_k`.
    form : {"simple", "regression", "classification"}, default "simple"
        ``"simple"``: :math:`e^{-s} L + s`, the seeds' ``MultiTaskLoss`` and the notebook of Kendall's
        co-author (no ½ on either term); ``"regression"``: the paper's Gaussian-likelihood form
        :math:`\tfrac12 e^{-s} L + \tfrac12 s` (LibMTL's ``UW``); ``"classification"``: the paper's
        scaled-softmax approximation :math:`e^{-s} L + \tfrac12 s`.  The first two share the minimiser
        :math:`s^* = \log L` and differ by a factor 2; the third's is :math:`\log 2L`.

    Returns
    -------
    array
        0-d: the weighted total.

    Raises
    ------
    XplossError
        An empty sequence, a loss that is not 0-d, ``log_vars`` of another length or library or not
        floating, an unknown ``form``.  (A ``log_vars`` of another floating dtype is cast, differentiably, to
        the losses' dtype.)

    Notes
    -----
    The total is unbounded below as a task loss goes to 0 (:math:`e^{-s}\cdot 0 + s \to -\infty`):
    negative totals are normal, not a bug.  Initialise ``log_vars`` at 0 (σ = 1).

    See Also
    --------
    weighted_sum : fixed weights.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> losses, s = np.array([2.0, 0.5]), np.array([0.0, np.log(0.5)])
    >>> round(float(xploss.uncertainty_weighting(losses, s)), 6)  # 2 + 0 + 0.5/0.5 + log(0.5)
    2.306853
    >>> value, grad = xploss.value_and_grad(xploss.uncertainty_weighting, argnums=1)(losses, s)
    >>> grad.tolist()  # 1 - e^{-s} L
    [-1.0, 0.0]
    """
    fn = "uncertainty_weighting"
    form = _checks.choice(fn, "form", form, tuple(_FORMS))
    losses = _losses(fn, losses, scalar=True)
    be = _resolve(fn, losses, {"log_vars": log_vars})
    s = _params(fn, "log_vars", be, log_vars, losses, floats_ok=False)
    return apply(be, _UNCERTAINTY, (*losses, s), reduction="none", form=form)

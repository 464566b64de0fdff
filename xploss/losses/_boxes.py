"""Box regression losses: IoU, GIoU, DIoU and CIoU of paired boxes (torchvision's box losses).

Boxes are ``(..., 4)`` arrays of ``(x1, y1, x2, y2)`` corners with ``x1 <= x2`` and ``y1 <= y2``, paired
element-wise along the leading axes: one loss per box, the per-sample loss has the leading shape
(``event_axis=-1``).  Every loss is per-sample, so each primitive gives ``partials`` (JAX: custom_jvp, every
order of differentiation).  Conventions shared by the family (torchvision 0.28 ``ops/_utils.py``
``_loss_inter_union`` and ``ops/{giou,diou,ciou}_loss.py``):

* the intersection is ``(x2' - x1') (y2' - y1')`` only where both sides are > 0, else 0: disjoint or
  touching boxes get no IoU gradient;
* the coordinate ``max`` / ``min`` (intersection and enclosing box) split the gradient 0.5 / 0.5 at exact
  ties (torch's elementwise ``maximum`` / ``minimum``);
* ``eps`` reaches every denominator: ``union + eps``, ``A_c + eps``, ``c² + eps``, and CIoU's DIoU part
  and ``α`` (torchvision's CIoU calls its DIoU part with the default ``1e-7`` whatever its ``eps``);
* CIoU's aspect angle is ``atan2(w, h)`` (``= atan(w / h)`` for ``h > 0``, ``π/2`` for a zero-height box,
  ``0`` for a point box, with a zero gradient there), and its ``α`` is a constant for the gradient
  (torchvision computes it under ``no_grad``).
"""

from __future__ import annotations

import math
from typing import Any

from .. import _checks
from .._api import loss
from .._define import Primitive, apply
from .._namespace import resolve

__all__ = ["iou_loss", "giou_loss", "diou_loss", "ciou_loss"]

_FOUR_OVER_PI2 = 4.0 / math.pi ** 2


# -- the shared geometry -----------------------------------------------------------------------

def _max_share(xp: Any, a: Any, b: Any) -> Any:
    """``d max(a, b) / d a``: 1, 0.5 at a tie, 0 (torch's elementwise ``maximum``)."""
    one, zero = xp.ones_like(a), xp.zeros_like(a)
    return xp.where(a > b, one, xp.where(a == b, 0.5 * one, zero))


def _min_share(xp: Any, a: Any, b: Any) -> Any:
    """``d min(a, b) / d a``: 1, 0.5 at a tie, 0 (torch's elementwise ``minimum``)."""
    return _max_share(xp, b, a)


def _angle(xp: Any, w: Any, h: Any) -> Any:
    """``atan2(w, h)`` for ``w, h >= 0`` with ``atan`` only (TensorFlow's namespace has no atan2):
    ``atan(w / h)`` where ``w <= h``, else ``π/2 - atan(h / w)``; 0 at ``w = h = 0``."""
    one = xp.ones_like(w)
    low = w <= h
    big = xp.where(low, h, w)
    safe = xp.where(big > 0, big, one)
    t = xp.atan(xp.where(low, w, h) / safe)
    return xp.where(low, t, 0.5 * math.pi - t)


def _angle_partials(xp: Any, w: Any, h: Any) -> tuple[Any, Any]:
    """``(d atan2(w, h) / d w, d / d h) = (h, -w) / (w² + h²)``, 0 at ``w = h = 0`` (double where)."""
    q = w * w + h * h
    pos = q > 0
    inv = xp.where(pos, 1.0 / xp.where(pos, q, xp.ones_like(q)), xp.zeros_like(q))
    return h * inv, -w * inv


def _geometry(xp: Any, b1: Any, b2: Any, eps: float) -> dict:
    """Every per-box quantity of the four losses (values; the partials reuse them)."""
    x1, y1, x2, y2 = b1[..., 0], b1[..., 1], b1[..., 2], b1[..., 3]
    u1, v1, u2, v2 = b2[..., 0], b2[..., 1], b2[..., 2], b2[..., 3]
    w1, h1, w2, h2 = x2 - x1, y2 - y1, u2 - u1, v2 - v1
    iw = xp.minimum(x2, u2) - xp.maximum(x1, u1)
    ih = xp.minimum(y2, v2) - xp.maximum(y1, v1)
    hit = xp.logical_and(iw > 0, ih > 0)
    inter = xp.where(hit, iw * ih, xp.zeros_like(iw))
    union = w1 * h1 + w2 * h2 - inter
    ue = union + eps
    cw = xp.maximum(x2, u2) - xp.minimum(x1, u1)
    ch = xp.maximum(y2, v2) - xp.minimum(y1, v1)
    return dict(x1=x1, y1=y1, x2=x2, y2=y2, u1=u1, v1=v1, u2=u2, v2=v2, w1=w1, h1=h1, w2=w2, h2=h2,
                iw=iw, ih=ih, hit=hit, inter=inter, union=union, ue=ue, iou=inter / ue, cw=cw, ch=ch)


def _distance(xp: Any, g: dict, eps: float) -> tuple[Any, Any, Any, Any]:
    """``(ρ², c² + eps, dx, dy)``: centre distance², enclosing diagonal² + eps, half-sums of differences."""
    dx = 0.5 * ((g["x1"] + g["x2"]) - (g["u1"] + g["u2"]))
    dy = 0.5 * ((g["y1"] + g["y2"]) - (g["v1"] + g["v2"]))
    return dx * dx + dy * dy, g["cw"] * g["cw"] + g["ch"] * g["ch"] + eps, dx, dy


def _aspect(xp: Any, g: dict, eps: float) -> tuple[Any, Any, Any]:
    """``(v, α, θ₂ - θ₁)``: CIoU's aspect term of the prediction ``b1`` against the ground truth ``b2``."""
    diff = _angle(xp, g["w2"], g["h2"]) - _angle(xp, g["w1"], g["h1"])
    v = _FOUR_OVER_PI2 * diff * diff
    alpha = v / ((1.0 - g["iou"]) + v + eps)
    return v, alpha, diff


def _value(xp: Any, b1: Any, b2: Any, kind: str, eps: float) -> Any:
    g = _geometry(xp, b1, b2, eps)
    out = 1.0 - g["iou"]
    if kind == "giou":
        area_c = g["cw"] * g["ch"]
        out = out + (area_c - g["union"]) / (area_c + eps)
    elif kind in ("diou", "ciou"):
        rho2, c2, _, _ = _distance(xp, g, eps)
        out = out + rho2 / c2
        if kind == "ciou":
            v, alpha, _ = _aspect(xp, g, eps)
            out = out + alpha * v
    return out


def _partials(xp: Any, b1: Any, b2: Any, kind: str, eps: float) -> tuple[Any, Any]:
    """``(d loss / d b1, d loss / d b2)``, each ``(..., 4)``, by the chain rule through the geometry."""
    g = _geometry(xp, b1, b2, eps)
    x1, y1, x2, y2, u1, v1, u2, v2 = (g[k] for k in ("x1", "y1", "x2", "y2", "u1", "v1", "u2", "v2"))
    w1, h1, w2, h2, inter, ue = g["w1"], g["h1"], g["w2"], g["h2"], g["inter"], g["ue"]
    zero = xp.zeros_like(w1)
    # 1 - inter / (A1 + A2 - inter + eps)
    ue2 = ue * ue
    g_inter = -(ue + inter) / ue2
    g_area = inter / ue2  # d / d A1 = d / d A2
    g_cw = g_ch = zero
    g_dx = g_dy = zero
    g_w1, g_h1, g_w2, g_h2 = zero, zero, zero, zero
    if kind == "giou":  # + (A_c - union) / (A_c + eps)
        area_c = g["cw"] * g["ch"]
        ce = area_c + eps
        g_ac = ue / (ce * ce)
        g_union = -1.0 / ce
        g_inter = g_inter - g_union
        g_area = g_area + g_union
        g_cw, g_ch = g_ac * g["ch"], g_ac * g["cw"]
    elif kind in ("diou", "ciou"):  # + ρ² / (c² + eps)
        rho2, c2, dx, dy = _distance(xp, g, eps)
        g_c2 = -rho2 / (c2 * c2)
        g_cw, g_ch = 2.0 * g_c2 * g["cw"], 2.0 * g_c2 * g["ch"]
        g_dx, g_dy = 2.0 * dx / c2, 2.0 * dy / c2
        if kind == "ciou":  # + α v, α constant: α (4/π²) 2 (θ₂ - θ₁) (dθ₂ - dθ₁)
            _, alpha, diff = _aspect(xp, g, eps)
            k = alpha * (2.0 * _FOUR_OVER_PI2) * diff
            a_w1, a_h1 = _angle_partials(xp, w1, h1)
            a_w2, a_h2 = _angle_partials(xp, w2, h2)
            g_w1, g_h1, g_w2, g_h2 = -k * a_w1, -k * a_h1, k * a_w2, k * a_h2
    g_w1, g_h1 = g_w1 + g_area * h1, g_h1 + g_area * w1
    g_w2, g_h2 = g_w2 + g_area * h2, g_h2 + g_area * w2
    g_iw = xp.where(g["hit"], g_inter * g["ih"], zero)
    g_ih = xp.where(g["hit"], g_inter * g["iw"], zero)
    # iw = min(x2, u2) - max(x1, u1), cw = max(x2, u2) - min(x1, u1); w1 = x2 - x1; dx = (x1 + x2 - u1 - u2) / 2
    d_x1 = -g_w1 - g_iw * _max_share(xp, x1, u1) - g_cw * _min_share(xp, x1, u1) + 0.5 * g_dx
    d_x2 = g_w1 + g_iw * _min_share(xp, x2, u2) + g_cw * _max_share(xp, x2, u2) + 0.5 * g_dx
    d_u1 = -g_w2 - g_iw * _max_share(xp, u1, x1) - g_cw * _min_share(xp, u1, x1) - 0.5 * g_dx
    d_u2 = g_w2 + g_iw * _min_share(xp, u2, x2) + g_cw * _max_share(xp, u2, x2) - 0.5 * g_dx
    d_y1 = -g_h1 - g_ih * _max_share(xp, y1, v1) - g_ch * _min_share(xp, y1, v1) + 0.5 * g_dy
    d_y2 = g_h1 + g_ih * _min_share(xp, y2, v2) + g_ch * _max_share(xp, y2, v2) + 0.5 * g_dy
    d_v1 = -g_h2 - g_ih * _max_share(xp, v1, y1) - g_ch * _min_share(xp, v1, y1) - 0.5 * g_dy
    d_v2 = g_h2 + g_ih * _min_share(xp, v2, y2) + g_ch * _max_share(xp, v2, y2) - 0.5 * g_dy
    return xp.stack([d_x1, d_y1, d_x2, d_y2], axis=-1), xp.stack([d_u1, d_v1, d_u2, d_v2], axis=-1)


def _primitive(kind: str) -> Primitive:
    def fwd(xp: Any, b1: Any, b2: Any, *, eps: float) -> tuple:
        return _value(xp, b1, b2, kind, eps), ()

    def partials(xp: Any, arrays: tuple, res: tuple, *, eps: float) -> tuple:
        return _partials(xp, arrays[0], arrays[1], kind, eps)

    return Primitive(f"{kind}_loss", fwd, partials, event_axis=-1)


_PRIMS = {kind: _primitive(kind) for kind in ("iou", "giou", "diou", "ciou")}


# -- input checks ------------------------------------------------------------------------------

_BOXES = "floating boxes of shape (..., 4) as (x1, y1, x2, y2)"


def _boxes(fn: str, xp: Any, name: str, b: Any) -> None:
    if not hasattr(b, "dtype"):
        raise _checks.error(fn, name, _BOXES, f"{type(b).__name__} {b!r}", kind=_checks.XplossTypeError)
    if not xp.isdtype(b.dtype, "real floating"):
        hint = ("Cast the boxes to float (torchvision casts integer boxes to float32 silently; xploss "
                "differentiates the coordinates and does not choose a dtype for you)."
                if xp.isdtype(b.dtype, ("integral", "bool")) else "")
        raise _checks.error(fn, name, _BOXES, f"dtype {_checks.dtype_name(b.dtype)}", kind=_checks.XplossTypeError,
                            hint=hint)
    shape = _checks.shape_of(b)
    if not shape or shape[-1] != 4:
        raise _checks.error(fn, name, _BOXES + " (a last axis of size 4, known while tracing)",
                            f"shape {_checks.shape_str(shape)}")


def _inverted(fn: str, be: Any, name: str, b: Any) -> Any:
    """``x2 >= x1`` and ``y2 >= y1`` for every box: eagerly an error naming the first inverted box; traced,
    the mask of the inverted boxes (NaN loss and gradient there).  A NaN coordinate passes."""
    v = be.host(b)
    if v is None:
        return be.xp.logical_or(b[..., 2] < b[..., 0], b[..., 3] < b[..., 1])
    bad = (v[..., 2] < v[..., 0]) | (v[..., 3] < v[..., 1])
    if bad.any():
        idx = tuple(int(i) for i in next(zip(*bad.nonzero())))
        box = [float(c) for c in v[idx]]
        where = idx[0] if len(idx) == 1 else idx
        raise _checks.error(fn, name, "boxes (x1, y1, x2, y2) with x1 <= x2 and y1 <= y2",
                            f"box {where} = {box}" + (f" (and {int(bad.sum()) - 1} more)" if bad.sum() > 1 else ""),
                            hint="Convert (x, y, w, h) or (cx, cy, w, h) boxes to corners first "
                                 "(torchvision.ops.box_convert); torchvision 0.28 accepts inverted boxes and "
                                 "gives them a false near-zero loss.")
    return None


def _call(fn: str, kind: str, boxes1: Any, boxes2: Any, eps: Any, sample_weight: Any, reduction: Any) -> Any:
    be = resolve(fn, {"boxes1": boxes1, "boxes2": boxes2, "sample_weight": sample_weight})
    xp = be.xp
    _boxes(fn, xp, "boxes1", boxes1)
    _boxes(fn, xp, "boxes2", boxes2)
    _checks.same_shape(fn, ("boxes1", boxes1), ("boxes2", boxes2))
    _checks.same_dtype(fn, ("boxes2", boxes2), ("boxes1", boxes1))
    eps = _checks.number(fn, "eps", eps, low=0.0, low_open=True)
    invalid = _checks.either(xp, _inverted(fn, be, "boxes1", boxes1), _inverted(fn, be, "boxes2", boxes2))
    sample_weight = _checks.weight(fn, xp, sample_weight, boxes1, -1)
    _checks.reduction(fn, reduction)
    return apply(be, _PRIMS[kind], (boxes1, boxes2), sample_weight=sample_weight, invalid=invalid,
                 reduction=reduction, eps=eps)


_SHARED_PARAMS = """\
    boxes1, boxes2 : array
        Real floating boxes of one shape ``(..., 4)`` and dtype, ``(x1, y1, x2, y2)`` with ``x1 <= x2``
        and ``y1 <= y2``, paired element-wise (box ``i`` of ``boxes1`` with box ``i`` of ``boxes2``; not the
        ``N × M`` pairs of ``torchvision.ops.box_iou``).  Both are differentiated.{gt}
    eps : float, default 1e-7
        ``> 0``, added to every denominator (torchvision's default).
    sample_weight : array, optional
        Per-box weight aligned on the leading axes of the per-box loss ``boxes1.shape[:-1]``.
    reduction : {{"mean", "sum", "none", "weighted_mean", "count", "total_weight"}}
        ``"mean"`` (the library default) averages over the boxes; torchvision's default is ``"none"``.

    Returns
    -------
    array
        Scalar, or the per-box losses of shape ``boxes1.shape[:-1]`` for ``reduction="none"``; float16
        and bfloat16 boxes are computed in float32 and returned in their dtype.

    Raises
    ------
    XplossError
        Boxes of different shapes (no broadcasting), a last axis other than 4, an inverted box
        (``x2 < x1`` or ``y2 < y1``: the message names the argument, the box index and its
        coordinates), ``eps <= 0``, an unknown reduction.
    XplossTypeError
        Integer or bool boxes (cast them to float), different dtypes, non-arrays.
"""

_SHARED_NOTES = """\
    Inverted boxes are refused eagerly; under ``jax.jit``, ``tf.function`` or ``torch.compile``, where
    the values are not known, such a box gets a NaN loss and NaN gradients (torchvision 0.28 accepts
    them: ``[2, 2, 0, 0]`` against ``[0, 0, 2, 2]`` has a GIoU loss of about 2.5e-8, a false match).
    Zero-area boxes (points, zero width or height) are valid and stay finite, values and gradients.
    The intersection is 0 unless both of its sides are > 0 (torchvision's mask): disjoint and touching
    boxes get no IoU gradient.  At equal coordinates the ``max`` / ``min`` of the intersection and of
    the enclosing box split the gradient 0.5 / 0.5 (torch's elementwise ``maximum`` / ``minimum``).
    Identical boxes of area ``A`` give ``1 - A / (A + eps) ≈ eps / A`` (1e-7 for unit boxes), not 0,
    as torchvision.
"""


def _doc(gt: str = "") -> Any:
    """Fill a docstring's ``{params}`` (Parameters to Raises) and ``{notes}`` with the family's shared text."""
    def fill(f: Any) -> Any:
        f.__doc__ = f.__doc__.replace("{params}", _SHARED_PARAMS.format(gt=gt).rstrip("\n")).replace(
            "{notes}", _SHARED_NOTES.rstrip("\n"))
        return f
    return fill


# -- the public losses ------------------------------------------------------------------------

@loss
@_doc()
def iou_loss(boxes1: Any, boxes2: Any, /, *, eps: float = 1e-7, sample_weight: Any = None,
             reduction: str = "mean") -> Any:
    r"""IoU loss of paired boxes: ``1 - IoU`` (torchvision's ``_loss_inter_union``).

    .. math::
        \ell = 1 - \frac{I}{U + \epsilon}, \qquad U = A_1 + A_2 - I

    with ``I`` the intersection area (0 unless both of its sides are > 0) and ``A`` the box areas.

    Parameters
    ----------
{params}

    Notes
    -----
{notes}
    Symmetric in ``boxes1`` and ``boxes2``.  Disjoint boxes all cost 1 with a zero gradient: use
    :func:`giou_loss` or :func:`diou_loss` to pull them together.

    See Also
    --------
    torchvision.ops.generalized_box_iou_loss : its IoU part, ``1 - inter / (union + eps)`` of
        ``torchvision.ops._utils._loss_inter_union(boxes1, boxes2)`` (torchvision has no public IoU loss).
    giou_loss, diou_loss, ciou_loss : the same IoU with a penalty.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> b1 = np.array([[0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 1.0, 1.0]])
    >>> b2 = np.array([[1.0, 1.0, 3.0, 3.0], [2.0, 2.0, 3.0, 3.0]])
    >>> xploss.iou_loss(b1, b2, reduction="none").round(6).tolist()  # IoU 1/7, then disjoint
    [0.857143, 1.0]
    """
    return _call("iou_loss", "iou", boxes1, boxes2, eps, sample_weight, reduction)


@loss
@_doc()
def giou_loss(boxes1: Any, boxes2: Any, /, *, eps: float = 1e-7, sample_weight: Any = None,
              reduction: str = "mean") -> Any:
    r"""Generalized IoU loss of paired boxes (Rezatofighi et al. 2019; torchvision ``generalized_box_iou_loss``).

    .. math::
        \ell = 1 - \frac{I}{U + \epsilon} + \frac{A_c - U}{A_c + \epsilon}

    with ``A_c`` the area of the smallest box enclosing both; ``0 <= ℓ < 2``.

    Parameters
    ----------
{params}

    Notes
    -----
{notes}
    Symmetric in ``boxes1`` and ``boxes2``.  Disjoint boxes get their gradient from the enclosure term
    only; far apart boxes cost nearly 2.

    See Also
    --------
    torchvision.ops.generalized_box_iou_loss : ``generalized_box_iou_loss(boxes1, boxes2, reduction,
        eps)``, the same argument order; equal in value and gradient (xploss' default reduction is
        ``"mean"``, torchvision's ``"none"``; torchvision returns float32 for float16 boxes).

    Examples
    --------
    >>> import numpy as np, xploss
    >>> b1 = np.array([[0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 1.0, 1.0]])
    >>> b2 = np.array([[1.0, 1.0, 3.0, 3.0], [2.0, 2.0, 3.0, 3.0]])
    >>> xploss.giou_loss(b1, b2, reduction="none").round(6).tolist()  # 1 - 1/7 + 2/9, 1 + 7/9
    [1.079365, 1.777778]
    """
    return _call("giou_loss", "giou", boxes1, boxes2, eps, sample_weight, reduction)


@loss
@_doc()
def diou_loss(boxes1: Any, boxes2: Any, /, *, eps: float = 1e-7, sample_weight: Any = None,
              reduction: str = "mean") -> Any:
    r"""Distance IoU loss of paired boxes (Zheng et al. 2020; torchvision ``distance_box_iou_loss``).

    .. math::
        \ell = 1 - \frac{I}{U + \epsilon} + \frac{\rho^2}{c^2 + \epsilon}

    with ``ρ`` the distance of the box centres and ``c`` the diagonal of the smallest enclosing box.

    Parameters
    ----------
{params}

    Notes
    -----
{notes}
    Symmetric in ``boxes1`` and ``boxes2``.

    See Also
    --------
    torchvision.ops.distance_box_iou_loss : ``distance_box_iou_loss(boxes1, boxes2, reduction, eps)``, the
        same argument order; equal in value and gradient (default reduction ``"none"`` there).

    Examples
    --------
    >>> import numpy as np, xploss
    >>> b1 = np.array([[0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 1.0, 1.0]])
    >>> b2 = np.array([[1.0, 1.0, 3.0, 3.0], [2.0, 2.0, 3.0, 3.0]])
    >>> xploss.diou_loss(b1, b2, reduction="none").round(6).tolist()  # 1 - 1/7 + 2/18, 1 + 8/18
    [0.968254, 1.444444]
    """
    return _call("diou_loss", "diou", boxes1, boxes2, eps, sample_weight, reduction)


@loss
@_doc("\n        ``boxes1`` is the prediction and ``boxes2`` the ground truth (torchvision's names; the loss is\n"
      "        symmetric all the same: ``v`` is a square and ``α`` depends on the IoU only).")
def ciou_loss(boxes1: Any, boxes2: Any, /, *, eps: float = 1e-7, sample_weight: Any = None,
              reduction: str = "mean") -> Any:
    r"""Complete IoU loss of predicted boxes against ground-truth boxes (Zheng et al. 2020; torchvision
    ``complete_box_iou_loss``).

    .. math::
        \ell = \ell_{\mathrm{DIoU}} + \alpha v, \qquad
        v = \frac{4}{\pi^2}\Big(\operatorname{atan2}(w_2, h_2) - \operatorname{atan2}(w_1, h_1)\Big)^2, \qquad
        \alpha = \frac{v}{1 - \mathrm{IoU} + v + \epsilon}

    ``w_1, h_1`` the width and height of the prediction ``boxes1``, ``w_2, h_2`` those of the ground truth
    ``boxes2``; ``α`` is a constant for the gradient.

    Parameters
    ----------
{params}

    Notes
    -----
{notes}
    ``α`` is treated as a constant by the derivative, as torchvision (computed under ``no_grad``):
    the gradient is that of ``ℓ_DIoU`` plus ``α ∂v``.  First derivatives are torchvision's; higher
    orders differentiate that gradient as written (with ``α``'s dependence on the boxes).
    The aspect angle is ``atan2(w, h)``: ``atan(w / h)`` for ``h > 0``, ``π/2`` for a zero-height
    box, and 0 for a point box (``w = h = 0``), with a zero angle gradient there; torchvision's
    ``atan(w / h)`` gives NaN (value and gradient) for a point box, and a NaN gradient for a
    zero-height one.  ``eps`` reaches the DIoU part too (torchvision's CIoU uses the default 1e-7
    there whatever its ``eps``: equal at the default).  Symmetric in ``boxes1`` and ``boxes2``, values and
    gradients, like the three others.

    See Also
    --------
    torchvision.ops.complete_box_iou_loss : ``complete_box_iou_loss(boxes1, boxes2, reduction, eps)``,
        prediction first, the same order; equal in value and gradient at the default ``eps`` (default
        reduction ``"none"`` there).

    Examples
    --------
    >>> import numpy as np, xploss
    >>> b1 = np.array([[0.0, 0.0, 2.0, 2.0]])
    >>> b2 = np.array([[0.0, 0.0, 2.0, 4.0]])  # the same corner, twice as tall: IoU 1/2, ρ²/c² = 1/20, v = 0.042
    >>> round(float(xploss.ciou_loss(b1, b2)), 6)
    0.553248
    """
    return _call("ciou_loss", "ciou", boxes1, boxes2, eps, sample_weight, reduction)

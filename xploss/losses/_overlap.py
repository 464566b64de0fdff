r"""Overlap losses for dense prediction: Dice, Tversky, focal Tversky, Jaccard (soft IoU), generalised Dice.

One kernel serves the family.  For each *group* (an image, the whole batch, or everything pooled:
``per``) and each class ``c`` it forms the soft counts over the group's pixels ``j``

.. math::
    I_c = \sum_j m_j\, p_{jc}\, g_{jc}, \qquad P_c = \sum_j m_j\, p_{jc}, \qquad G_c = \sum_j m_j\, g_{jc}

(``m`` the void mask of ``ignore_index``; ``squared=True``: ``P = Σ m p²``, ``G = Σ m g²``;
``intersection="min"``: ``I = Σ m min(p, g)``, segmentation_models_pytorch's form), the false positives
``FP = P - I`` and negatives ``FN = G - I``, and the Tversky index

.. math:: T_c = \frac{I_c + s_n}{I_c + \alpha\, FP_c + \beta\, FN_c + s}

Dice is ``α = β = ½``, Jaccard ``α = β = 1``: the smoothing ``s`` is placed in this one form for the
whole family, so that ``tversky(α=β=½)`` *is* ``dice`` and ``tversky(α=β=1)`` *is* ``jaccard`` for every
``smooth`` (in the ``2I + s' / P + G + s'`` form Dice's smoothing is ``s' = 2s``: MONAI's ``smooth_nr=a,
smooth_dr=b`` is ``smooth_numerator=a/2, smooth=b/2``).  The per-class loss ``1 - T_c`` (focal Tversky:
``(1 - T_c)^γ``) is averaged over the classes with ``class_weight`` (``Σ w ℓ / Σ w``).

Every loss is a function of its group's sums only, so the derivative is closed-form and local:
``∂ℓ/∂p_{jc} = m_j (∂ℓ/∂I_c · ∂I/∂p + ∂ℓ/∂P_c · ∂P/∂p)``, through the softmax or sigmoid with
``from_logits``; the primitives give ``partials`` (JAX: custom_jvp, every order).
"""

from __future__ import annotations

from typing import Any

from .. import _checks, _ops
from .._api import loss
from .._define import Primitive, apply
from .._namespace import resolve

__all__ = ["dice", "tversky", "focal_tversky", "jaccard", "generalized_dice"]

PER = ("sample", "batch", "all")
EMPTY = ("smooth", "zero", "ignore")
INTERSECTIONS = ("product", "min")
ACTIVATIONS = ("softmax", "sigmoid")
WEIGHT_TYPES = ("square", "simple", "uniform")


# -- the shared kernel ----------------------------------------------------------------------------

def _sum(xp: Any, x: Any, axes: tuple) -> Any:
    """``x`` summed over ``axes``, dimensions kept (``()``: ``x`` itself; torch reads ``dim=()`` as all)."""
    return xp.sum(x, axis=axes, keepdims=True) if axes else x


def _along(xp: Any, v: Any, axis: int, ndim: int) -> Any:
    """A ``(C,)`` vector shaped to broadcast along ``axis`` of an ``ndim`` array."""
    shape = [1] * ndim
    shape[axis] = -1
    return xp.reshape(v, tuple(shape))


def _probabilities(xp: Any, z: Any, axis: int, activation: str | None) -> Any:
    if activation is None:
        return z
    if activation == "sigmoid":
        return _ops.sigmoid(xp, z)
    return _ops.softmax(xp, z, axis)


def _activation_vjp(xp: Any, p: Any, dp: Any, axis: int, activation: str | None) -> Any:
    """``dp`` (a derivative with respect to the probabilities) carried back to the logits."""
    if activation is None:
        return dp
    if activation == "sigmoid":
        return dp * p * (1.0 - p)
    return p * (dp - xp.sum(p * dp, axis=axis, keepdims=True))


def _targets(xp: Any, p: Any, t: Any, axis: int, labels: bool, ignore_index: int | None,
             background: bool) -> tuple[Any, Any]:
    """``(g, m)``: the dense target of ``p``'s shape and the pixel-and-class mask (None: all ones)."""
    m = None
    if labels:
        classes = _along(xp, xp.arange(p.shape[axis], dtype=t.dtype), axis, p.ndim)
        y = xp.expand_dims(t, axis=axis)
        g = xp.astype(y == classes, p.dtype)
        if ignore_index is not None:
            m = xp.astype(y != ignore_index, p.dtype)
    else:
        g = t
    if not background:
        keep = _along(xp, xp.astype(xp.arange(p.shape[axis]) != 0, p.dtype), axis, p.ndim)
        m = keep if m is None else m * keep
    return g, m


def _axes(per: str, axis: int, ndim: int) -> tuple[tuple, tuple]:
    """``(pixel axes summed per group, class axis or ())``."""
    if per == "all":
        return tuple(range(ndim)), ()
    first = 1 if per == "sample" else 0
    return tuple(i for i in range(first, ndim) if i != axis), (axis,)


def _counts(xp: Any, p: Any, g: Any, m: Any, pixels: tuple, squared: bool, intersection: str) -> tuple:
    pm = p if m is None else p * m
    gm = g if m is None else g * m
    inter = pm * g if intersection == "product" else xp.minimum(pm, gm)
    big_p = pm * p if squared else pm
    big_g = gm * g if squared else gm
    return _sum(xp, inter, pixels), _sum(xp, big_p, pixels), _sum(xp, big_g, pixels)


def _safe_div(xp: Any, a: Any, b: Any) -> tuple[Any, Any]:
    """``(a / b, b != 0)`` with 0 where ``b == 0`` (a class absent from target and prediction, no smoothing)."""
    nz = b != 0
    return xp.where(nz, a / xp.where(nz, b, xp.ones_like(b)), xp.zeros_like(b)), nz


def _class_mean(xp: Any, cw: Any, G: Any, axis: int, classes: tuple, background: bool, empty: str) -> tuple:
    """``(k, present)``: each class' coefficient in the group's mean (``Σ k ℓ``) and, for
    ``empty="ignore"``, whether the group has a class with target (else None)."""
    if not classes:
        return None, None
    ndim = G.ndim
    w = xp.ones_like(G) if cw is None else _along(xp, cw, axis, ndim) + xp.zeros_like(G)
    if not background:
        w = w * _along(xp, xp.astype(xp.arange(G.shape[axis]) != 0, G.dtype), axis, ndim)
    if empty == "smooth":
        return _safe_div(xp, w, _sum(xp, w, classes))[0], None
    hit = xp.astype(G > 0, G.dtype)
    if empty == "zero":  # segmentation_models_pytorch: an absent class scores 0 and still counts
        return _safe_div(xp, w * hit, _sum(xp, w, classes))[0], None
    den = _sum(xp, w * hit, classes)
    return _safe_div(xp, w * hit, den)[0], den > 0


def _collapse(xp: Any, x: Any, per: str) -> Any:
    """A group array with kept dimensions as the per-sample loss: ``(N,)`` per sample, 0-d otherwise."""
    if per == "sample":
        return xp.sum(x, axis=tuple(range(1, x.ndim))) if x.ndim > 1 else x
    return xp.sum(x)


def _tversky_index(xp: Any, counts: tuple, alpha: Any, beta: Any, sn: Any, sd: Any) -> tuple:
    inter, big_p, big_g = counts
    num = inter + sn
    den = (1.0 - alpha - beta) * inter + alpha * big_p + beta * big_g + sd
    ti, nz = _safe_div(xp, num, den)
    ti = xp.where(nz, ti, xp.ones_like(ti))  # 0 / 0: nothing to find and nothing found
    return ti, num, den, nz


def _focal(xp: Any, ti: Any, gamma: Any) -> tuple[Any, Any]:
    """``(1 - T)^γ`` and its derivative in ``T`` (0 at ``T = 1``, where ``γ < 1`` has none)."""
    if _ops.is_one(gamma):  # clamped: FP = P - I and FN = G - I may round below 0 (a perfect class)
        return xp.maximum(1.0 - ti, xp.zeros_like(ti)), -xp.ones_like(ti)
    miss = xp.maximum(1.0 - ti, xp.zeros_like(ti))
    pos = miss > 0
    safe = xp.where(pos, miss, xp.ones_like(miss))
    return xp.where(pos, safe ** gamma, xp.zeros_like(miss)), xp.where(pos, -gamma * safe ** (gamma - 1.0),
                                                                       xp.zeros_like(miss))


def _dense(xp: Any, z: Any, t: Any, st: dict) -> tuple[Any, Any, Any]:
    """``(p, g, m)``: probabilities, dense target and mask (elementwise; the partials recompute them)."""
    p = _probabilities(xp, z, st["axis"], st["activation"])
    g, m = _targets(xp, p, t, st["axis"], st["labels"], st["ignore_index"], st["background"])
    return p, g, m


def _overlap(xp: Any, p: Any, g: Any, m: Any, cw: Any, st: dict) -> dict:
    """The per-sample loss and the per-group statistics the partials need (small: one per group and class)."""
    axis, per = st["axis"], st["per"]
    pixels, classes = _axes(per, axis, p.ndim)
    counts = _counts(xp, p, g, m, pixels, st["squared"], st["intersection"])
    if st["mode"] == "generalized":
        inter, big_p, big_g = counts
        w = _gdl_weights(xp, big_g, axis, classes, st["weight_type"], st["background"])
        num = 2.0 * (_sum(xp, w * inter, classes) + st["smooth_numerator"])
        den = _sum(xp, w * (big_p + big_g), classes) + 2.0 * st["smooth"]
        score, nz = _safe_div(xp, num, den)
        miss = xp.maximum(1.0 - score, xp.zeros_like(score))  # rounding of a perfect prediction: never < 0
        return dict(loss=_collapse(xp, xp.where(nz, miss, xp.zeros_like(score)), per), w=w, num=num, den=den,
                    nz=nz, df=None, k=None, present=None)
    ti, num, den, nz = _tversky_index(xp, counts, st["alpha"], st["beta"], st["smooth_numerator"], st["smooth"])
    f, df = _focal(xp, ti, st["gamma"])
    k, present = _class_mean(xp, cw, counts[2], axis, classes, st["background"], st["empty"])
    per_group = f if k is None else _sum(xp, k * f, classes)
    return dict(loss=_collapse(xp, per_group, per), w=None, num=num, den=den, nz=nz, df=df, k=k,
                present=None if present is None else _collapse(xp, xp.astype(present, p.dtype), per))


def _gdl_weights(xp: Any, big_g: Any, axis: int, classes: tuple, weight_type: str, background: bool) -> Any:
    """Sudre et al.'s class weights from the target counts (constants for the gradient): ``1/G²``,
    ``1/G`` or 1; an empty class (infinite weight) takes the largest finite weight of its group
    (MONAI), 0 when every class is empty."""
    if weight_type == "uniform":
        w = xp.ones_like(big_g)
    else:
        hit = big_g > 0
        safe = xp.where(hit, big_g, xp.ones_like(big_g))
        w = 1.0 / (safe * safe if weight_type == "square" else safe)
        w = xp.where(hit, w, xp.zeros_like(w))
        fill = xp.max(w, axis=classes, keepdims=True) if classes else w
        w = xp.where(hit, w, fill + xp.zeros_like(w))
    if not background:
        w = w * _along(xp, xp.astype(xp.arange(big_g.shape[axis]) != 0, big_g.dtype), axis, big_g.ndim)
    return w


_STATS = ("w", "num", "den", "nz", "df", "k")  # the residuals: per group and class, never pixel-sized


def _overlap_fwd(xp: Any, z: Any, t: Any, cw: Any, **st: Any) -> tuple:
    out = _overlap(xp, *_dense(xp, z, t, st), cw, st)
    return out["loss"], tuple(out[k] for k in _STATS), (out["present"], None)


def _count_grads(xp: Any, out: dict, st: dict) -> tuple[Any, Any, Any]:
    """``(∂ℓ/∂I, ∂ℓ/∂P, ∂ℓ/∂G)`` per group and class (kept dimensions)."""
    num, den, nz = out["num"], out["den"], out["nz"]
    safe = xp.where(nz, den, xp.ones_like(den))
    zero = xp.zeros_like(den)
    if st["mode"] == "generalized":
        w = out["w"]
        d_i = xp.where(nz, -2.0 * w / safe, zero)
        d_p = xp.where(nz, w * num / (safe * safe), zero)
        return d_i, d_p, d_p
    alpha, beta = st["alpha"], st["beta"]
    d_t = out["df"] if out["k"] is None else out["k"] * out["df"]
    ratio = num / (safe * safe)
    d_i = xp.where(nz, d_t * (1.0 / safe - (1.0 - alpha - beta) * ratio), zero)
    d_p = xp.where(nz, -d_t * alpha * ratio, zero)
    d_g = xp.where(nz, -d_t * beta * ratio, zero)
    return d_i, d_p, d_g


def _overlap_partials(xp: Any, arrays: tuple, res: tuple, **st: Any) -> tuple:
    z, t, _ = arrays
    p, g, m = _dense(xp, z, t, st)
    d_i, d_p, d_g = _count_grads(xp, dict(zip(_STATS, res)), st)
    squared, inter = st["squared"], st["intersection"]

    def local(x: Any, other: Any, d_self: Any) -> Any:
        if inter == "product" and not squared and st["labels"] and x is p:  # one-hot g: a select, one pass
            grad = xp.where(other > 0, d_i + d_p, d_p + xp.zeros_like(x))
        else:
            di = other if inter == "product" else _step(xp, x, other, m)
            grad = d_i * di + (d_self * (2.0 * x) if squared else d_self)
        return grad if m is None else grad * m

    def dz() -> Any:
        return _activation_vjp(xp, p, local(p, g, d_p), st["axis"], st["activation"])

    dt = None if st["labels"] else (lambda: local(g, p, d_g))
    return dz, dt, None


def _step(xp: Any, x: Any, other: Any, m: Any) -> Any:
    """``∂ min(x m, o m) / ∂(x m)``: 1 below, 0 above, ½ at a tie (torch's ``abs`` has slope 0 at 0, and
    segmentation_models_pytorch forms the minimum as ``(x + o - |x - o|) / 2``)."""
    xm = x if m is None else x * m
    om = other if m is None else other * m
    one = xp.ones_like(xm)
    return xp.where(xm < om, one, xp.where(xm == om, 0.5 * one, xp.zeros_like(xm)))


_OVERLAP = Primitive("overlap", _overlap_fwd, _overlap_partials, event_axis="trailing", counted=True)


# -- input checks -----------------------------------------------------------------------------------

def _class_axis(fn: str, xp: Any, probs: Any, axis: Any) -> int:
    _checks.floating(fn, "probs", xp, probs)
    shape = _checks.shape_of(probs)
    if len(shape) < 2:
        raise _checks.error(fn, "probs", "an array of shape (N, C, ...) or (N, ..., C) (a batch axis and a class axis)",
                            f"shape {_checks.shape_str(shape)}")
    if axis is None:
        if len(shape) > 2:
            raise _checks.error(
                fn, "axis", "the class axis given for images: axis=1 (channels-first: torch, MONAI, "
                "segmentation_models_pytorch) or axis=-1 (channels-last: Keras, optax)",
                f"axis=None with probs of shape {_checks.shape_str(shape)}",
                hint="xploss does not guess the layout of dense predictions")
        return 1
    if isinstance(axis, bool) or not isinstance(axis, int) or not -len(shape) <= axis < len(shape):
        raise _checks.error(fn, "axis", f"an int in [-{len(shape)}, {len(shape)})", repr(axis))
    axis %= len(shape)
    if axis == 0:
        raise _checks.error(fn, "axis", "a class axis other than 0 (axis 0 is the batch)", "axis=0")
    if shape[axis] == 0:
        raise _checks.error(fn, "probs", f"at least one class along axis {axis}", f"shape {_checks.shape_str(shape)}")
    return axis


def _target(fn: str, be: Any, probs: Any, target: Any, axis: int, ignore_index: Any) -> tuple[Any, Any, Any]:
    """``(target, masked, invalid)``: integer class maps (``probs.shape`` without ``axis``; ``masked``:
    whether void pixels may occur) or a dense target of ``probs``' shape (``masked`` None);
    ``invalid``: the elementwise mask of out-of-range values (traced only)."""
    xp = be.xp
    shape = _checks.shape_of(probs)
    sample = shape[:axis] + shape[axis + 1:]
    if not hasattr(target, "dtype"):
        raise _checks.error(fn, "target", "an array", f"{type(target).__name__}", kind=_checks.XplossTypeError)
    if xp.isdtype(target.dtype, "integral") and len(_checks.shape_of(target)) == len(shape) - 1:
        if shape[axis] == 1:
            raise _checks.error(fn, "target", f"a target of the shape of `probs` {_checks.shape_str(shape)} (1 = "
                                "foreground) for a single-channel prediction", "an integer class map",
                                hint="one class channel has no class index to take")
        _checks.index_labels(fn, xp, target, ("probs", probs), axis,
                             f"integer class labels of shape {_checks.shape_str(sample)} (probs.shape without axis "
                             f"{axis}) or a target of shape {_checks.shape_str(shape)}", name="target")
        if ignore_index is not None and (isinstance(ignore_index, bool) or not isinstance(ignore_index, int)):
            raise _checks.error(fn, "ignore_index", "an int or None", repr(ignore_index))
        masked, target, invalid = _checks.labels_in_range(fn, be, target, shape[axis], ignore_index, name="target")
        return target, masked, invalid
    tshape = _checks.shape_of(target)
    if len(tshape) != len(shape):
        raise _checks.error(fn, "target", f"integer class labels of shape {_checks.shape_str(sample)} or a target of "
                            f"the shape of `probs` {_checks.shape_str(shape)}", f"shape {_checks.shape_str(tshape)}",
                            hint=_checks.label_hint(xp, target, sample, shape))
    if ignore_index is not None:
        raise _checks.error(fn, "ignore_index", "None with a dense (one-hot or soft) target: void pixels are "
                            "marked in integer class maps", f"ignore_index={ignore_index!r} with a target of "
                            f"dtype {_checks.dtype_name(target.dtype)}",
                            hint="or multiply both probs and target by your pixel mask")
    if not xp.isdtype(target.dtype, ("real floating", "integral", "bool")):
        raise _checks.error(fn, "target", "integer class labels or a real target",
                            f"dtype {_checks.dtype_name(target.dtype)}", kind=_checks.XplossTypeError)
    if not _checks._matches(_checks.shape_of(target), shape):
        raise _checks.error(fn, "target", f"integer class labels of shape {_checks.shape_str(sample)} or a target of "
                            f"the shape of `probs` {_checks.shape_str(shape)}",
                            f"shape {_checks.shape_str(_checks.shape_of(target))}",
                            hint=_checks.label_hint(xp, target, sample, shape))
    target = _checks.target_like(fn, xp, ("probs", probs), ("target", target))
    return target, None, _checks.in_unit_interval(fn, "target", be, target)


def _per_sample_invalid(xp: Any, bad: Any, per: str) -> Any:
    if bad is None:
        return None
    if per != "sample":
        return xp.any(bad)
    return xp.any(bad, axis=tuple(range(1, bad.ndim))) if bad.ndim > 1 else bad


def image_weight(fn: str, xp: Any, sample_weight: Any, per: str, probs: Any) -> Any:
    """A per-image ``(N,)`` weight (cast to ``probs``' dtype), refused where the loss pools the batch."""
    if sample_weight is None:
        return None
    if per != "sample":
        raise _checks.error(fn, "sample_weight", f"None with per={per!r} (one loss for the whole batch)", "an array")
    return _checks.weight(fn, xp, sample_weight, probs[(slice(None),) + (0,) * (probs.ndim - 1)])


def _smoothing(fn: str, smooth: Any, smooth_numerator: Any) -> tuple[float, float]:
    sd = _checks.number(fn, "smooth", smooth, low=0.0)
    sn = sd if smooth_numerator is None else _checks.number(fn, "smooth_numerator", smooth_numerator, low=0.0)
    return sn, sd


def _run(fn: str, probs: Any, target: Any, *, axis: Any, from_logits: Any, activation: Any, per: Any,
         include_background: Any, class_weight: Any, ignore_index: Any, sample_weight: Any, reduction: str,
         **kernel: Any) -> Any:
    be = resolve(fn, {"probs": probs, "target": target, "class_weight": class_weight,
                      "sample_weight": sample_weight})
    xp = be.xp
    axis = _class_axis(fn, xp, probs, axis)
    per = _checks.choice(fn, "per", per, PER)
    logits = _checks.flag(fn, "from_logits", from_logits)
    act = _checks.choice(fn, "activation", activation, ACTIVATIONS) if logits else None
    background = _checks.flag(fn, "include_background", include_background)
    num_classes = _checks.shape_of(probs)[axis]
    if not background and num_classes == 1:
        raise _checks.error(fn, "include_background", "True for a single-channel prediction (its one channel is the "
                            "foreground)", "False")
    target, masked, bad = _target(fn, be, probs, target, axis, ignore_index)
    labels = masked is not None
    if not logits:
        bad = _checks.either(xp, bad, _checks.in_unit_interval(fn, "probs", be, probs))
    bad_w = None
    if class_weight is not None:
        if per == "all" or kernel.get("mode") == "generalized":
            raise _checks.error(fn, "class_weight", "None " + ("with per='all' (the classes are pooled)"
                                if per == "all" else "(generalized_dice weighs the classes itself: weight_type)"),
                                "an array")
        _checks.floating(fn, "class_weight", xp, class_weight)
        cws = _checks.shape_of(class_weight)
        if len(cws) != 1 or cws[0] not in (None, num_classes):
            raise _checks.error(fn, "class_weight", f"shape ({num_classes},)", f"shape {_checks.shape_str(cws)}")
        class_weight = xp.astype(class_weight, probs.dtype)
        bad_w = _checks.nonnegative_values(fn, "class_weight", be, class_weight, "weights")
    if kernel.get("empty", "smooth") != "smooth" and per == "all":
        raise _checks.error(fn, "empty", "'smooth' with per='all' (the classes are pooled)", repr(kernel["empty"]))
    sample_weight = image_weight(fn, xp, sample_weight, per, probs)
    _checks.reduction(fn, reduction)
    st = dict(alpha=0.5, beta=0.5, gamma=1.0, squared=False, intersection="product", empty="smooth",
              weight_type="square", mode="tversky")
    st.update(kernel)
    invalid = _per_sample_invalid(xp, bad, per)
    if bad_w is not None:  # traced class weights: a negative one poisons every sample
        none = _per_sample_invalid(xp, xp.zeros_like(probs, dtype=xp.bool), per)
        invalid = xp.logical_or(none if invalid is None else invalid, xp.any(bad_w))
    return apply(be, _OVERLAP, (probs, target, class_weight), sample_weight=sample_weight,
                 invalid=invalid, reduction=reduction, axis=axis, per=per, activation=act,
                 labels=labels, ignore_index=ignore_index if masked else None, background=background, **st)


# -- the public losses ---------------------------------------------------------------------------------

_COMMON = """probs : array
        Probabilities (``from_logits=False``) or logits, real floating, shape ``(N, C, ...)`` (channels
        first) or ``(N, ..., C)`` (channels last): a batch axis 0 and a class ``axis``.
    target : array
        Integer class maps of ``probs.shape`` without ``axis`` (one-hot inside), or a dense target
        (one-hot, soft or binary masks) of ``probs``' shape and dtype (integer or bool cast).  A
        single-channel prediction needs a dense target (1 = foreground).
    axis : int, optional
        The class axis.  Required for images (``probs.ndim > 2``): ``axis=1`` for torch / MONAI /
        segmentation_models_pytorch layouts, ``axis=-1`` for Keras / optax; xploss does not guess.
        ``(N, C)`` inputs default to ``axis=1``.
    from_logits : bool, default False
        Apply ``activation`` to ``probs`` first (inside the loss: stable, differentiated through).
    activation : {"softmax", "sigmoid"}, default "softmax"
        With ``from_logits``: softmax over the classes (multi-class) or a sigmoid per channel
        (multi-label, binary).
    per : {"sample", "batch", "all"}, default "sample"
        The pooling scope of the sums.  ``"sample"``: per image and class (MONAI's default, Keras with
        ``axis`` = the spatial axes, optax), then the mean over classes: one loss per image.
        ``"batch"``: per class over the whole batch (MONAI ``batch=True``, segmentation_models_pytorch):
        one loss.  ``"all"``: everything pooled, classes included (Keras' default ``axis=None``).
    include_background : bool, default True
        ``False`` drops class 0 from the sums and the class mean (after the softmax over all classes).
    ignore_index : int, optional
        With integer class maps: pixels of that label are void, absent from every sum, so they change
        neither the value nor the gradient.
    sample_weight : array, optional
        ``(N,)`` per-image weight (``per="sample"`` only).
    reduction : {"mean", "sum", "none", "weighted_mean", "count", "total_weight"}
        Over the per-image losses (``per="sample"``); with ``per="batch"`` or ``"all"`` the loss is one
        number whatever the reduction."""

_SMOOTH = """smooth : float, default 1e-5
        ``s`` in the denominator of the Tversky form (and in the numerator unless
        ``smooth_numerator`` is given).
    smooth_numerator : float, optional
        ``s_n``; ``0`` with ``smooth=ε`` is Keras' placement (ε in the denominator only)."""

_CLASSES = """class_weight : array, optional
        ``(C,)`` non-negative weights of the class mean ``Σ w ℓ / Σ w`` (no gradient).
    empty : {"smooth", "zero", "ignore"}, default "smooth"
        A class without target pixels in its group (``G = 0``): ``"smooth"`` leaves it to the smoothing
        (loss ≈ 0 if nothing is predicted, ≈ 1 otherwise; MONAI), ``"zero"`` gives it loss 0 and keeps
        it in the class mean (segmentation_models_pytorch), ``"ignore"`` leaves it out of the mean (an
        image without any target class then leaves the batch mean)."""


def _docs(fn: Any) -> Any:
    fn.__doc__ = fn.__doc__.replace("{common}", _COMMON).replace("{smooth}", _SMOOTH).replace("{classes}", _CLASSES)
    return fn


@loss
@_docs
def dice(probs: Any, target: Any, /, *, axis: int | None = None, from_logits: bool = False,
         activation: str = "softmax", squared: bool = False, intersection: str = "product", smooth: float = 1e-5,
         smooth_numerator: float | None = None, per: str = "sample", include_background: bool = True,
         class_weight: Any = None, ignore_index: int | None = None, empty: str = "smooth",
         sample_weight: Any = None, reduction: str = "mean") -> Any:
    r"""Soft Dice loss, one minus the Sørensen–Dice coefficient of probabilities and targets.

    .. math::
        \ell_c = 1 - \frac{I_c + s_n}{I_c + \tfrac12 FP_c + \tfrac12 FN_c + s}
               = 1 - \frac{2 I_c + 2 s_n}{P_c + G_c + 2 s}

    per class and group (the module's soft counts ``I, P, G``), averaged over the classes.

    Parameters
    ----------
    {common}
    squared : bool, default False
        ``P = Σ p²`` and ``G = Σ g²`` (Milletari et al.'s V-Net form, the seeds' and MONAI's
        ``squared_pred``).
    intersection : {"product", "min"}, default "product"
        ``I = Σ p g``, or ``Σ min(p, g)`` (segmentation_models_pytorch; equal for hard targets).
    {smooth}
    {classes}

    Returns
    -------
    array
        Scalar, or the per-image losses ``(N,)`` for ``reduction="none"`` with ``per="sample"``.

    Raises
    ------
    XplossError
        ``axis`` missing for images or not a class axis, a target of another shape, class labels out of
        range (eagerly), probabilities or targets outside ``[0, 1]`` (eagerly), ``ignore_index`` with a
        dense target, ``sample_weight`` or ``class_weight`` where the scope has none.

    Notes
    -----
    The smoothing sits in the Tversky form for the whole family, so ``dice`` equals
    ``tversky(alpha=0.5, beta=0.5)`` for every ``smooth``.  A class with ``I = P = G = 0`` and no
    smoothing scores 1 (loss 0) and has no gradient.

    See Also
    --------
    keras.losses.Dice : ``Dice()(y, p)`` = ``dice(p, y, axis=-1, per="all", smooth=5e-8,
        smooth_numerator=0)`` (ε = 1e-7 in the ``P + G + ε`` form); ``Dice(axis=(1, 2))`` on
        channels-last images = the same with ``per="sample"``.
    monai.losses.DiceLoss : ``DiceLoss(smooth_nr=a, smooth_dr=b)`` = ``dice(..., axis=1,
        smooth_numerator=a / 2, smooth=b / 2)`` (``batch=True``: ``per="batch"``; ``squared_pred``:
        ``squared``; ``softmax=True``: ``from_logits``; ``weight`` with mean 1: ``class_weight``).
    optax.losses.dice_loss : ``dice_loss(logits, onehot)`` (per sample) = ``dice(logits, onehot,
        axis=-1, from_logits=True, smooth=1.0, reduction="none")``.
    segmentation_models_pytorch.losses.DiceLoss : ``DiceLoss("multiclass", smooth=s)`` =
        ``dice(..., axis=1, from_logits=True, per="batch", intersection="min", smooth=s, empty="zero")``.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> p = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])  # three pixels of one image, two classes
    >>> y = np.array([0, 1, 1])
    >>> probs, labels = p.T[None], y[None]  # (1, 2, 3) channels first, (1, 3)
    >>> round(float(xploss.dice(probs, labels, axis=1, smooth=0.0)), 6)
    0.30303
    """
    return _run("dice", probs, target, axis=axis, from_logits=from_logits, activation=activation, per=per,
                include_background=include_background, class_weight=class_weight, ignore_index=ignore_index,
                sample_weight=sample_weight, reduction=reduction, squared=_checks.flag("dice", "squared", squared),
                intersection=_checks.choice("dice", "intersection", intersection, INTERSECTIONS),
                empty=_checks.choice("dice", "empty", empty, EMPTY),
                **_smooth_static("dice", smooth, smooth_numerator))


def _smooth_static(fn: str, smooth: Any, smooth_numerator: Any) -> dict:
    sn, sd = _smoothing(fn, smooth, smooth_numerator)
    return dict(smooth=sd, smooth_numerator=sn)


@loss
@_docs
def tversky(probs: Any, target: Any, /, *, alpha: float = 0.5, beta: float = 0.5, axis: int | None = None,
            from_logits: bool = False, activation: str = "softmax", intersection: str = "product",
            smooth: float = 1e-5, smooth_numerator: float | None = None, per: str = "sample",
            include_background: bool = True, class_weight: Any = None, ignore_index: int | None = None,
            empty: str = "smooth", sample_weight: Any = None, reduction: str = "mean") -> Any:
    r"""Tversky loss (Salehi et al. 2017): a Dice with separate weights on false positives and negatives.

    .. math:: \ell_c = 1 - \frac{I_c + s_n}{I_c + \alpha\, FP_c + \beta\, FN_c + s},
        \quad FP_c = \sum p (1 - g), \; FN_c = \sum (1 - p) g

    ``α`` weighs the **false positives** (Keras 3.16, MONAI, segmentation_models_pytorch).

    Parameters
    ----------
    {common}
    alpha, beta : float, default 0.5
        Non-negative weights of the false positives and the false negatives.  ``α = β = ½`` is
        :func:`dice`, ``α = β = 1`` is :func:`jaccard` (same smoothing).
    intersection : {"product", "min"}, default "product"
        ``I = Σ p g``, or ``Σ min(p, g)`` (segmentation_models_pytorch).
    {smooth}
    {classes}

    Returns
    -------
    array
        Scalar, or the per-image losses ``(N,)`` for ``reduction="none"`` with ``per="sample"``.

    Raises
    ------
    XplossError
        As :func:`dice`; a negative ``alpha`` or ``beta``.

    Notes
    -----
    Keras up to 3.15.1 swapped the roles (its ``alpha`` multiplied the false negatives; fixed in 3.16,
    keras-team/keras#23333): on Keras 3.15 ``Tversky(alpha=a, beta=b)`` is ``tversky(alpha=b, beta=a)``.

    See Also
    --------
    keras.losses.Tversky : 3.16: ``Tversky(alpha=a, beta=b)(y, p)`` = ``tversky(p, y, alpha=a, beta=b,
        axis=-1, per="all", smooth=1e-7, smooth_numerator=0)``.
    monai.losses.TverskyLoss : ``TverskyLoss(alpha=a, beta=b, smooth_nr=u, smooth_dr=v)`` =
        ``tversky(..., axis=1, alpha=a, beta=b, smooth_numerator=u, smooth=v)``.
    optax.losses.dice_loss : ``dice_loss(logits, onehot, alpha=a, beta=b)`` = ``tversky(logits, onehot,
        axis=-1, from_logits=True, alpha=a, beta=b, smooth=1.0, reduction="none")``.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> y = np.array([[1.0, 1.0, 0.0, 0.0]])[:, None]  # (1, 1, 4): one image, one channel
    >>> p = np.array([[0.9, 0.2, 0.6, 0.1]])[:, None]
    >>> round(float(xploss.tversky(p, y, alpha=0.3, beta=0.7, axis=1, smooth=0.0)), 4)
    0.433
    """
    fn = "tversky"
    return _run(fn, probs, target, axis=axis, from_logits=from_logits, activation=activation, per=per,
                include_background=include_background, class_weight=class_weight, ignore_index=ignore_index,
                sample_weight=sample_weight, reduction=reduction,
                alpha=_checks.number(fn, "alpha", alpha, low=0.0), beta=_checks.number(fn, "beta", beta, low=0.0),
                intersection=_checks.choice(fn, "intersection", intersection, INTERSECTIONS),
                empty=_checks.choice(fn, "empty", empty, EMPTY), **_smooth_static(fn, smooth, smooth_numerator))


@loss
@_docs
def focal_tversky(probs: Any, target: Any, /, *, alpha: float = 0.3, beta: float = 0.7, gamma: float = 0.75,
                  axis: int | None = None, from_logits: bool = False, activation: str = "softmax",
                  smooth: float = 1e-5, smooth_numerator: float | None = None, per: str = "sample",
                  include_background: bool = True, class_weight: Any = None, ignore_index: int | None = None,
                  empty: str = "smooth", sample_weight: Any = None, reduction: str = "mean") -> Any:
    r"""Focal Tversky loss (Abraham & Khan 2019): the per-class Tversky loss raised to ``γ``.

    .. math:: \ell_c = \Big(1 - \frac{I_c + s_n}{I_c + \alpha\, FP_c + \beta\, FN_c + s}\Big)^{\gamma}

    Parameters
    ----------
    {common}
    alpha, beta : float, default 0.3, 0.7
        Weights of the false positives and negatives (the paper's best setting weighs the false
        negatives by 0.7; it writes them in the other order).
    gamma : float, default 0.75
        The exponent, ``> 0``: the paper's ``1/γ`` with its recommended ``γ = 4/3``.  ``γ = 1`` is
        :func:`tversky`.
    {smooth}
    {classes}

    Returns
    -------
    array
        Scalar, or the per-image losses ``(N,)`` for ``reduction="none"`` with ``per="sample"``.

    Raises
    ------
    XplossError
        As :func:`tversky`; ``gamma <= 0``.

    Notes
    -----
    With ``γ < 1`` the derivative of ``(1 - T)^γ`` is unbounded as ``T → 1``; at ``T = 1`` exactly
    (a perfect class) xploss gives 0, the minimum's subgradient, not ``inf``.  segmentation_models_pytorch's
    ``TverskyLoss(gamma=γ)`` raises the *class mean* to ``γ`` instead: it equals this loss only for
    ``γ = 1``.

    See Also
    --------
    tversky : ``focal_tversky(gamma=1)``.
    segmentation_models_pytorch.losses.TverskyLoss : ``TverskyLoss("multiclass", alpha=a, beta=b,
        gamma=1)`` = ``focal_tversky(..., axis=1, from_logits=True, alpha=a, beta=b, gamma=1, per="batch",
        empty="zero", smooth=0)`` for hard targets (class maps, one-hot), where SMP's ``Σ min(p, g)`` is
        ``Σ p g``; for soft targets use ``tversky(..., intersection="min")`` (no such option here).

    Examples
    --------
    >>> import numpy as np, xploss
    >>> y = np.array([[1.0, 1.0, 0.0, 0.0]])[:, None]
    >>> p = np.array([[0.9, 0.2, 0.6, 0.1]])[:, None]
    >>> round(float(xploss.focal_tversky(p, y, axis=1, smooth=0.0)), 4)
    0.5338
    """
    fn = "focal_tversky"
    gamma = _checks.number(fn, "gamma", gamma, low=0.0, low_open=True, traced=True)
    return _run(fn, probs, target, axis=axis, from_logits=from_logits, activation=activation, per=per,
                include_background=include_background, class_weight=class_weight, ignore_index=ignore_index,
                sample_weight=sample_weight, reduction=reduction,
                alpha=_checks.number(fn, "alpha", alpha, low=0.0), beta=_checks.number(fn, "beta", beta, low=0.0),
                gamma=gamma, empty=_checks.choice(fn, "empty", empty, EMPTY),
                **_smooth_static(fn, smooth, smooth_numerator))


@loss
@_docs
def jaccard(probs: Any, target: Any, /, *, axis: int | None = None, from_logits: bool = False,
            activation: str = "softmax", squared: bool = False, intersection: str = "product", smooth: float = 1e-5,
            smooth_numerator: float | None = None, per: str = "sample", include_background: bool = True,
            class_weight: Any = None, ignore_index: int | None = None, empty: str = "smooth",
            sample_weight: Any = None, reduction: str = "mean") -> Any:
    r"""Soft Jaccard (IoU) loss: one minus the soft intersection over union.

    .. math:: \ell_c = 1 - \frac{I_c + s_n}{P_c + G_c - I_c + s}

    Parameters
    ----------
    {common}
    squared : bool, default False
        ``P = Σ p²`` and ``G = Σ g²`` (MONAI ``squared_pred``).
    intersection : {"product", "min"}, default "product"
        ``I = Σ p g``, or ``Σ min(p, g)`` (segmentation_models_pytorch).
    {smooth}
    {classes}

    Returns
    -------
    array
        Scalar, or the per-image losses ``(N,)`` for ``reduction="none"`` with ``per="sample"``.

    Raises
    ------
    XplossError
        As :func:`dice`.

    Notes
    -----
    ``jaccard`` is ``tversky(alpha=1, beta=1)`` for every ``smooth``.

    See Also
    --------
    monai.losses.DiceLoss : ``DiceLoss(jaccard=True, smooth_nr=a, smooth_dr=b)`` = ``jaccard(...,
        axis=1, smooth_numerator=a / 2, smooth=b / 2)`` (MONAI doubles ``I`` and the union).
    segmentation_models_pytorch.losses.JaccardLoss : ``JaccardLoss("multiclass", smooth=s)`` =
        ``jaccard(..., axis=1, from_logits=True, per="batch", intersection="min", smooth=s, empty="zero")``.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> y = np.array([[1.0, 1.0, 0.0, 0.0]])[:, None]
    >>> p = np.array([[0.9, 0.2, 0.6, 0.1]])[:, None]
    >>> round(float(xploss.jaccard(p, y, axis=1, smooth=0.0)), 6)
    0.592593
    """
    fn = "jaccard"
    return _run(fn, probs, target, axis=axis, from_logits=from_logits, activation=activation, per=per,
                include_background=include_background, class_weight=class_weight, ignore_index=ignore_index,
                sample_weight=sample_weight, reduction=reduction, alpha=1.0, beta=1.0,
                squared=_checks.flag(fn, "squared", squared),
                intersection=_checks.choice(fn, "intersection", intersection, INTERSECTIONS),
                empty=_checks.choice(fn, "empty", empty, EMPTY), **_smooth_static(fn, smooth, smooth_numerator))


@loss
@_docs
def generalized_dice(probs: Any, target: Any, /, *, axis: int | None = None, from_logits: bool = False,
                     activation: str = "softmax", weight_type: str = "square", smooth: float = 1e-5,
                     smooth_numerator: float | None = None, per: str = "sample", include_background: bool = True,
                     ignore_index: int | None = None, sample_weight: Any = None, reduction: str = "mean") -> Any:
    r"""Generalised Dice loss (Sudre et al. 2017): one Dice over the classes weighted by their size.

    .. math:: \ell = 1 - \frac{2 \sum_c w_c I_c + 2 s_n}{\sum_c w_c (P_c + G_c) + 2 s},
        \qquad w_c = 1 / G_c^2

    per group (``per``); the weights come from the target and carry no gradient.

    Parameters
    ----------
    {common}
    weight_type : {"square", "simple", "uniform"}, default "square"
        ``w = 1/G²``, ``1/G`` or 1.  A class absent from the group (an infinite weight) takes the largest
        finite weight of the group, 0 when every class is absent (MONAI).  ``"uniform"`` is
        ``dice(per="all")`` restricted to the group.
    {smooth}

    Returns
    -------
    array
        Scalar, or the per-image losses ``(N,)`` for ``reduction="none"`` with ``per="sample"``.

    Raises
    ------
    XplossError
        As :func:`dice`; ``per="all"`` (the classes are what it weighs).

    See Also
    --------
    monai.losses.GeneralizedDiceLoss : ``GeneralizedDiceLoss(smooth_nr=a, smooth_dr=b)`` =
        ``generalized_dice(..., axis=1, smooth_numerator=a / 2, smooth=b / 2)`` (``batch=True``:
        ``per="batch"``; ``w_type``: ``weight_type``).

    Examples
    --------
    >>> import numpy as np, xploss
    >>> p = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]).T[None]
    >>> round(float(xploss.generalized_dice(p, np.array([[0, 1, 1]]), axis=1, smooth=0.0)), 6)
    0.319149
    """
    fn = "generalized_dice"
    if per == "all":
        raise _checks.error(fn, "per", "'sample' or 'batch' (the class weights need the classes apart)", "'all'")
    return _run(fn, probs, target, axis=axis, from_logits=from_logits, activation=activation, per=per,
                include_background=include_background, class_weight=None, ignore_index=ignore_index,
                sample_weight=sample_weight, reduction=reduction, mode="generalized",
                weight_type=_checks.choice(fn, "weight_type", weight_type, WEIGHT_TYPES),
                **_smooth_static(fn, smooth, smooth_numerator))

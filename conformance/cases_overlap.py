"""Conformance cases of ``xploss.losses._overlap`` (Dice, Tversky, focal Tversky, Jaccard, generalised Dice).

References (BUILTINS-2 §2.1-2.3, BUILTINS §2.16):

* MONAI 1.6.1 ``DiceLoss`` (default, ``batch``, ``squared_pred``, ``jaccard``, ``include_background=False``,
  ``softmax`` from logits, ``to_onehot_y`` label maps, ``ignore_index``, ``weight``), ``TverskyLoss`` and
  ``GeneralizedDiceLoss`` (``w_type`` square / simple / uniform, ``batch``).  MONAI writes Dice and Jaccard
  in the ``2I + a / … + b`` form: ``smooth_nr=a, smooth_dr=b`` is xploss' ``smooth_numerator=a/2,
  smooth=b/2`` (its Tversky smoothing is the Tversky form's own: direct).
* segmentation_models_pytorch 0.6.0 ``DiceLoss``, ``JaccardLoss``, ``TverskyLoss`` (loaded from the
  installed files without the package ``__init__``: :mod:`conformance.stubs`): batch-pooled sums
  (``per="batch"``), ``I = Σ min(p, g)`` (``intersection="min"``), absent classes scored 0 and counted
  (``empty="zero"``), softmax / sigmoid from logits.
* Keras 3.15.1 ``Dice`` (``axis=None``: everything pooled, ``per="all"``; ``axis=(1, 2)`` on channels-last
  images: ``per="sample"``) and ``Tversky``, ε = 1e-7 in the denominator only (``smooth=5e-8`` in the
  Tversky form for Dice, ``1e-7`` for Tversky; ``smooth_numerator=0``).  Keras ≤ 3.15.1 swaps Tversky's
  α and β (keras-team/keras#23333): the rows pass Keras ``alpha=β, beta=α``.  Gradients by
  ``tf.GradientTape`` on the TensorFlow backend.
* optax ``dice_loss`` (channels last, softmax or a sigmoid for one channel, ``smooth=1`` in both places,
  ``alpha`` on the false positives, per-sample output), through the JAX → torch autograd bridge.

Inputs: softmax probabilities of continuous logits (no ``min(p, g)`` tie, no class predicted perfectly).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .cases import Case, Formula, In, K, Tol, X
from .cases_binary import optax_ref

N, C, H, W = 2, 3, 4, 5
VOID = 7
MONAI_NOTE = ("MONAI 1.6.1; smooth_nr=a, smooth_dr=b map to smooth_numerator=a/2, smooth=b/2 (the 2I + a / P + G + b "
              "form) for Dice, Jaccard and the generalised Dice")
MONAI_GDL_TOL = Tol("MONAI computes the class weights in float32 (w_func(ground_o.float())): 1/G² and 1/G carry "
                    "float32 rounding (~1e-9 relative) into the float64 loss", float64=1e-8)
MONAI_TVERSKY = "MONAI 1.6.1 TverskyLoss: smooth_nr, smooth_dr are the Tversky form's own (direct)"
SMP_NOTE = ("segmentation_models_pytorch 0.6.0 (stubs): per class over the batch, I = (P + G − |p − g|₁)/2 = "
            "Σ min(p, g), classes without target pixels score 0 and count in the mean")
KERAS_NOTE = "Keras 3.15.1 (TensorFlow backend): ε = 1e-7 in the denominator only"
KERAS_SWAP = ("Keras 3.15.1 swaps Tversky's roles (its alpha multiplies the false negatives; fixed in 3.16, "
              "keras-team/keras#23333): the row passes Keras alpha=0.7, beta=0.3 for xploss alpha=0.3, beta=0.7")
OPTAX_NOTE = "optax dice_loss (JAX) via a torch autograd bridge; smooth=1 in numerator and denominator"


def _softmax(z: np.ndarray, axis: int = 1) -> np.ndarray:
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _one_hot(y: np.ndarray) -> np.ndarray:
    return np.moveaxis(np.eye(C)[y], -1, 1)


def maps(void: bool = False, absent: bool = False) -> Any:
    """Channels-first logits ``z``, probabilities ``p``, class maps ``y`` (and MONAI's ``y1`` = y[:, None]),
    one-hot ``oh``, soft targets ``ts``; channels-last ``zl``, ``pl``, ``ohl``, ``tsl``; multi-label logits
    ``zm`` and masks ``ml`` (``mll``); one-channel logits ``x1`` and masks ``b1`` (``x1l``, ``b1l`` channels
    last); class weights ``cw``.  ``void``: 20 % of ``y`` is ``VOID``; ``absent``: class 2 is missing from image 0."""
    def gen(rng: np.random.Generator) -> dict:
        z = rng.normal(scale=1.5, size=(N, C, H, W))
        y = rng.integers(0, C, size=(N, H, W))
        if absent:
            y[0][y[0] == 2] = 1
        oh = _one_hot(y)
        if void:
            y[rng.random(size=y.shape) < 0.2] = VOID
        p = _softmax(z)
        ts = _softmax(rng.normal(scale=2.0, size=(N, C, H, W)))
        x1 = rng.normal(scale=1.5, size=(N, 1, H, W))
        b1 = (rng.random(size=x1.shape) < 0.4) * 1.0
        ml = (rng.random(size=z.shape) < 0.4) * 1.0
        return {"z": z, "p": p, "y": y, "y1": y[:, None], "oh": oh, "ts": ts,
                "zl": np.moveaxis(z, 1, -1).copy(), "pl": np.moveaxis(p, 1, -1).copy(),
                "ohl": np.moveaxis(oh, 1, -1).copy(), "tsl": np.moveaxis(ts, 1, -1).copy(),
                "zm": z, "ml": ml, "mll": np.moveaxis(ml, 1, -1).copy(),
                "x1": x1, "b1": b1, "x1l": np.moveaxis(x1, 1, -1).copy(), "b1l": np.moveaxis(b1, 1, -1).copy(),
                "cw": np.array([0.5, 1.0, 1.5])}
    return gen


# -- MONAI ------------------------------------------------------------------------------------------

def monai(cls: str, *args: str, note: str = MONAI_NOTE, tol: Tol | None = None, **ctor: Any) -> Any:
    def fn(torch: Any, *ts: Any) -> Any:
        import monai.losses

        kw = {k: torch.as_tensor(v, dtype=ts[0].dtype) if k == "weight" else v for k, v in ctor.items()}
        return getattr(monai.losses, cls)(**kw)(*ts)
    opts = ", ".join(f"{k}={v!r}" if not isinstance(v, np.ndarray) else f"{k}={list(v)}" for k, v in ctor.items())
    call = Formula(f"monai.losses.{cls}({opts})({', '.join(args)})", fn, *args, note=note)
    return call if tol is None else dataclasses.replace(call, tol=tol)


def _h(a: float) -> float:
    return a / 2


MONAI_ROWS = [
    # id, xploss call, reference, inputs, gradient inputs
    ("dice/monai-default", X("dice", "p", "oh", axis=1, smooth_numerator=_h(1e-5), smooth=_h(1e-5)),
     monai("DiceLoss", "p", "oh"), maps(), ("p",)),
    ("dice/monai-soft-target", X("dice", "p", "ts", axis=1, smooth_numerator=_h(1e-5), smooth=_h(1e-5)),
     monai("DiceLoss", "p", "ts"), maps(), ("p", "ts")),
    ("dice/monai-batch", X("dice", "p", "oh", axis=1, per="batch", smooth_numerator=_h(0.5), smooth=_h(1.0)),
     monai("DiceLoss", "p", "oh", batch=True, smooth_nr=0.5, smooth_dr=1.0), maps(), ("p",)),
    ("dice/monai-squared", X("dice", "p", "ts", axis=1, squared=True, smooth_numerator=_h(1e-5), smooth=_h(1e-5)),
     monai("DiceLoss", "p", "ts", squared_pred=True), maps(), ("p", "ts")),
    ("jaccard/monai", X("jaccard", "p", "oh", axis=1, smooth_numerator=_h(1e-5), smooth=_h(1e-5)),
     monai("DiceLoss", "p", "oh", jaccard=True), maps(), ("p",)),
    ("jaccard/monai-squared-batch", X("jaccard", "p", "oh", axis=1, squared=True, per="batch",
                                      smooth_numerator=_h(1e-3), smooth=_h(1e-3)),
     monai("DiceLoss", "p", "oh", jaccard=True, squared_pred=True, batch=True, smooth_nr=1e-3, smooth_dr=1e-3),
     maps(), ("p",)),
    ("dice/monai-no-background", X("dice", "p", "oh", axis=1, include_background=False, smooth_numerator=_h(1e-5),
                                   smooth=_h(1e-5)),
     monai("DiceLoss", "p", "oh", include_background=False), maps(), ("p",)),
    ("dice/monai-softmax-labels", X("dice", "z", "y", axis=1, from_logits=True, smooth_numerator=_h(1e-5),
                                    smooth=_h(1e-5)),
     monai("DiceLoss", "z", "y1", softmax=True, to_onehot_y=True), maps(), ("z",)),
    ("dice/monai-sigmoid-multilabel", X("dice", "zm", "ml", axis=1, from_logits=True, activation="sigmoid",
                                        smooth_numerator=_h(1e-5), smooth=_h(1e-5)),
     monai("DiceLoss", "zm", "ml", sigmoid=True), maps(), ("zm", "ml")),
    ("dice/monai-ignore_index", X("dice", "z", "y", axis=1, from_logits=True, ignore_index=VOID,
                                  smooth_numerator=_h(1e-5), smooth=_h(1e-5)),
     monai("DiceLoss", "z", "y1", softmax=True, to_onehot_y=True, ignore_index=VOID), maps(void=True), ("z",)),
    ("dice/monai-ignore_index-no-background", X("dice", "z", "y", axis=1, from_logits=True, ignore_index=VOID,
                                                include_background=False, per="batch", smooth_numerator=_h(1e-5),
                                                smooth=_h(1e-5)),
     monai("DiceLoss", "z", "y1", softmax=True, to_onehot_y=True, ignore_index=VOID, include_background=False,
           batch=True), maps(void=True), ("z",)),
    ("dice/monai-absent-class", X("dice", "p", "y", axis=1, smooth_numerator=_h(1e-5), smooth=_h(1e-5)),
     monai("DiceLoss", "p", "y1", to_onehot_y=True), maps(absent=True), ("p",)),
    ("dice/monai-weight", X("dice", "p", "y", axis=1, class_weight=In("cw"), smooth_numerator=_h(1e-5),
                            smooth=_h(1e-5)),
     monai("DiceLoss", "p", "y1", to_onehot_y=True, weight=np.array([0.5, 1.0, 1.5])), maps(), ("p",)),
    ("tversky/monai", X("tversky", "p", "oh", axis=1, alpha=0.3, beta=0.7, smooth_numerator=1e-5, smooth=1e-5),
     monai("TverskyLoss", "p", "oh", alpha=0.3, beta=0.7, note=MONAI_TVERSKY), maps(), ("p",)),
    ("tversky/monai-softmax-ignore-batch", X("tversky", "z", "y", axis=1, from_logits=True, alpha=0.3, beta=0.7,
                                             ignore_index=VOID, per="batch", smooth=0.1),
     monai("TverskyLoss", "z", "y1", alpha=0.3, beta=0.7, softmax=True, to_onehot_y=True, ignore_index=VOID,
           batch=True, smooth_nr=0.1, smooth_dr=0.1, note=MONAI_TVERSKY), maps(void=True), ("z",)),
    ("tversky/monai-soft-target", X("tversky", "p", "ts", axis=1, alpha=0.8, beta=0.2, smooth=1e-5),
     monai("TverskyLoss", "p", "ts", alpha=0.8, beta=0.2, note=MONAI_TVERSKY), maps(), ("p", "ts")),
]
for _wt in ("square", "simple", "uniform"):
    for _batch in (False, True):
        MONAI_ROWS.append((
            f"generalized_dice/monai-{_wt}" + ("-batch" if _batch else ""),
            X("generalized_dice", "p", "y", axis=1, weight_type=_wt, per="batch" if _batch else "sample",
              smooth_numerator=_h(1e-5), smooth=_h(1e-5)),
            monai("GeneralizedDiceLoss", "p", "y1", to_onehot_y=True, w_type=_wt, batch=_batch,
                  tol=None if _wt == "uniform" else MONAI_GDL_TOL),
            maps(absent=True), ("p",)))
MONAI_ROWS.append((
    "generalized_dice/monai-softmax-no-background",
    X("generalized_dice", "z", "y", axis=1, from_logits=True, include_background=False, smooth_numerator=_h(1e-5),
      smooth=_h(1e-5)),
    monai("GeneralizedDiceLoss", "z", "y1", to_onehot_y=True, softmax=True, include_background=False,
          tol=MONAI_GDL_TOL),
    maps(absent=True), ("z",)))


# -- segmentation_models_pytorch --------------------------------------------------------------------

def smp(cls: str, mode: str, *args: str, **ctor: Any) -> Any:
    module = {"DiceLoss": "dice", "JaccardLoss": "jaccard", "TverskyLoss": "tversky"}[cls]

    def fn(torch: Any, x: Any, y: Any) -> Any:
        from . import stubs

        return getattr(stubs.load(f"segmentation_models_pytorch.losses.{module}"), cls)(mode, **ctor)(x, y)
    opts = "".join(f", {k}={v!r}" for k, v in ctor.items())
    return Formula(f"segmentation_models_pytorch.losses.{cls}({mode!r}{opts})({', '.join(args)})", fn, *args,
                   note=SMP_NOTE)


SMP_X = dict(axis=1, from_logits=True, per="batch", intersection="min", empty="zero")
SMP_ROWS = [
    ("dice/smp-multiclass", X("dice", "z", "y", smooth=0.0, **SMP_X), smp("DiceLoss", "multiclass", "z", "y"),
     maps(absent=True), ("z",)),
    ("dice/smp-multiclass-smooth", X("dice", "z", "y", smooth=1.0, **SMP_X),
     smp("DiceLoss", "multiclass", "z", "y", smooth=1.0), maps(), ("z",)),
    ("dice/smp-multiclass-ignore_index", X("dice", "z", "y", smooth=0.0, ignore_index=VOID, **SMP_X),
     smp("DiceLoss", "multiclass", "z", "y", ignore_index=VOID), maps(void=True), ("z",)),
    ("dice/smp-multilabel", X("dice", "zm", "ml", smooth=0.5, activation="sigmoid", **SMP_X),
     smp("DiceLoss", "multilabel", "zm", "ml", smooth=0.5), maps(), ("zm",)),
    ("dice/smp-binary", X("dice", "x1", "b1", smooth=0.0, activation="sigmoid", **SMP_X),
     smp("DiceLoss", "binary", "x1", "b1"), maps(), ("x1",)),
    ("jaccard/smp-multiclass", X("jaccard", "z", "y", smooth=0.0, **SMP_X), smp("JaccardLoss", "multiclass", "z", "y"),
     maps(absent=True), ("z",)),
    ("jaccard/smp-multiclass-ignore_index-smooth", X("jaccard", "z", "y", smooth=0.3, ignore_index=VOID, **SMP_X),
     smp("JaccardLoss", "multiclass", "z", "y", smooth=0.3, ignore_index=VOID), maps(void=True), ("z",)),
    ("tversky/smp-multiclass", X("tversky", "z", "y", alpha=0.3, beta=0.7, smooth=0.0, **SMP_X),
     smp("TverskyLoss", "multiclass", "z", "y", alpha=0.3, beta=0.7), maps(absent=True), ("z",)),
    # hard targets: Σ min(p, g) = Σ p g, so focal_tversky (product only) at γ = 1 is SMP's TverskyLoss
    ("focal_tversky/smp-multiclass-gamma1", X("focal_tversky", "z", "y", alpha=0.3, beta=0.7, gamma=1.0, smooth=0.0,
                                              **{k: v for k, v in SMP_X.items() if k != "intersection"}),
     smp("TverskyLoss", "multiclass", "z", "y", alpha=0.3, beta=0.7, gamma=1.0), maps(absent=True), ("z",)),
]


# -- focal Tversky (Abraham & Khan 2019): no built-in; the paper's formula in torch -----------------------

def focal_tversky_formula(alpha: float, beta: float, gamma: float, smooth: float) -> Any:
    """Per image and class TI = (I + s)/(I + α FP + β FN + s) from one-hot ``oh``; (1 − TI)^γ averaged over
    the classes, then over the images (the paper sums over classes; xploss averages, as its Dice does)."""
    def fn(torch: Any, p: Any, oh: Any) -> Any:
        dims = tuple(range(2, p.ndim))
        i = (p * oh).sum(dims)
        fp, fn_ = (p * (1 - oh)).sum(dims), ((1 - p) * oh).sum(dims)
        ti = (i + smooth) / (i + alpha * fp + beta * fn_ + smooth)
        return ((1 - ti) ** gamma).mean()
    return Formula(f"mean over (b, c) of (1 − TI)^{gamma:g}, TI = (TP + {smooth:g})/(TP + {alpha:g}·FP + {beta:g}·FN + "
                   f"{smooth:g})", fn, "p", "oh", note="Abraham & Khan 2019, the focal Tversky loss, in torch")


FOCAL_ROWS = [
    ("focal_tversky/formula", X("focal_tversky", "p", "oh", axis=1, smooth=1e-5),
     focal_tversky_formula(0.3, 0.7, 0.75, 1e-5), maps(), ("p",)),
    ("focal_tversky/formula-gamma-4/3", X("focal_tversky", "p", "oh", axis=1, gamma=4 / 3, alpha=0.7, beta=0.3,
                                          smooth=0.5),
     focal_tversky_formula(0.7, 0.3, 4 / 3, 0.5), maps(), ("p",)),
]


# -- Keras ------------------------------------------------------------------------------------------

KERAS_ROWS = [
    ("dice/keras-axis-none", X("dice", "pl", "ohl", axis=-1, per="all", smooth=5e-8, smooth_numerator=0.0),
     K("Dice", "ohl", "pl", note=KERAS_NOTE), maps(), ("pl",)),
    ("dice/keras-axis-none-soft", X("dice", "pl", "tsl", axis=-1, per="all", smooth=5e-8, smooth_numerator=0.0),
     K("Dice", "tsl", "pl", note=KERAS_NOTE), maps(), ("pl", "tsl")),
    ("dice/keras-axis-spatial", X("dice", "pl", "ohl", axis=-1, per="sample", smooth=5e-8, smooth_numerator=0.0),
     K("Dice", "ohl", "pl", ctor={"axis": (1, 2)}, note=KERAS_NOTE), maps(), ("pl",)),
    # multi-label masks: pooled over everything, one-hot targets and softmax rows would give FP = FN (no swap seen)
    ("tversky/keras-3.15-swapped", X("tversky", "pl", "mll", axis=-1, alpha=0.3, beta=0.7, per="all", smooth=1e-7,
                                     smooth_numerator=0.0),
     K("Tversky", "mll", "pl", ctor={"alpha": 0.7, "beta": 0.3}, note=KERAS_SWAP), maps(), ("pl", "mll")),
    ("tversky/keras-3.15-swapped-spatial", X("tversky", "pl", "ohl", axis=-1, alpha=0.8, beta=0.1, smooth=1e-7,
                                             smooth_numerator=0.0),
     K("Tversky", "ohl", "pl", ctor={"alpha": 0.1, "beta": 0.8, "axis": (1, 2)}, note=KERAS_SWAP), maps(), ("pl",)),
]


# -- optax ------------------------------------------------------------------------------------------

def _dice_loss(**kw: Any) -> Any:
    def fn(losses: Any, z: Any, t: Any, *rest: Any) -> Any:
        extra = {"class_weights": rest[0]} if rest else {}
        return losses.dice_loss(z, t, **kw, **extra)
    return fn


OPTAX_X = dict(axis=-1, from_logits=True, smooth=1.0, reduction="none")
OPTAX_ROWS = [
    ("dice/optax", X("dice", "zl", "ohl", **OPTAX_X), optax_ref("dice_loss(zl, ohl)", _dice_loss(), "zl", "ohl",
                                                               note=OPTAX_NOTE), maps(), ("zl",)),
    ("tversky/optax", X("tversky", "zl", "ohl", alpha=0.3, beta=0.7, **OPTAX_X),
     optax_ref("dice_loss(zl, ohl, alpha=0.3, beta=0.7)", _dice_loss(alpha=0.3, beta=0.7), "zl", "ohl",
               note=OPTAX_NOTE), maps(), ("zl",)),
    ("dice/optax-ignore-background-smooth", X("dice", "zl", "ohl", include_background=False, **{
        **OPTAX_X, "smooth": 0.25}),
     optax_ref("dice_loss(zl, ohl, smooth=0.25, ignore_background=True)", _dice_loss(smooth=0.25,
                                                                                   ignore_background=True),
               "zl", "ohl", note=OPTAX_NOTE), maps(), ("zl",)),
    ("dice/optax-class-weights", X("dice", "zl", "ohl", class_weight=In("cw"), **OPTAX_X),
     optax_ref("dice_loss(zl, ohl, class_weights=cw)", _dice_loss(), "zl", "ohl", "cw",
               note=OPTAX_NOTE + "; optax multiplies the class losses by weights of mean 1 and averages: Σwℓ/Σw"),
     maps(), ("zl",)),
    ("dice/optax-binary-sigmoid", X("dice", "x1l", "b1l", activation="sigmoid", **OPTAX_X),
     optax_ref("dice_loss(x1l, b1l)", _dice_loss(), "x1l", "b1l",
               note=OPTAX_NOTE + "; one channel: a sigmoid"), maps(), ("x1l", "b1l")),
]


def cases() -> list[Case]:
    out = []
    for rows in (MONAI_ROWS, SMP_ROWS, KERAS_ROWS, OPTAX_ROWS, FOCAL_ROWS):
        for cid, xcall, ref, gen, grad in rows:
            out.append(Case(cid, xcall, (ref,), gen, grad, note=ref.note))
    return out

"""Keras ``Loss`` classes for every xploss loss, generated from one declaration per loss.

``import xploss.keras`` (it imports Keras) gives a :class:`keras.losses.Loss`
subclass per loss of :data:`xploss._api.LOSSES`, named by the CamelCase of the
function (``xploss.keras.SigmoidBinaryCrossEntropy``; aliases such as
``xploss.keras.Mse`` are the same class object), and two
:class:`keras.regularizers.Regularizer` classes for the penalties
(``L1Penalty``, ``L2Penalty``).

Each class implements only :meth:`call`: it maps Keras' ``(y_true, y_pred)``
onto the xploss function's arguments (prediction first), calls it with
``reduction="none"`` on the backend's native tensors (so the gradient is
xploss' hand-written one on every Keras backend) and, where the Keras
counterpart does, averages over the last axis.  Keras' own
:meth:`keras.losses.Loss.__call__` then casts to the loss dtype and applies
masks, ``sample_weight`` and the Keras reduction exactly as for its built-ins.

Options are the function's keyword options (same names, defaults and
validation: a tiny NumPy call of the function at construction raises the
function's own error); array-valued options (``class_weight``, a per-class
``alpha``, ``pos_weight``) are stored and serialized as lists.  Every class is
registered with ``keras.saving.register_keras_serializable(package="xploss")``,
so ``model.save`` / ``keras.models.load_model`` round-trip it (after
``import xploss.keras``).
"""

from __future__ import annotations

import inspect
import sys
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
from keras import ops

import xploss

from ._api import LOSSES, camel

__all__ = ["DECLARATIONS", "Decl", "LOSS_CLASSES", "NO_CLASS", "PENALTY_CLASSES", "UNDECLARED",  # + a name per loss
           "Loss"]

_KERAS_ARGS = ("reduction", "name", "dtype")


@dataclass(frozen=True)
class Decl:
    """How one xploss loss becomes a Keras loss class.

    Attributes
    ----------
    labels : str
        How ``y_true`` (cast to the loss dtype by Keras) is handed over:
        ``"same"`` floats of ``y_pred``'s shape (Keras' squeeze-or-expand of a
        trailing 1 first); ``"index"`` class indices, cast to int (a trailing
        class-axis 1 is squeezed, as Keras' ``SparseCategoricalCrossentropy``);
        ``"auto"`` probabilities / one-hot when ``y_true`` has ``y_pred``'s
        shape, class indices otherwise; ``"index_same"`` integer arrays of
        ``y_pred``'s shape (``multilabel_margin``); ``"ignored"`` (triplets).
    last_axis_mean : bool
        Average the function's per-element losses over the last axis, as the
        Keras counterpart does (MSE, Huber, BinaryCrossentropy, Hinge...).
    inputs : str
        ``"pair"`` (prediction, target); ``"gaussian"``: ``y_pred`` is
        ``[mean, var]`` concatenated on the last axis (or ``[mean, var]`` with
        one variance column); ``"triplet"``: ``y_pred`` is ``(N, 3, D)``
        stacked anchor, positive, negative; ``"embeddings"``: ``y_pred`` is
        the ``(N, D)`` embeddings, ``y_true`` their integer labels (metric
        learning: mined and in-batch losses); ``"stacked"``: ``y_pred`` is
        ``(N, 2, ...)``, the two inputs stacked on axis 1 (two views, two
        towers, positive and negative scores), ``y_true`` ignored;
        ``"stacked_labels"``: the same with ``y_true`` the pair labels.
    keras : str
        The Keras built-in it equals (for the docs), or ``""``.
    coupled : bool
        A batch-coupled loss whose ``"mean"`` divides by a count of items
        (pairs, triplets, anchors with positives) rather than by ``N``: the
        per-sample losses handed to Keras are rescaled by ``N / count`` so
        that Keras' ``sum_over_batch_size`` is xploss' ``"mean"``.
    """

    labels: str = "same"
    last_axis_mean: bool = True
    inputs: str = "pair"
    keras: str = ""
    coupled: bool = False
    probe: tuple = (4, 3)  # the shape of each stacked input in the construction-time validation call
    shape: tuple | None = None  # the prediction's shape in that call, where the class axis does not give it
    defaults: tuple[tuple[str, Any], ...] = ()  # option defaults of the class where Keras' differ (channels last)


_BCE = "BinaryCrossentropy"
_CHANNELS_LAST = (("axis", -1),)
DECLARATIONS: dict[str, Decl] = {
    # regression: per-element losses, averaged over the last axis like Keras' regression losses
    "mean_squared_error": Decl(keras="MeanSquaredError()"),
    "mean_absolute_error": Decl(keras="MeanAbsoluteError()"),
    "huber": Decl(keras="Huber(delta=δ)"),
    "smooth_l1": Decl(keras="Huber(delta=β) / β"),
    "quantile": Decl(),
    "log_cosh": Decl(keras="LogCosh()"),
    "mean_squared_log_error": Decl(keras="MeanSquaredLogarithmicError()"),
    "mean_absolute_percentage_error": Decl(keras="MeanAbsolutePercentageError()"),
    "poisson": Decl(keras="Poisson()"),
    "poisson_nll": Decl(),
    "gaussian_nll": Decl(inputs="gaussian"),
    # binary / elementwise classification
    "binary_cross_entropy": Decl(keras=f"{_BCE}()"),
    "sigmoid_binary_cross_entropy": Decl(keras=f"{_BCE}(from_logits=True)"),
    "binary_focal": Decl(keras="BinaryFocalCrossentropy(apply_class_balancing=True)"),
    "sigmoid_focal": Decl(keras="BinaryFocalCrossentropy(apply_class_balancing=True, from_logits=True)"),
    "soft_margin": Decl(),
    "hinge": Decl(keras="Hinge()"),
    "squared_hinge": Decl(keras="SquaredHinge()"),
    "multilabel_soft_margin": Decl(last_axis_mean=False, keras=f"{_BCE}(from_logits=True) (no class_weight)"),
    # one loss per sample along a class axis
    "cross_entropy": Decl(labels="auto", last_axis_mean=False,
                          keras="SparseCategoricalCrossentropy(from_logits=True) / "
                                "CategoricalCrossentropy(from_logits=True)"),
    "probability_cross_entropy": Decl(labels="auto", last_axis_mean=False,
                                      keras="SparseCategoricalCrossentropy() / CategoricalCrossentropy()"),
    "nll": Decl(labels="index", last_axis_mean=False),
    "focal": Decl(labels="auto", last_axis_mean=False,
                  keras="CategoricalFocalCrossentropy(from_logits=True) (with alpha=0.25, eps=1e-7)"),
    "categorical_focal": Decl(labels="auto", last_axis_mean=False, keras="CategoricalFocalCrossentropy()"),
    "categorical_generalized_cross_entropy": Decl(labels="index", last_axis_mean=False,
                                                  keras="CategoricalGeneralizedCrossEntropy(q=q)"),
    "poly1_cross_entropy": Decl(labels="auto", last_axis_mean=False),
    "kl_divergence": Decl(last_axis_mean=False),
    "probability_kl_divergence": Decl(last_axis_mean=False, keras="KLDivergence()"),
    "categorical_hinge": Decl(labels="auto", last_axis_mean=False, keras="CategoricalHinge()"),
    "multi_margin": Decl(labels="index", last_axis_mean=False),
    "multilabel_margin": Decl(labels="index_same", last_axis_mean=False),
    "zero_one": Decl(labels="index", last_axis_mean=False),
    # embeddings
    "triplet_margin": Decl(labels="ignored", last_axis_mean=False, inputs="triplet"),
    # metric learning: pairs and ranking (one loss per pair)
    "contrastive": Decl(inputs="stacked_labels", last_axis_mean=False),
    "contrastive_from_distances": Decl(last_axis_mean=False),
    "cosine_embedding": Decl(inputs="stacked_labels", last_axis_mean=False),
    "margin_ranking": Decl(inputs="stacked_labels", last_axis_mean=False, probe=(4,)),
    "hinge_embedding": Decl(),
    "cosine_similarity": Decl(last_axis_mean=False, keras="CosineSimilarity()"),
    "cosine_distance": Decl(last_axis_mean=False),
    "triplet_margin_with_distance": Decl(labels="ignored", last_axis_mean=False, inputs="triplet"),
    "bpr": Decl(inputs="stacked", last_axis_mean=False, probe=(4,)),
    # metric learning: batch-coupled (in-batch negatives, mining)
    "nt_xent": Decl(inputs="stacked", last_axis_mean=False, coupled=True),
    "info_nce": Decl(inputs="stacked", last_axis_mean=False, coupled=True),
    "n_pairs": Decl(inputs="stacked", last_axis_mean=False, coupled=True),
    "supcon": Decl(inputs="embeddings", last_axis_mean=False, coupled=True),
    "circle": Decl(inputs="embeddings", last_axis_mean=False, coupled=True,
                   keras="Circle() (with normalize=False; on L2-normalised embeddings with the default)"),
    "batch_hard_triplet": Decl(inputs="embeddings", last_axis_mean=False, coupled=True),
    "batch_semi_hard_triplet": Decl(inputs="embeddings", last_axis_mean=False, coupled=True),
    "batch_all_triplet": Decl(inputs="embeddings", last_axis_mean=False, coupled=True),
    "lifted_structure": Decl(inputs="embeddings", last_axis_mean=False, coupled=True),
    "multi_similarity": Decl(inputs="embeddings", last_axis_mean=False, coupled=True),
    # dense prediction (#9): one loss per image, channels last (Keras' layout) by default
    "dice": Decl(labels="auto", last_axis_mean=False, defaults=_CHANNELS_LAST,
                 keras="Dice() with per='all', smooth=5e-8, smooth_numerator=0"),
    "tversky": Decl(labels="auto", last_axis_mean=False, defaults=_CHANNELS_LAST,
                    keras="Tversky() (3.16) with per='all', smooth=1e-7, smooth_numerator=0"),
    "focal_tversky": Decl(labels="auto", last_axis_mean=False, defaults=_CHANNELS_LAST),
    "jaccard": Decl(labels="auto", last_axis_mean=False, defaults=_CHANNELS_LAST),
    "generalized_dice": Decl(labels="auto", last_axis_mean=False, defaults=_CHANNELS_LAST),
    "lovasz_softmax": Decl(labels="index", last_axis_mean=False, defaults=_CHANNELS_LAST),
    "lovasz_hinge": Decl(last_axis_mean=False),
    # boxes (x1, y1, x2, y2) on the last axis: one loss per box
    "iou_loss": Decl(last_axis_mean=False, shape=(2, 4)),
    "giou_loss": Decl(last_axis_mean=False, shape=(2, 4)),
    "diou_loss": Decl(last_axis_mean=False, shape=(2, 4)),
    "ciou_loss": Decl(last_axis_mean=False, shape=(2, 4)),
    # sequences: y_true (B, S) labels with 0 both the blank and the padding (Keras' CTC), y_pred (B, T, C) logits
    "ctc": Decl(labels="index", last_axis_mean=False, keras="CTC()", shape=(2, 4, 3)),
}
PENALTIES = ("l1_penalty", "l2_penalty")

# Losses with no Keras class, and why (documented in docs/keras.rst).
_PARAMETER = ("its {} are trainable parameters, which a Keras loss cannot own: keep them in a layer and call "
              "xploss.{} in the model or a custom train_step")
NO_CLASS: dict[str, str] = {
    "arcface": _PARAMETER.format("class weights", "arcface"),
    "cosface": _PARAMETER.format("class weights", "cosface"),
    "center": _PARAMETER.format("centres", "center"),
    "linear_cross_entropy": _PARAMETER.format("classifier weights (and bias)", "linear_cross_entropy") +
    " (its point is a model output of hidden states, not logits)",
    **{gan: ("it takes discriminator logits of generated (and real) samples, not (y_true, y_pred): call "
             f"xploss.{gan} in the GAN's custom train_step") for gan in (
        "minimax_generator_loss", "minimax_discriminator_loss", "modified_generator_loss",
        "least_squares_generator_loss", "least_squares_discriminator_loss", "wasserstein_generator_loss",
        "wasserstein_discriminator_loss", "wasserstein_hinge_discriminator_loss")},
    **{pen: (f"it takes the critic (a callable) and differentiates it: call xploss.{pen}(critic, ...) in the "
             "critic's custom train_step") for pen in ("gradient_penalty", "r1_penalty")},
    "gaussian_kl": ("it takes the encoder's (mu, logvar), not (y_true, y_pred): call xploss.gaussian_kl in the "
                    "model (self.add_loss) or a custom train_step"),
    "vae_elbo": ("it takes the encoder's (mu, logvar) besides the reconstruction: call xploss.vae_elbo in a "
                 "custom train_step"),
    "distillation": ("it takes the teacher's logits besides (y_true, y_pred): call xploss.distillation in a "
                     "custom train_step"),
    "weighted_sum": "it combines already-reduced losses: call xploss.weighted_sum in a custom train_step",
    "uncertainty_weighting": _PARAMETER.format("log-variances", "uncertainty_weighting"),
    "clip": _PARAMETER.format("logit scale (positional)", "clip"),
}


# -- option handling ---------------------------------------------------------------------------

def _options(fn: Any) -> dict[str, inspect.Parameter]:
    """The function's keyword options a class exposes (all but ``sample_weight`` and ``reduction``)."""
    params = inspect.signature(fn).parameters.values()
    return {p.name: p for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY
            and p.name not in ("sample_weight", "reduction")}


def _plain(value: Any) -> Any:
    """An option value as JSON-friendly Python: arrays (NumPy, framework tensors) become lists."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "detach"):  # torch
        value = value.detach().cpu()
    return np.asarray(value).tolist()


def _native(value: Any, dtype: Any) -> Any:
    """A stored option for a call: lists become tensors of the loss dtype."""
    return ops.convert_to_tensor(value, dtype=dtype) if isinstance(value, list) else value


def _index_dtype() -> str:
    return "int32" if keras.backend.backend() == "jax" else "int64"


# -- y_true / y_pred mapping -------------------------------------------------------------------

def _squeeze_or_expand(y_true: Any, y_pred: Any) -> tuple[Any, Any]:
    """Keras' own alignment of ``y_true`` and ``y_pred`` (``LossFunctionWrapper.call``)."""
    from keras.src.losses.loss import squeeze_or_expand_to_same_rank

    return squeeze_or_expand_to_same_rank(y_true, y_pred)


def _class_axis(options: dict, rank: int) -> int:
    axis = options.get("axis", -1)
    return -1 if axis is None else axis % rank


def _labels(kind: str, y_true: Any, y_pred: Any, options: dict) -> tuple[Any, bool]:
    """``(labels, is_index)`` for the function, from Keras' float ``y_true``."""
    if kind == "index_same":
        return ops.cast(y_true, _index_dtype()), True
    axis = _class_axis(options, len(y_pred.shape))
    same = len(y_true.shape) == len(y_pred.shape)
    if kind == "auto" and same and y_true.shape[axis] == y_pred.shape[axis] and y_pred.shape[axis] != 1:
        return y_true, False  # probabilities / one-hot
    if same and y_true.shape[axis] == 1:
        y_true = ops.squeeze(y_true, axis=axis)  # Keras' SparseCategoricalCrossentropy does the same
    return ops.cast(y_true, _index_dtype()), True


def _arguments(decl: Decl, y_true: Any, y_pred: Any, options: dict) -> tuple[tuple, Any]:
    """The function's positional arrays and the class-index labels (or ``None``)."""
    if decl.inputs == "triplet":
        return (y_pred[:, 0], y_pred[:, 1], y_pred[:, 2]), None
    if decl.inputs == "gaussian":
        d = y_pred.shape[-1] - 1 if y_pred.shape[-1] == y_true.shape[-1] + 1 else y_pred.shape[-1] // 2
        return (y_pred[..., :d], y_true, y_pred[..., d:]), None
    if decl.inputs == "embeddings":
        if len(y_true.shape) == 2 and y_true.shape[-1] == 1:
            y_true = ops.squeeze(y_true, axis=-1)
        return (y_pred, ops.cast(y_true, _index_dtype())), None
    if decl.inputs in ("stacked", "stacked_labels"):
        pair = (y_pred[:, 0], y_pred[:, 1])
        if decl.inputs == "stacked":
            return pair, None
        if len(y_true.shape) == 2 and y_true.shape[-1] == 1:
            y_true = ops.squeeze(y_true, axis=-1)
        return (*pair, ops.cast(y_true, _index_dtype()) if decl.labels == "index" else y_true), None
    if decl.labels == "same":
        y_true, y_pred = _squeeze_or_expand(y_true, y_pred)
        return (y_pred, y_true), None
    labels, is_index = _labels(decl.labels, y_true, y_pred, options)
    return (y_pred, labels), (labels if is_index else None)


# -- construction-time validation --------------------------------------------------------------

def _probe_args(decl: Decl, options: dict) -> tuple:
    """Tiny NumPy arguments on which the function validates ``options`` (its own errors)."""
    arrays = [len(v) for v in options.values() if isinstance(v, list)]
    c = arrays[0] if arrays else 3
    axis = options.get("axis", -1)
    axis = -1 if not isinstance(axis, int) else axis  # None (kl_divergence) or a bad type: the function says
    shape = [2] * max(2, axis + 1 if axis >= 0 else -axis)
    shape[axis] = c
    if decl.shape is not None:
        shape = list(decl.shape)
    pred = np.full(shape, 0.5)
    if decl.inputs == "triplet":
        return pred, pred + 0.25, pred - 0.25
    if decl.inputs == "gaussian":
        return pred, pred, np.ones(shape)
    if decl.inputs == "embeddings":
        return np.eye(4, 3), np.array([0, 0, 1, 1])
    if decl.inputs in ("stacked", "stacked_labels"):
        a = np.resize(np.eye(4, 3), decl.probe)
        pair = (a, a[::-1] + 0.5)
        if decl.inputs == "stacked":
            return pair
        return (*pair, np.ones(4, dtype=np.int64 if decl.labels == "index" else np.float64))  # 0/1 and ±1 labels
    if decl.labels in ("index", "auto"):
        return pred, np.zeros(np.delete(np.array(shape), axis), dtype=np.int64)
    if decl.labels == "index_same":
        return pred, np.full(shape, -1, dtype=np.int64)
    return pred, np.ones(shape)


def _validate(fn: Any, decl: Decl, options: dict) -> None:
    args = _probe_args(decl, options)
    try:
        fn(*args, **{k: np.asarray(v, dtype=float) if isinstance(v, list) else v for k, v in options.items()},
           reduction="none")
    except xploss.XplossError:
        raise
    except Exception:  # noqa: BLE001 - the probe's shapes do not fit this option set: validated at the call
        pass


# -- the generic class -------------------------------------------------------------------------

class Loss(keras.losses.Loss):
    """Base of the generated classes: maps Keras' ``(y_true, y_pred)`` onto one xploss function."""

    fn: Any = None  # the public xploss function
    decl: Decl = Decl()

    def __init__(self, reduction: Any = "sum_over_batch_size", name: str | None = None, dtype: Any = None,
                 **options: Any) -> None:
        super().__init__(name=name or self.fn.__name__, reduction=reduction, dtype=dtype)
        known = _options(self.fn)
        unknown = sorted(set(options) - set(known))
        if unknown:
            allowed = ", ".join(f"`{k}`" for k in (*known, *_KERAS_ARGS))
            raise xploss.XplossTypeError(f"xploss.keras.{type(self).__name__}: argument `{unknown[0]}`: expected "
                                         f"one of {allowed}. Received: an unknown keyword `{unknown[0]}`.")
        defaults = dict(self.decl.defaults)
        self._options = {k: _plain(options.get(k, defaults.get(k, p.default))) for k, p in known.items()}
        _validate(self.fn, self.decl, self._options)

    def __getattr__(self, key: str) -> Any:
        options = self.__dict__.get("_options", {})
        if key in options:
            return options[key]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {key!r}")

    def call(self, y_true: Any, y_pred: Any) -> Any:
        """Per-sample losses (Keras' ``Loss.__call__`` applies masks, weights and the reduction)."""
        opts = self._options
        args, labels = _arguments(self.decl, y_true, y_pred, opts)
        kwargs = {k: _native(v, y_pred.dtype) for k, v in opts.items()}
        losses = self.fn(*args, **kwargs, reduction="none")
        if self.decl.coupled:  # Keras' mean over N becomes xploss' mean over the loss' own count
            count = self.fn(*args, **kwargs, reduction="count")
            n = ops.cast(ops.shape(losses)[0], losses.dtype)
            losses = losses * (n / ops.where(count > 0, count, ops.ones_like(count)))
        if self.decl.last_axis_mean:
            losses = ops.mean(losses, axis=-1)
        ignore = opts.get("ignore_index")
        if labels is not None and ignore is not None and len(labels.shape) == len(losses.shape):  # per pixel
            from keras.src import backend

            backend.set_keras_mask(losses, ops.not_equal(labels, ignore))
        return losses

    def get_config(self) -> dict:
        config = super().get_config()
        config["dtype"] = None if self._dtype_policy is None else self._dtype_policy.name
        config.update(self._options)
        return config

    @classmethod
    def from_config(cls, config: dict) -> Loss:
        return cls(**config)


_SHAPES = {
    "gaussian": "``y_pred`` is ``[mean, var]`` concatenated on the last axis (``2 D`` columns, or ``D + 1`` with "
                "one variance per sample); ``y_true`` the observations ``(..., D)``.",
    "triplet": "``y_pred`` is ``(N, 3, D)``: anchor, positive and negative stacked on axis 1; ``y_true`` is "
               "ignored (pass zeros).",
    "same": "``y_true`` of ``y_pred``'s shape.",
    "index": "``y_true``: class indices (Keras hands them as floats; cast to int), shape ``y_pred`` without the "
             "class axis, or with a trailing 1.",
    "auto": "``y_true``: class indices (shape without the class axis, or a trailing 1), or probabilities / one-hot "
            "of ``y_pred``'s shape.",
    "index_same": "``y_true``: integer target lists of ``y_pred``'s shape (``-1`` padded).",
}


def _doc(name: str, fn: Any, decl: Decl) -> str:
    summary = (fn.__doc__ or "").strip().splitlines()[0]
    defaults = dict(decl.defaults)
    opts = ", ".join(f"{k}={defaults.get(k, p.default)!r}" for k, p in _options(fn).items())
    shapes = _SHAPES.get(decl.inputs) or _SHAPES[decl.labels]
    mean = " Per-sample losses: the mean over the last axis, as Keras." if decl.last_axis_mean else ""
    twin = f"\n\n    Equals ``keras.losses.{decl.keras}``." if decl.keras else ""
    return (f"{summary}\n\n    Keras loss class for :func:`xploss.{name}`: ``{camel(name)}({opts})`` with "
            f"Keras' ``reduction``, ``name`` and ``dtype``; called ``loss(y_true, y_pred, sample_weight=None)``. "
            f"{shapes}{mean}{twin}\n")


def _signature(fn: Any, decl: Decl) -> inspect.Signature:
    kw = inspect.Parameter.KEYWORD_ONLY
    params = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    defaults = dict(decl.defaults)
    params += [p.replace(kind=kw, default=defaults.get(p.name, p.default)) for p in _options(fn).values()]
    params += [inspect.Parameter("reduction", kw, default="sum_over_batch_size"),
               inspect.Parameter("name", kw, default=None), inspect.Parameter("dtype", kw, default=None)]
    return inspect.Signature(params)


def _make(name: str, decl: Decl) -> type:
    fn = LOSSES[name]

    def __init__(self: Loss, *, reduction: Any = "sum_over_batch_size", name: str | None = None,
                 dtype: Any = None, **options: Any) -> None:
        Loss.__init__(self, reduction=reduction, name=name, dtype=dtype, **options)

    __init__.__signature__ = _signature(fn, decl)
    cls = type(camel(name), (Loss,), {"fn": staticmethod(fn), "decl": decl, "__init__": __init__,
                                      "__doc__": _doc(name, fn, decl), "__module__": __name__,
                                      "__qualname__": camel(name)})
    return keras.saving.register_keras_serializable(package="xploss")(cls)


# -- penalties: Keras regularizers -------------------------------------------------------------

def _read(x: Any) -> Any:
    """A weight (Keras hands a regularizer its variable) as a native tensor, read outside the loss: on
    TensorFlow a variable read inside ``tf.custom_gradient`` is refused ("grad_fn must accept ...
    'variables'"), and Keras' TF variable is not a ``tf.Variable``."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.convert_to_tensor(x)
    return ops.convert_to_tensor(x)


class _Penalty(keras.regularizers.Regularizer):
    fn: Any = None

    def __init__(self, **options: Any) -> None:
        known = {p.name: p for p in inspect.signature(self.fn).parameters.values()
                 if p.kind is inspect.Parameter.KEYWORD_ONLY}
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise xploss.XplossTypeError(f"xploss.keras.{type(self).__name__}: argument `{unknown[0]}`: expected "
                                         f"one of {', '.join(f'`{k}`' for k in known)}. "
                                         f"Received: an unknown keyword `{unknown[0]}`.")
        self._options = {k: options.get(k, p.default) for k, p in known.items()}
        self.fn(np.ones(2), **self._options)  # the function's own validation

    def __call__(self, x: Any) -> Any:
        return self.fn(_read(x), **self._options)

    def get_config(self) -> dict:
        return dict(self._options)


def _make_penalty(name: str) -> type:
    fn = LOSSES[name]
    doc = (f"{(fn.__doc__ or '').strip().splitlines()[0]}\n\n    Keras regularizer for :func:`xploss.{name}` "
           f"(``kernel_regularizer={camel(name)}(lam=...)``): the penalty of one weight tensor. Options as the "
           "function's.\n")
    cls = type(camel(name), (_Penalty,), {"fn": staticmethod(fn), "__doc__": doc, "__module__": __name__,
                                          "__qualname__": camel(name)})
    return keras.saving.register_keras_serializable(package="xploss")(cls)


# -- the classes, their aliases, and the completeness check --------------------------------------

# A loss added without its one-line declaration gets no class (tests/test_keras.py fails on it).
UNDECLARED = sorted(set(LOSSES) - set(DECLARATIONS) - set(PENALTIES) - set(NO_CLASS))
LOSS_CLASSES: dict[str, type] = {name: _make(name, decl) for name, decl in DECLARATIONS.items() if name in LOSSES}
PENALTY_CLASSES: dict[str, type] = {name: _make_penalty(name) for name in PENALTIES}

_module = sys.modules[__name__]
for _public in xploss.__all__:
    _fn = getattr(xploss, _public)
    _canonical = getattr(_fn, "__xploss_loss__", None)
    if _canonical in LOSS_CLASSES or _canonical in PENALTY_CLASSES:
        _cls = LOSS_CLASSES.get(_canonical) or PENALTY_CLASSES[_canonical]
        setattr(_module, camel(_public), _cls)
        if camel(_public) not in __all__:
            __all__.append(camel(_public))
del _module, _public, _fn, _canonical, _cls

"""Checker for :mod:`xploss.keras`, run by ``tests/test_keras.py`` once per Keras backend.

``KERAS_BACKEND=<backend> python tests/keras_check.py OUT.json`` computes, on
that backend, every number the tests assert on (xploss class and Keras
built-in side by side) and writes them as JSON; it asserts nothing itself, so
that one process (Keras fixes its backend at import) serves every test.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import ops  # noqa: E402

import xploss  # noqa: E402
import xploss.keras as xk  # noqa: E402
from xploss._api import LOSSES, camel  # noqa: E402

BACKEND = keras.backend.backend()
N, C, D = 8, 4, 3
REDUCTIONS = ("sum_over_batch_size", "sum", "mean_with_sample_weight", "none", "mean")
STEPS = 50  # training steps before the save, and again after the load
JIT_COMPILE = "auto"  # Keras' default
EVERY_BACKEND = ("Huber", "SigmoidBinaryCrossEntropy", "CategoricalHinge", "CrossEntropy/(N,T,C)")
SWEEP = ("MeanSquaredError", "BinaryCrossEntropy", "CrossEntropy/ignore_class")  # every reduction, masks


def _sweep() -> tuple[str, ...]:
    """The pairs run through every reduction and mask: all three on TensorFlow; on jax and torch (slow eager
    dispatch, and the reduction is Keras' own code) the masked sparse cross-entropy."""
    return SWEEP if BACKEND == "tensorflow" else SWEEP[-1:]


def to_list(x: Any) -> Any:
    return np.asarray(ops.convert_to_numpy(x), dtype=np.float64).tolist()


# -- gradients on the three backends ------------------------------------------------------------

def value_and_grad(fn: Callable, y_pred: np.ndarray) -> tuple[Any, Any]:
    """``fn(y_pred)`` and the gradient of its sum with respect to ``y_pred``."""
    if BACKEND == "tensorflow":
        import tensorflow as tf

        x = tf.constant(y_pred)
        with tf.GradientTape() as tape:
            tape.watch(x)
            out = fn(x)
        return out, tape.gradient(out, x)
    if BACKEND == "jax":
        import jax
        import jax.numpy as jnp

        out = fn(jnp.asarray(y_pred))
        return out, jax.grad(lambda x: jnp.sum(fn(x)))(jnp.asarray(y_pred))
    import torch

    x = torch.tensor(y_pred, requires_grad=True)
    out = fn(x)
    (g,) = torch.autograd.grad(out.sum(), x)
    return out.detach(), g


# -- inputs ---------------------------------------------------------------------------------------

def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def inputs(kind: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``(y_true, y_pred)`` float32 for one input domain."""
    real = rng.normal(size=(N, D))
    if kind == "real":
        return real, real + rng.choice([-1, 1], (N, D)) * rng.uniform(0.1, 2.0, (N, D))
    if kind == "positive":
        return rng.uniform(0.1, 4.0, (N, D)), rng.uniform(0.1, 4.0, (N, D))
    if kind == "percent":
        return rng.choice([-1, 1], (N, D)) * rng.uniform(0.5, 3.0, (N, D)), real
    if kind == "counts":
        return rng.integers(0, 6, (N, D)).astype(float), rng.uniform(0.2, 4.0, (N, D))
    if kind == "binary_probs":
        return (rng.random((N, D)) < 0.5).astype(float), rng.uniform(0.05, 0.95, (N, D))
    if kind == "binary_logits":
        return (rng.random((N, D)) < 0.5).astype(float), 2.0 * real
    labels = rng.integers(0, C, N)
    logits = 2.0 * rng.normal(size=(N, C))
    onehot = np.eye(C)[labels]
    if kind == "index_logits":
        return labels.astype(float), logits
    if kind == "ignored_logits":
        labels[[1, 4]] = -100
        return labels.astype(float), logits
    if kind == "index_probs":
        return labels.astype(float), _softmax(logits)
    if kind == "onehot_logits":
        return onehot, logits
    if kind == "onehot_probs":
        return onehot, _softmax(logits)
    if kind == "probs_probs":
        return _softmax(rng.normal(size=(N, C))), _softmax(logits)
    if kind == "index_logits_3d":
        return rng.integers(0, C, (N, 2)).astype(float), rng.normal(size=(N, 2, C))
    raise KeyError(kind)


# (id, xploss class factory, Keras built-in factory, input domain)
PAIRS: list[tuple[str, Callable, Callable, str]] = [
    ("MeanSquaredError", xk.MeanSquaredError, keras.losses.MeanSquaredError, "real"),
    ("MeanAbsoluteError", xk.MeanAbsoluteError, keras.losses.MeanAbsoluteError, "real"),
    ("Huber", lambda **k: xk.Huber(delta=0.5, **k), lambda **k: keras.losses.Huber(delta=0.5, **k), "real"),
    ("LogCosh", xk.LogCosh, keras.losses.LogCosh, "real"),
    ("MeanSquaredLogError", xk.MeanSquaredLogError, keras.losses.MeanSquaredLogarithmicError, "positive"),
    ("MeanAbsolutePercentageError", xk.MeanAbsolutePercentageError, keras.losses.MeanAbsolutePercentageError,
     "percent"),
    ("Poisson", xk.Poisson, keras.losses.Poisson, "counts"),
    ("BinaryCrossEntropy", xk.BinaryCrossEntropy, keras.losses.BinaryCrossentropy, "binary_probs"),
    ("SigmoidBinaryCrossEntropy", lambda **k: xk.SigmoidBinaryCrossEntropy(label_smoothing=0.1, **k),
     lambda **k: keras.losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1, **k), "binary_logits"),
    ("BinaryFocal", xk.BinaryFocal,
     lambda **k: keras.losses.BinaryFocalCrossentropy(apply_class_balancing=True, **k), "binary_probs"),
    ("SigmoidFocal", xk.SigmoidFocal,
     lambda **k: keras.losses.BinaryFocalCrossentropy(apply_class_balancing=True, from_logits=True, **k),
     "binary_logits"),
    ("Hinge", xk.Hinge, keras.losses.Hinge, "binary_logits"),
    ("SquaredHinge", xk.SquaredHinge, keras.losses.SquaredHinge, "binary_logits"),
    ("MultilabelSoftMargin", xk.MultilabelSoftMargin,
     lambda **k: keras.losses.BinaryCrossentropy(from_logits=True, **k), "binary_logits"),
    ("CategoricalHinge", xk.CategoricalHinge, keras.losses.CategoricalHinge, "onehot_logits"),
    ("CrossEntropy/index", xk.CrossEntropy,
     lambda **k: keras.losses.SparseCategoricalCrossentropy(from_logits=True, **k), "index_logits"),
    ("CrossEntropy/ignore_class", xk.CrossEntropy,
     lambda **k: keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-100, **k),
     "ignored_logits"),
    ("CrossEntropy/onehot+smoothing", lambda **k: xk.CrossEntropy(label_smoothing=0.1, **k),
     lambda **k: keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1, **k), "onehot_logits"),
    ("CrossEntropy/(N,T,C)", xk.CrossEntropy,
     lambda **k: keras.losses.SparseCategoricalCrossentropy(from_logits=True, **k), "index_logits_3d"),
    ("ProbabilityCrossEntropy", xk.ProbabilityCrossEntropy, keras.losses.SparseCategoricalCrossentropy,
     "index_probs"),
    ("CategoricalFocal", xk.CategoricalFocal, keras.losses.CategoricalFocalCrossentropy, "onehot_probs"),
    ("Focal", lambda **k: xk.Focal(alpha=0.25, eps=1e-7, **k),
     lambda **k: keras.losses.CategoricalFocalCrossentropy(from_logits=True, **k), "onehot_logits"),
    ("CategoricalGeneralizedCrossEntropy", xk.CategoricalGeneralizedCrossEntropy,
     keras.losses.CategoricalGeneralizedCrossEntropy, "index_probs"),
    ("ProbabilityKlDivergence", xk.ProbabilityKlDivergence, keras.losses.KLDivergence, "probs_probs"),
]


def _pair(xloss: Any, kloss: Any, y_true: np.ndarray, y_pred: np.ndarray, w: np.ndarray | None = None,
          mask: np.ndarray | None = None) -> dict:
    """Value and gradient of both losses; fresh weight tensors per call (Keras' torch backend
    multiplies a masked ``sample_weight`` in place, ``loss.py`` ``apply_mask``)."""
    from keras.src import backend

    out = {}
    for side, loss in (("x", xloss), ("k", kloss)):
        def fn(p: Any, loss: Any = loss) -> Any:
            if mask is not None:
                backend.set_keras_mask(p, ops.convert_to_tensor(mask))
            sw = None if w is None else ops.convert_to_tensor(w.copy())
            return loss(ops.convert_to_tensor(y_true), p, sample_weight=sw)
        value, grad = value_and_grad(fn, y_pred)
        out[side], out["g" + side] = to_list(value), to_list(grad)
    return out


def check_values() -> list[dict]:
    """Every pair with ``sample_weight`` (default reduction) and unreduced; every reduction, weighted and
    not, for three of them (the reduction is Keras' own code: one pair per label kind suffices)."""
    rows = []
    for k, (cid, xcls, kcls, kind) in enumerate(PAIRS):
        if BACKEND != "tensorflow" and cid not in _sweep() + EVERY_BACKEND:
            continue  # the conformance leg compares every class on jax and torch; keep this process short
        rng = np.random.default_rng(k)
        y_true, y_pred = (a.astype("float32") for a in inputs(kind, rng))
        w = rng.uniform(0.2, 2.0, y_pred.shape[:-1]).astype("float32")
        sweep = cid in _sweep()
        for red in REDUCTIONS if sweep else ("sum_over_batch_size", "none")[:2 if BACKEND == "tensorflow" else 1]:
            for weighted in (False, True) if sweep else (red != "none",):
                rows.append({"id": f"{cid}/{red}/{'sample_weight' if weighted else 'unweighted'}",
                             **_pair(xcls(reduction=red), kcls(reduction=red), y_true, y_pred,
                                     w if weighted else None)})
    return rows


def check_masks() -> list[dict]:
    """A Keras mask on ``y_pred`` (a Masking layer's output): merged with the weights as Keras merges it."""
    rows = []
    for cid, xcls, kcls, kind in (p for p in PAIRS if p[0] in _sweep()):
        rng = np.random.default_rng(99)
        y_true, y_pred = (a.astype("float32") for a in inputs(kind, rng))
        mask = np.arange(N) % 3 != 1
        w = rng.uniform(0.2, 2.0, N).astype("float32")
        for red in ("sum_over_batch_size", "sum", "mean_with_sample_weight"):
            rows.append({"id": f"{cid}/mask/{red}", **_pair(xcls(reduction=red), kcls(reduction=red), y_true,
                                                             y_pred, w, mask)})
    return rows


def check_labels() -> dict:
    """Integer labels as Keras hands them: float (N,), float (N, 1), and int; plus class_weight."""
    rng = np.random.default_rng(5)
    y_true, y_pred = inputs("index_logits", rng)
    y_pred = ops.convert_to_tensor(y_pred.astype("float32"))
    ref = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    out = {"ref": to_list(ref(y_true.astype("int32"), y_pred))}
    for label, yt in (("float (N,)", y_true.astype("float32")), ("float (N,1)", y_true[:, None].astype("float32")),
                      ("int (N,)", y_true.astype("int32")), ("int (N,1)", y_true[:, None].astype("int32"))):
        out[label] = to_list(xk.CrossEntropy()(yt, y_pred))
    cw = np.array([0.5, 1.0, 2.0, 3.0], "float32")
    out["class_weight"] = to_list(xk.CrossEntropy(class_weight=cw)(y_true, y_pred))
    out["class_weight_ref"] = to_list(ref(y_true, y_pred, sample_weight=cw[y_true.astype(int)]))
    return out


def check_classes() -> dict:
    """Every loss has its class (aliases the same object); config and Keras serialization round-trip."""
    out = {"missing": list(xk.UNDECLARED), "aliases_differ": [], "roundtrip_failures": [], "count": 0}
    for name in LOSSES:
        if name in xk.NO_CLASS:  # documented: trainable arrays a Keras loss cannot own
            continue
        cls = getattr(xk, camel(name), None)
        if cls is None or not issubclass(cls, (xk.Loss, keras.regularizers.Regularizer)):
            out["missing"].append(camel(name))
    for public in xploss.__all__:
        fn = getattr(xploss, public)
        canonical = getattr(fn, "__xploss_loss__", None)
        if canonical and getattr(xk, camel(public), None) is not getattr(xk, camel(canonical), None):
            out["aliases_differ"].append(public)
    page = (Path(__file__).resolve().parents[1] / "docs" / "keras.rst").read_text(encoding="utf-8")
    out["undocumented"] = [c.__name__ for c in (*xk.LOSS_CLASSES.values(), *xk.PENALTY_CLASSES.values())
                           if f"``{c.__name__}``" not in page]
    cw = [0.5, 1.0, 2.0, 3.0]
    objects = [cls() for cls in xk.LOSS_CLASSES.values()] + [cls(lam=0.3) for cls in xk.PENALTY_CLASSES.values()]
    objects += [xk.CrossEntropy(class_weight=np.array(cw), label_smoothing=0.2, reduction="sum", name="ce"),
                xk.Focal(alpha=cw, gamma=1.5), xk.SigmoidBinaryCrossEntropy(pos_weight=cw[:3]),
                xk.MultiMargin(class_weight=cw, p=2), xk.Nll(class_weight=cw), xk.CategoricalFocal(alpha=cw),
                xk.Quantile(tau=0.9, dtype="float64"), xk.Huber(delta=0.3, reduction=None)]
    for obj in objects:
        out["count"] += 1
        try:
            config = obj.get_config()
            json.dumps(config)
            again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(obj))
            assert type(again) is type(obj), type(again)
            assert again.get_config() == config, (again.get_config(), config)
            assert type(obj).from_config(config).get_config() == config
        except Exception as exc:  # reported per object
            out["roundtrip_failures"].append(f"{type(obj).__name__}: {type(exc).__name__}: {exc}")
    return out


def check_saved_models() -> dict:
    """The losses Keras replaced by its own built-in of the same name on load (or failed to load, quantile),
    through ``model.save`` -> ``keras.models.load_model``: class name -> the reloaded loss' class and options."""
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for loss in (xk.MeanSquaredError(), xk.Huber(delta=0.3), xk.Poisson(), xk.KlDivergence(), xk.LogCosh(),
                     xk.Quantile(tau=0.8), xk.CrossEntropy(class_weight=[1.0, 2.0, 0.5, 1.0])):
            model = keras.Sequential([keras.Input((D,)), keras.layers.Dense(C)])
            model.compile(optimizer="sgd", loss=loss)
            path = os.path.join(tmp, f"{type(loss).__name__}.keras")
            model.save(path)
            loaded = keras.models.load_model(path).loss
            out[type(loss).__name__] = {"class": f"{type(loaded).__module__}.{type(loaded).__name__}",
                                        "same_config": loaded.get_config() == loss.get_config()}
    return out


def check_validation() -> dict:
    """Options are validated by the function at construction, with the function's message."""
    out = {}
    for label, make in (("Huber(delta=-1)", lambda: xk.Huber(delta=-1.0)),
                        ("Quantile(tau=2)", lambda: xk.Quantile(tau=2.0)),
                        ("CrossEntropy(label_smoothing=2)", lambda: xk.CrossEntropy(label_smoothing=2.0)),
                        ("Huber(weight=1)", lambda: xk.Huber(weight=1.0))):
        try:
            make()
            out[label] = ""
        except Exception as exc:
            out[label] = f"{type(exc).__name__}: {exc}"
    return out


def check_special() -> dict:
    """The documented conventions: gaussian_nll's [mean, var], triplets stacked, penalties as regularizers."""
    rng = np.random.default_rng(7)
    mean, target, var = rng.normal(size=(N, D)), rng.normal(size=(N, D)), rng.uniform(0.2, 2.0, (N, D))
    f = lambda *a: ops.convert_to_tensor(np.asarray(a[0], "float32"))  # noqa: E731
    out = {"gaussian": to_list(xk.GaussianNll()(f(target), f(np.concatenate([mean, var], -1)))),
           "gaussian_ref": float(np.mean(0.5 * (np.log(var) + (mean - target) ** 2 / var)))}
    v1 = rng.uniform(0.2, 2.0, (N, 1))
    out["gaussian_col"] = to_list(xk.GaussianNll()(f(target), f(np.concatenate([mean, v1], -1))))
    out["gaussian_col_ref"] = float(np.mean(0.5 * (np.log(v1) + (mean - target) ** 2 / v1)))
    a, p, n = (rng.normal(size=(N, D)) for _ in range(3))
    dist = lambda u, v: np.sqrt(np.sum((u - v + 1e-6) ** 2, -1))  # noqa: E731
    out["triplet"] = to_list(xk.TripletMargin()(f(np.zeros(N)), f(np.stack([a, p, n], 1))))
    out["triplet_ref"] = float(np.mean(np.maximum(dist(a, p) - dist(a, n) + 1.0, 0.0)))
    w = rng.normal(size=(D, 2))
    out["l2"] = to_list(xk.L2Penalty(lam=0.25)(f(w)))
    out["l2_ref"] = to_list(keras.regularizers.L2(0.25)(f(w)))
    out["l1"] = to_list(xk.L1Penalty(lam=0.25)(f(w)))
    out["l1_ref"] = to_list(keras.regularizers.L1(0.25)(f(w)))
    # as a layer's kernel_regularizer (Keras hands it the KerasVariable), after a save -> load
    for key, reg in (("layer_l2", xk.L2Penalty(lam=0.25)), ("layer_l2_ref", keras.regularizers.L2(0.25))):
        keras.utils.set_random_seed(1)
        model = keras.Sequential([keras.Input((D,)), keras.layers.Dense(2, kernel_regularizer=reg)])
        with tempfile.TemporaryDirectory() as tmp:
            model.save(os.path.join(tmp, "m.keras"))
            model = keras.models.load_model(os.path.join(tmp, "m.keras"))
        out[key] = to_list(ops.sum(ops.stack(model.losses)))
        out[key + "_class"] = type(model.layers[0].kernel_regularizer).__name__
        model.compile(optimizer="sgd", loss="mse")  # the penalty's gradient in training, through Keras
        history = model.fit(np.ones((8, D), "float32"), np.zeros((8, 2), "float32"), epochs=5, verbose=0)
        out[key.replace("layer", "fit")] = history.history["loss"]
    return out


def check_plain_function() -> str:
    """``compile(loss=xploss.mse)``: Keras calls it (y_true, y_pred); xploss refuses, naming the class."""
    model = keras.Sequential([keras.Input((D,)), keras.layers.Dense(D)])
    model.compile(optimizer="sgd", loss=xploss.mse)
    x = np.ones((4, D), "float32")
    try:
        model.fit(x, x, epochs=1, verbose=0)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return ""


def check_user_function() -> dict:
    """A user's own function in the right order is not refused, and trains exactly as the class does."""
    out = {}
    x, y = np.linspace(-1, 1, 8 * D, dtype="float32").reshape(8, D), np.ones((8, D), "float32")
    for side, loss in (("function", lambda y_true, y_pred: xploss.mse(y_pred, y_true, reduction="none")),
                       ("class", xk.MeanSquaredError())):
        keras.utils.set_random_seed(3)
        model = keras.Sequential([keras.Input((D,)), keras.layers.Dense(D)])
        model.compile(optimizer="sgd", loss=loss)
        out[side] = model.fit(x, y, epochs=3, verbose=0).history["loss"]
    return out


# -- training ------------------------------------------------------------------------------------

class Curve(keras.callbacks.Callback):
    """Each step's logged loss (Keras' running mean over the epoch so far)."""

    def __init__(self) -> None:
        super().__init__()
        self.values: list[float] = []

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.values.append(float(logs["loss"]))


def _task(kind: str, rng: np.random.Generator) -> tuple:
    x = rng.normal(size=(8 * STEPS, 6)).astype("float32")
    if kind == "regression":
        y = (x @ rng.normal(size=(6, D)) + 0.1 * rng.normal(size=(len(x), D))).astype("float32")
        return x, y, {"sample_weight": rng.uniform(0.2, 2.0, len(x)).astype("float32")}, D
    y = np.argmax(x @ rng.normal(size=(6, C)), -1).astype("int32")
    return x, y, {"class_weight": {0: 0.5, 1: 1.0, 2: 2.0, 3: 1.5}}, C


def train(kind: str, make_loss: Callable, init: list | None, path: str | None) -> dict:
    """``STEPS`` steps (one epoch), then save, load and ``STEPS`` more (``path=None``: no save, ``STEPS`` only);
    the curve, the reloaded loss' class, ``evaluate``."""
    x, y, weights, out_dim = _task(kind, np.random.default_rng(3))
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(16, activation="tanh"),
                              keras.layers.Dense(out_dim)])
    if init is not None:
        model.set_weights(init)
    init = [w.copy() for w in model.get_weights()]
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=make_loss(), jit_compile=JIT_COMPILE)
    curve = Curve()
    fit = {"batch_size": 8, "shuffle": False, "verbose": 0, "callbacks": [curve], **weights}
    if path is None:
        model.fit(x, y, epochs=1, **fit)
        return {"curve": curve.values, "init": init}
    model.fit(x, y, epochs=1, **fit)
    model.save(path)
    loaded = keras.models.load_model(path)
    loaded.fit(x, y, epochs=1, **fit)
    evaluate = loaded.evaluate(x, y, batch_size=len(x), verbose=0, sample_weight=weights["sample_weight"])
    return {"curve": curve.values, "loaded_loss": f"{type(loaded.loss).__module__}.{type(loaded.loss).__name__}",
            "evaluate": float(evaluate), "init": init}


def check_training() -> dict:
    """Regression with ``sample_weight`` through save -> load -> resume; classification with ``class_weight``."""
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind, xloss, kloss in (
                ("regression", xk.MeanSquaredError, keras.losses.MeanSquaredError),
                ("classification", xk.CrossEntropy,
                 lambda: keras.losses.SparseCategoricalCrossentropy(from_logits=True))):
            t0 = time.perf_counter()
            save = kind == "regression"
            ref = train(kind, kloss, None, os.path.join(tmp, f"{kind}-keras.keras") if save else None)
            mine = train(kind, xloss, ref.pop("init"), os.path.join(tmp, f"{kind}-xploss.keras") if save else None)
            mine.pop("init")
            out[kind] = {"x": mine, "k": ref, "seconds": time.perf_counter() - t0}
    return out


def check_masked_sequences() -> dict:
    """A padded sequence model (``Embedding(mask_zero=True)``: Keras masks the padded steps of ``y_pred``) trained
    40 steps with ``CrossEntropy`` and with ``SparseCategoricalCrossentropy``.  The padded steps carry a valid
    label (0), so only the Keras mask keeps them out of the loss."""
    rng = np.random.default_rng(11)
    tokens = rng.integers(1, 20, (320, 6))
    lengths = rng.integers(2, 7, len(tokens))
    tokens[np.arange(6)[None, :] >= lengths[:, None]] = 0  # padding
    labels = (tokens % C).astype("int32")  # padding (token 0) -> class 0
    out, init = {}, None
    for side, make in (("k", lambda: keras.losses.SparseCategoricalCrossentropy(from_logits=True)),
                       ("x", xk.CrossEntropy), ("x_unmasked", xk.CrossEntropy)):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((6,), dtype="int32"),
                                  keras.layers.Embedding(20, 8, mask_zero=side != "x_unmasked"), keras.layers.Dense(C)])
        if init is not None:
            model.set_weights(init)
        init = [w.copy() for w in model.get_weights()]
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss=make(), jit_compile=JIT_COMPILE)
        if side == "x_unmasked":  # the first step's loss only
            out[side] = [float(model.evaluate(tokens[:8], labels[:8], verbose=0))]
            continue
        curve = Curve()
        model.fit(tokens, labels, batch_size=8, epochs=1, shuffle=False, verbose=0, callbacks=[curve])
        out[side] = curve.values
    return out


def main(path: str) -> None:
    t0 = time.perf_counter()
    result: dict[str, Any] = {"backend": BACKEND, "keras": keras.__version__, "errors": {}}
    checks = {"classes": check_classes if BACKEND == "tensorflow" else dict,  # backend-independent (serialization)
              "validation": check_validation,
              "saved_models": check_saved_models if BACKEND == "tensorflow" else dict,  # backend-independent
              "values": check_values,
              "masks": check_masks, "labels": check_labels, "special": check_special,
              "plain_function": check_plain_function, "user_function": check_user_function,
              "training": check_training,
              "masked_sequences": check_masked_sequences}
    for name, fn in checks.items():
        t = time.perf_counter()
        try:
            result[name] = fn()
        except Exception:  # reported to the test, which fails on it
            result["errors"][name] = traceback.format_exc()
        result.setdefault("seconds", {})[name] = time.perf_counter() - t
    result["seconds"]["total"] = time.perf_counter() - t0
    with open(path, "w") as fh:
        json.dump(result, fh)


if __name__ == "__main__":
    main(sys.argv[1])

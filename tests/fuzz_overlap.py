"""Fuzz specs of the overlap family (#9), appended to ``fuzz_strategies.SPECS``.

Dense predictions ``(N, C, *spatial)`` (channels first) or ``(N, *spatial, C)`` (channels last), drawn from a
seeded generator (hypothesis draws the seed, the sizes, the layout and the options): probabilities (softmax
rows, or uniform draws with exact 0s and 1s, so ``min(p, g)`` ties and perfect classes occur) or logits at three
scales with a softmax or a sigmoid; dense targets (one-hot, soft rows, binary masks; float, int or bool) or,
for the label categories, integer class maps with void pixels.  Options from their valid ranges, empty classes
included (a class absent from an image is common at these sizes).  Only ``per="sample"`` is drawn: the other
scopes refuse a ``sample_weight``, which the harness adds to two draws in three (they are tested in
``test_overlap.py`` and in the conformance rows).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from fuzz_strategies import CAMPAIGN, Example, Hyper, Spec, maybe
from hypothesis import strategies as st

N_SIDES = (1, 2, 3) if CAMPAIGN else (2,)
C_SIDES = (1, 2, 3, 4) if CAMPAIGN else (3,)
SPATIAL = ((), (1,), (3,), (2, 2), (1, 2, 3)) if CAMPAIGN else ((2, 2),)
VOID = 255


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _predictions(draw: Callable, rng: np.random.Generator, shape: tuple) -> tuple[np.ndarray, dict]:
    kind = draw(st.sampled_from(["softmax_probs", "uniform_probs", "logits"]))
    if kind == "logits":
        act = draw(st.sampled_from(["softmax", "sigmoid"]))
        z = rng.normal(size=shape) * draw(st.sampled_from([0.3, 1.0, 10.0]))
        return z, {"from_logits": True, "activation": act}
    if kind == "softmax_probs":
        return _softmax(rng.normal(scale=2.0, size=shape)), {}
    p = rng.uniform(0.0, 1.0, size=shape)
    edge = rng.random(size=shape)
    return np.where(edge < 0.1, 0.0, np.where(edge > 0.9, 1.0, p)), {}


def _dense_target(draw: Callable, rng: np.random.Generator, shape: tuple) -> tuple[np.ndarray, bool]:
    """A target of the prediction's shape (channels first) and whether it is differentiable (float)."""
    kind = draw(st.sampled_from(["one_hot", "soft", "binary", "one_hot_int", "one_hot_bool"]))
    n, c = shape[:2]
    if kind == "soft":
        return _softmax(rng.normal(scale=2.0, size=shape)), True
    if kind == "binary":
        return (rng.random(size=shape) < 0.4).astype(np.float64), True
    y = rng.integers(0, c, size=(n,) + shape[2:])
    oh = np.moveaxis(np.eye(c)[y], -1, 1)
    if kind == "one_hot_int":
        return oh.astype(np.int64), False
    if kind == "one_hot_bool":
        return oh.astype(bool), False
    return oh, True


def overlap(name: str) -> Callable:
    def gen(draw: Callable, labels: str | None) -> Example:
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        n = draw(st.sampled_from(N_SIDES))
        c = draw(st.sampled_from([k for k in C_SIDES if k > 1] if labels == "int" else C_SIDES))
        spatial = draw(st.sampled_from(SPATIAL))
        shape = (n, c) + spatial
        x, opts = _predictions(draw, rng, shape)
        diff: tuple = (0,)
        if labels == "int":
            y = rng.integers(0, c, size=(n,) + spatial)
            if draw(st.booleans()):  # void pixels (the label categories, once int_labels is on)
                y[rng.random(size=y.shape) < 0.3] = VOID
                opts["ignore_index"] = VOID
            t = y.astype(draw(st.sampled_from([np.int64, np.int32])))
        else:
            t, differentiable = _dense_target(draw, rng, shape)
            if labels == "float":
                t, differentiable = t.astype(np.float64), True
            diff = (0, 1) if differentiable else (0,)
        axis = 1
        if draw(st.booleans()):  # channels last
            x = np.ascontiguousarray(np.moveaxis(x, 1, -1))
            if t.ndim == x.ndim:
                t = np.ascontiguousarray(np.moveaxis(t, 1, -1))
            axis = x.ndim - 1
        opts["axis"] = draw(st.sampled_from([axis, axis - x.ndim]))
        kw: dict = {}
        if c > 1 and (v := draw(maybe(st.booleans()))) is not None:
            opts["include_background"] = v
        for key, values in (("smooth", [0.0, 1e-5, 1.0]), ("smooth_numerator", [0.0, 0.5])):
            if (v := draw(maybe(st.sampled_from(values)))) is not None:
                opts[key] = v
        if name != "generalized_dice":
            if (v := draw(maybe(st.sampled_from(["smooth", "zero", "ignore"])))) is not None:
                opts["empty"] = v
            if draw(st.booleans()):
                kw["class_weight"] = rng.uniform(0.0, 2.0, size=c)
        if name in ("tversky", "focal_tversky"):
            for key in ("alpha", "beta"):
                if (v := draw(maybe(st.sampled_from([0.0, 0.3, 0.7, 1.0])))) is not None:
                    opts[key] = v
        if name == "focal_tversky" and (v := draw(maybe(st.sampled_from([0.5, 1.0, 4 / 3, 2.0])))) is not None:
            opts["gamma"] = v
        if name in ("dice", "jaccard", "tversky"):
            if (v := draw(maybe(st.sampled_from(["product", "min"])))) is not None:
                opts["intersection"] = v
        if name in ("dice", "jaccard") and (v := draw(maybe(st.booleans()))) is not None:
            opts["squared"] = v
        if name == "generalized_dice" and (v := draw(maybe(st.sampled_from(["square", "simple", "uniform"])))):
            opts["weight_type"] = v
        return Example(name, [x, t], opts, kw, diff=diff, sample_shape=(n,), labels=1 if labels == "int" else None,
                       classes=c, axis=axis)
    return gen


SMOOTH = Hyper("smooth", (-1e-5, -1.0))
PER = Hyper("per", ("image", "batches"))
ALPHA, BETA = Hyper("alpha", (-0.1,)), Hyper("beta", (-0.5,))
HYPERS = {
    "dice": (SMOOTH, PER, Hyper("intersection", ("max",)), Hyper("empty", ("none",))),
    "jaccard": (SMOOTH, PER),
    "tversky": (SMOOTH, PER, ALPHA, BETA),
    "focal_tversky": (SMOOTH, ALPHA, BETA, Hyper("gamma", (0.0, -1.0))),
    "generalized_dice": (SMOOTH, Hyper("weight_type", ("log",)), Hyper("per", ("all", "image"))),
}

# int_labels=False: the harness' label mutations expect the argument `labels`, the overlap losses name it
# `target` (their integer class maps are exercised in test_overlap.py and cases_overlap.py)
SPECS: list[Spec] = [Spec(name, overlap(name), hypers=HYPERS[name], class_axis=True, float_labels=True)
                     for name in HYPERS]

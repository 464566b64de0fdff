"""The Keras leg, run in its own process, one per Keras backend.

Keras fixes its backend at import, and only its TensorFlow backend computes in
float64 (BUILTINS.md §2.5), so the runner starts this module as a subprocess:
``python -m conformance.keras_leg OUT.pkl [BACKEND]`` (default ``tensorflow``)
reads on stdin either a JSON list of ``[case_id, ref_index, dtype]`` (the
Keras references of the function cases) or ``{"refs": [...], "classes": [[case_id,
dtype], ...]}``, where a class job runs an :mod:`xploss.keras` class and the
Keras built-in side by side (``conformance/cases_keras_classes.py``) on that
backend, and pickles ``{"keras": version, "backend": ..., "results": {(case_id,
ref_index, dtype): result}, "classes": {(case_id, dtype): {"xploss": result,
"keras": result}}}`` (a result may be ``{"error": ...}``).
"""

from __future__ import annotations

import json
import os
import pickle
import sys
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np

os.environ["KERAS_BACKEND"] = sys.argv[2] if __name__ == "__main__" and len(sys.argv) > 2 else "tensorflow"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _value_and_grads(fn: Callable, arrays: dict, wrt: tuple[str, ...]) -> tuple[Any, dict]:
    """``fn(**tensors)`` on the Keras backend's native tensors and the gradient of its sum w.r.t. ``wrt``."""
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        tensors = {k: jnp.asarray(v) for k, v in arrays.items()}

        def f(*ws: Any) -> Any:
            return fn(**{**tensors, **dict(zip(wrt, ws, strict=True))})

        start = [tensors[n] for n in wrt]
        grads = jax.grad(lambda *ws: jnp.sum(f(*ws)), argnums=tuple(range(len(wrt))))(*start) if wrt else ()
        return f(*start), dict(zip(wrt, grads, strict=True))
    if backend == "torch":
        import torch

        tensors = {k: torch.tensor(v, requires_grad=k in wrt) for k, v in arrays.items()}
        out = fn(**tensors)
        grads = torch.autograd.grad(out.sum(), [tensors[n] for n in wrt]) if wrt else ()
        return out.detach(), dict(zip(wrt, grads, strict=True))
    import tensorflow as tf

    tensors = {k: tf.constant(v) for k, v in arrays.items()}
    with tf.GradientTape() as tape:
        for n in wrt:
            tape.watch(tensors[n])
        out = fn(**tensors)
    grads = tape.gradient(out, [tensors[n] for n in wrt]) if wrt else ()
    return out, dict(zip(wrt, grads, strict=True))


def run_class_pair(case: Any, dtype: str) -> dict:
    """An ``xploss.keras`` class and its Keras built-in, both called ``loss(y_true, y_pred, sample_weight=w)``."""
    import keras

    import xploss.keras

    from .evaluate import cast, to_numpy

    inputs = case.make_inputs()
    out = {}
    for side, call in (("xploss", case.xploss), ("keras", case.refs[0])):
        cls = getattr(xploss.keras if side == "xploss" else keras.losses, call.name.removeprefix("losses."))
        loss = cls(**call.ctor, dtype=dtype)
        wrt = tuple(g for g in case.grad if g in call.inputs)
        arrays = {n: cast(np.asarray(inputs[n]), dtype) for n in call.inputs}

        def fn(loss: Any = loss, call: Any = call, **t: Any) -> Any:
            kwargs = {k: t[v.name] if hasattr(v, "name") else v for k, v in call.kwargs.items()}
            return loss(*(t[a] for a in call.args), **kwargs)

        try:
            value, grads = _value_and_grads(fn, arrays, wrt)
            out[side] = {"value": to_numpy(value), "grads": {k: to_numpy(g) for k, g in grads.items()
                                                             if k in case.grads_for(case.refs[0])}}
        except Exception as exc:  # reported per row
            out[side] = {"error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc(limit=3)}
    return out


def main(out_path: str) -> None:
    import keras

    from .cases import BY_ID
    from .cases_keras_classes import BY_ID as CLASS_CASES
    from .evaluate import run_keras

    jobs = json.load(sys.stdin)
    if isinstance(jobs, list):
        jobs = {"refs": jobs, "classes": []}
    results, classes = {}, {}
    for case_id, index, dtype in jobs["refs"]:
        case = BY_ID[case_id]
        try:
            results[(case_id, index, dtype)] = run_keras(case, case.refs[index], case.make_inputs(), dtype)
        except Exception as exc:  # reported per row
            results[(case_id, index, dtype)] = {"error": f"{type(exc).__name__}: {exc}",
                                                "trace": traceback.format_exc(limit=3)}
    for case_id, dtype in jobs["classes"]:
        classes[(case_id, dtype)] = run_class_pair(CLASS_CASES[case_id], dtype)
    with open(out_path, "wb") as fh:
        pickle.dump({"keras": keras.__version__, "backend": keras.backend.backend(), "results": results,
                     "classes": classes}, fh)


if __name__ == "__main__":
    main(sys.argv[1])

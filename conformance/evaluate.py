"""Evaluate one call of the case table: value and gradient, as float64 NumPy.

Each evaluator returns ``{"value": array, "grads": {name: array}}``.  The
gradient is that of the reduced loss (of its sum for ``reduction="none"``)
with respect to the case's gradient inputs.  Frameworks are imported lazily:
the Keras leg runs in its own process (Keras fixes its backend at import).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .cases import Call, Case, In

__all__ = ["cast", "build", "run_torch", "run_keras", "run_xploss", "to_numpy", "CONVERTERS"]


def cast(x: Any, dtype: str) -> Any:
    """Float arrays to ``dtype``; integer arrays and Python scalars unchanged."""
    if isinstance(x, np.ndarray) and x.dtype.kind == "f":
        return x.astype(dtype)
    return x


def build(call: Call, tensors: dict) -> tuple[list, dict]:
    """Positional and keyword arguments of ``call`` from converted inputs."""
    kwargs = {k: tensors[v.name] if isinstance(v, In) else v for k, v in call.kwargs.items()}
    return [tensors[a] for a in call.args], kwargs


def build_ctor(call: Call, tensors: dict) -> dict:
    """Constructor options of a criterion call (``In`` names replaced by converted inputs)."""
    return {k: tensors[v.name] if isinstance(v, In) else v for k, v in call.ctor.items()}


def to_numpy(x: Any) -> np.ndarray:
    """Any backend's array as a NumPy array (its own dtype)."""
    if hasattr(x, "detach"):  # torch
        return x.detach().cpu().numpy()
    if hasattr(x, "numpy") and not isinstance(x, np.ndarray):  # tensorflow
        return np.asarray(x.numpy())
    return np.asarray(x)  # numpy, jax, array_api_strict


def _result(value: Any, grads: dict) -> dict:
    return {"value": to_numpy(value), "grads": {k: to_numpy(g) for k, g in grads.items()}}


def _scalar(out: Any) -> Any:
    return out.sum() if out.ndim else out


# -- built-ins ----------------------------------------------------------------------------

def run_torch(case: Case, ref: Call, inputs: dict, dtype: str) -> dict:
    """``torch.nn.functional`` call or a reference formula, gradients by ``torch.autograd``."""
    import torch
    import torch.nn.functional as F

    wrt = case.grads_for(ref)
    tensors = {n: torch.from_numpy(cast(inputs[n], dtype)) if isinstance(inputs[n], np.ndarray) else inputs[n]
               for n in ref.inputs}
    for n in wrt:
        tensors[n].requires_grad_(True)
    args, kwargs = build(ref, tensors)
    if ref.lib == "formula":
        out = ref.fn(torch, *args)
    elif ref.lib == "module":  # torch.nn.<Class>(**ctor)(*args)
        out = getattr(torch.nn, ref.name)(**build_ctor(ref, tensors))(*args, **kwargs)
    else:
        out = getattr(F, ref.name)(*args, **kwargs)
    grads = torch.autograd.grad(_scalar(out), [tensors[n] for n in wrt]) if wrt else ()
    return _result(out, dict(zip(wrt, grads, strict=True)))


def run_keras(case: Case, ref: Call, inputs: dict, dtype: str) -> dict:
    """``keras.<path>(**ctor)(...)`` on the TensorFlow Keras backend, gradients by ``tf.GradientTape``."""
    import keras
    import tensorflow as tf

    obj: Any = keras
    for part in ref.name.split("."):
        obj = getattr(obj, part)
    ctor = dict(ref.ctor)
    if ref.name.startswith("losses."):
        ctor["dtype"] = dtype  # Keras computes in the loss dtype (float64 is exact only on TF)
    loss = obj(**ctor)
    wrt = case.grads_for(ref)
    tensors = {n: tf.constant(cast(inputs[n], dtype)) for n in ref.inputs}
    with tf.GradientTape() as tape:
        for n in wrt:
            tape.watch(tensors[n])
        args, kwargs = build(ref, tensors)
        out = loss(*args, **kwargs)
    grads = tape.gradient(out, [tensors[n] for n in wrt]) if wrt else ()
    return _result(out, dict(zip(wrt, grads, strict=True)))


# -- xploss --------------------------------------------------------------------------------

def _converters() -> dict[str, Callable]:
    def strict(x: np.ndarray) -> Any:
        import array_api_strict as xps

        return xps.asarray(x)

    def torch_(x: np.ndarray) -> Any:
        import torch

        return torch.from_numpy(np.ascontiguousarray(x))

    def jax_(x: np.ndarray) -> Any:
        import jax.numpy as jnp

        return jnp.asarray(x)

    def tf_(x: np.ndarray) -> Any:
        import tensorflow as tf

        return tf.constant(x)

    return {"numpy": np.asarray, "array_api_strict": strict, "torch": torch_, "jax": jax_, "tensorflow": tf_}


CONVERTERS = _converters()


def run_xploss(case: Case, inputs: dict, dtype: str, backend: str) -> dict:
    """The case's xploss call on ``backend``: value, and gradients from ``xploss.value_and_grad``."""
    import xploss

    call = case.xploss
    conv = CONVERTERS[backend]
    tensors = {n: conv(cast(inputs[n], dtype)) if isinstance(inputs[n], np.ndarray) else inputs[n]
               for n in call.inputs}
    args, kwargs = build(call, tensors)
    if call.name.startswith("torch."):
        return _run_criterion(case, call, tensors, args)
    fn = getattr(xploss, call.name)
    argnums = tuple(call.args.index(g) for g in case.grad)
    none = kwargs.get("reduction") == "none"
    scalar_kwargs = {**kwargs, "reduction": "sum"} if none else kwargs  # gradient of the sum
    value, grads = xploss.value_and_grad(fn, argnums)(*args, **scalar_kwargs)
    if none:
        value = fn(*args, **kwargs)
    return _result(value, dict(zip(case.grad, grads, strict=True)))


def _run_criterion(case: Case, call: Call, tensors: dict, args: list) -> dict:
    """An ``xploss.torch`` criterion: value, and gradients (of the sum for ``reduction="none"``)."""
    import xploss
    import xploss.torch

    cls = getattr(xploss.torch, call.name.removeprefix("torch."))
    ctor = build_ctor(call, tensors)
    criterion = cls(**ctor)
    scalar = cls(**{**ctor, "reduction": "sum"}) if ctor.get("reduction") == "none" else criterion
    argnums = tuple(call.args.index(g) for g in case.grad)
    _, grads = xploss.value_and_grad(lambda *a: scalar(*a), argnums)(*args)
    return _result(criterion(*args), dict(zip(case.grad, grads, strict=True)))


def guarded(fn: Callable, *args: Any) -> dict:
    """``fn(*args)``, or ``{"error": ...}`` when it raises (recorded in the row, never fatal)."""
    try:
        return fn(*args)
    except Exception as exc:  # recorded in the row
        return {"error": f"{type(exc).__name__}: {exc}"}

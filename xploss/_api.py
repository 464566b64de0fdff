"""The one wrapper every public loss goes through, and the registry of losses.

:func:`loss` registers a public function in :data:`LOSSES` (which the
framework front-ends, :mod:`xploss.keras` and :mod:`xploss.torch`, generate
their classes from) and guards the porting traps that sit *outside* a
kernel, at the call itself:

* ``weight=`` is refused with a message naming ``sample_weight=`` (per
  sample, Keras' name) and ``class_weight=`` (per class, torch's ``weight=``);
  any other unknown keyword gets the list of the loss' options;
* a plain xploss function handed to Keras (``model.compile(loss=xploss.mse)``)
  would be called ``fn(y_true, y_pred)``, the reverse of xploss' order:
  detected from the caller and refused, naming the ``xploss.keras`` class;
* on torch and TensorFlow a backend hook (``call``) runs the loss: torch's
  autocast policy (losses computed and returned in float32); TensorFlow's
  small integer label dtypes (int8/16, uint8/16/32, which its gather and
  comparison kernels refuse) widened to int64, as the other backends accept them.
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable
from typing import Any

from ._errors import XplossError, XplossTypeError
from ._namespace import hooked_backend

__all__ = ["LOSSES", "loss", "camel", "not_converted"]

LOSSES: dict[str, Callable] = {}  # function name -> the public (wrapped) function
_HOOKED = ("torch", "tensorflow")  # backends whose ``call`` runs a public loss (with the caller check)


_ACRONYMS = {"ctc": "CTC", "iou": "IoU", "giou": "GIoU", "diou": "DIoU", "ciou": "CIoU"}


def camel(name: str) -> str:
    """``sigmoid_binary_cross_entropy`` -> ``SigmoidBinaryCrossEntropy`` (``l1`` -> ``L1``, ``giou_loss`` ->
    ``GIoULoss``, ``ctc`` -> ``CTC``)."""
    return "".join(_ACRONYMS.get(part, part[:1].upper() + part[1:]) for part in name.split("_"))


def _caller_is_keras(frame: Any) -> bool:
    """Is ``frame`` Keras' wrapper of a plain loss function (possibly through autograph)?"""
    for _ in range(4):
        if frame is None:
            return False
        module = frame.f_globals.get("__name__", "") or ""
        if module.startswith("keras.src.losses"):
            return True
        if not (module.startswith("tensorflow") or module.startswith("__autograph_generated")):
            return False
        frame = frame.f_back
    return False


def _keras_error(name: str) -> XplossError:
    return XplossTypeError(
        f"xploss.{name}: called by Keras as a plain function. Keras calls a loss as loss(y_true, y_pred), "
        f"the reverse of xploss' (prediction, target) order, so this would train on the wrong objective. "
        f"Use the Keras class: model.compile(loss=xploss.keras.{camel(name)}(...))."
    )


def _unknown_keyword(name: str, key: str, allowed: frozenset) -> XplossError:
    options = ", ".join(f"`{k}`" for k in sorted(allowed))
    if key == "weight":
        if "class_weight" in allowed:
            expected = ("`sample_weight=` for per-sample weights (Keras' name) or `class_weight=` for per-class "
                        "weights (torch's `weight=`)")
        elif "sample_weight" in allowed:
            expected = "`sample_weight=` for per-sample weights (Keras' name; this loss has no per-class weight)"
        else:
            return XplossTypeError(f"xploss.{name}: argument `weight`: expected {_options_text(options)} (this loss "
                                   "has no per-sample or per-class weight). Received: an unknown keyword `weight`.")
        return XplossTypeError(f"xploss.{name}: argument `weight`: expected {expected}. "
                               "Received: `weight=` (ambiguous between the two).")
    return XplossTypeError(f"xploss.{name}: argument `{key}`: expected {_options_text(options)}. "
                           f"Received: an unknown keyword `{key}`.")


def _options_text(options: str) -> str:
    return f"one of the options {options}" if options else "no keyword options"


def loss(fn: Callable) -> Callable:
    """Register ``fn`` as a public loss and wrap it with the call-site guards."""
    name = fn.__name__
    params = inspect.signature(fn).parameters.values()
    allowed = frozenset(p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if kwargs and not allowed.issuperset(kwargs):
            key = next(k for k in kwargs if k not in allowed)
            raise _unknown_keyword(name, key, allowed)
        be = hooked_backend(_first_array(args), _HOOKED)
        if be is not None:
            return be.call(name, fn, args, kwargs)
        if "keras" in sys.modules and _caller_is_keras(sys._getframe(1)):
            raise _keras_error(name)
        return fn(*args, **kwargs)

    wrapper.__xploss_loss__ = name
    not_converted(wrapper)
    LOSSES[name] = wrapper
    return wrapper


def _first_array(args: tuple) -> Any:
    """The first positional array (a penalty's first argument is the critic, a callable: a
    ``torch.nn.Module`` is of a torch type but not an array)."""
    for a in args:
        if hasattr(a, "shape"):
            return a
    return None


def not_converted(fn: Callable) -> Callable:
    """Mark ``fn`` so that TensorFlow's autograph calls it as plain Python instead of converting it.

    ``autograph_info__`` is the mark ``tf.autograph.experimental.do_not_convert`` sets (set here
    without importing TensorFlow): xploss' code is data-independent Python, autograph has nothing to
    convert, and converting it made the first trace of a loss ~30x slower than a built-in's.
    """
    fn.autograph_info__ = {}
    return fn


def check_caller(name: str, depth: int) -> None:
    """The Keras check, for a backend that runs it itself (torch: not while compiling).

    ``depth`` counts the frames from the caller of this function up to the
    public wrapper.
    """
    if "keras" in sys.modules and _caller_is_keras(sys._getframe(depth + 2)):
        raise _keras_error(name)

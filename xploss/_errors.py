"""The one error type of xploss and its message template."""

from __future__ import annotations

__all__ = ["XplossError", "XplossTypeError", "error", "dtype_name"]


class XplossError(ValueError):
    """Bad input to an xploss function.

    Every message names the function, the argument, what was expected and
    what was received.
    """

    # TensorFlow's autograph re-raises an error from inside a tf.function as a StagingError
    # (or an exception of the same type with its own traceback text prepended); this attribute
    # tells it to let the error pass through unchanged, so that `except XplossError` and the
    # message are the same under tf.function as eagerly.
    ag_pass_through = True


class XplossTypeError(XplossError, TypeError):
    """Bad input type or dtype (also a ``TypeError``)."""


def error(fn: str, arg: str, expected: str, received: object, *, kind: type[XplossError] = XplossError,
          hint: str = "") -> XplossError:
    """Build an error with the one xploss template.

    ``xploss.huber: argument `delta`: expected a float > 0. Received: -1.0.``
    A ``hint`` (how to fix a known porting trap) follows as its own sentence.
    """
    message = f"xploss.{fn}: argument `{arg}`: expected {expected}. Received: {received}."
    return kind(message + " " + hint if hint else message)


def dtype_name(dtype: object) -> str:
    """A dtype as its bare name on every backend: ``float32``, not ``torch.float32`` or TensorFlow's
    ``<dtype: 'float32'>``, so that a message reads the same whichever library raised it."""
    name = getattr(dtype, "name", None)
    if isinstance(name, str):
        return name
    text = str(dtype)
    return text.rsplit(".", 1)[-1].rstrip("'>")

"""The one error type of xploss and its message template."""

from __future__ import annotations

__all__ = ["XplossError", "XplossTypeError", "error"]


class XplossError(ValueError):
    """Bad input to an xploss function.

    Every message names the function, the argument, what was expected and
    what was received.
    """


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

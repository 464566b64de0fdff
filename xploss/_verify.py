"""``xploss.verify``: the case table's equivalences, checked on your own arrays.

A thin lazy entry point: the implementation lives in :mod:`conformance.verify`
(installed with xploss) and is imported on the first call, so ``import xploss``
stays free of frameworks.
"""

from __future__ import annotations

from typing import Any

__all__ = ["verify"]


def verify(loss: Any, /, *arrays: Any, **options: Any) -> Any:
    """Compare an xploss call with the torch, Keras and optax built-ins it replaces, on your arrays.

    The conformance case table maps each xploss call to its built-in counterparts.  ``verify`` finds
    the rows that match your loss and options, runs every reference and the xploss call (on every
    installed backend) on *your* arrays, and reports the worst value and gradient error of each at
    the project tolerances.  Where your options differ from a documented mapping, the report names
    the divergence and the option that reproduces the built-in.

    Parameters
    ----------
    loss : str or callable
        A public xploss loss, by name (``"cross_entropy"``) or as the function.
    *arrays : array_like
        The loss' positional arrays: NumPy, torch, JAX or TensorFlow (converted to NumPy).
    **options
        The loss' options, as in the call you mean to verify (``class_weight=cw``,
        ``reduction="weighted_mean"``, ...), plus ``backends=``, ``dtypes=``, ``against=``
        (``"torch"``, ``"keras"``, ``"optax"``, ``"formula"`` or part of a built-in's name), and
        ``npz=`` / ``names=`` to read the arrays from an ``.npz`` file.

    Returns
    -------
    conformance.verify.VerifyResult
        ``print(result)`` shows one block per built-in; ``result.passed``.

    Raises
    ------
    XplossError
        An unknown loss or option.

    See Also
    --------
    conformance.verify.verify : the implementation; ``python -m conformance verify`` is its CLI.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> logits = np.array([[2.0, -1.0, 0.5], [0.1, 0.3, -2.0]])
    >>> labels = np.array([0, 2])
    >>> result = xploss.verify("cross_entropy", logits, labels, backends=["numpy"], against="torch")
    >>> result.passed
    True
    """
    try:
        from conformance.verify import verify as run
    except ImportError as exc:  # pragma: no cover - a broken install
        from ._errors import XplossError

        raise XplossError(f"xploss.verify: the `conformance` package (shipped with xploss) cannot be imported: "
                          f"{exc}") from exc
    return run(loss, *arrays, **options)

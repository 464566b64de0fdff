"""NumPy and array_api_strict: gradients from the hand derivatives.

NumPy with HIPS ``autograd`` installed (``pip install "xploss[autograd]"``):
:func:`value_and_grad` is ``autograd.value_and_grad``, and every xploss loss
is an autograd primitive carrying its hand VJP (:mod:`xploss.backends._autograd`),
so any NumPy function of the arguments (a model, then a loss) is
differentiated.

Without autograd, and always on array_api_strict, there is no framework
autodiff: :func:`value_and_grad` records every xploss operation on a small
tape (a context variable) while the function runs, then walks it backwards
through the ``Bound.vjp`` of each operation.  A gradient is never silently
wrong:

* NumPy: each differentiated argument is handed to the function as a private
  ``np.ndarray`` subclass (:class:`_Marked`) that NumPy propagates through
  ufuncs, ``@`` and every ``np.*`` function.  A taped loss that receives a
  marked array which is neither an argument nor the result of a taped loss
  (e.g. ``X @ w``) raises when that path carries a gradient; unused arguments
  get a zero gradient.  A conversion that leaves NumPy's dispatch
  (``np.asarray``, ``np.array``, ``.view(np.ndarray)``, Python floats) drops
  the mark: such code needs autograd.
* array_api_strict: the same marks on the wrapped NumPy array, plus the
  simplest safe rule: a differentiated argument must be a direct input of a
  taped loss on the path to the result, otherwise it raises (an unused
  argument cannot be told apart from one used through other arithmetic).
* The function must return the result of an xploss loss itself.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Sequence
from typing import Any

import array_api_compat.numpy as _npx
import numpy as np

from .. import _ops
from .._errors import XplossError, XplossTypeError, error
from ._common import Backend, check_scalar_output, normalize_argnums, pack, wrap

# blocked eager evaluation (xploss._define) on plain NumPy arrays (array_api_strict keeps the whole-array path)
_ops.NATIVE.setdefault("array_api_compat.numpy", {})["blocking"] = \
    lambda *xs: 1 << 17 if all(type(x) is np.ndarray for x in xs if x is not None) else 0


def _log_ratio(p: Any, lq: Any) -> Any:
    """``xploss._ops.log_ratio`` in four passes, not nine (log 0 = -inf is masked: its warning is not raised)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(p != 0, np.log(p) - lq, 0.0)  # the float 0 takes the arrays' dtype (NEP 50)


_ops.NATIVE["array_api_compat.numpy"]["log_ratio"] = _log_ratio
if hasattr(np, "vecdot"):  # NumPy >= 2.0: a fused row dot (no product temporary)
    _ops.NATIVE["array_api_compat.numpy"]["vecdot"] = lambda a, b, axis: np.vecdot(a, b, axis=axis)


# The softmax blocks of the cross-entropy family: the generic bodies' operations, with the exp and the scaling
# done in place on the one fresh temporary (each full-size temporary of a (4096, 1000) batch is 16 MB of fresh
# memory on NumPy).  Plain ndarrays only (the kernels run on plain NumPy values; a subclass keeps the generic
# body), and only where the result keeps the input's dtype.
def _plain(*xs: Any) -> bool:
    return all(type(x) is np.ndarray for x in xs)


def _logsumexp(z: Any, axis: int) -> Any:
    if not _plain(z):
        return _ops.logsumexp_body(_npx, z, axis)
    m = np.max(z, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, np.zeros_like(m))
    e = np.subtract(z, m)
    np.exp(e, out=e)
    return np.log(np.sum(e, axis=axis, keepdims=True)) + m


def _softmax_scaled(z: Any, lse: Any, scale: Any, axis: int) -> Any:
    s = np.expand_dims(scale, axis)
    if not _plain(z, lse) or np.result_type(z, lse, s) != z.dtype:
        return np.exp(z - lse) * s
    e = np.subtract(z, lse)
    np.exp(e, out=e)
    e *= s
    return e


def _subtract_at(g: Any, idx: Any, values: Any, axis: int) -> Any:
    """``g`` (a fresh temporary of the kernel's) minus ``values`` at ``idx`` along ``axis``, in place."""
    v = np.expand_dims(values, axis)
    if not _plain(g) or np.result_type(g, v) != g.dtype:
        return _ops.subtract_at_body(_npx, g, idx, values, axis)
    ix = np.expand_dims(idx, axis)
    np.put_along_axis(g, ix, np.take_along_axis(g, ix, axis) - v, axis)
    return g


_ops.NATIVE["array_api_compat.numpy"].update(logsumexp=_logsumexp, softmax_scaled=_softmax_scaled,
                                              subtract_at=_subtract_at)

_TAPE: contextvars.ContextVar[_Tape | None] = contextvars.ContextVar("xploss_tape", default=None)

_INSTALL = ('Install autograd (pip install "xploss[autograd]") to differentiate whole NumPy functions, '
            "or use torch, jax or tensorflow.")


# -- autograd, when installed ------------------------------------------------------------

_AUTOGRAD: list = []  # [module or None] once looked up


def _load_autograd() -> Any:
    """The ``autograd`` module when installed (imported on the first NumPy gradient), else None."""
    if not _AUTOGRAD:
        try:
            import autograd
        except ImportError:
            autograd = None
        _AUTOGRAD.append(autograd)
    return _AUTOGRAD[0]


def input_gradient_autograd(autograd: Any, f: Callable, x: Any) -> Any:
    """``autograd.grad(lambda v: sum(f(v)))(x)`` (``x`` a NumPy array or an autograd box)."""
    import autograd.numpy as anp

    return autograd.grad(lambda v: anp.sum(f(v)))(x)


# -- marks: arrays computed from a differentiated argument (no autograd) -----------------

class _Marked(np.ndarray):
    """A differentiated argument, or an array NumPy computed from one, while a tape runs.

    Every ufunc (arithmetic, ``@``, reductions) and every ``np.*`` function
    that receives a marked array returns marked arrays; slices and methods
    keep the type as for any subclass.
    """

    __array_priority__ = 100.0  # ``X.dot(w)``: the result takes the marked operand's type

    def __getitem__(self, index: Any) -> Any:
        return _mark(super().__getitem__(index))  # an element stays marked (a 0-d array, not a NumPy scalar)

    def __repr__(self) -> str:
        return repr(self.view(np.ndarray))

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if "out" in kwargs:
            kwargs["out"] = tuple(_unmark(o) for o in kwargs["out"])
        return _mark(getattr(ufunc, method)(*(_unmark(x) for x in inputs), **kwargs))

    def __array_function__(self, func: Any, types: Any, args: tuple, kwargs: dict) -> Any:
        return _mark(func(*_unmark(args), **_unmark(kwargs)))


def _unmark(x: Any) -> Any:
    if isinstance(x, _Marked):
        return x.view(np.ndarray)
    if isinstance(x, (list, tuple)):
        return type(x)(_unmark(v) for v in x)
    if isinstance(x, dict):
        return {k: _unmark(v) for k, v in x.items()}
    return x


def _mark(x: Any) -> Any:
    if isinstance(x, _Marked):
        return x
    if isinstance(x, (np.ndarray, np.generic)):
        return np.asarray(x).view(_Marked)
    if isinstance(x, (list, tuple)):
        return type(x)(_mark(v) for v in x)
    return x


class _Tape:
    """The xploss operations run while :func:`value_and_grad` evaluates a function."""

    def __init__(self, strict: bool) -> None:
        self.strict = strict
        # (bound, arrays as given, plain arrays, residuals, result as returned, plain result, derived flags)
        self.entries: list[tuple] = []
        self.legit: set[int] = set()  # ids of marked arrays a loss may receive: arguments, taped results

    # numpy arrays carry the mark themselves, array_api_strict arrays on their wrapped NumPy array
    def _data(self, a: Any) -> Any:
        return a._array if self.strict else a

    def _wrap(self, like: Any, data: Any) -> Any:
        return type(like)._new(data, device=like.device) if self.strict else data

    def is_marked(self, a: Any) -> bool:
        return a is not None and isinstance(self._data(a), _Marked)

    def plain(self, a: Any) -> Any:
        return self._wrap(a, self._data(a).view(np.ndarray)) if self.is_marked(a) else a

    def mark(self, a: Any) -> Any:
        marked = self._wrap(a, np.asarray(self._data(a)).view(_Marked))
        self.legit.add(id(marked))
        return marked

    def record(self, bound: Any, arrays: tuple, xp: Any) -> Any:
        marked = tuple(self.is_marked(a) for a in arrays)
        plain = tuple(self.plain(a) for a in arrays)
        raw, res = bound.forward(xp, *plain, grad=True)
        derived = tuple(m and id(a) not in self.legit for a, m in zip(arrays, marked))
        # a result that depends on an argument is marked too: a legit input of the next loss
        out = self.mark(raw) if any(marked) else raw
        self.entries.append((bound, arrays, plain, res, out, raw, derived))
        return out


def _input_name(bound: Any, k: int, n: int) -> str:
    return "sample_weight" if k == n - 1 else f"array {k}"


_STRICT = "Use torch, jax or tensorflow for arbitrary functions (or NumPy arrays with autograd installed)."


def _derived_error(bound: Any, k: int, n: int, strict: bool) -> XplossError:
    where = "on array_api_strict" if strict else "without autograd, NumPy"
    return XplossError(
        f"xploss.value_and_grad: {_input_name(bound, k, n)} of xploss.{bound.prim.name}: expected a "
        f"differentiated argument itself or the result of an xploss loss ({where} gradients follow xploss "
        "losses only). Received: an array computed from a differentiated argument by other arithmetic, whose "
        f"gradient would be silently dropped. {_STRICT if strict else _INSTALL}"
    )


class NumpyBackend(Backend):
    def __init__(self, name: str) -> None:
        self.name = name
        if name == "numpy":
            import array_api_compat.numpy as xp
        else:
            import array_api_strict as xp
        self.xp = xp

    def host(self, x: Any) -> Any:
        """The values of ``x`` as a NumPy array (always available here)."""
        return np.asarray(x)

    def apply(self, bound: Any, arrays: tuple) -> Any:
        tape = _TAPE.get()
        if tape is not None:
            return tape.record(bound, arrays, self.xp)
        return bound.forward(self.xp, *arrays)[0]

    def input_gradient(self, fn: str, f: Callable, x: Any) -> Any:
        """NumPy: HIPS autograd's ``grad`` when installed (it nests inside an outer ``autograd.grad`` of the
        critic's parameters); array_api_strict and NumPy without autograd raise (no autodiff of ``f``)."""
        autograd = _load_autograd() if self.name == "numpy" else None
        if autograd is None:
            return super().input_gradient(fn, f, x)
        return input_gradient_autograd(autograd, f, x)

    def value_and_grad(self, fn: Callable, argnums: int | Sequence[int] = 0) -> Callable:
        xp = self.xp

        def inner(*args: Any, **kwargs: Any) -> Any:
            nums, single = normalize_argnums(argnums, len(args))
            for i in nums:
                if not xp.isdtype(self._dtype(args[i]), "real floating"):
                    raise error("value_and_grad", f"args[{i}]", "a real floating array to differentiate",
                                f"dtype {self._dtype(args[i])}", kind=XplossTypeError)
            autograd = _load_autograd() if self.name == "numpy" else None
            if autograd is not None:
                return self._autograd(autograd, fn, nums, single, args, kwargs)
            return self._tape(fn, nums, single, args, kwargs)

        return wrap(fn, inner)

    def _dtype(self, x: Any) -> Any:
        """The dtype of an argument; on NumPy a Python float is a float64 scalar (a bias ``b = 0.0``)."""
        if self.name == "numpy" and not hasattr(x, "dtype"):
            return np.result_type(x)
        return x.dtype

    # -- with autograd: any NumPy function --------------------------------------------
    def _autograd(self, autograd: Any, fn: Callable, nums: tuple, single: bool, args: tuple, kwargs: dict) -> Any:
        def scalar_fn(*a: Any) -> Any:
            out = fn(*a, **kwargs)
            check_scalar_output(out)
            return out

        value, grads = autograd.value_and_grad(scalar_fn, nums[0] if single else nums)(*args)
        grads = [grads] if single else list(grads)
        return value, pack(single, [np.asarray(g, dtype=self._dtype(args[i])) for g, i in zip(grads, nums)])

    # -- without: the tape of xploss operations ---------------------------------------
    def _tape(self, fn: Callable, nums: tuple, single: bool, args: tuple, kwargs: dict) -> Any:
        xp = self.xp
        tape = _Tape(strict=self.name != "numpy")
        args = list(args)
        for i in nums:
            args[i] = tape.mark(args[i] if self.name != "numpy" else np.asarray(args[i]))
        token = _TAPE.set(tape)
        try:
            out = fn(*args, **kwargs)
        finally:
            _TAPE.reset(token)
        check_scalar_output(out)
        final = next((e[5] for e in tape.entries if e[4] is out), None)
        if final is None:
            raise XplossError(
                "xploss.value_and_grad: without autograd the function must return the result of an xploss loss "
                "(gradients come from the hand-written derivatives). Received: a value computed outside xploss. "
                + (_STRICT if tape.strict else _INSTALL)
            )
        cot: dict[int, Any] = {id(out): xp.ones_like(final)}
        reached: set[int] = set()  # ids of the arrays given to the losses on the path to the result
        for bound, arrays, plain, res, o, _, derived in reversed(tape.entries):
            g = cot.pop(id(o), None)
            if g is None:
                continue
            needs = tuple(a is not None for a in arrays)
            cts = bound.vjp(xp, plain, res, g, needs)
            for k, (a, c) in enumerate(zip(arrays, cts)):
                if a is None:
                    continue
                reached.add(id(a))
                if c is None:
                    continue
                if derived[k]:
                    raise _derived_error(bound, k, len(arrays), tape.strict)
                key = id(a)
                cot[key] = c if key not in cot else cot[key] + c
        grads = []
        for i in nums:
            if tape.strict and id(args[i]) not in reached:
                raise error("value_and_grad", f"args[{i}]",
                            "an array passed directly to an xploss loss (array_api_strict has no autodiff: "
                            "gradients follow xploss losses only)",
                            "an argument that reaches no loss directly (unused, or used through other arithmetic, "
                            "which array_api_strict cannot follow)", hint=_STRICT)
            g = cot.get(id(args[i]))
            grads.append(xp.zeros_like(tape.plain(args[i])) if g is None else xp.astype(g, args[i].dtype))
        return final, pack(single, grads)


def backend(name: str) -> NumpyBackend:
    return NumpyBackend(name)

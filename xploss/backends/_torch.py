"""PyTorch: one ``torch.autograd.Function`` (setup_context form) per loss call.

The forward saves the inputs by reference plus the loss's residuals (O(N) for
cross-entropy: the per-row log-sum-exp).  The backward runs the hand VJP.  When
autograd records the backward (``create_graph=True``), the residuals are
recomputed from the saved inputs so that second-order gradients are exact.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Sequence
from typing import Any

import array_api_compat.torch as compat
import torch
import torch._C._functorch as _functorch

from .. import _ops
from .._api import check_caller
from .._errors import XplossError, XplossTypeError, dtype_name, error
from ._common import Backend, check_scalar_output, normalize_argnums, pack, wrap


def _recording(*xs: Any) -> bool:
    """Is autograd recording these tensors, or a torch.func transform wrapping them?  (No in-place fast path
    then: a vmapped operand, e.g. jacrev's batched cotangent, cannot be written into an unbatched buffer.)"""
    return (torch.is_grad_enabled() and any(x.requires_grad for x in xs if isinstance(x, torch.Tensor))) or \
        torch._C._are_functorch_transforms_active()


_BLOCK = 1 << 17  # elements per block (512 KiB of float32: cache-resident temporaries)


def _logsumexp(z: Any, axis: int) -> Any:
    """``torch.logsumexp`` over blocks of leading rows when large and not recording.

    Same numbers; the exp temporaries stay in cache (about 2x faster on CPU)
    and the forward holds one block instead of a logits-sized buffer.
    """
    if z.ndim < 2 or axis % z.ndim == 0 or z.numel() < 4 * _BLOCK or _recording(z):
        return torch.logsumexp(z, dim=axis, keepdim=True)
    rows = max(1, _BLOCK * z.shape[0] // z.numel())
    out = z.new_empty(z.shape[:axis % z.ndim] + (1,) + z.shape[axis % z.ndim + 1:])
    for i0 in range(0, z.shape[0], rows):  # each block's result written in place: no small result kept alive
        torch.logsumexp(z[i0:i0 + rows], dim=axis, keepdim=True, out=out[i0:i0 + rows])  # between its temporaries
    return out


def _take_along_axis(x: Any, idx: Any, axis: int) -> Any:
    return torch.gather(x, axis, idx if idx.dtype == torch.int64 else idx.long())


def _softmax_scaled(z: Any, lse: Any, scale: Any, axis: int) -> Any:
    if _recording(z, lse, scale):
        return torch.exp(z - lse) * scale.unsqueeze(axis)
    return torch.sub(z, lse).exp_().mul_(scale.unsqueeze(axis))  # one buffer, three passes


def _log_ratio(p: Any, lq: Any) -> Any:
    if _recording(p, lq):  # differentiated again (a double backward): log's gradient must stay finite at p = 0
        return _ops.log_ratio_body(xp, p, lq)
    return torch.where(p != 0, torch.log(p) - lq, 0.0)  # log 0 = -inf, masked


def _subtract_at(g: Any, idx: Any, values: Any, axis: int) -> Any:
    idx = idx.unsqueeze(axis)
    idx = idx if idx.dtype == torch.int64 else idx.long()
    if _recording(g, values):
        return torch.scatter_add(g, axis, idx, -values.unsqueeze(axis))
    return g.scatter_add_(axis, idx, -values.unsqueeze(axis))  # g is a fresh temporary


_SCALARS = (int, float)


def _float_scalar(x1: Any, x2: Any) -> tuple[Any, Any] | None:
    """``(tensor, scalar)`` when one operand is a floating tensor, the other a Python number."""
    if isinstance(x2, _SCALARS) and isinstance(x1, torch.Tensor) and x1.is_floating_point():
        return x1, x2
    if isinstance(x1, _SCALARS) and isinstance(x2, torch.Tensor) and x2.is_floating_point():
        return x2, x1
    return None


# array-api-compat promotes Python scalars through torch.result_type, which
# costs a few µs per call and breaks torch.compile graphs; on floating tensors
# torch's own ops already follow the standard, so call them directly.
def _maximum(x1: Any, x2: Any, /) -> Any:
    ts = _float_scalar(x1, x2)
    return torch.clamp(ts[0], min=ts[1]) if ts else compat.maximum(x1, x2)


def _minimum(x1: Any, x2: Any, /) -> Any:
    ts = _float_scalar(x1, x2)
    return torch.clamp(ts[0], max=ts[1]) if ts else compat.minimum(x1, x2)


def _clip(x: Any, /, min: Any = None, max: Any = None) -> Any:  # noqa: A002
    if x.is_floating_point() and isinstance(min, (*_SCALARS, type(None))) and isinstance(max, (*_SCALARS, type(None))):
        return torch.clamp(x, min=min, max=max)
    return compat.clip(x, min=min, max=max)


def _where(condition: Any, x1: Any, x2: Any, /) -> Any:
    if isinstance(x1, torch.Tensor) and isinstance(x2, torch.Tensor) and x1.dtype == x2.dtype:
        return torch.where(condition, x1, x2)
    return compat.where(condition, x1, x2)


def _sign(x: Any, /) -> Any:
    return torch.sign(x) if x.is_floating_point() else compat.sign(x)  # sign(NaN) = 0 as torch's own losses


# Reductions and axis ops on the hot path of every loss: the tensor methods directly where they are the
# standard's operation (array-api-compat's wrappers add a Python layer, ~1-2 µs per call at small sizes).
def _sum(x: Any, /, *, axis: Any = None, dtype: Any = None, keepdims: bool = False) -> Any:
    if dtype is None and axis is None and not keepdims:
        return x.sum()
    if dtype is None and type(axis) is int:
        return x.sum(axis, keepdim=keepdims)
    return compat.sum(x, axis=axis, dtype=dtype, keepdims=keepdims)


def _squeeze(x: Any, /, axis: Any) -> Any:
    if type(axis) is int and x.shape[axis] == 1:
        return x.squeeze(axis)
    return compat.squeeze(x, axis=axis)  # several axes, or the standard's error for an axis of size != 1


def _expand_dims(x: Any, /, axis: Any) -> Any:
    return x.unsqueeze(axis) if type(axis) is int else compat.expand_dims(x, axis=axis)


def _sigmoid_minus(z: Any, t: Any, scale: Any) -> Any:
    if _recording(z, t, scale) or (isinstance(scale, torch.Tensor) and scale.ndim > z.ndim):
        return (torch.sigmoid(z) - t) * scale
    return torch.sigmoid(z).sub_(t).mul_(scale)  # one buffer, three passes


def _sigmoid_bce(z: Any, t: Any) -> Any:
    return torch.nn.functional.binary_cross_entropy_with_logits(z, t, reduction="none")


def _namespace() -> types.ModuleType:
    """array-api-compat's torch namespace plus native fast paths for xploss._ops."""
    ns = types.ModuleType("xploss.backends.torch_namespace", compat.__doc__)
    ns.__dict__.update({k: v for k, v in vars(compat).items() if not k.startswith("__")})
    ns.__array_api_version__ = compat.__array_api_version__
    ns.maximum, ns.minimum, ns.clip, ns.where, ns.sign = _maximum, _minimum, _clip, _where, _sign
    ns.sum, ns.squeeze, ns.expand_dims = _sum, _squeeze, _expand_dims
    ns.__xploss_low__ = (torch.float16, torch.bfloat16)  # xploss._define's precision policy
    ns.__xploss_ops__ = {
        "logsumexp": _logsumexp,
        "take_along_axis": _take_along_axis,
        "softmax_scaled": _softmax_scaled,
        "softmax": lambda z, axis: torch.softmax(z, dim=axis),
        "subtract_at": _subtract_at,
        "sigmoid": torch.sigmoid,
        "sigmoid_bce": _sigmoid_bce,
        "sigmoid_minus": _sigmoid_minus,
        "log_ratio": _log_ratio,
        # blocked eager evaluation (xploss._define): not while compiling, recording or under torch.func
        "blocking": lambda *xs: 0 if torch.compiler.is_compiling() or _recording(*xs) else 1 << 17,
        # ... and a gradient call with elementwise residuals of up to 4 Mi elements keeps the whole-array path
        # (a one-pass backward, not the kernel recomputed per block: see xploss._define.WHOLE_GRAD)
        "whole_grad": 1 << 22,
    }
    return ns


xp = _namespace()
_SAVED = object()  # placeholder for a residual kept by save_for_backward


def _save(ctx: Any, bound: Any, arrays: tuple, res: tuple) -> list:
    """Keep what the backward needs on ``ctx``: the inputs and the residual tensors saved (by reference), Python
    numbers (static counts) as they are.  Returns the residual tensors."""
    ctx.bound = bound
    ctx.n_arrays = len(arrays)
    ctx.set_materialize_grads(False)  # no zero-filled cotangents for outputs the loss does not reach
    static, tensors = [], []
    for r in res:
        if isinstance(r, torch.Tensor):
            static.append(_SAVED)
            tensors.append(r)
        else:
            static.append(r)
    ctx.static_res = static
    ctx.save_for_backward(*arrays, *tensors)
    return tensors


def _backward(ctx: Any, g: Any) -> tuple:
    """The hand VJP from what :func:`_save` kept (``None`` for the bound and the inputs without a gradient)."""
    if g is None:
        return (None,) * (ctx.n_arrays + 1)
    saved = ctx.saved_tensors
    n = ctx.n_arrays
    arrays = saved[:n]
    if torch.is_grad_enabled():  # double backward: residuals must be differentiable
        _, res = ctx.bound.forward(xp, *arrays)
    else:
        it = iter(saved[n:])
        res = tuple(next(it) if r is _SAVED else r for r in ctx.static_res)
    needs = tuple(ctx.needs_input_grad[1:])
    cts = ctx.bound.vjp(xp, tuple(arrays), tuple(res), g, needs)
    return (None, *(c if need else None for c, need in zip(cts, needs)))


class _LossFunction(torch.autograd.Function):
    """The setup_context form that torch.compile and torch.func trace: the residuals are extra outputs."""

    # torch.func.vmap runs forward, backward and jvp under vmap: they use
    # torch ops only, no Python branch on tensor values.
    generate_vmap_rule = True

    @staticmethod
    def forward(bound: Any, *arrays: Any) -> Any:  # type: ignore[override]
        out, res = bound.forward(xp, *arrays)
        return (out, *res)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: tuple) -> None:
        bound, *arrays = inputs
        _, *res = output
        ctx.mark_non_differentiable(*_save(ctx, bound, tuple(arrays), tuple(res)))

    @staticmethod
    def backward(ctx: Any, g: Any, *_: Any) -> tuple:  # type: ignore[override]
        return _backward(ctx, g)


class _EagerLossFunction(torch.autograd.Function):
    """The same operation for plain eager autograd (not compiling, no torch.func transform): the forward saves
    its residuals itself and returns the loss alone (no residual outputs for autograd to wrap and mark)."""

    @staticmethod
    def forward(ctx: Any, bound: Any, *arrays: Any) -> Any:  # type: ignore[override]
        out, res = bound.forward(xp, *arrays, grad=True)
        _save(ctx, bound, arrays, res)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> tuple:  # type: ignore[override]
        return _backward(ctx, g)


class _ForwardModeLossFunction(_LossFunction):
    """The same Function with a forward-mode rule, for torch.func (jvp, jacfwd, hessian).

    Kept apart because torch.compile does not trace an autograd.Function
    that defines ``jvp``.
    """

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: tuple) -> None:
        _LossFunction.setup_context(ctx, inputs, output)
        ctx.save_for_forward(*inputs[1:])

    @staticmethod
    def jvp(ctx: Any, _: Any, *tangents: Any) -> tuple:
        """Forward mode (torch.func.jvp, jacfwd, hessian): the hand JVP, ``sum(partial * tangent)``."""
        if ctx.bound.prim.partials is None:
            raise XplossError(f"xploss.{ctx.bound.prim.name}: forward-mode differentiation (torch.func.jvp, jacfwd, "
                              "hessian) is not available for this batch-coupled loss: its derivative is a VJP only. "
                              "Use reverse mode (torch.func.grad, jacrev, vjp, or loss.backward()).")
        arrays = ctx.saved_tensors[: ctx.n_arrays]
        _, t_out = ctx.bound.jvp(xp, tuple(arrays), tangents)
        return (t_out, *(None for _ in ctx.static_res))


# ``Function.apply`` re-binds its arguments with ``inspect.signature`` on every call when ``setup_context`` is
# defined (~20 µs) and unwraps torch.func's dead wrappers: outside torch.compile and functorch transforms the C
# entry point of the eager Function is called directly; otherwise the public ``apply`` (which those systems trace).
_C_APPLY = getattr(super(torch.autograd.Function, _EagerLossFunction), "apply", None)


def _call(bound: Any, arrays: tuple) -> Any:
    """The loss through autograd: the hand VJP as the backward."""
    if torch.compiler.is_compiling():
        return _LossFunction.apply(bound, *arrays)[0]
    if torch._C._are_functorch_transforms_active():
        return _ForwardModeLossFunction.apply(bound, *arrays)[0]
    if _C_APPLY is None:
        return _EagerLossFunction.apply(bound, *arrays)
    return _C_APPLY(bound, *arrays)


def _requires_grad(arrays: tuple) -> bool:
    for a in arrays:
        if a is not None and a.requires_grad:
            return True
    return False


def _numpy(x: Any) -> Any:
    """``x``'s values as NumPy (bfloat16, which NumPy lacks, as float32: exact)."""
    x = x.detach().cpu()
    return (x.float() if x.dtype == torch.bfloat16 else x).numpy()


def _unwrapped(x: Any) -> Any:
    """The plain tensor under torch.func's wrappers (GradTrackingTensor, BatchedTensor, ...)."""
    while _functorch.is_functorch_wrapped_tensor(x):
        x = _functorch.get_unwrapped(x)
    return x


def _autocast_float32(x: Any) -> Any:
    """Autocast's float32 policy: float16/bfloat16 tensors cast to float32; float32 and float64 kept."""
    if isinstance(x, torch.Tensor) and x.is_floating_point() and x.dtype != torch.float64 and x.dtype != torch.float32:
        return x.float()
    return x


class TorchBackend(Backend):
    name = "torch"
    xp = xp

    def compiling(self) -> bool:
        return torch.compiler.is_compiling()

    def host(self, x: Any) -> Any:
        """The values of ``x`` as a NumPy array, or None while torch.compile traces.

        Under torch.func (grad, vmap, jacrev, ...) ``x`` is a storage-less
        wrapper: the eager checks run on the tensor it wraps (under vmap, the
        whole batch).
        """
        if torch.compiler.is_compiling() or not isinstance(x, torch.Tensor):
            return None
        if _functorch.is_functorch_wrapped_tensor(x) or torch._C._are_functorch_transforms_active():
            with torch._C._DisableFuncTorch():  # ops on the plain tensor, not re-wrapped
                return _numpy(_unwrapped(x))
        if x.is_cpu and not x.requires_grad and x.dtype != torch.bfloat16:
            return x.numpy()  # what _numpy gives, without its detach and cpu calls
        return _numpy(x)

    def bounds(self, x: Any) -> tuple[int, int] | None:
        """One ``torch.aminmax`` on a plain eager tensor (a NumPy copy and reduction cost ~10 µs more per call
        at small sizes); None under torch.compile, torch.func and for empty or non-integer tensors."""
        if (torch.compiler.is_compiling() or not isinstance(x, torch.Tensor) or x.numel() == 0
                or x.is_floating_point() or x.dtype == torch.bool or _functorch.is_functorch_wrapped_tensor(x)
                or torch._C._are_functorch_transforms_active()):
            return None
        lo, hi = torch.aminmax(x)
        return int(lo), int(hi)

    def call(self, name: str, fn: Callable, args: tuple, kwargs: dict) -> Any:
        """Run a public loss: the Keras caller check (not while compiling), then torch's autocast policy.

        Under ``torch.autocast`` torch computes its losses in float32 (the
        autocast "float32" op list): low-precision floating inputs are cast to
        float32, the loss runs with autocast off and returns float32, and a
        bfloat16 prediction with a float32 target is accepted, as in torch.
        """
        if not torch.compiler.is_compiling():
            check_caller(name, 1)
            if not torch._C._is_any_autocast_enabled():  # no autocast on any device (not traced: compile's path below)
                return fn(*args, **kwargs)
        device = next(a for a in args if isinstance(a, torch.Tensor)).device.type
        if not torch.is_autocast_enabled(device):
            return fn(*args, **kwargs)
        args = tuple(_autocast_float32(a) for a in args)
        kwargs = {k: _autocast_float32(v) for k, v in kwargs.items()}
        with torch.autocast(device, enabled=False):
            return fn(*args, **kwargs)

    def apply(self, bound: Any, arrays: tuple) -> Any:
        # under torch.func transforms (jvp / jacfwd hold no requires_grad) always the Function
        if torch._C._are_functorch_transforms_active() or (torch.is_grad_enabled() and _requires_grad(arrays)):
            return _call(bound, arrays)
        return bound.forward(xp, *arrays)[0]

    def input_gradient(self, fn: str, f: Callable, x: Any) -> Any:
        """``torch.autograd.grad(f(x).sum(), x, create_graph=True)``, under ``torch.no_grad`` too: the
        gradient stays differentiable with respect to the parameters ``f`` uses (WGAN-GP's critic step)
        and, when ``x`` requires grad, to ``x``.  Under ``torch.compile`` it runs eagerly (a graph break):
        aot_autograd has no double backward, which the critic step's backward through this gradient is."""
        return _input_gradient(f, x)

    def value_and_grad(self, fn: Callable, argnums: int | Sequence[int] = 0) -> Callable:
        def inner(*args: Any, **kwargs: Any) -> Any:
            nums, single = normalize_argnums(argnums, len(args))
            args = list(args)
            for i in nums:
                if not args[i].is_floating_point():
                    raise error("value_and_grad", f"args[{i}]", "a real floating tensor to differentiate",
                                f"dtype {dtype_name(args[i].dtype)}", kind=XplossTypeError)
                args[i] = args[i].detach().requires_grad_(True)
            with torch.enable_grad():
                out = fn(*args, **kwargs)
                check_scalar_output(out)
                wrt = [args[i] for i in nums]
                # an output that depends on none of them: zero gradients, as on the other backends
                grads = torch.autograd.grad(out, wrt, allow_unused=True) if out.requires_grad else [None] * len(wrt)
            grads = [torch.zeros_like(args[i]) if g is None else g for i, g in zip(nums, grads)]
            return out.detach(), pack(single, list(grads))

        return wrap(fn, inner)


@torch.compiler.disable
def _input_gradient(f: Callable, x: Any) -> Any:
    with torch.enable_grad():
        xin = x if x.requires_grad else x.detach().requires_grad_(True)
        out = f(xin)
        (g,) = torch.autograd.grad(out.sum(), xin, create_graph=True, allow_unused=True)
    return torch.zeros_like(x) if g is None else g


def backend(name: str) -> TorchBackend:
    return TorchBackend()


# -- xploss._ops.scan's native path (appended for #9) -----------------------------------------------------
def _scan(step: Callable, carry: tuple, xs: tuple, reverse: bool) -> tuple:
    """Eagerly a Python loop; under ``torch.compile`` torch's ``scan`` higher-order op (one loop in the graph
    instead of ``T`` unrolled steps: unrolled, inductor took minutes to compile a T = 50 CTC).  The op refuses
    outputs that alias its inputs or each other: each output is cloned inside the step."""
    from .. import _ops

    if not torch.compiler.is_compiling():
        return _ops.scan_loop(xp, step, carry, xs, reverse=reverse)
    from torch._higher_order_ops.scan import scan

    def combine(c: list, x: list) -> tuple:
        c2, y = step(tuple(c), tuple(x))
        return [t.clone() for t in c2], [t.clone() for t in y]

    c, ys = scan(combine, list(carry), list(xs), reverse=reverse)
    return tuple(c), tuple(ys)


xp.__xploss_ops__["scan"] = _scan

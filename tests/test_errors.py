"""Every input error is an ``XplossError`` naming function, argument, expected and received value."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import pytest
from conftest import Backend
from helpers import to_backend

import xploss
from xploss import XplossError, XplossTypeError

XPLOSS_DIR = os.path.dirname(xploss.__file__)


class Case(NamedTuple):
    id: str
    call: Callable[[Callable[[Any], Any]], Any]  # receives T: numpy array -> backend array
    kind: type
    fn: str
    arg: str
    expected: str  # fragment of the "expected ..." part
    received: str  # fragment of the "Received: ..." part


def ones(*shape: int, dtype: str = "float64") -> np.ndarray:
    return np.ones(shape, dtype=dtype)


Z, LAB = np.zeros((3, 4)), np.array([0, 1, 2])
CASES = [
    Case("pred-target shape", lambda T: xploss.mse(T(ones(3, 1)), T(ones(3))), XplossError,
         "mean_squared_error", "target", "the shape of `pred` (3, 1) (no broadcasting)", "shape (3,)"),
    Case("anchor-negative shape", lambda T: xploss.triplet_margin(T(ones(4, 2)), T(ones(4, 2)), T(ones(4, 3))),
         XplossError, "triplet_margin", "negative", "the shape of `anchor` (4, 2)", "shape (4, 3)"),
    Case("labels shape", lambda T: xploss.cross_entropy(T(Z), T(np.array([0, 1]))), XplossError,
         "cross_entropy", "labels", "integer labels of shape (3,)", "shape (2,)"),
    Case("integer pred", lambda T: xploss.huber(T(ones(3, dtype="int64")), T(ones(3))), XplossTypeError,
         "huber", "pred", "a real floating array", "int64"),
    Case("integer logits", lambda T: xploss.cross_entropy(T(ones(3, 4, dtype="int32")), T(LAB)), XplossTypeError,
         "cross_entropy", "logits", "a real floating array", "int32"),
    Case("label too large", lambda T: xploss.cross_entropy(T(Z), T(np.array([0, 4, 1]))), XplossError,
         "cross_entropy", "labels", "class indices in [0, 4) or ignore_index=-100", "a label 4"),
    Case("negative label", lambda T: xploss.cross_entropy(T(Z), T(np.array([0, -1, 1]))), XplossError,
         "cross_entropy", "labels", "class indices in [0, 4)", "a label -1"),
    Case("label vs ignore_index=None", lambda T: xploss.cross_entropy(T(Z), T(np.array([-100, 0, 0])),
                                                                      ignore_index=None),
         XplossError, "cross_entropy", "labels", "class indices in [0, 4)", "a label -100"),
    Case("unknown reduction", lambda T: xploss.mse(T(ones(3)), T(ones(3)), reduction="avg"), XplossError,
         "mean_squared_error", "reduction", "one of 'mean', 'sum', 'none', 'weighted_mean', 'count'", "'avg'"),
    Case("penalty reduction", lambda T: xploss.l2_penalty(T(ones(3)), reduction="none"), XplossError,
         "l2_penalty", "reduction", "one of 'sum', 'mean'", "'none'"),
    Case("negative delta", lambda T: xploss.huber(T(ones(3)), T(ones(3)), delta=-1.0), XplossError,
         "huber", "delta", "a value in (0.0, inf]", "-1.0"),
    Case("zero delta", lambda T: xploss.huber(T(ones(3)), T(ones(3)), delta=0.0), XplossError,
         "huber", "delta", "a value in (0.0, inf]", "0.0"),
    Case("negative beta", lambda T: xploss.smooth_l1(T(ones(3)), T(ones(3)), beta=-0.5), XplossError,
         "smooth_l1", "beta", "a value in [0.0, inf]", "-0.5"),
    Case("negative margin", lambda T: xploss.triplet_margin(T(ones(2, 2)), T(ones(2, 2)), T(ones(2, 2)),
                                                            margin=-1.0),
         XplossError, "triplet_margin", "margin", "a value in [0.0, inf]", "-1.0"),
    Case("tau = 0", lambda T: xploss.quantile(T(ones(3)), T(ones(3)), tau=0.0), XplossError,
         "quantile", "tau", "a value in (0.0, 1.0)", "0.0"),
    Case("tau > 1", lambda T: xploss.pinball(T(ones(3)), T(ones(3)), tau=1.5), XplossError,
         "quantile", "tau", "a value in (0.0, 1.0)", "1.5"),
    Case("class_weight shape", lambda T: xploss.cross_entropy(T(Z), T(LAB), class_weight=T(ones(3))), XplossError,
         "cross_entropy", "class_weight", "shape (4,)", "shape (3,)"),
    # porting traps: torch's weight=, class indices stored as floats, Keras-style (N, 1) labels
    Case("weight= on a class-weighted loss", lambda T: xploss.cross_entropy(T(Z), T(LAB), weight=T(ones(4))),
         XplossTypeError, "cross_entropy", "weight", "`sample_weight=` for per-sample weights (Keras' name) or "
         "`class_weight=` for per-class weights (torch's `weight=`)", "`weight=`"),
    Case("weight= on mse", lambda T: xploss.mse(T(ones(3)), T(ones(3)), weight=T(ones(3))), XplossTypeError,
         "mean_squared_error", "weight", "`sample_weight=` for per-sample weights", "`weight=`"),
    Case("unknown keyword", lambda T: xploss.mse(T(ones(3)), T(ones(3)), delta=1.0), XplossTypeError,
         "mean_squared_error", "delta", "one of the options `reduction`, `sample_weight`", "unknown keyword `delta`"),
    Case("float class indices", lambda T: xploss.cross_entropy(T(Z), T(LAB.astype("float64"))), XplossError,
         "cross_entropy", "labels", "integer labels of shape (3,) or probabilities of the shape of `logits` (3, 4)",
         "shape (3,). Floating labels are read as probabilities of shape (3, 4); to pass class indices give an "
         "integer array"),
    Case("float indices, index-only loss", lambda T: xploss.nll(T(Z), T(LAB.astype("float64"))), XplossTypeError,
         "nll", "labels", "integer class indices", "Floating labels are not read as class indices"),
    Case("float indices, margin loss", lambda T: xploss.multi_margin(T(Z), T(LAB.astype("float64"))),
         XplossTypeError, "multi_margin", "labels", "integer labels of shape (3,)",
         "Floating labels are not read as class indices"),
    Case("(N, 1) labels", lambda T: xploss.cross_entropy(T(Z), T(LAB[:, None])), XplossError, "cross_entropy",
         "labels", "integer labels of shape (3,)", "shape (3, 1). Labels of shape (3, 1) with a trailing axis of 1: "
         "drop it (labels[..., 0])"),
    Case("(N, 1) labels, focal", lambda T: xploss.focal(T(Z), T(LAB[:, None])), XplossError, "focal",
         "labels", "integer labels of shape (3,)", "Labels of shape (3, 1) with a trailing axis of 1"),
    Case("trailing-aligned weight", lambda T: xploss.mse(T(ones(4, 3)), T(ones(4, 3)), sample_weight=T(ones(3))),
         XplossError, "mean_squared_error", "sample_weight",
         "aligned with the leading axes of the per-sample loss (4, 3)",
         "shape (3,)"),
    Case("weight too long", lambda T: xploss.cross_entropy(T(Z), T(LAB), sample_weight=T(ones(4))), XplossError,
         "cross_entropy", "sample_weight", "leading axes of the per-sample loss (3,)", "shape (4,)"),
    Case("float target dtype", lambda T: xploss.mse(T(ones(3, dtype="float32")), T(ones(3))), XplossTypeError,
         "mean_squared_error", "target", "float32", "dtype"),
    Case("probability > 1", lambda T: xploss.binary_cross_entropy(T(np.array([0.5, 1.2])), T(np.array([1.0, 0.0]))),
         XplossError, "binary_cross_entropy", "probs", "values in [0, 1]", "values from 0.5 to 1.2"),
    Case("clip eps", lambda T: xploss.binary_cross_entropy(T(np.array([0.5])), T(np.array([1.0])), eps=0.7),
         XplossError, "binary_cross_entropy", "eps", "a value in (0.0, 0.5)", "0.7"),
    Case("negative gamma", lambda T: xploss.sigmoid_focal(T(ones(3)), T(ones(3)), gamma=-1.0), XplossError,
         "sigmoid_focal", "gamma", "a value in [0.0, inf]", "-1.0"),
    Case("pos_weight shape", lambda T: xploss.sigmoid_binary_cross_entropy(T(ones(2, 3)), T(ones(2, 3)),
                                                                             pos_weight=T(ones(2))),
         XplossError, "sigmoid_binary_cross_entropy", "pos_weight", "from the last axis (e.g. (3,))", "shape (2,)"),
    Case("multi_margin p", lambda T: xploss.multi_margin(T(Z), T(LAB), p=3), XplossError,
         "multi_margin", "p", "1 or 2", "3"),
    Case("multilabel_margin entry", lambda T: xploss.multilabel_margin(T(Z), T(np.array([[0, 5, -1, 0]] * 3))),
         XplossError, "multilabel_margin", "labels", "or -1 (the end of a list)", "a label 5"),
    # the generative family (#10): errors of the composites name the composite and its own arguments
    Case("distillation label", lambda T: xploss.distillation(T(Z), T(Z), T(np.array([0, 4, 1]))), XplossError,
         "distillation", "labels", "class indices in [0, 4)", "a label 4"),
    Case("discriminator side weight", lambda T: xploss.minimax_discriminator_loss(T(ones(3)), T(ones(2)),
                                                                                  fake_weight=T(ones(3))),
         XplossError, "minimax_discriminator_loss", "fake_weight", "the leading axes of the per-sample loss (2,)",
         "shape (3,)"),
    Case("GAN label_smoothing", lambda T: xploss.modified_generator_loss(T(ones(3)), label_smoothing=1.5),
         XplossError, "modified_generator_loss", "label_smoothing", "a value in [0.0, 1.0]", "1.5"),
    Case("penalty critic", lambda T: xploss.gradient_penalty(3.0, T(ones(2, 2)), T(ones(2, 2)), alpha=0.5),
         XplossTypeError, "gradient_penalty", "critic", "a callable critic(x) returning one score per sample",
         "float"),
    # linear_cross_entropy (#11): hidden (3, 2), class_weights (4, 2)
    Case("linear_ce H", lambda T: xploss.linear_cross_entropy(T(ones(3, 2)), T(ones(4, 5)), T(LAB)), XplossError,
         "linear_cross_entropy", "class_weights", "an array of shape (V, 2)", "shape (4, 5)"),
    Case("linear_ce label", lambda T: xploss.linear_cross_entropy(T(ones(3, 2)), T(ones(4, 2)), T(np.array([0, 4, 1]))),
         XplossError, "linear_cross_entropy", "labels", "class indices in [0, 4) or ignore_index=-100", "a label 4"),
    Case("linear_ce dtype", lambda T: xploss.linear_cross_entropy(T(ones(3, 2)), T(ones(4, 2, dtype="float32")),
                                                                  T(LAB)),
         XplossTypeError, "linear_cross_entropy", "class_weights", "dtype float64 (the dtype of `hidden`)", "float32"),
    Case("linear_ce float labels", lambda T: xploss.linear_cross_entropy(T(ones(3, 2)), T(ones(4, 2)),
                                                                         T(LAB.astype("float64"))),
         XplossTypeError, "linear_cross_entropy", "labels", "integer class indices of shape (3,)", "dtype float64"),
    Case("linear_ce bias", lambda T: xploss.linear_cross_entropy(T(ones(3, 2)), T(ones(4, 2)), T(LAB),
                                                                 bias=T(ones(3))),
         XplossError, "linear_cross_entropy", "bias", "shape (4,) (one per row of `class_weights`)", "shape (3,)"),
]


def _pattern(c: Case) -> str:
    return (re.escape(f"xploss.{c.fn}: argument `{c.arg}`: expected ") + ".*" + re.escape(c.expected)
            + r".*\. Received: .*" + re.escape(c.received))


def _assert_clean(exc: BaseException, kind: type) -> None:
    """Our exact type, no chained framework exception, raised from xploss' own frames."""
    assert type(exc) is kind, f"raised {type(exc).__name__}, not {kind.__name__}"
    assert exc.__cause__ is None and exc.__context__ is None, f"chained exception: {exc.__context__!r}"
    tb = exc.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    assert tb.tb_frame.f_code.co_filename.startswith(XPLOSS_DIR), f"raised outside xploss: {tb.tb_frame}"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_error_message(backend, case):
    with pytest.raises(case.kind, match=_pattern(case)) as info:
        case.call(lambda x: to_backend(backend, x))
    _assert_clean(info.value, case.kind)
    if case.kind is XplossTypeError:
        assert isinstance(info.value, TypeError)


def test_float_target_dtype_names_both_dtypes():
    with pytest.raises(XplossTypeError, match=r"expected dtype float32 .*Received: dtype float64\."):
        xploss.mse(ones(3, dtype="float32"), ones(3))


MIXED = [  # (argument that differs, first backend, second backend)
    ("target", Backend.NUMPY, Backend.TORCH),
    ("target", Backend.TORCH, Backend.JAX),
    ("sample_weight", Backend.JAX, Backend.TENSORFLOW),
    ("sample_weight", Backend.NUMPY, Backend.ARRAY_API_STRICT),
]


@pytest.mark.parametrize("arg,first,second", MIXED, ids=[f"{a.value}+{b.value}" for _, a, b in MIXED])
def test_mixed_backends(arg, first, second):
    pred, target = to_backend(first, ones(3)), to_backend(first, ones(3))
    other = to_backend(second, ones(3))
    kwargs = {"sample_weight": other} if arg == "sample_weight" else {}
    if arg == "target":
        target = other
    pattern = (re.escape(f"xploss.mean_squared_error: argument `{arg}`: expected an array of the same library "
                         f"as `pred` ({first.value})") + r".*Received: a " + second.value + " array")
    with pytest.raises(XplossTypeError, match=pattern) as info:
        xploss.mse(pred, target, **kwargs)
    _assert_clean(info.value, XplossTypeError)


def test_non_array_input():
    pattern = r"xploss\.mean_squared_error: argument `pred`: expected an array of numpy, .*Received: builtins\.list"
    with pytest.raises(XplossTypeError, match=pattern):
        xploss.mse([1.0, 2.0], ones(2))


def test_error_hierarchy():
    assert issubclass(XplossError, ValueError)
    assert issubclass(XplossTypeError, XplossError) and issubclass(XplossTypeError, TypeError)
    assert not issubclass(XplossError, TypeError)


# -- the same errors under every compiler (#7, category 1) -----------------------------------------------
# Value checks (label ranges, probabilities in [0, 1]) cannot run on traced arrays (see test_hardening's
# NaN-under-tracing tests); every other error is visible from shapes and dtypes and is raised at trace time.
VALUE_CASES = {"label too large", "negative label", "label vs ignore_index=None", "probability > 1",
               "multilabel_margin entry", "distillation label", "linear_ce label"}
TRACED = [c for c in CASES if c.id not in VALUE_CASES]
# torch.compile (~2-3 s a trace here; 55 s for one case per (loss, error type)) on the first case of each error
# type, and on the penalties (their critic's gradient is a graph break): dynamo re-raises the exception of the
# traced Python check, one code path for every loss (tf.function and jax.jit, a fraction of a second each, keep
# every case)
_FIRST = {c.kind: c.id for c in reversed(TRACED)} | {c.id: c.id for c in TRACED if c.id.startswith("penalty")}
COMPILED = [(compiler, c) for c in TRACED for compiler in ("tf.function", "jax.jit", "torch.compile")
            if compiler != "torch.compile" or c.id in _FIRST.values()]


class _Recorded(Exception):
    pass


def _recorded(case: Case) -> tuple[str, tuple, dict]:
    """The public loss ``case`` calls, with its arguments (NumPy arrays for the arrays)."""
    seen: list = []

    def record(name: str) -> Callable:
        def fn(*args: Any, **kwargs: Any) -> Any:
            seen.append((name, args, kwargs))
            raise _Recorded
        return fn

    real = {name: getattr(xploss, name) for name in dir(xploss) if getattr(xploss, name) in LOSS_FNS}
    try:
        for name in real:
            setattr(xploss, name, record(name))
        with pytest.raises(_Recorded):
            case.call(lambda x: x)
    finally:
        for name, fn in real.items():
            setattr(xploss, name, fn)
    return seen[0]


LOSS_FNS = list(xploss._api.LOSSES.values())


def _traced(case: Case, compiler: str) -> tuple[Callable[[], Any], Callable[[], Any]]:
    """``case``'s loss called eagerly and in a function compiled by ``compiler``, on that compiler's
    arrays, given as arguments.

    A plain ``def`` (autograph converts it, as it would a user's step; it cannot convert the cases'
    lambdas and would then call them unconverted)."""
    name, args, kwargs = _recorded(case)
    loss_fn = getattr(xploss, name)
    slots = [("a", i) for i, a in enumerate(args) if isinstance(a, np.ndarray)]
    slots += [("k", k) for k, v in kwargs.items() if isinstance(v, np.ndarray)]
    inputs = [args[i] if kind == "a" else kwargs[i] for kind, i in slots]

    def step(*arrays: Any) -> Any:
        a, k = list(args), dict(kwargs)
        for (kind, i), x in zip(slots, arrays):
            if kind == "a":
                a[i] = x
            else:
                k[i] = x
        return loss_fn(*a, **k)

    if compiler == "tf.function":
        import tensorflow as tf
        arrays, compiled = [tf.constant(x) for x in inputs], tf.function(step)
    elif compiler == "jax.jit":
        import jax
        arrays, compiled = [to_backend(Backend.JAX, x) for x in inputs], jax.jit(step)
    else:
        import torch
        torch._dynamo.reset()
        arrays, compiled = [torch.as_tensor(x) for x in inputs], torch.compile(step, backend="eager")
    return lambda: step(*arrays), lambda: compiled(*arrays)


@pytest.mark.parametrize("compiler,case", COMPILED, ids=[f"{c.id}-{compiler}" for compiler, c in COMPILED])
def test_error_message_under_compilers(compiler, case):
    """The eager XplossError, same type and same message, raised while tracing (TensorFlow's autograph
    re-raised it as a StagingError with its own traceback text before ``XplossError.ag_pass_through``)."""
    pytest.importorskip({"tf.function": "tensorflow", "jax.jit": "jax", "torch.compile": "torch"}[compiler])
    eager_call, compiled_call = _traced(case, compiler)
    with pytest.raises(case.kind) as eager:
        eager_call()
    with pytest.raises(case.kind) as traced:
        compiled_call()
    assert type(traced.value) is type(eager.value)
    assert str(traced.value) == str(eager.value)


def test_tensorflow_does_not_convert_xploss(monkeypatch):
    """Autograph calls xploss as plain Python: its first trace costs what a built-in's does (~30 ms,
    not ~1-2 s).  Every public loss carries autograph's do-not-convert mark, and the code behind it
    runs as xploss' own module code, not as autograph-generated code (checked from a frame)."""
    tf = pytest.importorskip("tensorflow")
    from tensorflow.python.autograph.impl import api as autograph

    for fn in xploss._api.LOSSES.values():
        assert autograph.is_autograph_artifact(fn), fn.__name__
    callers = []
    real = xploss._checks.reduction

    def spy(*args, **kwargs):
        callers.append(sys._getframe(1).f_globals.get("__name__"))
        return real(*args, **kwargs)

    monkeypatch.setattr(xploss._checks, "reduction", spy)

    def step(z, y):
        return xploss.focal(z, y) + xploss.mse(z, z)

    tf.function(step).get_concrete_function(tf.TensorSpec([None, 3], tf.float64), tf.TensorSpec([None], tf.int64))
    assert callers == ["xploss.losses._softmax", "xploss.losses._regression"], callers


def test_torch_label_bounds_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """torch: labels in [0, C) are vouched for by one ``torch.aminmax`` (no NumPy copy); anything else (a label
    out of range, an ``ignore_index`` among the classes, torch.func) takes the NumPy check with its error."""
    import torch

    from xploss.backends import _torch

    be = _torch.TorchBackend()
    assert be.bounds(torch.tensor([3, 0, 7])) == (0, 7)
    assert be.bounds(torch.tensor([], dtype=torch.int64)) is None
    assert be.bounds(torch.tensor([1.0])) is None and be.bounds(torch.tensor([True])) is None
    hosted: list = []
    host = _torch.TorchBackend.host
    monkeypatch.setattr(_torch.TorchBackend, "host", lambda self, x: hosted.append(x) or host(self, x))
    z = torch.zeros(3, 4)
    xploss.cross_entropy(z, torch.tensor([0, 3, 1]))
    assert not hosted  # in range, ignore_index -100 outside the classes: no copy
    with pytest.raises(XplossError, match=r"class indices in \[0, 4\).*a label 4"):
        xploss.cross_entropy(z, torch.tensor([0, 4, 1]))
    xploss.cross_entropy(z, torch.tensor([0, 2, 1]), ignore_index=2)  # masked: the NumPy path counts it
    assert len(hosted) == 2
    assert torch.func.grad(lambda v: xploss.cross_entropy(v, torch.tensor([0, 3, 1])))(z).shape == (3, 4)

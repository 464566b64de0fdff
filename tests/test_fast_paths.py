"""Native fast paths of the ``xploss._ops`` building blocks compute the generic bodies' numbers.

Each backend namespace may register fast paths (``__xploss_ops__``); here every
one is compared with the pure array-API body of the same block, run through the
same framework without the fast path.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import Backend, _load

from xploss import _ops
from xploss._namespace import backend_for

RNG = np.random.default_rng(0)
# (block, inputs as NumPy builders); the 600x1000 logits take torch's row-blocked log-sum-exp.
BLOCKS = {
    "logsumexp": lambda: ((RNG.normal(size=(600, 1000)) * 30,), {"axis": 1}),
    "logsumexp_small": lambda: ((RNG.normal(size=(5, 7)) * 30,), {"axis": 0}),
    # a row of -inf (lse -inf), one with +inf, one with NaN, one ordinary
    "logsumexp:inf": lambda: ((np.array([[-np.inf, -np.inf, -np.inf], [np.inf, 1.0, 0.0],
                                               [np.nan, 1.0, 0.0], [1.0, 2.0, 3.0]]),), {"axis": 1}),
    "take_along_axis": lambda: ((RNG.normal(size=(6, 5)), RNG.integers(0, 5, size=(6, 1))), {"axis": 1}),
    "softmax": lambda: ((RNG.normal(size=(3, 4, 5)) * 30,), {"axis": 1}),
    "softmax_scaled": lambda: ((RNG.normal(size=(6, 5)), RNG.normal(size=(6, 1)), RNG.uniform(size=6)),
                               {"axis": 1}),
    "subtract_at": lambda: ((RNG.normal(size=(6, 5)), RNG.integers(0, 5, size=6), RNG.uniform(size=6)),
                            {"axis": 1}),
    "sigmoid": lambda: ((np.array([-1e4, -30.0, -1.0, 0.0, 2.0, 40.0, 1e4]),), {}),
    "sigmoid_bce": lambda: ((np.array([-1e4, -30.0, -1.0, 0.0, 2.0, 40.0, 1e4]), RNG.uniform(size=7)), {}),
    "sigmoid_minus": lambda: ((np.array([-1e4, -30.0, -1.0, 0.0, 2.0, 40.0, 1e4]), RNG.uniform(size=7),
                               RNG.uniform(size=7)), {}),
    # p = 0 against every log q (finite, -inf, +inf, NaN), NaN p, p = 1, tiny p; then a broadcast log q
    "log_ratio": lambda: ((np.array([0.0, 0.0, 0.0, 0.0, np.nan, 1.0, 1e-300, 0.3]),
                           np.array([-1.0, -np.inf, np.inf, np.nan, -2.0, -np.inf, -5.0, np.nan])), {}),
    "log_ratio_small": lambda: ((np.array([[0.0, 0.5], [0.25, 0.0]]), np.array([-0.5, -np.inf])), {}),
    # rows with inf and NaN entries (inf * 0 = NaN, NaN kept), then the leading axis
    "vecdot": lambda: ((np.array([[1.0, 2.0, 3.0], [np.inf, 1.0, 0.0], [np.nan, 1.0, 1.0]]),
                        np.array([[0.5, -1.0, 2.0], [0.0, 2.0, 1.0], [1.0, 1.0, 1.0]])), {"axis": -1}),
    "vecdot_small": lambda: ((RNG.normal(size=(4, 3)), RNG.normal(size=(4, 3))), {"axis": 0}),
}
# The fast paths each backend registers (asserted below, so a new one gets compared too).
FAST = {
    Backend.TORCH: {"logsumexp", "take_along_axis", "softmax_scaled", "subtract_at", "sigmoid", "sigmoid_bce",
                    "sigmoid_minus", "scan", "softmax", "log_ratio"},
    Backend.TENSORFLOW: {"sigmoid", "scan", "softmax", "log_ratio"},  # scan takes a step function: test_ctc checks it
    # through xploss._ops.NATIVE (array-api-compat's namespace is not xploss')
    Backend.NUMPY: {"log_ratio", "vecdot", "logsumexp", "softmax_scaled", "subtract_at"},
}
def _block_name(case: str) -> str:
    """``logsumexp_small`` and ``logsumexp:inf`` are cases of the block ``logsumexp``."""
    return case.split(":")[0].removesuffix("_small")


PAIRS = [(b, block) for b, names in FAST.items() for block in sorted(BLOCKS) if _block_name(block) in names]


class _Generic:
    """The backend's namespace with the fast paths hidden."""

    def __init__(self, xp: object) -> None:
        self._xp = xp

    def __getattr__(self, name: str) -> object:
        if name == "__xploss_ops__":
            raise AttributeError(name)
        if name == "__name__":  # not a key of xploss._ops.NATIVE
            return "generic"
        return getattr(self._xp, name)


def _to(b: Backend, x: np.ndarray) -> object:
    if b is Backend.NUMPY:
        return x
    if b is Backend.TORCH:
        import torch

        return torch.from_numpy(x)
    import tensorflow as tf

    return tf.constant(x)


@pytest.mark.parametrize("b", list(FAST), ids=[b.value for b in FAST])
def test_registered_fast_paths_are_all_tested(b: Backend) -> None:
    _load(b)
    # "blocking", "whole_grad" and "put_rows" are not kernel blocks but the eager-blocking policy of
    # xploss._define: tests/test_blocked.py
    xp = backend_for(b.value).xp
    ops = getattr(xp, "__xploss_ops__", None) or _ops.NATIVE[xp.__name__]
    assert set(ops) - {"blocking", "whole_grad", "put_rows"} == FAST[b]


@pytest.mark.parametrize(("b", "block"), PAIRS, ids=[f"{b.value}-{k}" for b, k in PAIRS])
def test_fast_path_equals_generic_body(b: Backend, block: str) -> None:
    _load(b)
    xp = backend_for(b.value).xp
    name = _block_name(block)
    args, kw = BLOCKS[block]()
    # fresh arrays for each call: subtract_at may reuse its first argument's memory
    fast = np.asarray(getattr(_ops, name)(xp, *[_to(b, a.copy()) for a in args], **kw))
    generic = np.asarray(getattr(_ops, name)(_Generic(xp), *[_to(b, a.copy()) for a in args], **kw))
    np.testing.assert_allclose(fast, generic, rtol=1e-13, atol=1e-300)  # NaN where NaN (equal_nan)

"""Conformance cases of ``xploss.linear_cross_entropy`` (``xploss.losses._linear_ce``; issue #11).

References: torch 2.13 ``F.linear_cross_entropy`` (its default path, ``options=None``: the linear layer then
``F.cross_entropy``) and the unfused formula ``F.cross_entropy(hidden @ W.T + b, labels, ...)`` written in
torch, values and gradients (``hidden``, ``W``, ``b``) by ``torch.autograd``.  xploss runs in blocks of 4 of
the ``V = 13`` classes (the last block holds one), or with a block wider than ``V`` where the case says so.

Mapping: torch's ``linear_bias=`` / ``weight=`` are xploss ``bias=`` / ``class_weight=``; torch's ``"mean"``
with ``weight=`` is xploss ``"weighted_mean"``; torch's ``ignore_index`` default (None) means -100, xploss'
default.

The runner differentiates the positional arrays of the xploss call: the bias gradient is compared by the
rows of the ``xploss.torch`` criterion (``forward(hidden, W, labels, bias)``, torch only); tests/test_linear_ce.py
compares it on every backend.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .cases import Call, Case, Formula, In, N, T, X

H, V = 5, 13
CHUNK = 4
GRAD = ("hidden", "W")
GRAD_B = ("hidden", "W", "b")  # the criterion rows: the runner differentiates positional arrays, bias is one there
UNFUSED = "the unfused loss: the (N, V) logits formed, then F.cross_entropy"


def lce_inputs(ignore: int | None = None, unbatched: bool = False) -> Callable:
    """``hidden`` (N, H) (or (H,)), ``W`` (V, H), ``b`` (V,), int ``labels`` (a quarter set to ``ignore``),
    class weights ``cw`` and per-sample weights ``w``."""
    def gen(rng: np.random.Generator) -> dict:
        shape = () if unbatched else (N,)
        labels = rng.integers(0, V, shape)
        if ignore is not None:
            drop = rng.random(shape) < 0.25
            drop.flat[0] = False  # keep at least one valid label
            labels[drop] = ignore
        return {"hidden": rng.normal(size=(*shape, H)), "W": rng.normal(size=(V, H)), "b": rng.normal(size=V),
                "labels": labels, "cw": rng.uniform(0.2, 2.0, V), "w": rng.uniform(0.2, 2.0, shape)}
    return gen


def _unfused(bias: bool, **ce: object) -> Call:
    kw = ", ".join(f"{k}={'cw' if isinstance(v, In) else repr(v)}" for k, v in ce.items())
    text = f"F.cross_entropy(hidden @ W.T{' + b' if bias else ''}, labels{', ' + kw if kw else ''})"

    def fn(torch, hidden, w, labels, *rest):
        rest = list(rest)
        z = hidden @ w.T + (rest.pop(0) if bias else 0.0)
        opts = {k: (rest.pop(0) if isinstance(v, In) else v) for k, v in ce.items()}
        return torch.nn.functional.cross_entropy(z, labels, **opts)

    args = ("hidden", "W", "labels", *(("b",) if bias else ()), *(v.name for v in ce.values() if isinstance(v, In)))
    return Formula(text, fn, *args, note=UNFUSED)


def cases() -> list[Case]:
    hwl = ("hidden", "W", "labels")
    out = [
        Case("linear_ce/plain", X("linear_cross_entropy", *hwl, chunk_size=CHUNK),
             (T("linear_cross_entropy", *hwl), _unfused(False)), lce_inputs(), GRAD),
        Case("linear_ce/bias", X("linear_cross_entropy", *hwl, bias=In("b"), chunk_size=CHUNK),
             (T("linear_cross_entropy", *hwl, linear_bias=In("b")), _unfused(True)), lce_inputs(), GRAD),
        Case("linear_ce/one-block", X("linear_cross_entropy", *hwl, bias=In("b"), chunk_size=64),
             (T("linear_cross_entropy", *hwl, linear_bias=In("b")), _unfused(True)), lce_inputs(), GRAD,
             note="a block wider than V: one block"),
        Case("linear_ce/default-chunk", X("linear_cross_entropy", *hwl, bias=In("b")),
             (T("linear_cross_entropy", *hwl, linear_bias=In("b")), _unfused(True)), lce_inputs(), GRAD),
        Case("linear_ce/ignore_index", X("linear_cross_entropy", *hwl, bias=In("b"), chunk_size=CHUNK),
             (T("linear_cross_entropy", *hwl, linear_bias=In("b")), _unfused(True)), lce_inputs(ignore=-100),
             GRAD, note="a quarter of the labels are -100 (the default ignore_index of both)"),
        Case("linear_ce/ignore_index=2", X("linear_cross_entropy", *hwl, ignore_index=2, chunk_size=CHUNK),
             (T("linear_cross_entropy", *hwl, ignore_index=2), _unfused(False, ignore_index=2)),
             lce_inputs(ignore=2), GRAD, note="the ignored label is a real class index"),
        Case("linear_ce/label_smoothing", X("linear_cross_entropy", *hwl, bias=In("b"), label_smoothing=0.1,
                                            chunk_size=CHUNK),
             (T("linear_cross_entropy", *hwl, linear_bias=In("b"), label_smoothing=0.1),
              _unfused(True, label_smoothing=0.1)), lce_inputs(), GRAD),
        Case("linear_ce/weight", X("linear_cross_entropy", *hwl, class_weight=In("cw"), reduction="weighted_mean",
                                   chunk_size=CHUNK),
             (T("linear_cross_entropy", *hwl, weight=In("cw")), _unfused(False, weight=In("cw"))), lce_inputs(),
             GRAD, note="torch weight= is xploss class_weight with reduction='weighted_mean'"),
        Case("linear_ce/weight+ignore+smoothing",
             X("linear_cross_entropy", *hwl, bias=In("b"), class_weight=In("cw"), label_smoothing=0.2,
               reduction="weighted_mean", chunk_size=CHUNK),
             (T("linear_cross_entropy", *hwl, linear_bias=In("b"), weight=In("cw"), label_smoothing=0.2),
              _unfused(True, weight=In("cw"), label_smoothing=0.2)), lce_inputs(ignore=-100), GRAD,
             note="torch's smoothing mixture weighs every class by w_c"),
        Case("linear_ce/unbatched", X("linear_cross_entropy", *hwl, bias=In("b"), chunk_size=CHUNK),
             (T("linear_cross_entropy", *hwl, linear_bias=In("b")), _unfused(True)), lce_inputs(unbatched=True),
             GRAD, note="hidden (H,) and a 0-d label",
             backends=("numpy", "array_api_strict", "jax", "tensorflow")),  # the runner's torch input is 1-d
    ]
    for red in ("sum", "none"):
        out.append(Case(f"linear_ce/{red}", X("linear_cross_entropy", *hwl, bias=In("b"), reduction=red,
                                              chunk_size=CHUNK),
                        (T("linear_cross_entropy", *hwl, linear_bias=In("b"), reduction=red),
                         _unfused(True, reduction=red)), lce_inputs(ignore=-100), GRAD))
    crit = "torch.FusedLinearCrossEntropyLoss"
    out += [
        Case("linear_ce/criterion-bias", Call("xploss", crit, (*hwl, "b"), ctor={"chunk_size": CHUNK}),
             (T("linear_cross_entropy", *hwl, linear_bias=In("b")), _unfused(True)), lce_inputs(ignore=-100),
             GRAD_B, backends=("torch",), note="xploss.torch criterion: forward(hidden, W, labels, bias)"),
        Case("linear_ce/criterion-weight+smoothing",
             Call("xploss", crit, (*hwl, "b"), ctor={"weight": In("cw"), "label_smoothing": 0.2, "chunk_size": CHUNK}),
             (T("linear_cross_entropy", *hwl, linear_bias=In("b"), weight=In("cw"), label_smoothing=0.2),
              _unfused(True, weight=In("cw"), label_smoothing=0.2)), lce_inputs(ignore=-100), GRAD_B,
             backends=("torch",), note="the criterion's 'mean' with weight= is torch's class-weighted mean"),
    ]
    return out

"""Conformance cases of ``xploss.losses._ctc``.

Built-ins: torch ``F.ctc_loss`` on ``log_softmax(logits)`` computed in torch's graph (the gradient compared is
w.r.t. the logits: torch's backward is only right with the log-softmax in its graph, BUILTINS-2 §2.5), its
``none`` / ``sum`` / ``mean`` (divided by the target lengths: xploss ``length_normalize=True``), time-major
logits, padded variable lengths and ``zero_infinity`` on an infeasible row; optax ``ctc_loss`` (JAX, bridged
into torch's autograd; paddings from the lengths); Keras ``CTC`` on its TensorFlow backend, which is
``tf.nn.ctc_loss(logits_time_major=False, blank_index=0)`` computed in float32 (the TF reference the runner
supports: its references run in torch or in the Keras leg).  Logits are drawn at a moderate scale: no
near-zero losses (optax's float32 recursion goes negative there, google-deepmind/optax#1771; xploss clamps at 0).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .cases import Case, Formula, K, Tol, X
from .cases_binary import optax_ref

NB, NT, NC, NS = 4, 8, 5, 3  # batch, frames, classes, label positions


def sequences(infeasible: bool = False) -> Any:
    """Time-major ``zt`` (T, N, C) and batch-major ``zb`` (N, T, C) logits; padded ``y`` (repeats, padding
    content past the lengths), ``il`` / ``ll`` lengths, optax's paddings ``lpad`` / ``ypad``, Keras' labels
    ``yk`` (0 as blank and padding) and labels as floats ``yf`` (the JAX bridge differentiates every input)."""
    def gen(rng: np.random.Generator) -> dict:
        zb = rng.normal(scale=1.5, size=(NB, NT, NC))
        y = rng.integers(1, NC, size=(NB, NS))
        y[1, 1] = y[1, 0]  # a repeat
        ll = np.array([3, 2, 1, 3])
        il = np.array([8, 6, 5, 8])
        if infeasible:  # a repeat in too few frames: 1 1 1 needs 5
            y[3], il[3] = [2, 2, 2], 4
        y[2, 1:] = [0, 4]  # padding past the length
        yk = np.where(np.arange(NS)[None] < ll[:, None], y, 0)
        lpad = (np.arange(NT)[None] >= il[:, None]).astype(np.float64)
        ypad = (np.arange(NS)[None] >= ll[:, None]).astype(np.float64)
        return {"zb": zb, "zt": np.ascontiguousarray(zb.transpose(1, 0, 2)), "y": y, "il": il, "ll": ll,
                "yk": yk, "yf": y.astype(np.float64), "lpad": lpad, "ypad": ypad}
    return gen


def _torch_ctc(reduction: str, zero_infinity: bool = False) -> Any:
    def fn(torch: Any, z: Any, y: Any, il: Any, ll: Any) -> Any:
        return torch.nn.functional.ctc_loss(z.log_softmax(-1), y, il, ll, reduction=reduction,
                                            zero_infinity=zero_infinity)
    return fn


def _optax_ctc(losses: Any, z: Any, lpad: Any, yf: Any, ypad: Any) -> Any:
    return losses.ctc_loss(z, lpad, yf.astype("int32"), ypad)


TORCH_NOTE = ("F.ctc_loss(log_softmax(z), ...) with the log-softmax in torch's graph; gradient w.r.t. z "
              "(torch's backward returns softmax − γ whatever its input: BUILTINS-2 §2.5)")
KERAS_F32 = Tol("Keras CTC on TensorFlow is tf.nn.ctc_loss, computed in float32 whatever the input dtype "
                "(BUILTINS §2.15)", float64=2e-6)


def cases() -> list:
    seq, bad = sequences(), sequences(infeasible=True)
    return [
        Case("ctc-torch-none", X("ctc", "zt", "y", "il", "ll", time_major=True, reduction="none"),
             (Formula("F.ctc_loss(log_softmax(z), y, il, ll, reduction='none')", _torch_ctc("none"),
                      "zt", "y", "il", "ll", note=TORCH_NOTE),), seq, grad=("zt",)),
        Case("ctc-torch-sum", X("ctc", "zt", "y", "il", "ll", time_major=True, reduction="sum"),
             (Formula("F.ctc_loss(log_softmax(z), y, il, ll, reduction='sum')", _torch_ctc("sum"),
                      "zt", "y", "il", "ll", note=TORCH_NOTE),), seq, grad=("zt",)),
        Case("ctc-torch-mean", X("ctc", "zt", "y", "il", "ll", time_major=True, length_normalize=True),
             (Formula("F.ctc_loss(log_softmax(z), y, il, ll) (mean of loss / target length)", _torch_ctc("mean"),
                      "zt", "y", "il", "ll", note=TORCH_NOTE),), seq, grad=("zt",),
             note="torch's 'mean' divides each loss by its target length: length_normalize=True"),
        Case("ctc-torch-zero_infinity", X("ctc", "zt", "y", "il", "ll", time_major=True, zero_infinity=True,
                                          reduction="sum"),
             (Formula("F.ctc_loss(log_softmax(z), y, il, ll, reduction='sum', zero_infinity=True)",
                      _torch_ctc("sum", zero_infinity=True), "zt", "y", "il", "ll", note=TORCH_NOTE),), bad,
             grad=("zt",), note="the last row is infeasible (2 2 2 in 4 frames): 0 and a zero gradient"),
        Case("ctc-optax", X("ctc", "zb", "y", "il", "ll", reduction="none"),
             (optax_ref("ctc_loss(logits, logit_paddings, labels, label_paddings)", _optax_ctc,
                        "zb", "lpad", "yf", "ypad"),), seq, grad=("zb",),
             note="paddings from the lengths: logit_paddings[n, t] = t >= il[n], label_paddings[n, s] = s >= ll[n]"),
        Case("ctc-keras", X("ctc", "zb", "yk"), (K("CTC", "yk", "zb", tol=KERAS_F32),), seq, grad=("zb",),
             note="Keras: labels padded with 0 (the blank), label length = count(y != 0), input length T; the "
                  "plain batch mean"),
    ]

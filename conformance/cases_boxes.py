"""Conformance cases of the box losses (``xploss.losses._boxes``).

Built-ins: torchvision 0.28 ``ops.generalized_box_iou_loss``, ``ops.distance_box_iou_loss``,
``ops.complete_box_iou_loss`` and, for the plain IoU loss, ``1 - inter / (union + eps)`` of its
``ops._utils._loss_inter_union`` helper (torchvision has no public IoU loss).  torchvision 0.28 does not
import beside the CPU torch build (its ``_C.so`` links CUDA, BUILTINS-2 §5): its pure-Python loss modules
are loaded by :func:`conformance.stubs.load`.  Every call goes through torchvision's own code, gradients by
torch's autograd.  The boxes include coordinate ties (shared corners, identical and touching boxes: torch's
0.5 / 0.5 split of ``maximum`` / ``minimum``), disjoint and nested pairs, and, in the ``zero-area`` cases,
point, zero-width and zero-height boxes where torchvision is finite.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import stubs
from .cases import Case, Formula, In, N, X

TV_NOTE = "torchvision 0.28 loaded by conformance.stubs (import torchvision fails beside the CPU torch)"
IOU_NOTE = ("torchvision has no public IoU loss: 1 − inter / (union + eps) of torchvision.ops._utils."
            "_loss_inter_union, the IoU part of its three losses")
CIOU_EPS_NOTE = ("torchvision's complete_box_iou_loss calls its DIoU part with the default eps = 1e-7 whatever "
                 "its eps (BUILTINS-2 §2.4); xploss passes eps to every term: the reference is torchvision's own "
                 "_diou_iou_loss(b1, b2, eps) + α v with α = v / (1 − IoU + v + eps) under no_grad")
ZERO_NOTE = ("zero-area boxes (a point inside a box, a point against itself, zero width, zero height): "
             "finite in xploss and torchvision; CIoU is left out here (torchvision: NaN at a point box, a NaN "
             "gradient at zero height; xploss: finite, see its docstring)")

_TV = {"giou": ("giou_loss", "generalized_box_iou_loss"), "diou": ("diou_loss", "distance_box_iou_loss"),
       "ciou": ("ciou_loss", "complete_box_iou_loss")}
_NAMES = {"iou": "iou_loss", "giou": "giou_loss", "diou": "diou_loss", "ciou": "ciou_loss"}


def _torchvision(kind: str, reduction: str, eps: float | None = None, weighted: bool = False) -> Callable:
    """``fn(torch, b1, b2[, w])``: torchvision's loss of ``kind`` (per box), then the reduction."""
    def fn(torch: Any, b1: Any, b2: Any, w: Any = None) -> Any:
        kw = {} if eps is None else {"eps": eps}
        if kind == "iou":
            inter, union = stubs.load("torchvision.ops._utils")._loss_inter_union(b1, b2)
            out = 1 - inter / (union + (1e-7 if eps is None else eps))
        else:
            module, name = _TV[kind]
            out = getattr(stubs.load(f"torchvision.ops.{module}"), name)(b1, b2, reduction="none", **kw)
        if w is not None:
            out = out * w
        return {"none": out, "sum": out.sum(), "mean": out.mean()}[reduction]
    return fn


def _ciou_all_eps(eps: float) -> Callable:
    def fn(torch: Any, b1: Any, b2: Any) -> Any:
        diou, iou = stubs.load("torchvision.ops.diou_loss")._diou_iou_loss(b1, b2, eps)
        w1, h1 = b1[..., 2] - b1[..., 0], b1[..., 3] - b1[..., 1]
        w2, h2 = b2[..., 2] - b2[..., 0], b2[..., 3] - b2[..., 1]
        v = (4 / torch.pi ** 2) * (torch.atan(w2 / h2) - torch.atan(w1 / h1)) ** 2
        with torch.no_grad():
            alpha = v / (1 - iou + v + eps)
        return (diou + alpha * v).mean()
    return fn


def _text(kind: str, reduction: str, eps: float | None, weighted: bool) -> str:
    call = ("1 − inter / (union + eps), (inter, union) = _loss_inter_union(b1, b2)" if kind == "iou"
            else f"torchvision.ops.{_TV[kind][1]}(b1, b2{'' if eps is None else f', eps={eps}'})")
    return f"({call}{' · w' if weighted else ''}).{reduction}()" if reduction != "none" else call


# -- inputs ------------------------------------------------------------------------------------

def _boxes(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    lo1, lo2 = rng.uniform(0.0, 4.0, (n, 2)), rng.uniform(0.0, 4.0, (n, 2))
    wh1, wh2 = rng.uniform(0.3, 3.0, (n, 2)), rng.uniform(0.3, 3.0, (n, 2))
    lo2[-4] = lo1[-4]  # a shared top-left corner
    lo2[-3], wh2[-3] = lo1[-3], wh1[-3]  # identical boxes (loss eps / A)
    lo2[-2, 0] = lo1[-2, 0] + wh1[-2, 0]  # touching along x (no intersection, a tie of the enclosing box)
    lo2[-1] = lo1[-1] + wh1[-1] + 1.0  # disjoint
    return np.concatenate([lo1, lo1 + wh1], -1), np.concatenate([lo2, lo2 + wh2], -1)


def box_pairs(rng: np.random.Generator) -> dict:
    """``b1``, ``b2`` (N, 4) with ties, identical, touching and disjoint rows; ``w`` per-box weights; the same
    boxes as ``(2, N / 2, 4)`` in ``b1_3d``, ``b2_3d``."""
    b1, b2 = _boxes(rng, N)
    return {"b1": b1, "b2": b2, "w": rng.uniform(0.2, 2.0, N), "b1_3d": b1.reshape(2, N // 2, 4),
            "b2_3d": b2.reshape(2, N // 2, 4)}


def zero_area(rng: np.random.Generator) -> dict:
    """Fixed zero-area pairs (the seeded generator is not used)."""
    b1 = np.array([[0.5, 0.5, 0.5, 0.5], [1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 2.0], [0.0, 0.0, 2.0, 0.0],
                   [0.2, 0.1, 1.7, 0.1], [3.0, 1.0, 3.0, 2.5]])
    b2 = np.array([[0.0, 0.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0],
                   [0.5, 0.0, 1.0, 2.0], [1.0, 1.5, 2.0, 2.0]])
    return {"b1": b1, "b2": b2}


# -- the table ---------------------------------------------------------------------------------

def cases() -> list:
    bb = ("b1", "b2")
    out = []
    for kind, name in _NAMES.items():
        note = IOU_NOTE if kind == "iou" else TV_NOTE
        for reduction in ("none", "sum", "mean"):
            out.append(Case(f"box/{name}/{reduction}", X(name, *bb, reduction=reduction),
                            (Formula(_text(kind, reduction, None, False), _torchvision(kind, reduction), *bb,
                                     note=note),), box_pairs, bb))
        out.append(Case(f"box/{name}/weighted-sum", X(name, *bb, sample_weight=In("w"), reduction="sum"),
                        (Formula(_text(kind, "sum", None, True), _torchvision(kind, "sum", weighted=True),
                                 *bb, "w", note=note),), box_pairs, bb))
        out.append(Case(f"box/{name}/leading-axes", X(name, "b1_3d", "b2_3d", reduction="none"),
                        (Formula(_text(kind, "none", None, False) + " on (2, N/2, 4) boxes",
                                 _torchvision(kind, "none"), "b1_3d", "b2_3d", note=note),), box_pairs,
                        ("b1_3d", "b2_3d")))
        if kind != "ciou":
            out.append(Case(f"box/{name}/eps=0.5", X(name, *bb, eps=0.5),
                            (Formula(_text(kind, "mean", 0.5, False), _torchvision(kind, "mean", 0.5), *bb,
                                     note=note),), box_pairs, bb))
            out.append(Case(f"box/{name}/zero-area", X(name, *bb, reduction="none"),
                            (Formula(_text(kind, "none", None, False), _torchvision(kind, "none"), *bb,
                                     note=ZERO_NOTE),), zero_area, bb))
    out.append(Case("box/ciou_loss/eps=0.5", X("ciou_loss", *bb, eps=0.5),
                    (Formula("(_diou_iou_loss(b1, b2, eps) + no_grad(v / (1 − IoU + v + eps)) · v).mean(), "
                             "torchvision's own parts", _ciou_all_eps(0.5), *bb, note=CIOU_EPS_NOTE),),
                    box_pairs, bb))
    return out

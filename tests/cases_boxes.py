"""Per-loss test table of the box losses (extends ``cases.py``).

References are naive per-box loops written from the definitions (torchvision 0.28's ``_loss_inter_union``,
``generalized_box_iou_loss``, ``distance_box_iou_loss``; Rezatofighi et al., Zheng et al.); no xploss code.
The generator draws, per batch, an overlapping, a disjoint, a nested and a partly overlapping pair, with every
pair of corresponding coordinates (the ``max`` / ``min`` ties) and every intersection side (the mask
``> 0``) ``GAP`` away from their kinks.

CIoU is not in this table: its gradient treats ``α`` as a constant (torchvision's ``no_grad``), so it is not
the finite difference of its value; ``test_boxes.py`` compares it with torchvision (values and gradients on
every backend), with the DIoU part and with the closed form of the aspect term.
"""

from __future__ import annotations

import numpy as np
from cases import GAP, Case, N, scaled

import xploss

# -- references ------------------------------------------------------------------------------

def _pair_terms(a, b, eps):
    """(IoU with eps, union, enclosing width, enclosing height) of one pair of boxes, from the definitions."""
    x1, y1, x2, y2 = (float(c) for c in a)
    u1, v1, u2, v2 = (float(c) for c in b)
    iw, ih = min(x2, u2) - max(x1, u1), min(y2, v2) - max(y1, v1)
    inter = iw * ih if (iw > 0 and ih > 0) else 0.0
    union = (x2 - x1) * (y2 - y1) + (u2 - u1) * (v2 - v1) - inter
    cw, ch = max(x2, u2) - min(x1, u1), max(y2, v2) - min(y1, v1)
    return inter / (union + eps), union, cw, ch


def ref_box(b1, b2, *, eps=1e-7, kind="iou"):
    out = np.zeros(b1.shape[:-1])
    for i in np.ndindex(out.shape):
        iou, union, cw, ch = _pair_terms(b1[i], b2[i], eps)
        value = 1.0 - iou
        if kind == "giou":
            value += (cw * ch - union) / (cw * ch + eps)
        elif kind == "diou":
            dx = (b1[i][0] + b1[i][2]) / 2 - (b2[i][0] + b2[i][2]) / 2
            dy = (b1[i][1] + b1[i][3]) / 2 - (b2[i][1] + b2[i][3]) / 2
            value += (dx * dx + dy * dy) / (cw * cw + ch * ch + eps)
        out[i] = value
    return out


def ref_iou(b1, b2, *, eps=1e-7):
    return ref_box(b1, b2, eps=eps, kind="iou")


def ref_giou(b1, b2, *, eps=1e-7):
    return ref_box(b1, b2, eps=eps, kind="giou")


def ref_diou(b1, b2, *, eps=1e-7):
    return ref_box(b1, b2, eps=eps, kind="diou")


# -- generator -------------------------------------------------------------------------------

# (gt offset, gt size) relative to a prediction at the origin of size (2, 1.5): overlapping, disjoint, nested,
# partly overlapping; jittered by up to 0.3
_LAYOUTS = (((0.8, 0.5), (2.2, 1.6)), ((3.0, 2.5), (1.0, 1.2)), ((0.4, 0.3), (1.0, 0.7)), ((-1.0, 0.6), (2.0, 2.0)))


def _ok(b1: np.ndarray, b2: np.ndarray) -> bool:
    ties = np.abs(b1 - b2)
    iw = np.minimum(b1[:, 2], b2[:, 2]) - np.maximum(b1[:, 0], b2[:, 0])
    ih = np.minimum(b1[:, 3], b2[:, 3]) - np.maximum(b1[:, 1], b2[:, 1])
    return bool(np.all(ties > GAP) and np.all(np.abs(iw) > GAP) and np.all(np.abs(ih) > GAP))


def box_pairs(rng: np.random.Generator) -> tuple:
    for _ in range(10000):
        origin = rng.uniform(-2.0, 2.0, size=(N, 2))
        size1 = np.array([2.0, 1.5]) + rng.uniform(-0.3, 0.3, size=(N, 2))
        order = rng.permutation(N) % len(_LAYOUTS)
        off = np.array([_LAYOUTS[k][0] for k in order]) + rng.uniform(-0.3, 0.3, size=(N, 2))
        size2 = np.array([_LAYOUTS[k][1] for k in order]) + rng.uniform(-0.3, 0.3, size=(N, 2))
        b1 = np.concatenate([origin, origin + size1], axis=-1)
        b2 = np.concatenate([origin + off, origin + off + size2], axis=-1)
        if _ok(b1, b2):
            return b1, b2
    raise RuntimeError("no box pair away from the kinks")


# -- the table ---------------------------------------------------------------------------------

_B = dict(make=box_pairs, diff=(0, 1), nonneg=True, extreme=scaled(1e6, 2))
_NO_EXTREME = {**_B, "extreme": None}  # the IoU kernel is a part of the two others, tested at 1e6 there

CASES = [
    Case("iou_loss", xploss.iou_loss, ref=ref_iou, **_NO_EXTREME),
    Case("giou_loss-eps", xploss.giou_loss, ref=ref_giou, opts={"eps": 0.5}, **_B),
    Case("diou_loss", xploss.diou_loss, ref=ref_diou, **_B),
]

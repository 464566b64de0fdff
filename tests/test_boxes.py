"""The box losses (``xploss/losses/_boxes.py``) beyond the generic table of ``test_losses.py``.

References: torchvision 0.28's ``generalized_box_iou_loss``, ``distance_box_iou_loss``,
``complete_box_iou_loss`` and ``_loss_inter_union`` (loaded by ``conformance.stubs``, float64, their own
autograd), closed forms, and finite differences of NumPy definitions.  Documented conventions under test:

* values and gradients equal torchvision's, coordinate ties included (torch's 0.5 / 0.5 split of
  ``maximum`` / ``minimum``), on every backend;
* identical boxes give ``eps / (A + eps)`` with the gradient ``∓ eps h / (2 (A + eps)²)``, not 0;
* zero-area boxes stay finite (torchvision's CIoU is NaN at a point box, its gradient NaN at a zero height);
* CIoU's ``α`` is a constant for the gradient; its ``eps`` reaches the DIoU part (torchvision: only at 1e-7);
* inverted boxes raise eagerly and poison (NaN) their own box under ``jax.jit``;
* float16 boxes are computed in float32 and returned as float16.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from cases import BY_ID  # noqa: F401  (imports the family tables in order)
from cases_boxes import ref_diou
from conftest import Backend, _load
from helpers import assert_close, to_backend, to_numpy
from hypothesis import given, settings
from hypothesis import strategies as st

import xploss

KINDS = ("iou", "giou", "diou", "ciou")
PROPERTY = settings(max_examples=20, deadline=None)


def _fn(kind: str):
    return getattr(xploss, f"{kind}_loss")


def _tv(kind: str):
    """The torchvision function of ``kind`` (``iou``: ``1 - inter / (union + eps)`` of ``_loss_inter_union``)."""
    from conformance import stubs

    if kind == "iou":
        utils = stubs.load("torchvision.ops._utils")

        def iou(b1, b2, reduction="none", eps=1e-7):
            inter, union = utils._loss_inter_union(b1, b2)
            out = 1 - inter / (union + eps)
            return out.sum() if reduction == "sum" else out
        return iou
    module, name = {"giou": ("giou_loss", "generalized_box_iou_loss"), "diou": ("diou_loss", "distance_box_iou_loss"),
                    "ciou": ("ciou_loss", "complete_box_iou_loss")}[kind]
    return getattr(stubs.load(f"torchvision.ops.{module}"), name)


def tv_value_and_grads(kind: str, b1: np.ndarray, b2: np.ndarray, **kw) -> tuple:
    """torchvision's per-box losses and the gradients of their sum, float64."""
    torch = _load(Backend.TORCH)
    t1, t2 = (torch.tensor(b, dtype=torch.float64, requires_grad=True) for b in (b1, b2))
    out = _tv(kind)(t1, t2, **kw)
    g1, g2 = torch.autograd.grad(out.sum(), (t1, t2))
    return out.detach().numpy(), g1.numpy(), g2.numpy()


def _vg(kind: str, b: Backend, b1: np.ndarray, b2: np.ndarray, dtype: str = "float64", **kw) -> tuple:
    xs = (to_backend(b, b1, dtype), to_backend(b, b2, dtype))
    value, (g1, g2) = xploss.value_and_grad(lambda x, y: _fn(kind)(x, y, reduction="sum", **kw), argnums=(0, 1))(*xs)
    return to_numpy(value), to_numpy(g1), to_numpy(g2)


def random_boxes(seed: int, n: int = 12, ties: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``n`` pairs of valid boxes; with ``ties``, the first rows share corners, sides or the whole box."""
    rng = np.random.default_rng(seed)
    lo1, lo2 = rng.uniform(0.0, 4.0, (n, 2)), rng.uniform(0.0, 4.0, (n, 2))
    wh1, wh2 = rng.uniform(0.2, 3.0, (n, 2)), rng.uniform(0.2, 3.0, (n, 2))
    if ties:
        lo2[0] = lo1[0]  # same top-left corner
        lo2[1] = lo1[1] + wh1[1] - wh2[1]  # same bottom-right corner
        lo2[2], wh2[2] = lo1[2], wh1[2]  # identical boxes
        lo2[3, 0] = lo1[3, 0] + wh1[3, 0]  # touching along x
    return np.concatenate([lo1, lo1 + wh1], -1), np.concatenate([lo2, lo2 + wh2], -1)


B1, B2 = random_boxes(20261202)


# -- 1. torchvision: values and gradients on every backend -------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_matches_torchvision(backend: Backend, kind: str) -> None:
    ref, r1, r2 = tv_value_and_grads(kind, B1, B2)
    per_box = _fn(kind)(to_backend(backend, B1, "float64"), to_backend(backend, B2, "float64"), reduction="none")
    assert_close(per_box, ref, dtype="float64", b=backend, what=f"{kind} values")
    value, g1, g2 = _vg(kind, backend, B1, B2)
    assert_close(value, ref.sum(), dtype="float64", what=f"{kind} sum")
    assert_close(g1, r1, dtype="float64", what=f"{kind} d/d boxes1")
    assert_close(g2, r2, dtype="float64", what=f"{kind} d/d boxes2")


def test_batched_leading_axes_match_torchvision() -> None:
    """``(2, 6, 4)`` boxes: one loss per box, the per-box loss ``(2, 6)``."""
    b1, b2 = B1.reshape(2, 6, 4), B2.reshape(2, 6, 4)
    ref, r1, r2 = tv_value_and_grads("giou", b1, b2)
    assert_close(xploss.giou_loss(b1, b2, reduction="none"), ref, dtype="float64")
    _, g1, g2 = _vg("giou", Backend.NUMPY, b1, b2)
    assert_close(g1, r1, dtype="float64")
    assert_close(g2, r2, dtype="float64")


# -- 2. edges: identical, zero-area and far apart boxes -----------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("eps", [1e-7, 0.5])
def test_identical_boxes_closed_form(kind: str, eps: float) -> None:
    """``eps / (A + eps)``; every coordinate ties: ``d/dx2 = -eps h / (2 (A + eps)²)``, ``d/dx1`` its opposite."""
    b = np.array([[0.0, 0.0, 1.0, 1.0], [1.0, 2.0, 4.0, 2.5]])
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    area = w * h
    value, g1, g2 = _vg(kind, Backend.NUMPY, b, b.copy(), eps=eps)
    assert_close(value, np.sum(eps / (area + eps)), dtype="float64")
    k = eps / (2.0 * (area + eps) ** 2)
    expected = np.stack([k * h, k * w, -k * h, -k * w], axis=-1)
    assert_close(g1, expected, dtype="float64", rtol=1e-9)
    assert_close(g2, expected, dtype="float64", rtol=1e-9)
    if eps == 1e-7:
        ref, r1, r2 = tv_value_and_grads(kind, b, b.copy())
        assert_close(g1, r1, dtype="float64")
        assert_close(g2, r2, dtype="float64")


ZERO_AREA = {  # (boxes1, boxes2): a point against itself, a point inside a box, zero height, zero width
    "point-self": ([1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]),
    "point-inside": ([0.5, 0.5, 0.5, 0.5], [0.0, 0.0, 1.0, 1.0]),
    "zero-height": ([0.0, 0.0, 2.0, 0.0], [0.0, 0.0, 1.0, 1.0]),
    "zero-width": ([0.0, 0.0, 0.0, 2.0], [0.0, 0.0, 1.0, 1.0]),
    "gt-point": ([0.0, 0.0, 1.0, 1.0], [0.5, 0.5, 0.5, 0.5]),
}


@pytest.mark.parametrize("kind", KINDS)
def test_zero_area_boxes_stay_finite(kind: str) -> None:
    """Finite values and gradients everywhere; equal to torchvision wherever torchvision is finite."""
    b1 = np.array([p[0] for p in ZERO_AREA.values()])
    b2 = np.array([p[1] for p in ZERO_AREA.values()])
    per_box = _fn(kind)(b1, b2, reduction="none")
    _, g1, g2 = _vg(kind, Backend.NUMPY, b1, b2)
    assert np.all(np.isfinite(per_box)) and np.all(np.isfinite(g1)) and np.all(np.isfinite(g2)), (per_box, g1, g2)
    ref, r1, r2 = tv_value_and_grads(kind, b1, b2)
    fin = np.isfinite(ref)
    assert_close(per_box[fin], ref[fin], dtype="float64")
    rows = np.all(np.isfinite(r1), -1) & np.all(np.isfinite(r2), -1)
    assert_close(g1[rows], r1[rows], dtype="float64")
    assert_close(g2[rows], r2[rows], dtype="float64")
    inside = 1.0 + (0.0625 / (1.25 + 1e-7) if kind == "ciou" else 0.0)  # v = 1/4 (test_ciou_point_box_closed_form)
    assert_close(per_box[:2], [1.0, inside], dtype="float64")
    assert np.all(g1[0] == 0.0) and np.all(g2[0] == 0.0)  # a point against itself: no direction
    if kind == "ciou":  # torchvision: atan(0 / 0) = NaN at a point box, a NaN gradient at zero height
        assert np.isnan(ref[1]) and np.isnan(r1[2]).all()


def test_ciou_point_box_closed_form() -> None:
    """A point inside the unit box: IoU 0, ρ = 0, v = (4/π²)(π/4)² = 1/4, α = v / (1 + v + eps)."""
    eps = 1e-7
    v = 0.25
    value = xploss.ciou_loss(np.array([0.5, 0.5, 0.5, 0.5]), np.array([0.0, 0.0, 1.0, 1.0]), reduction="sum")
    assert_close(value, 1.0 + v * v / (1.0 + v + eps), dtype="float64", rtol=1e-14)


def test_far_apart_and_disjoint_boxes() -> None:
    """Disjoint: IoU loss 1 with a zero gradient; GIoU → 2 as the boxes move apart; DIoU → 2 along a line."""
    b1 = np.array([[0.0, 0.0, 1.0, 1.0]])
    far = np.array([[1e4, 1e4, 1e4 + 1.0, 1e4 + 1.0]])
    value, g1, g2 = _vg("iou", Backend.NUMPY, b1, far)
    assert value == 1.0 and np.all(g1 == 0.0) and np.all(g2 == 0.0)
    giou = float(xploss.giou_loss(b1, far))
    assert 2.0 - 1e-7 < giou < 2.0, giou
    diou = float(xploss.diou_loss(b1, far))
    assert_close(diou, 1.0 + 2e8 / ((1e4 + 1.0) ** 2 * 2 + 1e-7), dtype="float64")  # ρ² = 2·1e8, c² = 2(1e4 + 1)²


# -- 3. relations and symmetry (hypothesis, NumPy) --------------------------------------------------------

@PROPERTY
@given(seed=st.integers(0, 2**32 - 1), scale=st.sampled_from([1e-2, 1.0, 1e3]))
def test_relations_between_the_losses(seed: int, scale: float) -> None:
    b1, b2 = (b * scale for b in random_boxes(seed, n=8))
    iou, giou, diou, ciou = (_fn(k)(b1, b2, reduction="none") for k in KINDS)
    assert np.all(iou >= 0) and np.all(iou <= 1)
    assert np.all(giou >= iou - 1e-15) and np.all(giou < 2.0)
    assert np.all(diou >= iou - 1e-15) and np.all(ciou >= diou - 1e-15)
    for kind in KINDS:  # symmetric (CIoU too: v is a square, α symmetric): value and swapped gradients
        v12, g1, g2 = _vg(kind, Backend.NUMPY, b1, b2)
        v21, h2, h1 = _vg(kind, Backend.NUMPY, b2, b1)
        assert_close(v21, v12, dtype="float64")
        assert_close(h1, g1, dtype="float64")
        assert_close(h2, g2, dtype="float64")


# -- 4. CIoU: α constant, atan2 aspect, eps in the DIoU part --------------------------------------------

def _aspect(b: np.ndarray) -> np.ndarray:
    return np.arctan2(b[..., 2] - b[..., 0], b[..., 3] - b[..., 1])


def test_ciou_gradient_holds_alpha_constant() -> None:
    """The gradient is the finite difference of ``DIoU(b) + α₀ v(b)`` with ``α₀`` frozen at the point, and
    differs from that of the value (``α`` moving)."""
    b1, b2 = random_boxes(7, n=6, ties=False)
    eps = 1e-3
    iou = 1.0 - xploss.iou_loss(b1, b2, eps=eps, reduction="none")

    def v_of(p, t):
        return 4.0 / math.pi ** 2 * (_aspect(t) - _aspect(p)) ** 2

    v0 = v_of(b1, b2)
    alpha0 = v0 / (1.0 - iou + v0 + eps)

    def frozen(p, t):
        return float(np.sum(ref_diou(p, t, eps=eps) + alpha0 * v_of(p, t)))

    value, g1, g2 = _vg("ciou", Backend.NUMPY, b1, b2, eps=eps)
    assert_close(value, frozen(b1, b2), dtype="float64")
    for x, g, which in ((b1, g1, 0), (b2, g2, 1)):
        fd = np.zeros_like(x)
        for j in np.ndindex(x.shape):
            vals = []
            for s in (-2, -1, 1, 2):
                y = x.copy()
                y[j] += s * 1e-4
                vals.append(frozen(y, b2) if which == 0 else frozen(b1, y))
            fd[j] = (vals[0] - 8 * vals[1] + 8 * vals[2] - vals[3]) / 12e-4
        assert_close(g, fd, dtype="float64", rtol=1e-7, what=f"d/d boxes{which + 1}")
    y = b1.copy()  # the value's own derivative in one coordinate differs (α moves)
    y[0, 2] += 1e-6
    moving = (float(xploss.ciou_loss(y, b2, eps=eps, reduction="sum")) - value) / 1e-6
    assert abs(moving - g1[0, 2]) > 1e-4


def test_ciou_eps_reaches_the_diou_part() -> None:
    """xploss: DIoU(eps) + α v with eps everywhere; torchvision ignores eps in the DIoU part (equal at 1e-7)."""
    b1, b2 = random_boxes(11, n=6, ties=False)
    eps = 0.5
    v = 4.0 / math.pi ** 2 * (_aspect(b2) - _aspect(b1)) ** 2
    iou = 1.0 - xploss.iou_loss(b1, b2, eps=eps, reduction="none")
    expected = ref_diou(b1, b2, eps=eps) + v * v / (1.0 - iou + v + eps)
    got = xploss.ciou_loss(b1, b2, eps=eps, reduction="none")
    assert_close(got, expected, dtype="float64")
    tv, _, _ = tv_value_and_grads("ciou", b1, b2, eps=eps)
    assert np.max(np.abs(got - tv)) > 1e-3  # the documented difference
    tv_default, _, _ = tv_value_and_grads("ciou", b1, b2)
    assert_close(xploss.ciou_loss(b1, b2, reduction="none"), tv_default, dtype="float64")


# -- 5. second order: torch's double backward of torchvision -----------------------------------------

def _tv_hessian(kind: str, b1: np.ndarray, b2: np.ndarray) -> np.ndarray:
    torch = _load(Backend.TORCH)
    fixed = torch.tensor(b2, dtype=torch.float64)
    return torch.autograd.functional.hessian(lambda x: _tv(kind)(x, fixed).sum(),
                                             torch.tensor(b1, dtype=torch.float64)).numpy()


def test_hessian_matches_torchvision_jax() -> None:
    """JAX: the custom_jvp rule differentiated again (DIoU: the IoU, the centre distance and the diagonal)."""
    jax = _load(Backend.JAX)
    b1, b2 = random_boxes(3, n=2, ties=False)
    fixed = jax.numpy.asarray(b2)
    got = jax.hessian(lambda x: xploss.diou_loss(x, fixed, reduction="sum"))(jax.numpy.asarray(b1))
    assert_close(got, _tv_hessian("diou", b1, b2), dtype="float64", b=Backend.JAX)


def test_hessian_matches_torchvision_torch() -> None:
    """torch: the hand VJP recorded by autograd (create_graph); GIoU's enclosure term."""
    torch = _load(Backend.TORCH)
    b1, b2 = random_boxes(5, n=2, ties=False)
    fixed = torch.tensor(b2, dtype=torch.float64)
    got = torch.autograd.functional.hessian(lambda x: xploss.giou_loss(x, fixed, reduction="sum"),
                                            torch.tensor(b1, dtype=torch.float64))
    assert_close(got, _tv_hessian("giou", b1, b2), dtype="float64", b=Backend.TORCH)


# -- 6. inverted boxes: eager error, traced poison -------------------------------------------------------

def test_inverted_box_eager_error_names_the_box() -> None:
    bad = B1.copy()
    bad[5] = [2.0, 0.0, 1.0, 1.0]
    with pytest.raises(xploss.XplossError, match=r"`boxes1`.*x1 <= x2.*box 5 = \[2\.0, 0\.0, 1\.0, 1\.0\]"):
        xploss.giou_loss(bad, B2)
    bad2 = B2.reshape(3, 4, 4).copy()
    bad2[1, 2] = [0.0, 3.0, 1.0, 1.0]
    with pytest.raises(xploss.XplossError, match=r"`boxes2`.*box \(1, 2\) = \[0\.0, 3\.0, 1\.0, 1\.0\]"):
        xploss.ciou_loss(B1.reshape(3, 4, 4), bad2)


def test_inverted_box_is_poisoned_under_jit() -> None:
    jax = _load(Backend.JAX)
    bad = B1.copy()
    bad[4] = [2.0, 2.0, 0.0, 0.0]  # torchvision: a false near-perfect match
    f = jax.jit(lambda x, y: xploss.giou_loss(x, y, reduction="none"))
    per_box = np.asarray(f(jax.numpy.asarray(bad), jax.numpy.asarray(B2)))
    assert np.isnan(per_box[4]) and np.all(np.isfinite(np.delete(per_box, 4))), per_box
    ref, _, _ = tv_value_and_grads("giou", B1, B2)
    assert_close(np.delete(per_box, 4), np.delete(ref, 4), dtype="float64")
    g = jax.jit(jax.grad(lambda x, y: xploss.giou_loss(x, y, reduction="sum"), argnums=(0, 1)))
    g1, g2 = (np.asarray(a) for a in g(jax.numpy.asarray(bad), jax.numpy.asarray(B2)))
    assert np.all(np.isnan(g1[4])) and np.all(np.isnan(g2[4]))
    assert np.all(np.isfinite(np.delete(g1, 4, 0))) and np.all(np.isfinite(np.delete(g2, 4, 0)))


def test_inverted_box_is_poisoned_under_tf_function_and_torch_compile() -> None:
    tf, torch = _load(Backend.TENSORFLOW), _load(Backend.TORCH)
    bad = B1.copy()
    bad[4] = [2.0, 2.0, 0.0, 0.0]
    ref, _, _ = tv_value_and_grads("diou", B1, B2)
    f = tf.function(lambda x, y: xploss.diou_loss(x, y, reduction="none"))
    torch._dynamo.reset()
    g = torch.compile(lambda x, y: xploss.diou_loss(x, y, reduction="none"), backend="eager", fullgraph=True)
    for per_box in (f(tf.constant(bad), tf.constant(B2)).numpy(), g(torch.tensor(bad), torch.tensor(B2)).numpy()):
        assert np.isnan(per_box[4]), per_box
        assert_close(np.delete(per_box, 4), np.delete(ref, 4), dtype="float64")


# -- 7. dtypes and errors -----------------------------------------------------------------------------

def test_float16_computed_in_float32() -> None:
    torch = _load(Backend.TORCH)
    b1, b2 = (torch.tensor(b, dtype=torch.float16, requires_grad=True) for b in (B1, B2))
    out = xploss.ciou_loss(b1, b2, reduction="none")
    assert out.dtype == torch.float16
    ref = _tv("ciou")(b1.detach().float(), b2.detach().float())  # torchvision upcasts and returns float32
    assert torch.equal(out, ref.half())
    g1, _ = torch.autograd.grad(out.sum(), (b1, b2))
    assert g1.dtype == torch.float16 and bool(torch.isfinite(g1).all())


def test_errors() -> None:
    box = np.array([[0.0, 0.0, 1.0, 1.0]])
    with pytest.raises(xploss.XplossTypeError, match=r"`boxes1`.*dtype int64.*Cast the boxes to float"):
        xploss.iou_loss(box.astype(np.int64), box)
    with pytest.raises(xploss.XplossTypeError, match=r"`boxes2`.*dtype float64"):
        xploss.giou_loss(box, box.astype(np.float32))
    with pytest.raises(xploss.XplossError, match=r"`boxes2`.*\(1, 4\).*no broadcasting.*\(3, 4\)"):
        xploss.diou_loss(box, np.repeat(box, 3, axis=0))
    with pytest.raises(xploss.XplossError, match=r"`boxes1`.*\(\.\.\., 4\).*shape \(1, 3\)"):
        xploss.ciou_loss(box[:, :3], box[:, :3])
    with pytest.raises(xploss.XplossError, match=r"`eps`.*a value in \(0\.0, inf\]\. Received: 0\.0"):
        xploss.giou_loss(box, box, eps=0.0)

"""Reductions, masks and per-sample weights: one rule for every loss, on every backend.

References are written by hand in NumPy from the rule in ``xploss._reduce``:
``mean = Σ w·l / #valid``, ``weighted_mean = Σ w·l / Σ w·n`` (``n`` = class
weight of the target), an empty denominator gives 0 with a zero gradient.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close, to_backend, to_numpy
from test_api import numeric_grad

import xploss

rng = np.random.default_rng(99)
N, C, D = 10, 4, 3
Z = rng.normal(size=(N, C)) * 2
LAB = np.array([-100, -100, -100, 2, 0, -100, 1, 3, 3, -100])
CW = np.array([0.5, 2.0, 1.0, 3.0])
W = rng.uniform(0.1, 2.0, size=N)
P, Y = rng.normal(size=(N, D)), rng.normal(size=(N, D))
IGNORE = -100


def ce_ref(z: np.ndarray, lab: np.ndarray, cw: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample cross-entropy (0 where ignored) and its normaliser ``cw[y] · valid``."""
    valid = lab != IGNORE
    safe = np.where(valid, lab, 0)
    m = z.max(-1, keepdims=True)
    lse = (np.log(np.exp(z - m).sum(-1, keepdims=True)) + m)[..., 0]
    n = (np.ones(len(lab)) if cw is None else cw[safe]) * valid
    return n * (lse - np.take_along_axis(z, safe[:, None], -1)[:, 0]), n


def reduce_ref(loss: np.ndarray, reduction: str, w: np.ndarray | None = None, valid: np.ndarray | None = None,
               norm: np.ndarray | None = None) -> np.ndarray:
    w = np.ones_like(loss) if w is None else w.reshape(w.shape + (1,) * (loss.ndim - w.ndim))
    valid = np.ones_like(loss) if valid is None else valid
    norm = valid if norm is None else norm
    den = {"mean": np.sum(valid), "weighted_mean": np.sum(w * norm)}.get(reduction, 1.0)
    return {"none": w * loss}.get(reduction, np.sum(w * loss) / (den if den != 0 else 1.0))


def triplet_ref(a: np.ndarray, p: np.ndarray, n: np.ndarray, margin: float = 1.0, eps: float = 1e-6) -> np.ndarray:
    d = lambda x1, x2: np.sqrt(np.sum((x1 - x2 + eps) ** 2, -1))  # noqa: E731
    return np.maximum(d(a, p) - d(a, n) + margin, 0.0)


# -- every reduction vs the hand rule -------------------------------------------------------

def _ce_case(b, reduction, weight):
    loss, valid = ce_ref(Z, LAB)
    got = xploss.cross_entropy(to_backend(b, Z), to_backend(b, LAB), sample_weight=weight, reduction=reduction)
    return got, loss, valid


def _mse_case(b, reduction, weight):
    got = xploss.mse(to_backend(b, P), to_backend(b, Y), sample_weight=weight, reduction=reduction)
    return got, (P - Y) ** 2, None


def _triplet_case(b, reduction, weight):
    neg = -Y[:, ::-1].copy()
    got = xploss.triplet_margin(*(to_backend(b, a) for a in (P, Y, neg)), sample_weight=weight, reduction=reduction)
    return got, triplet_ref(P, Y, neg), None


CASES = {"cross_entropy": _ce_case, "mse": _mse_case, "triplet_margin": _triplet_case}


@pytest.mark.parametrize("reduction", ["none", "sum", "mean", "weighted_mean"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weight"])
@pytest.mark.parametrize("loss", list(CASES))
def test_reduction_rule(backend, loss, reduction, weighted):
    w = W if weighted else None
    got, per_sample, valid = CASES[loss](backend, reduction, to_backend(backend, w))
    assert_close(got, reduce_ref(per_sample, reduction, w, valid), dtype="float64", b=backend, what=reduction)


# -- torch's weighted mean --------------------------------------------------------------------

@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_weighted_mean_is_torch_class_weighted_mean(backend, smoothing):
    import torch
    import torch.nn.functional as F

    z = torch.from_numpy(Z).requires_grad_(True)
    ref = F.cross_entropy(z, torch.from_numpy(LAB), weight=torch.from_numpy(CW), ignore_index=IGNORE,
                          label_smoothing=smoothing)
    (ref_grad,) = torch.autograd.grad(ref, z)
    value, grad = xploss.value_and_grad(xploss.cross_entropy)(
        to_backend(backend, Z), to_backend(backend, LAB), class_weight=to_backend(backend, CW),
        label_smoothing=smoothing, reduction="weighted_mean")
    assert_close(value, ref.item(), dtype="float64", b=backend, what="value")
    assert_close(grad, ref_grad.numpy(), dtype="float64", b=backend, what="grad")


def test_weighted_mean_with_sample_and_class_weights(backend):
    loss, norm = ce_ref(Z, LAB, CW)
    expected = np.sum(W * loss) / np.sum(W * norm)
    got = xploss.cross_entropy(to_backend(backend, Z), to_backend(backend, LAB), class_weight=to_backend(backend, CW),
                               sample_weight=to_backend(backend, W), reduction="weighted_mean")
    assert_close(got, expected, dtype="float64", b=backend)


# -- all masked: 0 and an exactly zero gradient ----------------------------------------------------

MASKED = {
    "ce mean": lambda T: (xploss.cross_entropy, (T(Z), T(np.full(N, IGNORE))), {}),
    "ce weighted_mean": lambda T: (xploss.cross_entropy, (T(Z), T(np.full(N, IGNORE))),
                                   {"class_weight": T(CW), "sample_weight": T(W), "reduction": "weighted_mean"}),
    "ce ignore 3": lambda T: (xploss.cross_entropy, (T(Z), T(np.full(N, 3))), {"ignore_index": 3}),
    "mse zero weights": lambda T: (xploss.mse, (T(P), T(Y)),
                                   {"sample_weight": T(np.zeros(N)), "reduction": "weighted_mean"}),
}


@pytest.mark.parametrize("case", list(MASKED))
def test_all_masked_is_zero_with_zero_gradient(backend, dtype, case):
    fn, arrays, kwargs = MASKED[case](lambda x: to_backend(backend, x, dtype))
    value, grad = xploss.value_and_grad(fn)(*arrays, **kwargs)
    assert_close(value, 0.0, dtype=dtype, b=backend, rtol=0.0, what="value")
    g = to_numpy(grad)
    assert np.all(g == 0.0), f"gradient not exactly zero: {g}"


# -- micro-batches add up --------------------------------------------------------------------------------

SPLITS = {2: [3], 3: [1, 6]}  # unequal parts; the first part is entirely ignored


@pytest.mark.parametrize("k", list(SPLITS))
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weight"])
def test_micro_batches_add_up(backend, k, weighted):
    T = lambda x: to_backend(backend, x)  # noqa: E731
    vg = xploss.value_and_grad(xploss.cross_entropy)
    w = W if weighted else np.ones(N)
    full_value, full_grad = vg(T(Z), T(LAB), sample_weight=T(w))
    splits = list(zip(*(np.split(a, SPLITS[k]) for a in (Z, LAB, w))))
    # the partial form: each part's sum and its count (0 for the all-ignored part), added up
    counts = [xploss.cross_entropy(T(z), T(lab), sample_weight=T(ww), reduction="count") for z, lab, ww in splits]
    assert [float(to_numpy(c)) for c in counts] == [float(np.sum(lab != IGNORE)) for _, lab, _ in splits]
    count = sum(float(to_numpy(c)) for c in counts)
    parts = [vg(T(z), T(lab), sample_weight=T(ww), reduction="sum") for z, lab, ww in splits]
    value = sum(float(to_numpy(v)) for v, _ in parts) / count
    grad = np.concatenate([to_numpy(g) for _, g in parts]) / count
    assert_close(full_value, value, dtype="float64", b=backend, what="value")
    assert_close(full_grad, grad, dtype="float64", b=backend, what="grad")
    assert_close(full_value, reduce_ref(ce_ref(Z, LAB)[0], "mean", w, LAB != IGNORE), dtype="float64")


@pytest.mark.parametrize("k", list(SPLITS))
def test_micro_batches_add_up_weighted_mean(backend, k):
    """Σ sums / Σ total weights = the full batch's torch-style weighted mean; the totals have no gradient."""
    T = lambda x: to_backend(backend, x)  # noqa: E731
    kw = {"class_weight": T(CW)}
    full = xploss.cross_entropy(T(Z), T(LAB), sample_weight=T(W), reduction="weighted_mean", **kw)
    splits = list(zip(*(np.split(a, SPLITS[k]) for a in (Z, LAB, W))))
    sums = [xploss.cross_entropy(T(z), T(lab), sample_weight=T(w), reduction="sum", **kw) for z, lab, w in splits]
    totals = [xploss.cross_entropy(T(z), T(lab), sample_weight=T(w), reduction="total_weight", **kw)
              for z, lab, w in splits]
    value = sum(float(to_numpy(v)) for v in sums) / sum(float(to_numpy(t)) for t in totals)
    assert_close(full, value, dtype="float64", b=backend, what="weighted mean from parts")
    _, grad = xploss.value_and_grad(xploss.cross_entropy)(
        T(Z), T(LAB), sample_weight=T(W), reduction="total_weight", **kw)
    assert np.all(to_numpy(grad) == 0.0)


# -- weights align on leading axes ---------------------------------------------------------------------

def test_row_weight_is_keras_sum_over_batch_size(backend):
    """(N,) weight on an (N, D) loss weighs rows: Keras' per-sample mean over D, then Σ w·l / N."""
    T = lambda x: to_backend(backend, x)  # noqa: E731
    per_sample = np.mean((P - Y) ** 2, axis=-1)
    expected = {"mean": np.sum(W * per_sample) / N, "weighted_mean": np.sum(W * per_sample) / np.sum(W)}
    for reduction, value in expected.items():
        for w in (W, W[:, None], np.repeat(W[:, None], D, axis=1)):
            got = xploss.mse(T(P), T(Y), sample_weight=T(w), reduction=reduction)
            assert_close(got, value, dtype="float64", b=backend, what=f"{reduction}, weight {w.shape}")


def test_row_weight_on_spatial_cross_entropy(backend):
    """Logits (N, C, H) with axis=1: an (N,) weight covers all H positions of a sample."""
    z = rng.normal(size=(N, C, 2))
    lab = np.stack([LAB, np.roll(LAB, 1)], axis=1)
    per = np.stack([ce_ref(z[:, :, h], lab[:, h])[0] for h in range(2)], axis=1)
    T = lambda x: to_backend(backend, x)  # noqa: E731
    got = xploss.cross_entropy(T(z), T(lab), axis=1, sample_weight=T(W))
    assert_close(got, np.sum(W[:, None] * per) / np.sum(lab != IGNORE), dtype="float64", b=backend)


# -- gradient with respect to the weight -------------------------------------------------------------------

@pytest.mark.parametrize("reduction", ["mean", "sum", "weighted_mean"])
def test_weight_gradient_mse(backend, reduction):
    def ref(w):
        return reduce_ref((P - Y) ** 2, reduction, w)

    f = xploss.value_and_grad(lambda p, y, w: xploss.mse(p, y, sample_weight=w, reduction=reduction), argnums=2)
    value, grad = f(*(to_backend(backend, a) for a in (P, Y, W)))
    assert_close(value, ref(W), dtype="float64", b=backend, what="value")
    assert_close(grad, numeric_grad(ref, W), dtype="float64", b=backend, rtol=1e-8, what="d/dweight")


def test_weight_gradient_class_weighted_cross_entropy(backend):
    loss, norm = ce_ref(Z, LAB, CW)

    def ref(w):
        return np.sum(w * loss) / np.sum(w * norm)

    f = xploss.value_and_grad(
        lambda z, lab, w, cw: xploss.cross_entropy(z, lab, sample_weight=w, class_weight=cw, reduction="weighted_mean"),
        argnums=(0, 2))
    value, (_, grad) = f(*(to_backend(backend, a) for a in (Z, LAB, W, CW)))
    assert_close(value, ref(W), dtype="float64", b=backend, what="value")
    assert_close(grad, numeric_grad(ref, W), dtype="float64", b=backend, rtol=1e-8, what="d/dweight")

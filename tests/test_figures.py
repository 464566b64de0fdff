"""The docs' loss-figure specs (docs/_ext/figure_specs.py) draw what their titles say.

The figures are drawn from xploss at build time (``nox -s docs``), where the four backends are checked
against each other; here the specs' input constructions are checked on NumPy against closed forms, so
that a figure cannot show the right loss of the wrong inputs.
"""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

import numpy as np
import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
sys.path.insert(0, str(DOCS / "_ext"))
import figure_specs as fs  # noqa: E402

X = np.array([-2.5, -0.3, 0.0, 0.4, 1.7])


def curve(spec: str, label: str | None = None, **params: float):
    """The per-point losses of one curve of ``spec`` on NumPy, as a function of the grid."""
    s = fs.SPECS[spec]
    (c,) = [c for c in s.curves if label is None or c.label == label] if label or len(s.curves) == 1 else [None]
    p = dict(s.params, **params)
    if s.batched:
        return lambda x: np.asarray(c.loss(np, np.asarray(x, dtype=np.float64), **p))
    return lambda x: np.array([c.loss(np, np.asarray(v, dtype=np.float64), **p) for v in x])


def test_every_directive_has_a_spec_and_every_spec_a_page():
    used = {m for f in DOCS.glob("*.rst") for m in re.findall(r"^\.\. loss-figure:: (\S+)", f.read_text(), re.M)}
    assert used == set(fs.SPECS)


def test_regression_curves():
    for delta in (0.5, 2.0):
        huber = np.where(np.abs(X) <= delta, 0.5 * X**2, delta * (np.abs(X) - 0.5 * delta))
        np.testing.assert_allclose(curve("huber", "huber", delta=delta)(X), huber, rtol=1e-13)
        np.testing.assert_allclose(curve("huber", "smooth_l1 (beta = delta)", delta=delta)(X), huber / delta,
                                   rtol=1e-13)
    for tau in (0.1, 0.9):  # r = pred - target: over-prediction costs 1 - tau
        np.testing.assert_allclose(curve("quantile", tau=tau)(X), np.maximum(-tau * X, (1 - tau) * X), rtol=1e-13)
    np.testing.assert_allclose(curve("gaussian_nll", var=4.0)(X), 0.5 * (math.log(4.0) + X**2 / 4.0), rtol=1e-13)
    np.testing.assert_allclose(curve("mean_squared_log_error")(np.array([0.0, 3.0])),
                               (np.log1p([0.0, 3.0]) - math.log(2.0)) ** 2, rtol=1e-6)


def test_classification_curves():
    p = np.array([0.05, 0.3, 0.9])
    for gamma in (0.0, 2.0, 5.0):  # Lin et al.'s FL(p_t) = -(1 - p_t)^gamma log p_t
        np.testing.assert_allclose(curve("focal", gamma=gamma)(p), -((1 - p) ** gamma) * np.log(p), rtol=1e-12)
    z = np.array([-3.0, 0.0, 2.0])  # logits [z, 0, 0]: CE = log(e^z + 2) - z
    np.testing.assert_allclose(curve("cross_entropy", label_smoothing=0.0)(z), np.log(np.exp(z) + 2) - z,
                               rtol=1e-13)
    tiny = np.array([1e-50, 0.5])  # torch's log clamp at -100, Keras' clip at 1e-7
    np.testing.assert_allclose(curve("binary_cross_entropy", "eps=None (torch)")(tiny), [100.0, math.log(2)])
    np.testing.assert_allclose(curve("binary_cross_entropy", "eps=1e-7 (Keras)")(tiny),
                               [-math.log(1e-7), math.log(2)], rtol=1e-6)
    x = np.array([0.2, 0.3, 0.6])  # KL([0.3, 0.7] || [x, 1 - x]): zero at x = 0.3
    kl = 0.3 * np.log(0.3 / x) + 0.7 * np.log(0.7 / (1 - x))
    np.testing.assert_allclose(curve("kl_divergence", "kl_divergence")(x), kl, rtol=1e-12, atol=1e-15)


def test_embedding_curves():
    d = np.array([0.0, 0.5, 1.2, 3.0])  # anchor-positive 1: max(1 - d_an + m, 0), up to torch's 1e-6 eps
    np.testing.assert_allclose(curve("triplet_margin", margin=1.0)(d), np.maximum(2.0 - d, 0.0), atol=1e-5)
    np.testing.assert_allclose(curve("contrastive", "dissimilar pair (0)")(d), np.maximum(1.0 - d, 0.0) ** 2,
                               atol=1e-12)
    x = np.array([0.5, 1.5, 3.0])  # anchor 0: positive at distance 1, hardest negative at x
    np.testing.assert_allclose(curve("batch_hard_triplet", "batch_hard_triplet")(x), np.maximum(2.0 - x, 0.0),
                               atol=1e-12)
    s = np.array([-0.5, 0.0, 0.8])  # 4 pairs: query 0 at cosine s to its key, the others aligned, all else 0
    for t in (0.1, 0.5):
        first = -np.log(np.exp(s / t) / (np.exp(s / t) + 3.0))
        rest = -np.log(np.exp(1 / t) / (np.exp(1 / t) + 3.0))
        np.testing.assert_allclose(curve("info_nce", "info_nce", temperature=t)(s), (first + 3 * rest) / 4,
                                   rtol=1e-10)


def test_dense_and_generative_curves():
    dx = np.array([0.0, 0.25, 0.5, 2.0])  # unit boxes: IoU (1 - dx) / (1 + dx), GIoU adds (C - U) / C
    iou = np.maximum(1 - dx, 0) / np.minimum(1 + dx, 2)
    np.testing.assert_allclose(curve("iou_loss", "iou_loss")(dx), 1 - iou, atol=1e-6)
    np.testing.assert_allclose(curve("iou_loss", "giou_loss")(dx[-1:]), [1 + 1 / 3], rtol=1e-6)
    p = np.array([0.0, 0.5, 1.0])  # dice of [p, p, 1-p, 1-p] vs [1, 1, 0, 0]: 1 - 2*2p / (2p + 2(1-p) + 2)
    np.testing.assert_allclose(curve("dice", "dice")(p), 1 - 4 * p / 4, atol=1e-5)
    np.testing.assert_allclose(curve("dice", "jaccard")(p), 1 - 2 * p / (4 - 2 * p), atol=1e-5)
    z = np.array([-4.0, 0.0, 3.0])  # 'a' over 3 frames, p(a) = 1/2 but sigmoid(z) mid: p = (1 + sigmoid(z)) / 2
    np.testing.assert_allclose(curve("ctc")(z), -np.log((1 + 1 / (1 + np.exp(-z))) / 2), rtol=1e-10)
    s = np.array([-1.0, 0.5])
    np.testing.assert_allclose(curve("uncertainty_weighting", task=2.0)(s), np.exp(-s) * 2.0 + s, rtol=1e-13)
    mu = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_allclose(curve("gaussian_kl", sigma=2.0)(mu), 0.5 * (mu**2 + 4 - 1 - math.log(4)), rtol=1e-12)


@pytest.mark.parametrize("name", sorted(fs.SPECS))
def test_every_curve_is_finite_on_its_grid(name):
    spec = fs.SPECS[name]
    lo, hi = spec.x
    x = np.geomspace(lo, hi, 7) if spec.xscale == "log" else np.linspace(lo, hi, 7)
    values = [spec.sweep[1][0]] if spec.sweep else [None]
    for c in spec.curves:
        for v in values:
            params = {spec.sweep[0]: v} if spec.sweep else {}
            label = c.label if len(spec.curves) > 1 else None
            out = curve(name, label, **params)(x)
            assert out.shape == x.shape and np.all(np.isfinite(out)), (c.label, out)

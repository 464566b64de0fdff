"""Per-loss test table of the pair and ranking losses (extends ``cases.py``).

References are naive per-row loops written from the definitions (Hadsell et al. / TF Addons
``contrastive_loss``, PML ``ContrastiveLoss``' hinges, ATen's ``cosine_embedding_loss``,
``margin_ranking_loss``, ``hinge_embedding_loss``, torch's ``pairwise_distance`` and
``cosine_similarity``, Keras ``cosine_similarity``, optax ``cosine_distance``, Rendle's BPR); no
xploss code.  Generators keep every hinge argument, every swap choice and every distance ``GAP``
away from its kink.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from cases import GAP, Case, N, scaled

import xploss

D = 3


# -- references ------------------------------------------------------------------------------

def _norm(v) -> float:
    return math.sqrt(sum(float(c) * float(c) for c in v))


def ref_contrastive(x1, x2, y, *, margin=1.0, pos_margin=0.0, squared=True, distance="euclidean"):
    out = np.zeros(x1.shape[0])
    for i in range(x1.shape[0]):
        d = _norm(x1[i] - x2[i])
        if distance == "squared_euclidean":
            d = d * d
        pos, neg = max(d - pos_margin, 0.0), max(margin - d, 0.0)
        k = 2 if squared else 1
        out[i] = y[i] * pos ** k + (1 - y[i]) * neg ** k
    return out


def ref_contrastive_d(d, y, *, margin=1.0, pos_margin=0.0, squared=True):
    k = 2 if squared else 1
    return np.array([y[i] * max(d[i] - pos_margin, 0.0) ** k + (1 - y[i]) * max(margin - d[i], 0.0) ** k
                     for i in range(d.shape[0])])


def _torch_cos(a, b) -> float:
    """ATen cosine_embedding_loss: 1e-12 inside each squared norm."""
    dot = sum(float(u) * float(v) for u, v in zip(a, b))
    eps = 9.999999960041972e-13  # 1e-12 as float32 (ATen stores EPSILON as a float)
    return dot / math.sqrt((_norm(a) ** 2 + eps) * (_norm(b) ** 2 + eps))


def ref_cosine_embedding(x1, x2, y, *, margin=0.0):
    out = np.zeros(x1.shape[0])
    for i in range(x1.shape[0]):
        c = _torch_cos(x1[i], x2[i])
        out[i] = 1 - c if y[i] == 1 else (max(c - margin, 0.0) if y[i] == -1 else 0.0)
    return out


def ref_margin_ranking(x1, x2, y, *, margin=0.0):
    y = np.broadcast_to(y, x1.shape)
    out = np.zeros(x1.shape)
    for i in np.ndindex(x1.shape):
        out[i] = max(0.0, -y[i] * (x1[i] - x2[i]) + margin)
    return out


def ref_hinge_embedding(x, y, *, margin=1.0):
    y = np.broadcast_to(y, x.shape)
    out = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        out[i] = (x[i] if y[i] != -1 else 0.0) + (max(0.0, margin - x[i]) if y[i] != 1 else 0.0)
    return out


def _cos_rows(p, t, axis, norm_of):
    pl, tl = np.moveaxis(p, axis, -1), np.moveaxis(t, axis, -1)
    out = np.zeros(pl.shape[:-1])
    for i in np.ndindex(out.shape):
        a, b = pl[i], tl[i]
        out[i] = sum(float(u) * float(v) for u, v in zip(a, b)) / (norm_of(a) * norm_of(b))
    return out


def ref_cosine_similarity(p, t, *, axis=-1):
    """Keras: -Σ x̂ ŷ, x̂ = x · min(1/||x||, 1/1e-7)."""
    return -_cos_rows(p, t, axis, lambda v: max(_norm(v), 1e-7))


def ref_cosine_distance(p, t, *, axis=-1, epsilon=0.0):
    """optax: 1 - Σ x̂ ŷ, x̂ = x / sqrt(max(Σx², epsilon))."""
    return 1.0 - _cos_rows(p, t, axis, lambda v: math.sqrt(max(_norm(v) ** 2, epsilon)))


def _pairwise(x, y, kind):
    """torch pairwise_distance (eps 1e-6), its square, or 1 - F.cosine_similarity (eps 1e-8), per row."""
    out = np.zeros(x.shape[0])
    for i in range(x.shape[0]):
        if kind == "cosine":
            dot = sum(float(u) * float(v) for u, v in zip(x[i], y[i]))
            out[i] = 1.0 - dot / (max(_norm(x[i]), 1e-8) * max(_norm(y[i]), 1e-8))
        else:
            d = _norm(x[i] - y[i] + 1e-6)
            out[i] = d * d if kind == "squared_euclidean" else d
    return out


def ref_triplet_distance(a, p, n, *, distance="euclidean", margin=1.0, swap=False):
    kind = distance if isinstance(distance, str) else "squared_plain"
    if kind == "squared_plain":  # the callable of the table: plain squared Euclidean distance
        def dist(x, y):
            return np.array([_norm(x[i] - y[i]) ** 2 for i in range(x.shape[0])])
    else:
        def dist(x, y):
            return _pairwise(x, y, kind)
    d_an = dist(a, n)
    if swap:
        d_an = np.minimum(d_an, dist(p, n))
    return np.maximum(margin + dist(a, p) - d_an, 0.0)


def ref_bpr(pos, neg):
    out = np.zeros(pos.shape)
    for i in np.ndindex(pos.shape):
        z = float(neg[i] - pos[i])
        out[i] = max(z, 0.0) + math.log1p(math.exp(-abs(z)))  # softplus(neg - pos) = -log σ(pos - neg)
    return out


# -- generators ------------------------------------------------------------------------------

def _retry(draw: Callable, ok: Callable) -> Callable:
    def make(rng: np.random.Generator) -> tuple:
        for _ in range(20000):
            out = draw(rng)
            if ok(*out):
                return out
        raise RuntimeError("no sample away from the kinks")
    return make


def contrastive_inputs(margin=1.0, pos_margin=0.0, distance="euclidean", soft=False) -> Callable:
    def draw(rng):
        x1 = rng.normal(size=(N, D))
        x2 = x1 + rng.normal(scale=0.6, size=(N, D))
        y = rng.uniform(0.1, 0.9, N) if soft else np.array([1, 0] * (N // 2))
        return x1, x2, y

    def ok(x1, x2, y):
        d = np.sqrt(np.sum((x1 - x2) ** 2, axis=-1))
        if distance == "squared_euclidean":
            d = d * d
        return (np.all(np.abs(d - margin) > GAP) and np.all(np.abs(d - pos_margin) > GAP)
                and np.any((d < margin) & (y < 1)) and np.any((d > margin) & (y < 1)))
    return _retry(draw, ok)


_distances = _retry(lambda rng: (rng.uniform(0.1, 2.0, N), np.array([1, 0] * (N // 2))),
                    lambda d, y: np.all(np.abs(d - 1.1) > GAP) and np.any(d < 1.1) and np.any(d > 1.1))


def cosine_embedding_inputs(margin=0.0) -> Callable:
    def draw(rng):
        x1, x2 = rng.normal(size=(N, D)), rng.normal(size=(N, D))
        return x1, x2, np.array([1, -1, -1, 1, 0, -1, 1, -1][:N])

    def ok(x1, x2, y):
        c = np.array([_torch_cos(a, b) for a, b in zip(x1, x2)])
        neg = y == -1
        return np.all(np.abs(c - margin) > GAP) and np.any(neg & (c > margin)) and np.any(neg & (c < margin))
    return _retry(draw, ok)


def ranking_inputs(margin=0.0, label_shape=(N, D)) -> Callable:
    def draw(rng):
        x1, x2 = rng.normal(size=(N, D)), rng.normal(size=(N, D))
        return x1, x2, rng.choice([-1.0, 1.0], size=label_shape)

    def ok(x1, x2, y):
        return np.all(np.abs(margin - np.broadcast_to(y, x1.shape) * (x1 - x2)) > GAP)
    return _retry(draw, ok)


def hinge_embedding_inputs(margin=1.0) -> Callable:
    def draw(rng):
        return rng.uniform(0.0, 2.0, size=(N, D)), rng.choice([-1, 1], size=(N, D))

    def ok(x, y):
        return np.all(np.abs(x - margin) > GAP)
    return _retry(draw, ok)


def cosine_inputs(shape=(N, D)) -> Callable:
    def make(rng):
        return rng.normal(size=shape), rng.normal(size=shape)
    return make


def triplet_inputs(distance="euclidean", margin=1.0, swap=False) -> Callable:
    def draw(rng):
        return tuple(rng.normal(size=(N, D)) for _ in range(3))

    def ok(a, p, n):
        kind = distance if isinstance(distance, str) else "squared_euclidean"
        d_ap, d_an, d_pn = (_pairwise(x, y, kind) for x, y in ((a, p), (a, n), (p, n)))
        z = margin + d_ap - (np.minimum(d_an, d_pn) if swap else d_an)
        return (np.all(np.abs(z) > GAP) and (not swap or np.all(np.abs(d_an - d_pn) > GAP))
                and 0 < np.sum(z > 0) < N)
    return _retry(draw, ok)


def bpr_inputs(rng):
    return rng.normal(scale=2.0, size=(N, 2)), rng.normal(scale=2.0, size=(N, 2))


def squared_distance(x, y):
    """A user distance written with the array API (runs on every backend): plain squared Euclidean."""
    xp = xploss.array_namespace(x, y)
    return xp.sum((x - y) ** 2, axis=-1)


def _huge(a: tuple) -> tuple:
    """Scores ±1e4 apart."""
    return (1e4 * np.sign(a[0] - a[1]) + a[1], a[1])


# -- the table ---------------------------------------------------------------------------------

_C = dict(fn=xploss.contrastive, ref=ref_contrastive, diff=(0, 1), nonneg=True, extreme=scaled(1e6, 2))
_T = dict(fn=xploss.triplet_margin_with_distance, ref=ref_triplet_distance, diff=(0, 1, 2), nonneg=True)

CASES = [
    Case("contrastive", make=contrastive_inputs(), **_C),
    Case("contrastive-pml", make=contrastive_inputs(margin=1.2, pos_margin=0.3),
         opts={"margin": 1.2, "pos_margin": 0.3, "squared": False}, **_C),
    Case("contrastive_from_distances", xploss.contrastive_from_distances, _distances, ref_contrastive_d,
         opts={"margin": 1.1}, diff=(0,), nonneg=True),
    Case("cosine_embedding", xploss.cosine_embedding, cosine_embedding_inputs(0.2), ref_cosine_embedding,
         opts={"margin": 0.2}, diff=(0, 1), nonneg=True, extreme=scaled(1e6, 2)),
    Case("margin_ranking-bcast", xploss.margin_ranking, ranking_inputs(0.3, (N, 1)), ref_margin_ranking,
         opts={"margin": 0.3}, diff=(0, 1, 2), nonneg=True, extreme=scaled(1e6, 2)),
    Case("hinge_embedding", xploss.hinge_embedding, hinge_embedding_inputs(1.0), ref_hinge_embedding, diff=(0,),
         nonneg=True, extreme=scaled(1e6)),
    Case("cosine_similarity", xploss.cosine_similarity, cosine_inputs(), ref_cosine_similarity,
         extreme=scaled(1e6, 2)),
    Case("cosine_distance", xploss.cosine_distance, cosine_inputs(), ref_cosine_distance, nonneg=True,
         extreme=scaled(1e6, 2)),
    Case("triplet_distance", make=triplet_inputs(), extreme=scaled(1e6, 3), **_T),
    Case("bpr", xploss.bpr, bpr_inputs, ref_bpr, nonneg=True, extreme=_huge),
]

"""Per-loss test table of ``xploss.losses._mined`` (extends ``cases.py``).

References are naive loops written from the definitions (Hermans et al.'s batch-hard and batch-all,
TF Addons' semi-hard and lifted-structure algorithms as BUILTINS-2 §1.4 states them, pytorch-metric-learning's
multi-similarity, Sohn's N-pairs with TF Addons' label targets), with xploss' edge rules: an anchor
without a positive or a negative counts nothing.  Inputs are drawn until no two distances of a row are
within ``GAP`` of each other and every hinge argument is ``GAP`` away from 0, so the mining is stable
under finite differences.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from cases import Case, scaled

import xploss

N, D = 8, 4
GAP = 0.02
LABELS = np.array([0, 0, 1, 1, 1, 2, 2, 3])  # class 3 has no positive

# -- references ---------------------------------------------------------------------------------


def _prep(x, distance, normalize):
    if normalize or distance == "cosine":
        x = np.array([r / max(math.sqrt(sum(v * v for v in r)), 1e-12) for r in x])
    return x


def ref_dist(x, distance="euclidean", normalize=False):
    x = _prep(x, distance, normalize)
    n = len(x)
    d = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if distance == "cosine":
                d[i, j] = 1.0 - sum(a * b for a, b in zip(x[i], x[j]))
            else:
                sq = sum((a - b) ** 2 for a, b in zip(x[i], x[j]))
                d[i, j] = sq if distance == "squared_euclidean" else math.sqrt(sq)
    return d


def _sets(y, a):
    pos = [j for j in range(len(y)) if j != a and y[j] == y[a]]
    neg = [j for j in range(len(y)) if y[j] != y[a]]
    return pos, neg


def _softplus(z):
    return max(z, 0.0) + math.log1p(math.exp(-abs(z)))


def ref_hard(x, y, *, margin=1.0, soft=False, distance="euclidean", normalize=False):
    d = ref_dist(x, distance, normalize)
    out = np.zeros(len(y))
    for a in range(len(y)):
        pos, neg = _sets(y, a)
        if pos and neg:
            z = max(d[a, p] for p in pos) - min(d[a, n] for n in neg) + margin
            out[a] = _softplus(z) if soft else max(z, 0.0)
    return out


def norm_hard(x, y, **_):
    v = np.array([float(bool(p) and bool(n)) for p, n in (_sets(y, a) for a in range(len(y)))])
    return v, v


def ref_semi(x, y, *, margin=1.0, distance="euclidean", normalize=False):
    d = ref_dist(x, distance, normalize)
    out = np.zeros(len(y))
    for a in range(len(y)):
        pos, neg = _sets(y, a)
        if not neg:
            continue
        for p in pos:
            farther = sorted(d[a, n] for n in neg if d[a, n] > d[a, p])
            dn = farther[0] if farther else max(d[a, n] for n in neg)
            out[a] += max(margin + d[a, p] - dn, 0.0)
    return out


def norm_semi(x, y, **_):
    v = np.array([float(len(p)) if n else 0.0 for p, n in (_sets(y, a) for a in range(len(y)))])
    return v, v


def ref_all(x, y, *, margin=1.0, distance="euclidean", normalize=False, average="nonzero"):
    d = ref_dist(x, distance, normalize)
    out = np.zeros(len(y))
    for a in range(len(y)):
        pos, neg = _sets(y, a)
        out[a] = sum(max(d[a, p] - d[a, n] + margin, 0.0) for p in pos for n in neg)
    return out


def norm_all(x, y, *, margin=1.0, distance="euclidean", normalize=False, average="nonzero"):
    d = ref_dist(x, distance, normalize)
    v = np.zeros(len(y))
    for a in range(len(y)):
        pos, neg = _sets(y, a)
        v[a] = sum((d[a, p] - d[a, n] + margin > 0) or average == "all" for p in pos for n in neg)
    return v, v


def ref_lifted(x, y, *, margin=1.0, pos_margin=0.0, distance="euclidean", normalize=False):
    d = ref_dist(x, distance, normalize)
    out = np.zeros(len(y))
    for a in range(len(y)):
        pos, _ = _sets(y, a)
        for p in pos:
            terms = [margin - d[i, n] for i in (a, p) for n in _sets(y, i)[1]]
            if not terms:
                continue
            top = max(terms)
            j = top + math.log(sum(math.exp(t - top) for t in terms)) + d[a, p] - pos_margin
            out[a] += 0.5 * max(j, 0.0) ** 2
    return out


def norm_lifted(x, y, **_):
    v = np.array([float(len(_sets(y, a)[0])) for a in range(len(y))])
    return v, v


def ref_ms(x, y, *, alpha=2.0, beta=50.0, base=0.5, normalize=True):
    x = _prep(x, "dot", normalize)
    out = np.zeros(len(y))
    for a in range(len(y)):
        pos, neg = _sets(y, a)
        s = [sum(u * v for u, v in zip(x[a], x[j])) for j in range(len(y))]
        out[a] = (math.log(1.0 + sum(math.exp(-alpha * (s[p] - base)) for p in pos)) / alpha
                  + math.log(1.0 + sum(math.exp(beta * (s[n] - base)) for n in neg)) / beta)
    return out


def ref_npairs(a, p, *, labels=None, similarity="dot"):
    if similarity == "cosine":
        a, p = _prep(a, "cosine", True), _prep(p, "cosine", True)
    n = len(a)
    y = np.arange(n) if labels is None else labels
    out = np.zeros(n)
    for i in range(n):
        z = [sum(u * v for u, v in zip(a[i], p[j])) for j in range(n)]
        logp = [zj - math.log(sum(math.exp(zk) for zk in z)) for zj in z]
        same = [j for j in range(n) if y[j] == y[i]]
        out[i] = -sum(logp[j] for j in same) / len(same)
    return out


# -- inputs ---------------------------------------------------------------------------------------

def _fast_dist(x, distance, normalize):
    """Vectorised distances, for the input draws only (the references use ``ref_dist``)."""
    if normalize or distance == "cosine":
        x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    if distance == "cosine":
        return 1.0 - x @ x.T
    sq = np.sum((x[:, None, :] - x[None, :, :]) ** 2, axis=-1)
    return sq if distance == "squared_euclidean" else np.sqrt(sq)


def _clear(x, y, distance, normalize, margin):
    """No near-ties within a row (mining stable), every hinge argument GAP away from 0."""
    d = _fast_dist(x, distance, normalize)
    n = len(y)
    off = ~np.eye(n, dtype=bool)
    same = (y[:, None] == y[None, :]) & off
    diff = y[:, None] != y[None, :]
    for a in range(n):
        if np.any(np.diff(np.sort(d[a][off[a]])) < GAP):
            return False
        z = d[a][same[a]][:, None] - d[a][diff[a]][None, :] + margin
        if np.any(np.abs(z) < GAP):
            return False
    return True


def mined_inputs(distance="euclidean", normalize=False, margin=1.0, labels=LABELS, scale=1.0) -> Callable:
    def make(rng: np.random.Generator) -> tuple:
        for _ in range(20000):
            x = scale * rng.normal(size=(len(labels), D))
            if _clear(x, labels, distance, normalize, margin):
                return x, labels.copy()
        raise RuntimeError("no embeddings away from the mining ties")
    return make


def pair_inputs(rng: np.random.Generator) -> tuple:
    return rng.normal(size=(6, D)), rng.normal(size=(6, D))


# -- the table ------------------------------------------------------------------------------------

_MINED = dict(diff=(0,), coupled=True, nonneg=True, extreme=scaled(1e4))
CASES = [
    Case("batch_hard", xploss.batch_hard_triplet, mined_inputs(), ref_hard, {"margin": 1.0}, norm=norm_hard,
         **_MINED),
    Case("batch_semi_hard", xploss.batch_semi_hard_triplet, mined_inputs(margin=0.5), ref_semi, {"margin": 0.5},
         norm=norm_semi, **_MINED),
    Case("batch_all", xploss.batch_all_triplet, mined_inputs(margin=0.5), ref_all, {"margin": 0.5},
         norm=norm_all, **_MINED),
    Case("lifted_structure", xploss.lifted_structure, mined_inputs(), ref_lifted, {"margin": 1.0},
         norm=norm_lifted, **_MINED),
    Case("multi_similarity", xploss.multi_similarity, mined_inputs("cosine", margin=10.0), ref_ms,
         {"alpha": 2.0, "beta": 10.0, "base": 0.5}, **_MINED),
    Case("n_pairs-labels", xploss.n_pairs, pair_inputs, ref_npairs, {"labels": np.array([0, 1, 1, 2, 0, 3])},
         diff=(0, 1), coupled=True, nonneg=True, extreme=scaled(1e4, 2)),
]

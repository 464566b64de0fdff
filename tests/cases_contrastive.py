"""Test cases of ``xploss.losses._contrastive`` (see ``cases.py``).

The references are written from the papers' definitions with explicit loops over anchors and candidates
(``math`` log-sum-exps with the maximum subtracted), no xploss code: SimCLR's NT-Xent over the ``2N`` views,
InfoNCE's cross-entropy over the keys (uniform target over same-label keys), SupCon (Khosla et al., the
τ/τ_b factor, one loss per view of each sample), CLIP's symmetric cross-entropy and Circle loss with Keras'
weights.  Circle keeps every negative cosine ``GAP`` away from ``−m`` (the kink of ``α_n``).
"""

from __future__ import annotations

import math

import numpy as np
from cases import GAP, Case

import xploss

NC, DC = 4, 3  # samples, features


# -- helpers ----------------------------------------------------------------------------------

def _unit(x: np.ndarray) -> np.ndarray:
    out = np.zeros_like(x)
    for i in np.ndindex(x.shape[:-1]):
        out[i] = x[i] / max(math.sqrt(sum(v * v for v in x[i])), 1e-12)
    return out


def _lse(values: list[float]) -> float:
    m = max(values)
    return m + math.log(sum(math.exp(v - m) for v in values))


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    return float(sum(x * y for x, y in zip(a, b)))


# -- references -------------------------------------------------------------------------------

def ref_nt_xent(z1, z2, *, temperature=0.5, normalize=True, directions="mean"):
    x = np.concatenate([z1, z2])
    x = _unit(x) if normalize else x
    n = z1.shape[0]
    rows = []
    for a in range(2 * n):
        logits = {b: _dot(x[a], x[b]) / temperature for b in range(2 * n) if b != a}
        rows.append(_lse(list(logits.values())) - logits[(a + n) % (2 * n)])
    c = 0.5 if directions == "mean" else 1.0
    return np.array([c * (rows[i] + rows[n + i]) for i in range(n)])


def ref_info_nce(q, k, *, temperature=0.1, labels=None, key_labels=None, normalize=True):
    if normalize:
        q, k = _unit(q), _unit(k)
    out = np.zeros(q.shape[0])
    for i in range(q.shape[0]):
        z = [_dot(q[i], k[j]) / temperature for j in range(k.shape[0])]
        pos = [i] if labels is None else [j for j in range(k.shape[0]) if key_labels[j] == labels[i]]
        if pos:
            out[i] = _lse(z) - sum(z[j] for j in pos) / len(pos)
    return out


def info_nce_norm(q, k, *, labels=None, key_labels=None, **_):
    if labels is None:
        valid = np.ones(q.shape[0])
    else:
        valid = np.array([float(any(key_labels[j] == labels[i] for j in range(k.shape[0])))
                          for i in range(q.shape[0])])
    return valid, valid


def _supcon_anchors(f, labels, temperature, base_temperature, normalize):
    """Per (sample, view): (loss, has a positive)."""
    f = f[:, None, :] if f.ndim == 2 else f
    f = _unit(f) if normalize else f
    n, v = f.shape[:2]
    factor = 1.0 if base_temperature is None else temperature / base_temperature
    out = {}
    for i in range(n):
        for a in range(v):
            others = [(j, b) for j in range(n) for b in range(v) if (j, b) != (i, a)]
            z = {o: _dot(f[i, a], f[o]) / temperature for o in others}
            pos = [o for o in others if labels[o[0]] == labels[i]]
            lse = _lse(list(z.values())) if others else 0.0
            loss = factor * sum(lse - z[o] for o in pos) / len(pos) if pos else 0.0
            out[i, a] = (loss, bool(pos))
    return out, n, v


def ref_supcon(f, labels, *, temperature=0.1, base_temperature=0.07, normalize=True, count="positives"):
    anchors, n, v = _supcon_anchors(f, labels, temperature, base_temperature, normalize)
    return np.array([sum(anchors[i, a][0] for a in range(v)) for i in range(n)])


def supcon_norm(f, labels, *, temperature=0.1, base_temperature=0.07, normalize=True, count="positives"):
    anchors, n, v = _supcon_anchors(f, labels, temperature, base_temperature, normalize)
    if count == "all":
        valid = np.full(n, float(v))
    elif count == "positives":
        valid = np.array([sum(float(anchors[i, a][1]) for a in range(v)) for i in range(n)])
    else:
        valid = np.array([sum(float(anchors[i, a][0] > 0) for a in range(v)) for i in range(n)])
    return valid, valid


def ref_clip(img, txt, scale, *, logit_bias=None, normalize=True):
    if normalize:
        img, txt = _unit(img), _unit(txt)
    n = img.shape[0]
    b = 0.0 if logit_bias is None else logit_bias
    z = [[scale * _dot(img[i], txt[j]) + b for j in range(n)] for i in range(n)]
    return np.array([0.5 * (_lse(z[i]) + _lse([z[j][i] for j in range(n)])) - z[i][i] for i in range(n)])


def ref_circle(x, labels, *, gamma=80.0, margin=0.4, remove_diagonal=True, normalize=True):
    x = _unit(x) if normalize else x
    n = x.shape[0]
    out = np.zeros(n)
    for i in range(n):
        pos, neg = [], []
        for j in range(n):
            d = max(1.0 - _dot(x[i], x[j]), 0.0)
            if labels[j] == labels[i] and (j != i or not remove_diagonal):
                pos.append(-gamma * max(margin + d, 0.0) * (margin - d))
            elif labels[j] != labels[i]:
                neg.append(gamma * max(1.0 + margin - d, 0.0) * (1.0 - margin - d))
        if pos and neg:
            t = _lse(pos) + _lse(neg)
            out[i] = max(t, 0.0) + math.log1p(math.exp(-abs(t)))
    return out


def circle_norm(x, labels, **opts):
    valid = (ref_circle(x, labels, **opts) > 0).astype(np.float64)
    return valid, valid


# -- inputs -----------------------------------------------------------------------------------

def _views(rng: np.random.Generator) -> tuple:
    z1 = rng.normal(size=(NC, DC))
    return z1, z1 + 0.7 * rng.normal(size=(NC, DC))


def _queries(rng: np.random.Generator) -> tuple:
    q = rng.normal(size=(NC, DC))
    return q, np.concatenate([q + 0.6 * rng.normal(size=(NC, DC)), rng.normal(size=(2, DC))])


def _supcon_views(rng: np.random.Generator) -> tuple:
    f = rng.normal(size=(5, 2, DC))
    f[:, 1] = f[:, 0] + 0.5 * rng.normal(size=(5, DC))
    return f, np.array([0, 1, 0, 2, 1])


def _supcon_one(rng: np.random.Generator) -> tuple:
    return rng.normal(size=(6, DC)), np.array([0, 1, 0, 3, 1, 0])  # label 3: an anchor without positives


def _clip_pairs(scale: float) -> callable:
    def make(rng: np.random.Generator) -> tuple:
        img = rng.normal(size=(NC, DC))
        return img, img + rng.normal(size=(NC, DC)), scale
    return make


def _circle_inputs(margin: float, normalize: bool = True) -> callable:
    def make(rng: np.random.Generator) -> tuple:
        labels = np.array([0, 0, 1, 1, 1, 2])
        for _ in range(1000):
            x = rng.normal(size=(labels.size, DC))
            x = x if normalize else 0.9 * _unit(x)  # raw: |x| = 0.9 keeps the diagonal distance off 0
            xn = _unit(x) if normalize else x
            neg = labels[:, None] != labels[None, :]
            if not np.any(neg & (np.abs(xn @ xn.T + margin) < GAP)):
                return x, labels
        raise RuntimeError("no circle sample off the α_n kink")
    return make


def _scaled(by: float, k: int) -> callable:
    """The first ``k`` inputs times ``by`` (huge raw logits)."""
    return lambda a: (*(x * by for x in a[:k]), *a[k:])


_C = dict(coupled=True, nonneg=True)

CASES = [
    # directions="sum" and normalize=False: conformance (SimCLR) and test_contrastive.py; kept out of this table
    # for its test time
    Case("nt_xent", xploss.nt_xent, _views, ref_nt_xent, {"temperature": 0.5}, extreme=_scaled(1e6, 2), **_C),
    Case("info_nce-labels", xploss.info_nce, _queries, ref_info_nce,
         {"temperature": 0.3, "labels": np.array([0, 1, 0, 5]), "key_labels": np.array([0, 1, 2, 0, 1, 2])},
         norm=info_nce_norm, **_C),
    Case("supcon", xploss.supcon, _supcon_views, ref_supcon, {"temperature": 0.2}, diff=(0,), norm=supcon_norm,
         **_C),
    Case("clip-bias", xploss.clip, _clip_pairs(6.0), ref_clip, {"logit_bias": -1.5}, diff=(0, 1),
         extreme=lambda a: (a[0], a[1], 1e4), **_C),
    Case("circle", xploss.circle, _circle_inputs(0.25), ref_circle, {"gamma": 16.0, "margin": 0.25},
         diff=(0,), norm=circle_norm, **_C),
]

"""Test cases of ``xploss.losses._proxies`` (see ``cases.py``).

Independent NumPy references written from the papers (ArcFace: Deng et al. 2019 with insightface's
``th``/``mm`` fallback; CosFace: Wang et al. 2018; center loss: Wen et al. 2016), one explicit loop per
sample: ``θ = acos(cos)``, ``cos(θ + m)`` evaluated as such (not by the product formula the kernel
uses), and the softmax cross-entropy written out.  Inputs keep every target cosine away from the
branch switches (``cos θ = cos(π - m)``, and ``cos θ = 0`` for ``easy_margin``) and from ``|cos| = 1``.
"""

from __future__ import annotations

import math

import numpy as np
from cases import Case

import xploss

N, D, C = 6, 4, 5
GAP = 0.05


def _unit(v: np.ndarray) -> np.ndarray:
    return v / math.sqrt(float(np.sum(v * v)))


def _cosines(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    out = np.zeros((x.shape[0], w.shape[0]))
    for i in range(x.shape[0]):
        for k in range(w.shape[0]):
            out[i, k] = float(np.dot(_unit(x[i]), _unit(w[k])))
    return out


def _ce(row: np.ndarray, target: int) -> float:
    top = max(row)
    return -(row[target] - top - math.log(sum(math.exp(v - top) for v in row)))


def ref_arcface(x, w, y, *, scale=30.0, margin=0.5, easy_margin=False):
    cos = _cosines(x, w)
    out = np.zeros(x.shape[0])
    for i in range(x.shape[0]):
        c = cos[i, y[i]]
        theta = math.acos(min(1.0, max(-1.0, c)))  # a rounded self-cosine of 1 + 1 ulp
        if easy_margin:
            target = math.cos(theta + margin) if c > 0 else c
        else:
            target = math.cos(theta + margin) if theta + margin < math.pi else c - margin * math.sin(margin)
        row = [scale * (target if k == y[i] else cos[i, k]) for k in range(w.shape[0])]
        out[i] = _ce(row, int(y[i]))
    return out


def ref_cosface(x, w, y, *, scale=30.0, margin=0.35):
    cos = _cosines(x, w)
    out = np.zeros(x.shape[0])
    for i in range(x.shape[0]):
        row = [scale * (cos[i, k] - (margin if k == y[i] else 0.0)) for k in range(w.shape[0])]
        out[i] = _ce(row, int(y[i]))
    return out


def ref_center(x, c, y):
    return np.array([0.5 * sum((x[i, d] - c[y[i], d]) ** 2 for d in range(x.shape[1])) for i in range(x.shape[0])])


def proxy_inputs(margin: float = 0.5, easy: bool = False, far: bool = True):
    """Embeddings, class weights and labels with every target cosine GAP away from the branch switch
    and from ±1; ``far``: some targets in the fallback region ``θ + m > π``."""
    switch = 0.0 if easy else math.cos(math.pi - margin)

    def make(rng: np.random.Generator) -> tuple:
        for _ in range(10000):
            x, w = rng.normal(size=(N, D)), rng.normal(size=(C, D))
            y = rng.integers(0, C, size=N)
            y[:C] = rng.permutation(C)[: min(N, C)]
            if far:  # push two samples opposite their class weight (θ near π)
                x[0] = -w[y[0]] + 0.3 * rng.normal(size=D)
                x[1] = -w[y[1]] + 0.3 * rng.normal(size=D)
            ct = _cosines(x, w)[np.arange(N), y]
            if np.all(np.abs(ct - switch) > GAP) and np.all(np.abs(ct) < 1 - GAP):
                if not far or np.any(ct < switch):
                    return x, w, y
        raise RuntimeError("no proxy sample away from the branch switch")
    return make


def center_inputs(rng: np.random.Generator) -> tuple:
    x, c = rng.normal(size=(N, D)), rng.normal(size=(C, D))
    y = rng.integers(0, C - 1, size=N)  # the last class absent: its centre gets a zero gradient
    return x, c, y


def _huge(a: tuple) -> tuple:
    return (a[0] * 1e4, a[1] * 1e-4, *a[2:])


_PROXY = dict(diff=(0, 1), nonneg=True, coupled=True, extreme=_huge)

CASES = [
    Case("arcface", xploss.arcface, proxy_inputs(0.5), ref_arcface, {"scale": 8.0, "margin": 0.5}, **_PROXY),
    Case("arcface-easy", xploss.arcface, proxy_inputs(0.3, easy=True, far=False), ref_arcface,
         {"scale": 4.0, "margin": 0.3, "easy_margin": True}, **_PROXY),
    Case("cosface", xploss.cosface, proxy_inputs(0.35, far=False), ref_cosface, {"scale": 6.0, "margin": 0.35},
         **_PROXY),
    Case("center", xploss.center, center_inputs, ref_center, diff=(0, 1), nonneg=True, coupled=True,
         extreme=lambda a: (a[0] * 1e6, *a[1:])),
]

"""Conformance cases of ``xploss.losses._proxies``: ArcFace, CosFace, center loss.

Built-ins: pytorch-metric-learning's ``ArcFaceLoss`` and ``CosFaceLoss`` (2.9.0), whose class weights
``W`` are an ``(D, C)`` parameter: the reference runs the module with ``W = class_weights.T`` through
``torch.func.functional_call``, so its gradient arrives in xploss' ``(C, D)`` layout.  PML's margin
is in degrees (``margin=degrees(m)``) and its reducer is a ``MeanReducer`` over ``N``: xploss'
``"mean"``.  Reference formulas (torch) for ``easy_margin`` (insightface's ``ArcMarginProduct``),
per-sample / weighted reductions, and the center loss (Wen et al.; EncodeTS, KaiyangZhou, facenet
mappings).  Target cosines stay ``GAP`` away from ``|cos| = 1`` (PML's gradient is infinite there)
and from the branch switch ``θ = π - m`` (``cos θ = 0`` with ``easy_margin``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .cases import GAP, C, Case, D, Formula, In, N, X

PML_NOTE = ("PML's W is (D, C): run with W = class_weights.T (functional_call), gradients in the (C, D) "
            "layout; margin in degrees")
MARGIN_SWITCH = 0.05  # the branch switch and |cos| = 1 are kept this far from every target cosine


def _cosines(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    xn = x / np.linalg.norm(x, axis=-1, keepdims=True)
    wn = w / np.linalg.norm(w, axis=-1, keepdims=True)
    return xn @ wn.T


def proxies(margin: float, easy: bool = False, fallback: int = 0) -> Callable:
    """``embeddings (N, D)``, ``W (C, D)``, ``labels``, weights ``w``; ``fallback`` samples in ``θ + m > π``."""
    switch = 0.0 if easy else math.cos(math.pi - margin)

    def gen(rng: np.random.Generator) -> dict:
        for _ in range(10000):
            x, w = rng.normal(size=(N, D)), rng.normal(size=(C, D))
            y = rng.integers(0, C, N)
            for i in range(fallback):
                x[i] = -w[y[i]] + 0.25 * rng.normal(size=D)
            ct = _cosines(x, w)[np.arange(N), y]
            ok = np.all(np.abs(ct - switch) > MARGIN_SWITCH) and np.all(np.abs(ct) < 1 - MARGIN_SWITCH)
            if ok and np.sum(ct < switch) >= fallback:
                return {"embeddings": x, "W": w, "labels": y, "w": rng.uniform(0.2, 2.0, N)}
        raise RuntimeError("could not draw proxies off the branch switch")
    return gen


def centers(rng: np.random.Generator) -> dict:
    x, c = rng.normal(size=(N, D)), rng.normal(size=(C, D))
    return {"embeddings": x, "centers": c, "labels": rng.integers(0, C - 1, N), "w": rng.uniform(0.2, 2.0, N)}


# -- references -----------------------------------------------------------------------------------

def _pml(cls_name: str, **ctor: Any) -> Callable:
    def run(torch: Any, x: Any, w: Any, y: Any) -> Any:
        from pytorch_metric_learning import losses

        module = getattr(losses, cls_name)(num_classes=w.shape[0], embedding_size=w.shape[1], **ctor)
        return torch.func.functional_call(module, {"W": w.t()}, (x, y))
    return run


def _insightface(scale: float, margin: float, easy: bool, reduce: Callable) -> Callable:
    """insightface / ronghuaiyang ``ArcMarginProduct``: φ = cos·cos m − sin·sin m, sin = sqrt(1 − cos²)."""
    def run(torch: Any, x: Any, w: Any, y: Any, *extra: Any) -> Any:
        import torch.nn.functional as F

        cos = F.linear(F.normalize(x), F.normalize(w))
        sin = torch.sqrt(1.0 - cos * cos)
        phi = cos * math.cos(margin) - sin * math.sin(margin)
        if easy:
            phi = torch.where(cos > 0, phi, cos)
        else:
            phi = torch.where(cos > math.cos(math.pi - margin), phi, cos - math.sin(math.pi - margin) * margin)
        onehot = F.one_hot(y, w.shape[0]).to(x.dtype)
        logits = scale * (onehot * phi + (1.0 - onehot) * cos)
        return reduce(F.cross_entropy(logits, y, reduction="none"), *extra)
    return run


def _center(reduce: Callable) -> Callable:
    def run(torch: Any, x: Any, c: Any, y: Any, *extra: Any) -> Any:
        return reduce(0.5 * ((x - c[y]) ** 2).sum(dim=1), *extra)
    return run


def _mean(v: Any) -> Any:
    return v.mean()


def _sum(v: Any) -> Any:
    return v.sum()


def _none(v: Any) -> Any:
    return v


def _weighted(v: Any, w: Any) -> Any:
    return (w * v).sum() / w.sum()


# -- the table ------------------------------------------------------------------------------------

def cases() -> list[Case]:
    xwy = ("embeddings", "W", "labels")
    grad = ("embeddings", "W")
    out = []
    for scale, margin, fallback in ((30.0, 0.5, 0), (30.0, 0.5, 3), (64.0, math.radians(28.6), 2), (10.0, 0.2, 0)):
        tag = f"scale={scale:g},margin={margin:.4g}" + (f",fallback={fallback}" if fallback else "")
        refs = (Formula(f"pml.ArcFaceLoss(C, D, margin={math.degrees(margin):.4g}, scale={scale:g}), W = W.T",
                        _pml("ArcFaceLoss", margin=math.degrees(margin), scale=scale), *xwy, note=PML_NOTE),
                Formula(f"insightface ArcMarginProduct(s={scale:g}, m={margin:.4g}) + F.cross_entropy",
                        _insightface(scale, margin, False, _mean), *xwy,
                        note="the old insightface / ronghuaiyang formula (th, mm fallback)"))
        out.append(Case(f"arcface/{tag}", X("arcface", *xwy, scale=scale, margin=margin), refs,
                        proxies(margin, fallback=fallback), grad,
                        note=f"{fallback} samples with θ + m > π (the cos θ − m sin m branch)" if fallback else ""))
    for margin in (0.5, 0.3):
        out.append(Case(f"arcface/easy_margin,margin={margin}", X("arcface", *xwy, scale=16.0, margin=margin,
                                                                  easy_margin=True),
                        (Formula(f"insightface ArcMarginProduct(s=16, m={margin}, easy_margin=True)",
                                 _insightface(16.0, margin, True, _mean), *xwy),),
                        proxies(margin, easy=True), grad, note="targets on both sides of cos θ = 0"))
    for red, reduce in (("sum", _sum), ("none", _none)):
        out.append(Case(f"arcface/{red}", X("arcface", *xwy, scale=20.0, margin=0.5, reduction=red),
                        (Formula(f"insightface ArcMarginProduct(s=20, m=0.5), reduction={red!r}",
                                 _insightface(20.0, 0.5, False, reduce), *xwy),), proxies(0.5, fallback=2), grad))
    out.append(Case("arcface/weighted_mean", X("arcface", *xwy, scale=20.0, margin=0.5, sample_weight=In("w"),
                                              reduction="weighted_mean"),
                    (Formula("Σ w·ArcMarginProduct(s=20, m=0.5) CE / Σ w", _insightface(20.0, 0.5, False, _weighted),
                             *xwy, "w"),), proxies(0.5, fallback=2), grad))
    for scale, margin in ((30.0, 0.35), (64.0, 0.35), (30.0, 0.4)):
        out.append(Case(f"cosface/scale={scale:g},margin={margin}", X("cosface", *xwy, scale=scale, margin=margin),
                        (Formula(f"pml.CosFaceLoss(C, D, margin={margin}, scale={scale:g}), W = W.T",
                                 _pml("CosFaceLoss", margin=margin, scale=scale), *xwy, note=PML_NOTE),),
                        proxies(0.0), grad))
    xcy = ("embeddings", "centers", "labels")
    cgrad = ("embeddings", "centers")
    for red, reduce, text in (("sum", _sum, "½ Σ_i ‖x_i − c_{y_i}‖² (Wen et al. L_C; EncodeTS tf.nn.l2_loss)"),
                              ("mean", _mean, "½ Σ_i ‖x_i − c_{y_i}‖² / N (KaiyangZhou CenterLoss / 2)"),
                              ("none", _none, "½ ‖x_i − c_{y_i}‖²")):
        out.append(Case(f"center/{red}", X("center", *xcy, reduction=red),
                        (Formula(text, _center(reduce), *xcy),), centers, cgrad,
                        note="the last class is absent from the batch: its centre gets a zero gradient"))
    out.append(Case("center/weighted_mean", X("center", *xcy, sample_weight=In("w"), reduction="weighted_mean"),
                    (Formula("Σ_i w_i ½ ‖x_i − c_{y_i}‖² / Σ w", _center(_weighted), *xcy, "w"),), centers, cgrad))
    return out


assert GAP <= MARGIN_SWITCH

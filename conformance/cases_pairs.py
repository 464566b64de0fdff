"""Conformance cases of ``xploss.losses._pairs``.

Built-ins: torch ``F.cosine_embedding_loss``, ``F.margin_ranking_loss``, ``F.hinge_embedding_loss``,
``F.triplet_margin_with_distance_loss`` (its default distance, a cosine and a squared distance
function, swap on and off); Keras ``CosineSimilarity``; optax ``cosine_distance`` and
``cosine_similarity`` (JAX, bridged into torch's autograd: :func:`~conformance.cases_binary.optax_ref`);
pytorch-metric-learning ``ContrastiveLoss`` on explicit pair indices (``indices_tuple``) with raw
Euclidean distances, its ``MeanReducer`` and its default ``AvgNonZeroReducer`` reached through
per-pair sample weights; TF Addons ``contrastive_loss`` (no installable package next to TF 2.21,
BUILTINS-2 §5) as its source's formula; BPR as the softplus formula.  Distances, cosines and hinge
slacks stay ``GAP`` away from their kinks, except in the ``zero-vector`` cases.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .cases import GAP, Case, D, Formula, In, K, N, T, X
from .cases_binary import optax_ref

PML_NOTE = ("PML forms pairs from labels; here its pairs are given as indices_tuple (i, N + i) of cat([x1, x2]) "
            "so that they are exactly xploss' rows.  PML adds the mean over positive pairs and the mean over "
            "negative pairs: xploss reduction='sum' with sample_weight = y/n_pos + (1 − y)/n_neg")
AVG_NONZERO_NOTE = ("PML's default AvgNonZeroReducer: the counts n_pos, n_neg are those of the pairs with a "
                    "loss > 0 (computed from the NumPy per-pair losses)")
TFA_NOTE = ("tensorflow_addons.losses.contrastive_loss, its source line by line (TF Addons 0.23 does not import "
            "next to TF 2.21): y·d² + (1 − y)·max(m − d, 0)², d = ||x1 − x2||, SUM_OVER_BATCH_SIZE")
KERAS_ZERO_NOTE = ("a zero pred row: Keras 3.15 floors the norm at 1e-7 (x·min(rsqrt(Σx²), 1e7)): value 0 and, on "
                   "TensorFlow, the gradient −t̂·1e7, as xploss (Keras on JAX/torch: NaN)")
OPTAX_EPS_NOTE = "epsilon clamps the squared norm: rows with Σx² < 1.5 are scaled by 1/sqrt(1.5)"
TINY_NOTE = ("norms below F.cosine_similarity's eps = 1e-8 (1e-10, 3e-9, 0): torch clamps the norm in place "
             "under no_grad, so the norm's own slope still flows (gradients ~1e8), as xploss; a zero negative "
             "ties d(a, n) = d(p, n) = 1: torch.minimum splits the gradient, as xploss")
TORCH_ZERO_NOTE = ("a zero x1 row: cos = 0 through torch's 1e-12 inside the squared norms, gradient "
                   "∓x2/sqrt(1e-12 (|x2|² + 1e-12)) (finite, ~1e6)")


# -- generators ------------------------------------------------------------------------------

def _redraw(rng: np.random.Generator, draw: Any, bad: Any, what: str) -> tuple:
    out = draw()
    for _ in range(2000):
        rows = bad(*out)
        if not rows.any():
            return out
        fresh = draw()
        out = tuple(np.where(rows.reshape(rows.shape + (1,) * (o.ndim - rows.ndim)), f, o) for o, f in zip(out, fresh))
    raise RuntimeError(f"could not draw {what} off the kinks")


def pairs(margin: float = 1.0, pos_margin: float = 0.0, squared_distance: bool = False) -> Any:
    """``x1``, ``x2`` (N, D) with their distance GAP away from both margins; 0/1 labels ``y01`` (half each);
    the PML weights ``w_pml`` (MeanReducer) and ``w_nz`` (AvgNonZeroReducer, unsquared hinges); the
    distances ``dist`` themselves."""
    def gen(rng: np.random.Generator) -> dict:
        def draw() -> tuple:
            x1 = rng.normal(size=(N, D))
            return x1, x1 + rng.normal(scale=0.45, size=(N, D))

        def bad(x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
            d = np.sqrt(((x1 - x2) ** 2).sum(-1))
            d = d * d if squared_distance else d
            return (np.abs(d - margin) < GAP) | (np.abs(d - pos_margin) < GAP) | (d < GAP)

        x1, x2 = _redraw(rng, draw, bad, "pairs")
        y = np.array([1, 0] * (N // 2))
        d = np.sqrt(((x1 - x2) ** 2).sum(-1))
        d = d * d if squared_distance else d
        pos, neg = y == 1, y == 0
        w_pml = np.where(pos, 1.0 / pos.sum(), 1.0 / neg.sum())
        act_pos, act_neg = pos & (d > pos_margin), neg & (d < margin)
        w_nz = np.where(pos, 1.0 / max(act_pos.sum(), 1), 1.0 / max(act_neg.sum(), 1))
        return {"x1": x1, "x2": x2, "y01": y, "w_pml": w_pml, "w_nz": w_nz, "dist": d, "w": rng.uniform(0.2, 2.0, N)}
    return gen


def cos_pairs(margin: float = 0.0, zero: bool = False) -> Any:
    """``x1``, ``x2`` (N, D) with torch's cosine GAP away from ``margin``; ±1 labels ``ypm`` (int);
    ``zero``: row 0 of ``x1`` is a zero vector (label 1) and row 1 of ``x1`` (label -1) too."""
    def gen(rng: np.random.Generator) -> dict:
        def draw() -> tuple:
            return rng.normal(size=(N, D)), rng.normal(size=(N, D))

        def bad(x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
            c = (x1 * x2).sum(-1) / np.sqrt(((x1 ** 2).sum(-1) + 1e-12) * ((x2 ** 2).sum(-1) + 1e-12))
            return np.abs(c - margin) < GAP

        x1, x2 = _redraw(rng, draw, bad, "cosine pairs")
        ypm = np.array([1, -1] * (N // 2))
        if zero:
            x1[0] = 0.0
            x1[1] = 0.0
        return {"x1": x1, "x2": x2, "ypm": ypm, "w": rng.uniform(0.2, 2.0, N)}
    return gen


def scores(margin: float = 0.0) -> Any:
    """``s1``, ``s2`` (N, D) with the ranking slack GAP away from 0; ±1 labels ``ypm`` (floats, differentiated
    by torch) of shape (N, D) and ``ypm_col`` (N, 1) broadcast like torch; distances ``dist`` in [0, 2.5]
    off ``margin`` with ±1 labels ``ypm_int`` (N, D)."""
    def gen(rng: np.random.Generator) -> dict:
        s1, s2 = rng.normal(size=(N, D)), rng.normal(size=(N, D))
        ypm = rng.choice([-1.0, 1.0], (N, D))
        col = rng.choice([-1.0, 1.0], (N, 1))
        for y in (ypm, col):
            for _ in range(2000):
                bad = np.abs(margin - y * (s1 - s2)) < GAP
                if not bad.any():
                    break
                s1[bad] = rng.normal(size=int(bad.sum()))
        dist = rng.uniform(0.0, 2.5, (N, D))
        for _ in range(2000):
            bad = np.abs(dist - 1.0) < GAP
            if not bad.any():
                break
            dist[bad] = rng.uniform(0.0, 2.5, int(bad.sum()))
        return {"s1": s1, "s2": s2, "ypm": ypm, "ypm_col": col, "dist": dist,
                "ypm_int": rng.choice([-1, 1], (N, D)), "w": rng.uniform(0.2, 2.0, N)}
    return gen


def _pairwise(x: np.ndarray, y: np.ndarray, kind: str) -> np.ndarray:
    if kind == "cosine":
        return 1.0 - (x * y).sum(-1) / (np.maximum(np.linalg.norm(x, axis=-1), 1e-8)
                                        * np.maximum(np.linalg.norm(y, axis=-1), 1e-8))
    d = np.sqrt(((x - y + 1e-6) ** 2).sum(-1))
    return d * d if kind != "euclidean" else d


def triplets(kind: str, margin: float, swap: bool, tiny: bool = False) -> Any:
    """Anchor/positive/negative (N, 4) with the hinge slack and the swap choice GAP away from their ties;
    ``tiny``: rows of norm 1e-10 and 3e-9 (below F.cosine_similarity's eps 1e-8) and a zero negative."""
    def gen(rng: np.random.Generator) -> dict:
        def draw() -> tuple:
            return tuple(rng.normal(size=(N, 4)) for _ in range(3))

        def bad(a: np.ndarray, p: np.ndarray, n: np.ndarray) -> np.ndarray:
            d_ap, d_an, d_pn = _pairwise(a, p, kind), _pairwise(a, n, kind), _pairwise(p, n, kind)
            out = np.abs(margin + d_ap - (np.minimum(d_an, d_pn) if swap else d_an)) < GAP
            return out | (np.abs(d_an - d_pn) < GAP) if swap else out

        a, p, n = _redraw(rng, draw, bad, "triplets")
        if tiny:
            a[0] *= 1e-10
            p[2] *= 3e-9
            n[1] = 0.0
        return {"anchor": a, "positive": p, "negative": n, "w": rng.uniform(0.2, 2.0, N)}
    return gen


def vectors(shape: tuple = (N, D), zero: bool = False, small: bool = False) -> Any:
    """``pred``, ``target``; ``zero``: ``pred`` row 0 is a zero vector; ``small``: a third of the rows scaled
    to norms below 1 (optax' epsilon clamp)."""
    def gen(rng: np.random.Generator) -> dict:
        pred, target = rng.normal(size=shape), rng.normal(size=shape)
        if zero:
            pred[0] = 0.0
        if small:
            pred[::3] *= 0.2
            target[1::3] *= 0.2
        return {"pred": pred, "target": target, "w": rng.uniform(0.2, 2.0, shape[0])}
    return gen


def bpr_scores(rng: np.random.Generator) -> dict:
    pos, neg = 2.0 * rng.normal(size=(N, 3)), 2.0 * rng.normal(size=(N, 3))
    neg[0, :2] = pos[0, :2] + np.array([1e4, -1e4])  # gaps of ±1e4: finite value, gradient ±1 and 0
    return {"pos": pos, "neg": neg}


# -- references --------------------------------------------------------------------------------

def _pml_contrastive(pos_margin: float, neg_margin: float, power: int = 1, reducer: str = "mean") -> Any:
    def fn(torch: Any, x1: Any, x2: Any, y: Any) -> Any:
        from pytorch_metric_learning.distances import LpDistance
        from pytorch_metric_learning.losses import ContrastiveLoss
        from pytorch_metric_learning.reducers import AvgNonZeroReducer, MeanReducer

        n = x1.shape[0]
        idx = torch.arange(n)
        pos = y == 1
        tuple_ = (idx[pos], idx[pos] + n, idx[~pos], idx[~pos] + n)
        loss = ContrastiveLoss(pos_margin=pos_margin, neg_margin=neg_margin,
                               distance=LpDistance(normalize_embeddings=False, power=power),
                               reducer=MeanReducer() if reducer == "mean" else AvgNonZeroReducer())
        return loss(torch.cat([x1, x2]), None, indices_tuple=tuple_)
    return fn


def _tfa_contrastive(margin: float, embeddings: bool = True) -> Any:
    def fn(torch: Any, a: Any, b: Any, y: Any = None) -> Any:
        if embeddings:
            d = torch.linalg.norm(a - b, dim=1)  # the docstring's y_pred = tf.linalg.norm(a - b, axis=1)
        else:
            d, y = a, b
        y = y.to(d.dtype)
        per = y * torch.square(d) + (1.0 - y) * torch.square(torch.clamp(margin - d, min=0.0))
        return per.mean()
    return fn


def _torch_triplet(kind: str, margin: float, swap: bool) -> Any:
    def fn(torch: Any, a: Any, p: Any, n: Any) -> Any:
        F = torch.nn.functional
        dist = {"cosine": lambda x, y: 1.0 - F.cosine_similarity(x, y),
                "squared_euclidean": lambda x, y: F.pairwise_distance(x, y) ** 2,
                "plain_squared": lambda x, y: ((x - y) ** 2).sum(-1)}[kind]
        return F.triplet_margin_with_distance_loss(a, p, n, distance_function=dist, margin=margin, swap=swap)
    return fn


def squared_distance(x: Any, y: Any) -> Any:
    """A user distance written with the array API (every backend's own ops): the plain squared Euclidean."""
    import xploss

    xp = xploss.array_namespace(x, y)
    return xp.sum((x - y) ** 2, axis=-1)


# -- the table ---------------------------------------------------------------------------------

def _contrastive_cases() -> list[Case]:
    xy = ("x1", "x2", "y01")
    cases = [
        Case("contrastive", X("contrastive", *xy),
             (Formula("tfa.losses.contrastive_loss(y, norm(x1 − x2, axis=1), margin=1.0)", _tfa_contrastive(1.0),
                      *xy, note=TFA_NOTE),), pairs(), ("x1", "x2")),
        Case("contrastive/margin=1.5", X("contrastive", *xy, margin=1.5),
             (Formula("tfa.losses.contrastive_loss(y, norm(x1 − x2, axis=1), margin=1.5)", _tfa_contrastive(1.5),
                      *xy, note=TFA_NOTE),), pairs(1.5), ("x1", "x2")),
        Case("contrastive_from_distances", X("contrastive_from_distances", "dist", "y01", margin=1.5,
                                             reduction="none"),
             (Formula("tfa.losses.contrastive_loss(y, d, margin=1.5)", lambda torch, d, y: _tfa_per(torch, d, y, 1.5),
                      "dist", "y01", note=TFA_NOTE),), pairs(1.5), ("dist",)),
    ]
    for pm, m in ((0.0, 1.0), (0.3, 1.2)):
        cases += [
            Case(f"contrastive/pml-mean,pos_margin={pm},neg_margin={m}",
                 X("contrastive", *xy, margin=m, pos_margin=pm, squared=False, sample_weight=In("w_pml"),
                   reduction="sum"),
                 (Formula(f"pml.ContrastiveLoss(pos_margin={pm}, neg_margin={m}, distance=LpDistance("
                          "normalize_embeddings=False), reducer=MeanReducer())(cat([x1, x2]), "
                          "indices_tuple=(i, N + i))", _pml_contrastive(pm, m), *xy, note=PML_NOTE),),
                 pairs(m, pm), ("x1", "x2")),
            Case(f"contrastive/pml-avgnonzero,pos_margin={pm},neg_margin={m}",
                 X("contrastive", *xy, margin=m, pos_margin=pm, squared=False, sample_weight=In("w_nz"),
                   reduction="sum"),
                 (Formula(f"pml.ContrastiveLoss(pos_margin={pm}, neg_margin={m}, distance=LpDistance("
                          "normalize_embeddings=False))(cat([x1, x2]), indices_tuple=(i, N + i))",
                          _pml_contrastive(pm, m, reducer="avg_nonzero"), *xy, note=AVG_NONZERO_NOTE),),
                 pairs(m, pm), ("x1", "x2")),
        ]
    cases.append(Case("contrastive/pml-squared-distance",
                      X("contrastive", *xy, margin=1.5, pos_margin=0.2, squared=False, distance="squared_euclidean",
                        sample_weight=In("w_pml"), reduction="sum"),
                      (Formula("pml.ContrastiveLoss(pos_margin=0.2, neg_margin=1.5, distance=LpDistance("
                               "normalize_embeddings=False, power=2), reducer=MeanReducer())(...)",
                               _pml_contrastive(0.2, 1.5, power=2), *xy, note=PML_NOTE),),
                      pairs(1.5, 0.2, squared_distance=True), ("x1", "x2")))
    return cases


def _tfa_per(torch: Any, d: Any, y: Any, margin: float) -> Any:
    y = y.to(d.dtype)
    return y * torch.square(d) + (1.0 - y) * torch.square(torch.clamp(margin - d, min=0.0))


def _torch_pair_cases() -> list[Case]:
    xy = ("x1", "x2", "ypm")
    cases = []
    for m in (0.0, 0.3):
        cases.append(Case(f"cosine_embedding/margin={m}", X("cosine_embedding", *xy, margin=m),
                          (T("cosine_embedding_loss", *xy, margin=m),), cos_pairs(m), ("x1", "x2")))
    cases += [
        Case("cosine_embedding/zero-vector", X("cosine_embedding", *xy, margin=0.1),
             (T("cosine_embedding_loss", *xy, margin=0.1, note=TORCH_ZERO_NOTE),), cos_pairs(0.1, zero=True),
             ("x1", "x2")),
        Case("cosine_embedding/none", X("cosine_embedding", *xy, reduction="none"),
             (T("cosine_embedding_loss", *xy, reduction="none"),), cos_pairs(), ("x1", "x2")),
    ]
    sy = ("s1", "s2", "ypm")
    for m in (0.0, 0.5):
        cases.append(Case(f"margin_ranking/margin={m}", X("margin_ranking", *sy, margin=m),
                          (T("margin_ranking_loss", *sy, margin=m),), scores(m), ("s1", "s2", "ypm")))
    cases += [
        Case("margin_ranking/broadcast-labels", X("margin_ranking", "s1", "s2", "ypm_col", margin=0.5),
             (T("margin_ranking_loss", "s1", "s2", "ypm_col", margin=0.5),), scores(0.5), ("s1", "s2", "ypm_col"),
             note="(N, 1) labels broadcast over the columns, as torch"),
        Case("margin_ranking/sum", X("margin_ranking", *sy, reduction="sum"),
             (T("margin_ranking_loss", *sy, reduction="sum"),), scores(), ("s1", "s2")),
    ]
    for m in (1.0, 0.5):
        cases.append(Case(f"hinge_embedding/margin={m}", X("hinge_embedding", "dist", "ypm_int", margin=m),
                          (T("hinge_embedding_loss", "dist", "ypm_int", margin=m),), scores(), ("dist",)))
    cases.append(Case("hinge_embedding/none", X("hinge_embedding", "dist", "ypm_int", reduction="none"),
                      (T("hinge_embedding_loss", "dist", "ypm_int", reduction="none"),), scores(), ("dist",)))
    return cases


def _triplet_cases() -> list[Case]:
    apn = ("anchor", "positive", "negative")
    cases = []
    for swap in (False, True):
        cases.append(Case(f"triplet_margin_with_distance/default,swap={swap}",
                          X("triplet_margin_with_distance", *apn, swap=swap),
                          (T("triplet_margin_with_distance_loss", *apn, swap=swap),),
                          triplets("euclidean", 1.0, swap), apn))
        cases.append(Case(f"triplet_margin_with_distance/cosine,swap={swap}",
                          X("triplet_margin_with_distance", *apn, distance="cosine", margin=0.5, swap=swap),
                          (Formula(f"F.triplet_margin_with_distance_loss(a, p, n, distance_function=lambda x, y: "
                                   f"1 − F.cosine_similarity(x, y), margin=0.5, swap={swap})",
                                   _torch_triplet("cosine", 0.5, swap), *apn, note="torch built-in"),),
                          triplets("cosine", 0.5, swap), apn))
    cases += [
        Case("triplet_margin_with_distance/cosine,tiny-norms",
             X("triplet_margin_with_distance", *apn, distance="cosine", margin=3.0, swap=True),
             (Formula("F.triplet_margin_with_distance_loss(a, p, n, distance_function=lambda x, y: "
                      "1 − F.cosine_similarity(x, y), margin=3.0, swap=True)", _torch_triplet("cosine", 3.0, True),
                      *apn, note=TINY_NOTE),), triplets("cosine", 3.0, True, tiny=True), apn),
        Case("triplet_margin_with_distance/squared,margin=2",
             X("triplet_margin_with_distance", *apn, distance="squared_euclidean", margin=2.0),
             (Formula("F.triplet_margin_with_distance_loss(a, p, n, distance_function=lambda x, y: "
                      "F.pairwise_distance(x, y) ** 2, margin=2.0)", _torch_triplet("squared_euclidean", 2.0, False),
                      *apn, note="torch built-in"),), triplets("squared_euclidean", 2.0, False), apn),
        Case("triplet_margin_with_distance/callable,swap=True",
             X("triplet_margin_with_distance", *apn, distance=squared_distance, margin=2.0, swap=True),
             (Formula("F.triplet_margin_with_distance_loss(a, p, n, distance_function=lambda x, y: "
                      "((x − y) ** 2).sum(-1), margin=2.0, swap=True)", _torch_triplet("plain_squared", 2.0, True),
                      *apn, note="torch built-in"),), triplets("plain_squared", 2.0, True), apn,
             backends=("numpy", "torch", "jax", "tensorflow"),
             note="an array-API callable distance, differentiated by each framework (NumPy: autograd); "
                  "array_api_strict has no autodiff for it"),
        Case("triplet_margin_with_distance/none", X("triplet_margin_with_distance", *apn, reduction="none"),
             (T("triplet_margin_with_distance_loss", *apn, reduction="none"),), triplets("euclidean", 1.0, False),
             apn),
    ]
    return cases


def _cosine_cases() -> list[Case]:
    pt, tp = ("pred", "target"), ("target", "pred")
    return [
        Case("cosine_similarity", X("cosine_similarity", *pt),
             (K("CosineSimilarity", *tp),
              optax_ref("cosine_similarity(pred, target).mean() · (−1)",
                        lambda o, p, t: -o.cosine_similarity(p, t).mean(), *pt)), vectors(), pt),
        Case("cosine_similarity/axis=0", X("cosine_similarity", *pt, axis=0),
             (K("CosineSimilarity", *tp, ctor={"axis": 0}),), vectors(), pt),
        Case("cosine_similarity/weight", X("cosine_similarity", *pt, sample_weight=In("w")),
             (K("CosineSimilarity", *tp, sample_weight=In("w")),), vectors(), pt),
        Case("cosine_similarity/zero-vector", X("cosine_similarity", *pt),
             (K("CosineSimilarity", *tp, note=KERAS_ZERO_NOTE),), vectors(zero=True), pt),
        Case("cosine_distance", X("cosine_distance", *pt, reduction="none"),
             (optax_ref("cosine_distance(pred, target)", lambda o, p, t: o.cosine_distance(p, t), *pt),),
             vectors(), pt),
        Case("cosine_distance/epsilon=1.5", X("cosine_distance", *pt, epsilon=1.5, reduction="none"),
             (optax_ref("cosine_distance(pred, target, epsilon=1.5)",
                        lambda o, p, t: o.cosine_distance(p, t, epsilon=1.5), *pt, note=OPTAX_EPS_NOTE),),
             vectors(small=True), pt),
        Case("cosine_distance/axis=0,mean", X("cosine_distance", *pt, axis=0),
             (optax_ref("cosine_distance(pred, target, axis=0).mean()",
                        lambda o, p, t: o.cosine_distance(p, t, axis=0).mean(), *pt),), vectors(), pt),
    ]


def _bpr_cases() -> list[Case]:
    return [
        Case("bpr", X("bpr", "pos", "neg"),
             (Formula("mean(softplus(neg − pos)) (Rendle et al.; LightGCN's form)",
                      lambda torch, p, n: torch.nn.functional.softplus(n - p).mean(), "pos", "neg"),),
             bpr_scores, ("pos", "neg"), note="one row with score gaps of ±1e4"),
    ]


def cases() -> list:
    return _contrastive_cases() + _torch_pair_cases() + _triplet_cases() + _cosine_cases() + _bpr_cases()

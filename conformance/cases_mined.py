"""Conformance cases of ``xploss.losses._mined`` (extends ``cases.py``).

References:

* pytorch-metric-learning 2.9.0 (installed): ``TripletMarginLoss`` with ``BatchHardMiner`` /
  ``TripletMarginMiner`` or all triplets, ``LiftedStructureLoss``, ``MultiSimilarityLoss``, ``NPairsLoss``;
  gradients by torch autograd.  Batches of 8 rows: ``torch.cdist`` stays on its exact path (<= 25 rows).
* TF Addons 0.23.0 (it does not import next to TensorFlow 2.21): its published test fixtures and docstring
  examples recorded in ``data/tfa_fixtures.json`` (values only, gradient-less references), and reference
  formulas written in torch from its algorithms (``metric_learning.pairwise_distance`` with its 1e-16 guard,
  the shifted masked maximum / minimum, the tiled semi-hard mask, the pairwise log-sum-exp of
  ``lifted_struct_loss``) for values and gradients on random batches.

Not reproduced (documented on the family page): TF Addons' NaN with no positive pair, its counting of
anchors without a positive (``triplet_hard_loss``) or a negative, and its refusal of float64 (the torch
formulas run in float64 too).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .cases import Call, Case, Formula, In, Tol, X

N, D = 8, 5
GAP = 1e-2
FULL = np.array([0, 0, 1, 1, 2, 2, 3, 3])  # every anchor has a positive and a negative
LONE = np.array([0, 0, 1, 1, 1, 2, 2, 3])  # the last anchor has no positive
DATA = Path(__file__).with_name("data") / "tfa_fixtures.json"

# -- inputs ------------------------------------------------------------------------------------


def _dist(x: np.ndarray, distance: str, normalize: bool) -> np.ndarray:
    if normalize or distance == "cosine":
        x = x / np.linalg.norm(x, axis=1, keepdims=True)
    if distance == "cosine":
        return 1.0 - x @ x.T
    sq = np.sum((x[:, None] - x[None]) ** 2, axis=-1)
    return sq if distance == "squared_euclidean" else np.sqrt(sq)


def batch(labels: np.ndarray = FULL, distance: str = "euclidean", normalize: bool = False, margin: float = 1.0,
          scale: float = 1.0) -> Callable:
    """Embeddings whose row distances are GAP apart (stable mining) with every hinge GAP away from 0."""
    def gen(rng: np.random.Generator) -> dict:
        n = len(labels)
        same = (labels[:, None] == labels[None]) & ~np.eye(n, dtype=bool)
        diff = labels[:, None] != labels[None]
        for _ in range(20000):
            x = scale * rng.normal(size=(n, D))
            d = _dist(x, distance, normalize)
            ok = all(np.all(np.diff(np.sort(np.delete(d[a], a))) > GAP)
                     and np.all(np.abs(d[a][same[a]][:, None] - d[a][diff[a]][None] + margin) > GAP)
                     for a in range(n))
            if ok:
                return {"emb": x, "labels": labels.copy()}
        raise RuntimeError("no batch away from the mining ties")
    return gen


def pairs(rng: np.random.Generator) -> dict:
    return {"anchors": rng.normal(size=(4, D)), "positives": rng.normal(size=(4, D)),
            "labels": np.array([0, 1, 1, 2])}


@functools.cache
def _fixtures() -> dict:
    return {f["id"]: f for f in json.loads(DATA.read_text())["fixtures"]}


def fixture(key: str) -> Callable:
    def gen(rng: np.random.Generator) -> dict:
        f = _fixtures()[key]
        if "embeddings" in f:
            return {"emb": np.array(f["embeddings"], np.float64), "labels": np.array(f["labels"], np.int64)}
        return {"anchors": np.array(f["anchors"], np.float64), "positives": np.array(f["positives"], np.float64),
                "labels": np.array(f["labels"], np.int64)}
    return gen


def recorded(key: str) -> Call:
    """The recorded expected value of a TF Addons fixture: a constant, no gradient."""
    f = _fixtures()[key]
    src = f["source"]
    tol = None
    if f.get("expected_tolerance"):
        tol = Tol(f"the test asserts the literal {f['expected']} with rtol=atol=1e-6", float64=f["expected_tolerance"],
                  float32=f["expected_tolerance"])
    else:
        tol = Tol("the TF Addons test's numpy reference computes on float32 embeddings (float32 norms)",
                  float64=5e-7)
    text = f"{f['call']} = {f['expected']!r} (recorded: {src['repo']}@{src['commit'][:7]} {src['path']}::{src['test']})"
    value = float(f["expected"])
    return Call("formula", text, (), fn=lambda torch: torch.tensor(value, dtype=torch.float64), tol=tol,
                note="TF Addons fixture recorded in conformance/data/tfa_fixtures.json (value only)")


# -- pytorch-metric-learning ------------------------------------------------------------------------

def _pml_distance(distance: str, normalize: bool) -> Any:
    from pytorch_metric_learning.distances import CosineSimilarity, LpDistance

    if distance == "cosine":
        return CosineSimilarity()
    return LpDistance(normalize_embeddings=normalize, power=2 if distance == "squared_euclidean" else 1)


def _dist_text(distance: str, normalize: bool) -> str:
    if distance == "cosine":
        return "CosineSimilarity()"
    power = ", power=2" if distance == "squared_euclidean" else ""
    return f"LpDistance(normalize_embeddings={normalize}{power})"


def pml_hard(margin: float, soft: bool, distance: str, normalize: bool) -> Call:
    def fn(torch: Any, emb: Any, labels: Any) -> Any:
        from pytorch_metric_learning import losses, miners, reducers

        dist = _pml_distance(distance, normalize)
        mined = miners.BatchHardMiner(distance=dist)(emb, labels)
        return losses.TripletMarginLoss(margin=margin, smooth_loss=soft, distance=dist,
                                        reducer=reducers.MeanReducer())(emb, labels, mined)
    d = _dist_text(distance, normalize)
    return Formula(f"TripletMarginLoss(margin={margin}, smooth_loss={soft}, distance={d}, reducer=MeanReducer())"
                   f"(emb, labels, BatchHardMiner(distance={d})(emb, labels))", fn, "emb", "labels",
                   note="pytorch-metric-learning 2.9.0")


def pml_all(margin: float, distance: str, normalize: bool, average: str, miner: bool = False) -> Call:
    def fn(torch: Any, emb: Any, labels: Any) -> Any:
        from pytorch_metric_learning import losses, miners, reducers

        dist = _pml_distance(distance, normalize)
        kw = {} if average == "nonzero" else {"reducer": reducers.MeanReducer()}
        loss = losses.TripletMarginLoss(margin=margin, distance=dist, **kw)
        if miner:
            mined = miners.TripletMarginMiner(margin=margin, type_of_triplets="all", distance=dist)(emb, labels)
            return loss(emb, labels, mined)
        return loss(emb, labels)
    d = _dist_text(distance, normalize)
    red = "" if average == "nonzero" else ", reducer=MeanReducer()"
    tail = f", TripletMarginMiner(margin={margin}, type_of_triplets='all', distance={d})(emb, labels)" if miner else ""
    return Formula(f"TripletMarginLoss(margin={margin}, distance={d}{red})(emb, labels{tail})", fn, "emb", "labels",
                   note="pytorch-metric-learning 2.9.0" + (" (AvgNonZeroReducer)" if average == "nonzero" else ""))


def pml_lifted(margin: float, pos_margin: float, normalize: bool) -> Call:
    def fn(torch: Any, emb: Any, labels: Any) -> Any:
        from pytorch_metric_learning import losses

        return losses.LiftedStructureLoss(neg_margin=margin, pos_margin=pos_margin,
                                          distance=_pml_distance("euclidean", normalize))(emb, labels)
    return Formula(f"LiftedStructureLoss(neg_margin={margin}, pos_margin={pos_margin}, "
                   f"distance={_dist_text('euclidean', normalize)})(emb, labels)", fn, "emb", "labels",
                   note="pytorch-metric-learning 2.9.0")


def pml_ms(alpha: float, beta: float, base: float) -> Call:
    def fn(torch: Any, emb: Any, labels: Any) -> Any:
        from pytorch_metric_learning import losses

        return losses.MultiSimilarityLoss(alpha=alpha, beta=beta, base=base)(emb, labels)
    return Formula(f"MultiSimilarityLoss(alpha={alpha}, beta={beta}, base={base})(emb, labels)", fn, "emb", "labels",
                   note="pytorch-metric-learning 2.9.0 (CosineSimilarity, MeanReducer)")


def pml_npairs() -> Call:
    def fn(torch: Any, a: Any, p: Any) -> Any:
        from pytorch_metric_learning import losses

        n = a.shape[0]
        return losses.NPairsLoss()(torch.cat([a, p]), torch.arange(n).repeat(2))
    return Formula("NPairsLoss()(cat([anchors, positives]), [0..n-1, 0..n-1])", fn, "anchors", "positives",
                   note="pytorch-metric-learning 2.9.0: its first positive pair per label is (i, n + i), so it "
                        "takes exactly these pairs; its default DotProductSimilarity normalises (a cosine)")


# -- TF Addons' algorithms, written in torch ------------------------------------------------------------

def _tfa_pdist(torch: Any, x: Any, metric: str) -> Any:
    """``metric_learning.pairwise_distance`` / ``angular_distance``."""
    n = x.shape[0]
    if metric == "angular":
        u = x / torch.linalg.vector_norm(x, dim=1, keepdim=True)
        return torch.clamp(1.0 - u @ u.T, min=0.0)
    sq = torch.clamp((x * x).sum(1, keepdim=True) + (x * x).sum(1)[None, :] - 2.0 * x @ x.T, min=0.0)
    zero = sq <= 0.0
    d = sq if metric == "squared-L2" else torch.sqrt(sq + zero.to(x.dtype) * 1e-16)
    return d * (~zero).to(x.dtype) * (1.0 - torch.eye(n, dtype=x.dtype))


def _shifted_max(torch: Any, v: Any, mask: Any) -> Any:
    """The maximum over ``mask`` taken as ``max((v - row min) * mask) + row min`` (the row min when empty)."""
    low = v.amin(1, keepdim=True)
    return ((v - low) * mask).amax(1, keepdim=True) + low


def _shifted_min(torch: Any, v: Any, mask: Any) -> Any:
    high = v.amax(1, keepdim=True)
    return ((v - high) * mask).amin(1, keepdim=True) + high


def tfa_semihard(margin: float, metric: str) -> Call:
    def fn(torch: Any, emb: Any, labels: Any) -> Any:
        d = _tfa_pdist(torch, emb, metric)
        n = d.shape[0]
        same = labels[:, None] == labels[None, :]
        neg = (~same).to(d.dtype)
        # for anchor a and positive p: the negatives farther than d_ap (an (a, p, n) mask, as TF Addons tiles it)
        farther = (neg[:, None, :] > 0) & (d[:, None, :] > d[:, :, None])
        flat = farther.reshape(n * n, n).to(d.dtype)
        rows = d[:, None, :].expand(n, n, n).reshape(n * n, n)
        outside = _shifted_min(torch, rows, flat).reshape(n, n)
        inside = _shifted_max(torch, d, neg).expand(n, n)
        chosen = torch.where(farther.any(2), outside, inside)
        pos = same.to(d.dtype) - torch.eye(n, dtype=d.dtype)
        return torch.clamp((margin + d - chosen) * pos, min=0.0).sum() / pos.sum()
    return Formula(f"TF Addons triplet_semihard_loss(labels, emb, margin={margin}, distance_metric={metric!r}), "
                   "its algorithm in torch", fn, "emb", "labels",
                   note="TF Addons 0.23.0 algorithm (tensorflow_addons/losses/triplet.py), written in torch")


def tfa_hard(margin: float, soft: bool, metric: str) -> Call:
    def fn(torch: Any, emb: Any, labels: Any) -> Any:
        d = _tfa_pdist(torch, emb, metric)
        n = d.shape[0]
        same = labels[:, None] == labels[None, :]
        hn = _shifted_min(torch, d, (~same).to(d.dtype))
        hp = _shifted_max(torch, d, same.to(d.dtype) - torch.eye(n, dtype=d.dtype))
        z = hp - hn
        return (torch.log1p(torch.exp(z)) if soft else torch.clamp(z + margin, min=0.0)).mean()
    return Formula(f"TF Addons triplet_hard_loss(labels, emb, margin={margin}, soft={soft}, "
                   f"distance_metric={metric!r}), its algorithm in torch", fn, "emb", "labels",
                   note="TF Addons 0.23.0 algorithm, written in torch" + ("; its soft form has no margin" * soft))


def tfa_lifted(margin: float) -> Call:
    def fn(torch: Any, emb: Any, labels: Any) -> Any:
        d = _tfa_pdist(torch, emb, "L2")
        n = d.shape[0]
        same = labels[:, None] == labels[None, :]
        neg = (~same).to(d.dtype)
        z = margin - d
        top = _shifted_max(torch, z, neg)  # each row's largest m - d over its negatives
        big = torch.maximum(top, top.T)  # (i, j): the shift of the pair's log-sum-exp
        left = (torch.exp(z[None, :, :] - big[:, :, None]) * neg[None]).sum(2)  # [j, i]: Σ_k∈N(i) e^(z_ik - big_ij)
        pair = big + torch.log(left.T + left)
        pos = same.to(d.dtype) - torch.eye(n, dtype=d.dtype)
        return 0.25 * torch.clamp((pair + d) * pos, min=0.0).square().sum() / (pos.sum() / 2.0)
    return Formula(f"TF Addons lifted_struct_loss(labels, emb, margin={margin}), its algorithm in torch", fn,
                   "emb", "labels", note="TF Addons 0.23.0 algorithm (tensorflow_addons/losses/lifted.py), in torch")


def tfa_npairs() -> Call:
    def fn(torch: Any, a: Any, p: Any, labels: Any) -> Any:
        t = (labels[:, None] == labels[None, :]).to(a.dtype)
        t = t / t.sum(1, keepdim=True)
        return -(t * torch.log_softmax(a @ p.T, dim=1)).sum(1).mean()
    return Formula("TF Addons npairs_loss(labels, anchors @ positives.T), in torch", fn, "anchors", "positives",
                   "labels", note="TF Addons 0.23.0 npairs_loss: softmax cross-entropy against the row-normalised "
                                  "same-label matrix")


# -- the table -----------------------------------------------------------------------------------------

_TFA_METRIC = {"euclidean": "L2", "squared_euclidean": "squared-L2", "cosine": "angular"}
_XP_METRIC = {v: k for k, v in _TFA_METRIC.items()}


def cases() -> list[Case]:
    el = ("emb", "labels")
    g = ("emb",)
    out = []
    hard = ((1.0, False, "euclidean", False), (0.5, False, "squared_euclidean", False), (0.2, False, "cosine", False),
            (0.2, False, "euclidean", True), (0.5, True, "euclidean", False))
    for margin, soft, distance, normalize in hard:
        opts = {"margin": margin, "soft": soft, "distance": distance, "normalize": normalize}
        refs = [pml_hard(margin, soft, distance, normalize)]
        if not normalize and not soft:
            refs.append(tfa_hard(margin, False, _TFA_METRIC[distance]))
        out.append(Case("batch_hard_triplet/" + ",".join(f"{k}={v}" for k, v in opts.items()),
                        X("batch_hard_triplet", *el, **opts), tuple(refs), batch(FULL, distance, normalize, margin),
                        g))
    out += [
        Case("batch_hard_triplet/soft,margin=0", X("batch_hard_triplet", *el, margin=0.0, soft=True),
             (tfa_hard(1.0, True, "L2"),), batch(FULL, margin=0.0), g,
             note="TF Addons' soft form is softplus(hp - hn): xploss soft=True with margin=0"),
        Case("batch_hard_triplet/lone-anchor", X("batch_hard_triplet", *el),
             (pml_hard(1.0, False, "euclidean", False),), batch(LONE), g,
             note="an anchor without a positive: PML's miner drops it, as xploss (TF Addons counts it with hp = 0: "
                  "not compared)"),
        Case("batch_hard_triplet/sum", X("batch_hard_triplet", *el, reduction="sum"),
             (_scaled(pml_hard(1.0, False, "euclidean", False), N),), batch(FULL, scale=0.5), g,
             note="every anchor is kept: 'sum' is N × PML's mean"),
    ]
    for margin, distance in ((1.0, "euclidean"), (0.5, "squared_euclidean"), (0.3, "cosine")):
        out.append(Case(f"batch_semi_hard_triplet/margin={margin},distance={distance}",
                        X("batch_semi_hard_triplet", *el, margin=margin, distance=distance),
                        (tfa_semihard(margin, _TFA_METRIC[distance]),), batch(LONE, distance, False, margin), g))
    for margin, distance, normalize, average in ((1.0, "euclidean", False, "nonzero"), (0.5, "euclidean", False, "all"),
                                                 (0.2, "euclidean", True, "nonzero"), (0.2, "cosine", False, "all")):
        refs = [pml_all(margin, distance, normalize, average)]
        if average == "nonzero":
            refs.append(pml_all(margin, distance, normalize, average, miner=True))
        opts = {"margin": margin, "distance": distance, "normalize": normalize, "average": average}
        out.append(Case("batch_all_triplet/" + ",".join(f"{k}={v}" for k, v in opts.items()),
                        X("batch_all_triplet", *el, **opts), tuple(refs), batch(LONE, distance, normalize, margin), g))
    for margin, pos_margin, normalize in ((1.0, 0.0, False), (0.5, 0.2, True)):
        refs = [pml_lifted(margin, pos_margin, normalize)]
        if pos_margin == 0.0 and not normalize:
            refs.append(tfa_lifted(margin))
        out.append(Case(f"lifted_structure/margin={margin},pos_margin={pos_margin},normalize={normalize}",
                        X("lifted_structure", *el, margin=margin, pos_margin=pos_margin, normalize=normalize),
                        tuple(refs), batch(LONE, normalize=normalize, margin=100.0), g))
    for alpha, beta, base in ((2.0, 50.0, 0.5), (1.0, 10.0, 0.2)):
        out.append(Case(f"multi_similarity/alpha={alpha},beta={beta},base={base}",
                        X("multi_similarity", *el, alpha=alpha, beta=beta, base=base), (pml_ms(alpha, beta, base),),
                        batch(LONE, margin=100.0), g))
    ap = ("anchors", "positives")
    out += [
        Case("n_pairs/cosine", X("n_pairs", *ap, similarity="cosine"), (pml_npairs(),), pairs, ap),
        Case("n_pairs/labels", X("n_pairs", *ap, labels=In("labels")), (tfa_npairs(),), pairs, ap),
        Case("n_pairs/tfa-test_unweighted", X("n_pairs", *ap, labels=In("labels")),
             (recorded("npairs/unweighted"), tfa_npairs()), fixture("npairs/unweighted"), ap),
    ]
    # TF Addons' published fixtures (seed-0 arrays of its tests), value recorded + its algorithm for gradients
    for key, f in _fixtures().items():
        if not f["reproduced"] or "embeddings" not in f:
            continue
        if key.startswith("triplet_semihard"):
            metric = f["distance_metric"]
            call = X("batch_semi_hard_triplet", *el, margin=1.0, distance=_XP_METRIC[metric])
            algo = tfa_semihard(1.0, metric)
        elif key.startswith("triplet_hard"):
            metric, soft = f["distance_metric"], f["soft"]
            call = X("batch_hard_triplet", *el, margin=0.0 if soft else 1.0, soft=soft, distance=_XP_METRIC[metric])
            algo = tfa_hard(1.0, soft, metric)
        else:
            call = X("lifted_structure", *el)
            algo = tfa_lifted(1.0)
        out.append(Case(f"{call.name}/tfa-fixture:{key}", call, (recorded(key), algo), fixture(key), g,
                        note=f"{f['source']['path']}::{f['source']['test']}, {f['arrays']}"))
    return out


def _scaled(ref: Call, k: float) -> Call:
    inner = ref.fn
    return Formula(f"{k} × {ref.name}", lambda torch, *a: k * inner(torch, *a), *ref.args, note=ref.note)

"""Conformance cases of ``xploss.losses._contrastive``.

References: optax ``ntxent`` (JAX, bridged into torch autograd by ``optax_ref``), pytorch-metric-learning
``NTXentLoss``, ``SupConLoss`` and ``CircleLoss`` (library calls inside a ``Formula``), Keras ``Circle``,
and, as formulas written from their sources, SimCLR's ``add_contrastive_loss``, HobbitLong/SupContrast's
``SupConLoss`` (``contrast_mode="all"``), open_clip's ``ClipLoss`` and the plain InfoNCE cross-entropy.
Inputs are random Gaussian embeddings; labels put every anchor in a class of at least two (no positive-less
anchor, where the references' conventions differ).  Circle's negatives keep their cosine 1e-2 away from
``−m`` (the kink of ``α_n``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from .cases import Case, Formula, In, K, Tol, X
from .cases_binary import optax_ref

NV = 4  # samples per view (2 NV rows for NT-Xent)
DIM = 5


# -- inputs -----------------------------------------------------------------------------------

def _views(rng: np.random.Generator) -> dict:
    z1 = rng.normal(size=(NV, DIM))
    return {"z1": z1, "z2": z1 + 0.8 * rng.normal(size=(NV, DIM))}


def _queries(rng: np.random.Generator) -> dict:
    q = rng.normal(size=(6, DIM))
    keys = np.concatenate([q + 0.7 * rng.normal(size=q.shape), rng.normal(size=(3, DIM))])
    return {"q": q, "k": keys, "ql": np.array([0, 1, 2, 0, 1, 2]), "kl": np.array([0, 1, 2, 3, 0, 1, 2, 4, 5])}


def _supcon(rng: np.random.Generator) -> dict:
    labels = np.array([0, 1, 0, 2, 1, 2])
    f = rng.normal(size=(6, 2, DIM))
    f[:, 1] = f[:, 0] + 0.6 * rng.normal(size=(6, DIM))
    return {"f": f, "labels": labels, "cat": np.concatenate([f[:, 0], f[:, 1]]),
            "cat_labels": np.concatenate([labels, labels]), "one": f[:, 0], "ids": np.arange(6)}


def _clip(rng: np.random.Generator) -> dict:
    img = rng.normal(size=(6, DIM))
    return {"img": img, "txt": img + rng.normal(size=img.shape), "scale": np.array(14.3), "bias": np.array(-2.5)}


def _circle(m: float, shrink: float = 1.0) -> Callable:
    """Embeddings ``x`` (any norm), ``xn`` (unit norm, times ``shrink``: ``shrink < 1`` keeps the diagonal
    distance 1 − |x|² off the clamp's kink at 0), labels in classes of 2–3; negative cosines 2e-2 off −m."""
    def gen(rng: np.random.Generator) -> dict:
        labels = np.array([0, 0, 1, 1, 1, 2, 2, 3, 3])
        x = rng.normal(size=(labels.size, DIM))
        for _ in range(1000):
            xn = shrink * x / np.linalg.norm(x, axis=1, keepdims=True)
            bad = (labels[:, None] != labels[None, :]) & (np.abs(xn @ xn.T + m) < 2e-2)
            if not bad.any():
                return {"x": x * rng.uniform(0.5, 2.0, size=(labels.size, 1)), "xn": xn, "labels": labels}
            rows = np.any(bad, axis=1)
            x[rows] = rng.normal(size=(int(rows.sum()), DIM))
        raise RuntimeError("no circle sample off the α_n kink")
    return gen


# -- reference formulas (torch) ---------------------------------------------------------------

def _simclr(tau: float) -> Callable:
    """SimCLR ``add_contrastive_loss`` (tf2/objective.py), line by line in torch (hidden_norm=True)."""
    def fn(torch: Any, z1: Any, z2: Any) -> Any:
        F = torch.nn.functional
        h1, h2 = F.normalize(z1, dim=-1), F.normalize(z2, dim=-1)
        n = h1.shape[0]
        labels = torch.arange(n)
        masks = torch.eye(n, dtype=h1.dtype)
        aa = h1 @ h1.T / tau - masks * 1e9
        bb = h2 @ h2.T / tau - masks * 1e9
        ab, ba = h1 @ h2.T / tau, h2 @ h1.T / tau
        loss_a = F.cross_entropy(torch.cat([ab, aa], 1), labels)
        loss_b = F.cross_entropy(torch.cat([ba, bb], 1), labels)
        return loss_a + loss_b
    return fn


def _pml(name: str, **ctor: Any) -> Callable:
    """``pytorch_metric_learning.losses.<name>(**ctor)(embeddings, labels, ...)``."""
    def fn(torch: Any, *xs: Any) -> Any:
        from pytorch_metric_learning import losses

        return getattr(losses, name)(**ctor)(*xs)
    return fn


def _pml_ntxent(tau: float) -> Callable:
    def fn(torch: Any, z1: Any, z2: Any) -> Any:
        from pytorch_metric_learning import losses

        n = z1.shape[0]
        return losses.NTXentLoss(temperature=tau)(torch.cat([z1, z2]), torch.cat([torch.arange(n)] * 2))
    return fn


def _pml_ref(name: str, tau: float) -> Callable:
    """PML with reference embeddings: ``loss(q, ql, ref_emb=k, ref_labels=kl)`` (distinct label tensors)."""
    def fn(torch: Any, q: Any, ql: Any, k: Any, kl: Any) -> Any:
        from pytorch_metric_learning import losses

        return getattr(losses, name)(temperature=tau)(q, ql, ref_emb=k, ref_labels=kl)
    return fn


def _pml_diag(tau: float) -> Callable:
    def fn(torch: Any, q: Any, k: Any) -> Any:
        from pytorch_metric_learning import losses

        return losses.NTXentLoss(temperature=tau)(q, torch.arange(q.shape[0]), ref_emb=k,
                                                  ref_labels=torch.arange(k.shape[0]))
    return fn


def _info_nce(tau: float) -> Callable:
    def fn(torch: Any, q: Any, k: Any) -> Any:
        F = torch.nn.functional
        logits = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).T / tau
        return F.cross_entropy(logits, torch.arange(q.shape[0]))
    return fn


def _hobbitlong(tau: float, base: float, normalize: bool) -> Callable:
    """HobbitLong/SupContrast ``SupConLoss.forward`` (contrast_mode='all'), its source line by line."""
    def fn(torch: Any, features: Any, labels: Any) -> Any:
        if normalize:
            features = torch.nn.functional.normalize(features, dim=-1)
        batch_size = features.shape[0]
        labels = labels.contiguous().view(-1, 1)
        mask = torch.eq(labels, labels.T).to(features.dtype)
        contrast_count = features.shape[1]
        contrast_feature = torch.cat(torch.unbind(features, dim=1), dim=0)
        anchor_feature, anchor_count = contrast_feature, contrast_count
        anchor_dot_contrast = torch.div(torch.matmul(anchor_feature, contrast_feature.T), tau)
        logits_max, _ = torch.max(anchor_dot_contrast, dim=1, keepdim=True)
        logits = anchor_dot_contrast - logits_max.detach()
        mask = mask.repeat(anchor_count, contrast_count)
        logits_mask = torch.scatter(torch.ones_like(mask), 1, torch.arange(batch_size * anchor_count).view(-1, 1), 0)
        mask = mask * logits_mask
        exp_logits = torch.exp(logits) * logits_mask
        log_prob = logits - torch.log(exp_logits.sum(1, keepdim=True))
        mask_pos_pairs = mask.sum(1)
        mask_pos_pairs = torch.where(mask_pos_pairs < 1e-6, 1, mask_pos_pairs)
        mean_log_prob_pos = (mask * log_prob).sum(1) / mask_pos_pairs
        loss = -(tau / base) * mean_log_prob_pos
        return loss.view(anchor_count, batch_size).mean()
    return fn


def _open_clip(bias: bool) -> Callable:
    """open_clip ``ClipLoss`` (world_size 1) on ``F.normalize``-d features: (CE_rows + CE_cols) / 2."""
    def fn(torch: Any, img: Any, txt: Any, scale: Any, *b: Any) -> Any:
        F = torch.nn.functional
        i, t = F.normalize(img, dim=-1), F.normalize(txt, dim=-1)
        li, lt = scale * i @ t.T, scale * t @ i.T
        if bias:
            li, lt = li + b[0], lt + b[0]
        r = torch.arange(img.shape[0])
        return (F.cross_entropy(li, r) + F.cross_entropy(lt, r)) / 2
    return fn


# -- notes ------------------------------------------------------------------------------------

PML_SUPCON = ("PML SupConLoss: no τ/τ_base factor and AvgNonZeroReducer over anchors: "
              "base_temperature=None, count='nonzero' (every anchor here has a positive, so 'positives' agrees)")
CIRCLE_PML = "PML detaches α_p, α_n (detach_weights=True) and normalises (normalize=True); inputs not unit-norm"
CIRCLE_KERAS = ("Keras differentiates α_p, α_n and does not normalise: normalize=False on unit-norm inputs; "
                "'mean' = Keras' mask loss > 0")


SCALE_NOTE = ("the logit_scale gradient is tested in tests/test_contrastive.py: the runner's torch converter "
              "(np.ascontiguousarray) turns the 0-d scale into shape (1,), so its gradient has shape (1,) there")
GAMMA_TOL = Tol("γ = 80 (32) multiplies the float32 rounding of each cosine (6e-8) by γ·α ≈ 110 in the logits and "
                "the gradient: ~2e-5 relative on the largest entries", float32=5e-5)


def cases() -> list:
    tau = 0.5
    nt = X("nt_xent", "z1", "z2", temperature=tau)
    optax_nt = optax_ref(f"ntxent(concat([z1, z2]), concat([arange(N)] * 2), {tau})",
                         lambda ol, a, b: ol.ntxent(_jnp().concatenate([a, b]),
                                                    _jnp().concatenate([_jnp().arange(a.shape[0])] * 2), tau),
                         "z1", "z2")
    return [
        Case("nt_xent", nt, (optax_nt, Formula(f"NTXentLoss({tau})(cat([z1, z2]), cat([arange(N)] * 2))",
                                               _pml_ntxent(tau), "z1", "z2")), _views, ("z1", "z2")),
        Case("nt_xent/simclr-sum", X("nt_xent", "z1", "z2", temperature=0.1, directions="sum"),
             (Formula("SimCLR add_contrastive_loss(cat([z1, z2]), hidden_norm=True, temperature=0.1)",
                      _simclr(0.1), "z1", "z2"),), _views, ("z1", "z2")),
        Case("info_nce", X("info_nce", "q", "k", temperature=0.2),
             (Formula("F.cross_entropy(normalize(q) @ normalize(k).T / 0.2, arange(N))", _info_nce(0.2), "q", "k"),
              Formula("NTXentLoss(0.2)(q, arange(N), ref_emb=k, ref_labels=arange(M))", _pml_diag(0.2), "q", "k")),
             _queries, ("q", "k")),
        Case("info_nce/labels", X("info_nce", "q", "k", temperature=0.2, labels=In("ql"), key_labels=In("kl")),
             (Formula("SupConLoss(0.2)(q, ql, ref_emb=k, ref_labels=kl)", _pml_ref("SupConLoss", 0.2),
                      "q", "ql", "k", "kl"),), _queries, ("q", "k")),
        Case("supcon", X("supcon", "f", "labels", temperature=0.1, base_temperature=0.07),
             (Formula("HobbitLong SupConLoss(0.1, 'all', 0.07)(normalize(f), labels)", _hobbitlong(0.1, 0.07, True),
                      "f", "labels"),), _supcon, ("f",)),
        Case("supcon/raw", X("supcon", "f", "labels", temperature=0.3, base_temperature=0.07, normalize=False),
             (Formula("HobbitLong SupConLoss(0.3, 'all', 0.07)(f, labels)", _hobbitlong(0.3, 0.07, False),
                      "f", "labels"),), _supcon, ("f",)),
        Case("supcon/pml", X("supcon", "cat", "cat_labels", temperature=0.1, base_temperature=None, count="nonzero"),
             (Formula("SupConLoss(0.1)(cat, cat_labels)", _pml("SupConLoss", temperature=0.1), "cat", "cat_labels",
                      note=PML_SUPCON),), _supcon, ("cat",)),
        Case("supcon/ntxent", X("supcon", "f", "ids", temperature=0.2, base_temperature=None),
             (optax_ref("ntxent(concat([f[:, 0], f[:, 1]]), concat([arange(N)] * 2), 0.2)",
                        lambda ol, f: ol.ntxent(_jnp().concatenate([f[:, 0], f[:, 1]]),
                                                _jnp().concatenate([_jnp().arange(f.shape[0])] * 2), 0.2),
                        "f", note="two views, distinct labels: SupCon is NT-Xent (no τ factor)"),), _supcon, ("f",)),
        Case("clip", X("clip", "img", "txt", "scale"),
             (Formula("(F.cross_entropy(s·Î T̂ᵀ, r) + F.cross_entropy(s·T̂ Îᵀ, r)) / 2", _open_clip(False),
                      "img", "txt", "scale"),), _clip, ("img", "txt"), note=SCALE_NOTE),
        Case("clip/bias", X("clip", "img", "txt", "scale", logit_bias=In("bias")),
             (Formula("(F.cross_entropy(s·Î T̂ᵀ + b, r) + F.cross_entropy(s·T̂ Îᵀ + b, r)) / 2", _open_clip(True),
                      "img", "txt", "scale", "bias"),), _clip, ("img", "txt"), note=SCALE_NOTE),
        Case("circle", X("circle", "xn", "labels", normalize=False),
             (K("Circle", "labels", "xn", ctor={"gamma": 80.0, "margin": 0.4}, note=CIRCLE_KERAS, tol=GAMMA_TOL),),
             _circle(0.4), ("xn",)),
        Case("circle/pml", X("circle", "x", "labels", detach_weights=True),
             (replace(Formula("CircleLoss(m=0.4, gamma=80)(x, labels)", _pml("CircleLoss", m=0.4, gamma=80), "x",
                              "labels", note=CIRCLE_PML), tol=GAMMA_TOL),), _circle(0.4), ("x",)),
        Case("circle/keras-remove_diagonal-false", X("circle", "xn", "labels", normalize=False, gamma=32.0,
                                                     margin=0.25, remove_diagonal=False),
             (K("Circle", "labels", "xn", ctor={"gamma": 32.0, "margin": 0.25, "remove_diagonal": False},
                note=CIRCLE_KERAS, tol=GAMMA_TOL),), _circle(0.25, shrink=0.99), ("xn",)),
    ]


def _jnp() -> Any:
    import jax.numpy as jnp

    return jnp

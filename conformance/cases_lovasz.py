"""Conformance cases of ``xploss.losses._lovasz``.

References: segmentation_models_pytorch 0.6.0 ``LovaszLoss`` (loaded from its installed files without
its package ``__init__``: :mod:`conformance.stubs`; it computes in float32 only, BUILTINS-2 §2.2), and
Berman et al.'s reference code (``lovasz_losses.py`` of bermanmaxim/LovaszSoftmax: ``lovasz_grad``,
``lovasz_softmax_flat``, ``lovasz_hinge_flat``) written out in torch for the float64 rows and for the
options SMP lacks (probabilities as input, ``classes="all"``).  Logits are drawn continuous, so no two
errors tie (ties split the gradient in the sort's order, which differs between frameworks).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .cases import Case, Formula, X

N, C, H, W = 2, 3, 4, 5
VOID = 7
SMP_NOTE = "segmentation_models_pytorch 0.6.0 (float32 only: its _lovasz_grad casts to float32)"
BERMAN_NOTE = "Berman et al.'s reference code (bermanmaxim/LovaszSoftmax lovasz_losses.py) written in torch"


def _maps(void: bool, binary: bool = False) -> Any:
    def gen(rng: np.random.Generator) -> dict:
        z = rng.normal(scale=2.0, size=(N, C, H, W))
        y = rng.integers(0, 2 if binary else C, size=(N, H, W))
        if void:
            y[rng.random(size=y.shape) < 0.2] = VOID
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        return {"z": z, "y": y, "p": p, "x": z[:, 0], "zl": np.moveaxis(z, 1, -1)}
    return gen


# -- Berman's code in torch --------------------------------------------------------------------------

def _grad(torch: Any, gt_sorted: Any) -> Any:
    gts = gt_sorted.sum()
    intersection = gts - gt_sorted.cumsum(0)
    union = gts + (1 - gt_sorted).cumsum(0)
    jaccard = 1.0 - intersection / union
    if len(gt_sorted) > 1:
        jaccard[1:] = jaccard[1:] - jaccard[:-1].clone()
    return jaccard


def _softmax_flat(torch: Any, probas: Any, labels: Any, classes: str) -> Any:
    losses = []
    for c in range(probas.shape[1]):
        fg = (labels == c).to(probas.dtype)
        if classes == "present" and fg.sum() == 0:
            continue
        errors = (fg - probas[:, c]).abs()
        errors_sorted, perm = torch.sort(errors, 0, descending=True)
        losses.append(torch.dot(errors_sorted, _grad(torch, fg[perm])))
    return torch.stack(losses).mean() if losses else probas.sum() * 0.0


def _flatten(torch: Any, probas: Any, labels: Any, ignore: int | None) -> tuple:
    c = probas.shape[1]
    probas = probas.permute(0, 2, 3, 1).reshape(-1, c)
    labels = labels.reshape(-1)
    if ignore is None:
        return probas, labels
    valid = labels != ignore
    return probas[valid], labels[valid]


def berman_softmax(per_image: bool, classes: str = "present", ignore: int | None = None,
                   logits: bool = True) -> Any:
    def fn(torch: Any, z: Any, y: Any) -> Any:
        probas = z.softmax(1) if logits else z
        if per_image:
            return torch.stack([_softmax_flat(torch, *_flatten(torch, p[None], l[None], ignore), classes)
                                for p, l in zip(probas, y)]).mean()
        return _softmax_flat(torch, *_flatten(torch, probas, y, ignore), classes)
    arg = "z" if logits else "p"
    text = (f"lovasz_softmax({'softmax(z, 1)' if logits else 'p'}, y, classes={classes!r}, per_image={per_image}"
            f"{'' if ignore is None else f', ignore={ignore}'})")
    return Formula(text, fn, arg, "y", note=BERMAN_NOTE)


def _hinge_flat(torch: Any, logits: Any, labels: Any) -> Any:
    signs = 2.0 * labels.to(logits.dtype) - 1.0
    errors = 1.0 - logits * signs
    errors_sorted, perm = torch.sort(errors, dim=0, descending=True)
    return torch.dot(torch.relu(errors_sorted), _grad(torch, labels[perm].to(logits.dtype)))


def berman_hinge(per_image: bool, ignore: int | None = None) -> Any:
    def fn(torch: Any, x: Any, y: Any) -> Any:
        def flat(x: Any, y: Any) -> tuple:
            x, y = x.reshape(-1), y.reshape(-1)
            return (x, y) if ignore is None else (x[y != ignore], y[y != ignore])
        if per_image:
            return torch.stack([_hinge_flat(torch, *flat(a, b)) for a, b in zip(x, y)]).mean()
        return _hinge_flat(torch, *flat(x, y))
    text = f"lovasz_hinge(x, y, per_image={per_image}{'' if ignore is None else f', ignore={ignore}'})"
    return Formula(text, fn, "x", "y", note=BERMAN_NOTE)


# -- segmentation_models_pytorch ----------------------------------------------------------------------

def smp(mode: str, per_image: bool, ignore: int | None = None) -> Any:
    def fn(torch: Any, x: Any, y: Any) -> Any:
        from . import stubs

        loss = stubs.load("segmentation_models_pytorch.losses.lovasz").LovaszLoss(mode, per_image=per_image,
                                                                                  ignore_index=ignore)
        return loss(x if mode == "multiclass" else x[:, None], y if mode == "multiclass" else y[:, None])
    ign = "" if ignore is None else f", ignore_index={ignore}"
    arg = "z" if mode == "multiclass" else "x"
    return Formula(f"segmentation_models_pytorch.losses.LovaszLoss({mode!r}, per_image={per_image}{ign})({arg}, y)",
                   fn, arg, "y", note=SMP_NOTE)


def cases() -> list[Case]:
    out = []
    for per_image in (False, True):
        per = "sample" if per_image else "batch"
        for ignore in (None, VOID):
            tag = f"lovasz_softmax/per={per}" + ("" if ignore is None else ",ignore_index")
            opts = {"axis": 1, "from_logits": True, "per": per}
            if ignore is not None:
                opts["ignore_index"] = ignore
            out.append(Case(tag, X("lovasz_softmax", "z", "y", **opts),
                            (berman_softmax(per_image, ignore=ignore),), _maps(ignore is not None), ("z",)))
            out.append(Case(tag + ",smp", X("lovasz_softmax", "z", "y", **opts),
                            (smp("multiclass", per_image, ignore),), _maps(ignore is not None), ("z",),
                            dtypes=("float32",), note=SMP_NOTE))
            htag = f"lovasz_hinge/per={per}" + ("" if ignore is None else ",ignore_index")
            hopts = {"per": per} if ignore is None else {"per": per, "ignore_index": ignore}
            out.append(Case(htag, X("lovasz_hinge", "x", "y", **hopts), (berman_hinge(per_image, ignore),),
                            _maps(ignore is not None, binary=True), ("x",)))
            out.append(Case(htag + ",smp", X("lovasz_hinge", "x", "y", **hopts), (smp("binary", per_image, ignore),),
                            _maps(ignore is not None, binary=True), ("x",), dtypes=("float32",), note=SMP_NOTE))
    out += [
        Case("lovasz_softmax/probs,classes=all", X("lovasz_softmax", "p", "y", axis=1, classes="all"),
             (berman_softmax(False, classes="all", logits=False),), _maps(False), ("p",),
             note="probabilities as input (SMP always applies a softmax)"),
        Case("lovasz_softmax/channels-last,per=sample",
             X("lovasz_softmax", "zl", "y", axis=-1, from_logits=True, per="sample"),
             (_channels_last(berman_softmax(True)),), _maps(False), ("zl",)),
        Case("lovasz_softmax/none", X("lovasz_softmax", "z", "y", axis=1, from_logits=True, per="sample",
                                      reduction="none"),
             (_per_image(berman_softmax(True)),), _maps(False), ("z",)),
    ]
    return out


def _per_image(ref: Any) -> Any:
    """The per-image losses (reduction 'none') of a per-image reference."""
    def fn(torch: Any, z: Any, y: Any) -> Any:
        return torch.stack([ref.fn(torch, z[i:i + 1], y[i:i + 1]) for i in range(z.shape[0])])
    return Formula(ref.name.replace("per_image=True", "per_image=True) per image: ("), fn, *ref.args, note=ref.note)


def _channels_last(ref: Any) -> Any:
    """A channels-first reference fed the channels-last logits ``zl`` (moved to channels first inside)."""
    def fn(torch: Any, zl: Any, y: Any) -> Any:
        return ref.fn(torch, zl.permute(0, 3, 1, 2), y)
    return Formula(ref.name.replace("(softmax(z, 1)", "(softmax(zl.permute(0, 3, 1, 2), 1)"), fn, "zl", "y",
                   note=ref.note)

"""Conformance rows of the ``xploss.torch`` criteria against the ``torch.nn`` module of the same name.

Each row builds ``xploss.torch.<Class>(**ctor)`` and ``torch.nn.<Class>(**ctor)``
with the same constructor arguments (``In(name)`` passes an input array, e.g.
the class ``weight``) and compares values and gradients for every reduction
(``"batchmean"`` too for ``KLDivLoss``).  The criteria are torch-only: the rows
run on the torch backend.  Inputs come from the generators of the other case
modules (kept away from kinks and clip edges).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import cases_binary, cases_margin, cases_softmax
from .cases import C, Call, Case, D, In, N, counts, gaussians, logits, residuals, triplets

__all__ = ["XT", "M", "cases"]

REDUCTIONS = ("mean", "sum", "none")


def XT(name: str, *args: str, ctor: dict | None = None) -> Call:
    """``xploss.torch.<name>(**ctor)(*args)`` (the criterion under test)."""
    return Call("xploss", f"torch.{name}", args, ctor=dict(ctor or {}))


def M(name: str, *args: str, ctor: dict | None = None, note: str = "") -> Call:
    """``torch.nn.<name>(**ctor)(*args)`` (the reference module)."""
    return Call("module", name, args, ctor=dict(ctor or {}), note=note)


def _column_weights(gen: Callable) -> Callable:
    """Add ``cw``: a weight per column (the last axis), broadcast by torch over the rows."""
    def wrapped(rng: np.random.Generator) -> dict:
        out = gen(rng)
        return {**out, "cw": rng.uniform(0.2, 2.0, D)}
    return wrapped


def _rows() -> list[tuple[str, str, tuple, dict, Callable, tuple, tuple]]:
    """(label, class, args, ctor, inputs, grads, reductions): the declaration of every row."""
    pt, gauss, zl = ("pred", "target"), ("pred", "target", "var"), ("logits", "labels")
    cw = {"weight": In("cw")}
    kl = (*REDUCTIONS, "batchmean")
    margin = cases_margin._scored(cases_margin._margin_ok(1.0), cases_margin._labels)
    margin_half = cases_margin._scored(cases_margin._margin_ok(0.5), cases_margin._labels)
    return [
        ("", "MSELoss", pt, {}, residuals(), pt, REDUCTIONS),
        ("", "L1Loss", pt, {}, residuals((0.0,)), pt, REDUCTIONS),
        ("delta=0.5", "HuberLoss", pt, {"delta": 0.5}, residuals((0.0, 0.5)), pt, REDUCTIONS),
        ("beta=0.5", "SmoothL1Loss", pt, {"beta": 0.5}, residuals((0.0, 0.5)), pt, REDUCTIONS),
        ("", "PoissonNLLLoss", pt, {}, counts(True), pt, REDUCTIONS),
        ("rate", "PoissonNLLLoss", pt, {"log_input": False}, counts(False), pt, REDUCTIONS),
        ("full", "PoissonNLLLoss", pt, {"full": True}, counts(True, low=1), pt, REDUCTIONS),
        ("", "GaussianNLLLoss", gauss, {}, gaussians((N, D)), gauss, REDUCTIONS),
        ("full,var=(N,)", "GaussianNLLLoss", gauss, {"full": True}, gaussians((N,)), gauss, REDUCTIONS),
        ("var=(N,1),below-eps", "GaussianNLLLoss", gauss, {}, gaussians((N, 1), 0.3), gauss, REDUCTIONS),
        ("", "KLDivLoss", ("log_q", "p"), {}, cases_softmax.softmax_inputs(), ("log_q", "p"), kl),
        ("log_target", "KLDivLoss", ("log_q", "log_p"), {"log_target": True}, cases_softmax.softmax_inputs(),
         ("log_q", "log_p"), kl),
        ("", "CrossEntropyLoss", zl, {}, logits(), ("logits",), REDUCTIONS),
        ("weight,ignore", "CrossEntropyLoss", zl, cw, logits(ignore=-100), ("logits",), REDUCTIONS),
        ("weight,ignore,smoothing", "CrossEntropyLoss", zl, {**cw, "label_smoothing": 0.2}, logits(ignore=-100),
         ("logits",), REDUCTIONS),
        ("ignore_index=1", "CrossEntropyLoss", zl, {"ignore_index": 1}, logits(ignore=1), ("logits",), REDUCTIONS),
        ("K-dim,weight,ignore", "CrossEntropyLoss", zl, cw, logits((4, C, 3), axis=1, ignore=-100), ("logits",),
         REDUCTIONS),
        ("probs,weight,smoothing", "CrossEntropyLoss", ("logits", "probs"), {**cw, "label_smoothing": 0.1},
         logits(), ("logits", "probs"), REDUCTIONS),
        ("K-dim-probs", "CrossEntropyLoss", ("logits", "probs"), {}, logits((4, C, 3), axis=1),
         ("logits", "probs"), REDUCTIONS),
        ("weight,ignore", "NLLLoss", ("log_probs", "labels"), cw, cases_softmax.softmax_inputs(ignore=-100),
         ("log_probs",), REDUCTIONS),
        ("K-dim,weight,ignore", "NLLLoss", ("log_probs", "labels"), cw,
         cases_softmax.softmax_inputs((4, C, 3), axis=1, ignore=-100), ("log_probs",), REDUCTIONS),
        ("", "BCELoss", ("probs", "labels"), {}, cases_binary.probabilities(), ("probs", "labels"), REDUCTIONS),
        ("weight=(N,D)", "BCELoss", ("probs", "labels"), {"weight": In("w_full")}, cases_binary.probabilities(),
         ("probs", "labels"), REDUCTIONS),
        ("weight=(D,)", "BCELoss", ("probs", "labels"), cw, _column_weights(cases_binary.probabilities()),
         ("probs", "labels"), REDUCTIONS),
        ("", "BCEWithLogitsLoss", zl, {}, cases_binary.logits(), zl, REDUCTIONS),
        ("weight=(D,),pos_weight", "BCEWithLogitsLoss", zl, {**cw, "pos_weight": In("pw")}, cases_binary.logits(),
         zl, REDUCTIONS),
        ("weight=(N,D)", "BCEWithLogitsLoss", zl, {"weight": In("w_full")}, cases_binary.logits(), zl, REDUCTIONS),
        ("", "SoftMarginLoss", ("logits", "pm1"), {}, cases_binary.logits(), ("logits",), REDUCTIONS),
        ("weight", "MultiLabelSoftMarginLoss", zl, cw, cases_binary.logits(), zl, REDUCTIONS),
        ("", "MultiMarginLoss", zl, {}, margin, ("logits",), REDUCTIONS),
        ("p=2,margin=0.5,weight", "MultiMarginLoss", zl, {"p": 2, "margin": 0.5, **cw}, margin_half, ("logits",),
         REDUCTIONS),
        ("", "MultiLabelMarginLoss", zl, {}, cases_margin._scored(cases_margin._lists_ok, cases_margin._lists),
         ("logits",), REDUCTIONS),
        ("", "TripletMarginLoss", ("anchor", "positive", "negative"), {}, triplets(1.0, 2.0, False),
         ("anchor", "positive", "negative"), REDUCTIONS),
        ("p=1,swap", "TripletMarginLoss", ("anchor", "positive", "negative"), {"p": 1.0, "swap": True},
         triplets(1.0, 1.0, True), ("anchor", "positive", "negative"), REDUCTIONS),
    ]


_NOTES = {
    "CrossEntropyLoss": "'mean' with weight and index targets is torch's Σ w_y·l / Σ w_y (xploss 'weighted_mean')",
    "NLLLoss": "'mean' with weight is torch's Σ w_y·l / Σ w_y (xploss 'weighted_mean')",
    "BCELoss": "torch's weight rescales each element (broadcast to the input); 'mean' divides by numel",
    "BCEWithLogitsLoss": "torch's weight rescales each element (broadcast to the input); 'mean' divides by numel",
    "KLDivLoss": "elementwise (xploss axis=None); 'batchmean' = sum / input.size(0)",
    "MultiMarginLoss": "'mean' divides by N, not by Σ w_y (torch and xploss)",
}


def cases() -> list[Case]:
    out = []
    for label, cls, args, ctor, inputs, grads, reductions in _rows():
        for red in reductions:
            opts: dict[str, Any] = {**ctor, "reduction": red}
            cid = f"torch.{cls}" + (f"/{label}" if label else "") + (f"/{red}" if red != "mean" else "")
            out.append(Case(cid, XT(cls, *args, ctor=opts), (M(cls, *args, ctor=opts, note=_NOTES.get(cls, "")),),
                            inputs, grads, backends=("torch",)))
    return out

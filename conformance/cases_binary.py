"""Conformance cases of the binary classification losses (extends ``cases.py``).

Built-ins: torch ``F.binary_cross_entropy``, ``F.binary_cross_entropy_with_logits``
(``pos_weight``, ``weight``), ``F.soft_margin_loss``,
``F.multilabel_soft_margin_loss``; Keras ``BinaryCrossentropy`` (both modes,
label smoothing), ``BinaryFocalCrossentropy`` (both modes, balancing),
``Hinge``, ``SquaredHinge``; optax ``sigmoid_binary_cross_entropy``,
``sigmoid_focal_loss`` and ``hinge_loss``, run in JAX and bridged into torch's
autograd (:func:`optax_ref`); torchvision's ``sigmoid_focal_loss`` as its
formula (torchvision is not installed).  Probabilities stay in [0.02, 0.98] and
hinge slacks ``GAP`` away from 0, except in the ``edges`` / ``extreme`` cases,
which put probabilities at exactly 0 and 1 and logits at ±1e4.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .cases import Call, Case, D, Formula, In, K, N, T, X, _away

# -- notes -----------------------------------------------------------------------------------

EDGE_NOTE = ("probabilities exactly 0 and 1 (BUILTINS §2.1-2.2, §3.3): torch clamps each log at −100, so a certain "
             "wrong prediction costs 100, with its analytic gradient (p − y)/max(p(1 − p), 1e-12) = ∓1e12 "
             "(xploss eps=None); Keras clips p to [1e-7, 1 − 1e-7]: 16.118, and 15.942 for (y=0, p=1) in float32 "
             "where 1 − 1e-7 rounds to 1 − 1.19e-7, with a zero gradient (xploss eps=1e-7).  The built-ins disagree "
             "with each other here; each xploss mode matches its own")
EDGE_LABEL_NOTE = ("labels gradient not compared: torch's is log(1 − p) − log p unclamped (±inf at p ∈ {0, 1}); "
                   "xploss differentiates its clamped value (finite, ±100)")
KERAS_TF_FOCAL = ("Keras' TensorFlow backend: sigmoid() tags its output with the logits and the BCE switches to "
                  "sigmoid_cross_entropy_with_logits (unclipped).  Keras' JAX/torch/NumPy backends clip σ(z) to "
                  "[1e-7, 1 − 1e-7] and differ for |z| > ~16 (BUILTINS §2.1, §2.17)")
OPTAX_HARD = ("optax' labels gradient is lost at hard labels: jax.scipy.special.logsumexp masks the b = 0 term "
              "(where(b != 0, a, −inf)), so d/dlabels misses (σ(−z) − σ(z))·∂/∂(1 − p_t); compared with soft labels "
              "in 'sigmoid_focal/soft'")
TORCHVISION_NAN = ("torchvision's (1 − p_t)**γ has a NaN gradient where p_t rounds to 1 for γ < 1 (kornia#918, "
                   "optax#1267): the extreme γ = 0.5 rows compare with optax' log-space form only")
TORCH_OVERFLOW = "torch computes log(1 + exp(−y·z)): inf for y·z < −88 in float32 (xploss: softplus, finite)"

# -- optax, bridged into torch autograd --------------------------------------------------------

_BRIDGE: dict[str, Any] = {}


def _jax_function(torch: Any) -> Any:
    """A ``torch.autograd.Function`` running ``fn(optax.losses, *arrays)`` in JAX (``jax.vjp`` backward)."""
    if "fn" not in _BRIDGE:
        import jax.numpy as jnp

        def to_jax(t: Any) -> Any:
            return jnp.asarray(t.detach().cpu().numpy())

        def to_torch(a: Any) -> Any:
            return torch.from_numpy(np.array(a))

        class JaxCall(torch.autograd.Function):
            @staticmethod
            def forward(ctx: Any, fn: Callable, *xs: Any) -> Any:
                import jax
                import optax

                out, ctx.pullback = jax.vjp(lambda *a: fn(optax.losses, *a), *map(to_jax, xs))
                return to_torch(out)

            @staticmethod
            def backward(ctx: Any, g: Any) -> tuple:
                return (None, *map(to_torch, ctx.pullback(to_jax(g))))

        _BRIDGE["fn"] = JaxCall
    return _BRIDGE["fn"]


def optax_ref(text: str, fn: Callable, *args: str, note: str = "") -> Call:
    """``fn(optax.losses, *jax_arrays)`` as a reference: evaluated by JAX (float64 with x64), gradients
    by ``jax.vjp``, handed to the torch leg through an autograd bridge."""
    def run(torch: Any, *ts: Any) -> Any:
        return _jax_function(torch).apply(fn, *ts)
    return Formula(f"optax.losses.{text}", run, *args, note=note or "optax (JAX) via a torch autograd bridge")


def _torchvision_focal(alpha: float, gamma: float) -> Callable:
    """torchvision.ops.sigmoid_focal_loss(reduction="mean"), its source line by line."""
    def fn(torch: Any, x: Any, y: Any) -> Any:
        p = torch.sigmoid(x)
        ce = torch.nn.functional.binary_cross_entropy_with_logits(x, y, reduction="none")
        p_t = p * y + (1 - p) * (1 - y)
        loss = ce * ((1 - p_t) ** gamma)
        if alpha >= 0:
            loss = (alpha * y + (1 - alpha) * (1 - y)) * loss
        return loss.mean()
    return fn


# -- generators ------------------------------------------------------------------------------

def _labels(rng: np.random.Generator, shape: tuple) -> dict:
    """``labels`` soft with hard rows, ``hard`` 0/1, ``soft`` strictly inside (0, 1), ``pm1`` ±1."""
    soft = rng.uniform(0.05, 0.95, shape)
    hard = rng.integers(0, 2, shape).astype(float)
    labels = soft.copy()
    labels[: shape[0] // 2] = hard[: shape[0] // 2]
    return {"labels": labels, "hard": hard, "soft": soft, "pm1": 2.0 * hard - 1.0}


def _weights(rng: np.random.Generator, out: dict, key: str) -> dict:
    w = rng.uniform(0.2, 2.0, out[key].shape[0])
    out.update(w=w, w_full=np.broadcast_to(np.reshape(w, w.shape + (1,) * (out[key].ndim - 1)),
                                          out[key].shape).copy())
    return out


def probabilities(edges: bool = False) -> Callable:
    """``probs`` in [0.02, 0.98] (off Keras' clip); with ``edges`` a third of them exactly 0 or 1,
    among them certain wrong and certain right predictions."""
    def gen(rng: np.random.Generator) -> dict:
        out = _labels(rng, (N, D))
        p = rng.uniform(0.02, 0.98, (N, D))
        if edges:
            at = rng.random((N, D)) < 0.35
            p[at] = rng.integers(0, 2, int(at.sum()))
            p[0, :2] = 1.0 - out["labels"][0, :2]  # certain and wrong (row 0 is hard)
            p[1, :2] = out["labels"][1, :2]  # certain and right
        out["probs"] = p
        return _weights(rng, out, "probs")
    return gen


def logits(shape: tuple = (N, D), extreme: bool = False) -> Callable:
    """``logits`` ~ N(0, 2²) (with ``extreme``: a third at ±1e4, some at ±50 and ±800), labels, weights,
    ``pw`` positive weights of the last axis and ``cw`` class weights."""
    def gen(rng: np.random.Generator) -> dict:
        z = 2.0 * rng.normal(size=shape)
        if extreme:
            z[rng.random(shape) < 0.35] = 1e4
            z[rng.random(shape) < 0.2] = -1e4
            z.flat[:4] = [50.0, -50.0, 800.0, -800.0]
        out = {"logits": z, **_labels(rng, shape), "pw": rng.uniform(0.3, 3.0, shape[-1]),
               "cw": rng.uniform(0.2, 2.0, shape[-1])}
        return _weights(rng, out, "logits")
    return gen


def scores(rng: np.random.Generator) -> dict:
    """Hinge scores with the slack 1 − ỹ·p GAP away from 0; labels 0/1, ±1 and mixed {−1, 0, 1}."""
    hard = rng.integers(0, 2, (N, D)).astype(float)
    pm1 = 2.0 * hard - 1.0
    pred = pm1 * (1.0 - _away(rng, (N, D), -2.0, 2.0, (0.0,)))
    mixed = pm1.copy()
    mixed[rng.random((N, D)) < 0.2] = 0.0  # Keras keeps these labels as is: loss max(1, 0) = 1
    return _weights(rng, {"pred": pred, "y01": hard, "ypm": pm1, "mixed": mixed}, "pred")


# -- the table -------------------------------------------------------------------------------

def _bce_cases() -> list[Case]:
    py, yp = ("probs", "labels"), ("labels", "probs")
    keras = {"eps": 1e-7}
    cases = [
        Case("binary_cross_entropy", X("binary_cross_entropy", *py), (T("binary_cross_entropy", *py),),
             probabilities(), py),
        Case("binary_cross_entropy/weight", X("binary_cross_entropy", *py, sample_weight=In("w")),
             (T("binary_cross_entropy", *py, weight=In("w_full")),), probabilities(), py,
             note="torch's 'mean' divides by the element count even with weight=, as xploss 'mean'"),
        Case("binary_cross_entropy/keras", X("binary_cross_entropy", *py, **keras),
             (K("BinaryCrossentropy", *yp),), probabilities(), py),
        Case("binary_cross_entropy/keras+smoothing+weight",
             X("binary_cross_entropy", *py, eps=1e-7, label_smoothing=0.1, sample_weight=In("w")),
             (K("BinaryCrossentropy", *yp, ctor={"label_smoothing": 0.1}, sample_weight=In("w")),),
             probabilities(), py, note="Keras smooths binary labels to y(1 − ls) + ls/2"),
        Case("binary_cross_entropy/edges-torch", X("binary_cross_entropy", *py),
             (T("binary_cross_entropy", *py, note=EDGE_LABEL_NOTE),), probabilities(edges=True), ("probs",),
             note=EDGE_NOTE),
        Case("binary_cross_entropy/edges-keras", X("binary_cross_entropy", *py, **keras),
             (K("BinaryCrossentropy", *yp),), probabilities(edges=True), py, note=EDGE_NOTE),
    ]
    for red in ("sum", "none"):
        cases.append(Case(f"binary_cross_entropy/{red}", X("binary_cross_entropy", *py, reduction=red),
                          (T("binary_cross_entropy", *py, reduction=red),), probabilities(), py))
    return cases


def _sigmoid_bce_cases() -> list[Case]:
    zy, yz = ("logits", "labels"), ("labels", "logits")
    sbce = "sigmoid_binary_cross_entropy"
    optax = optax_ref("sigmoid_binary_cross_entropy(logits, labels).mean()",
                      lambda ol, z, y: ol.sigmoid_binary_cross_entropy(z, y).mean(), *zy)
    plain = (T("binary_cross_entropy_with_logits", *zy), K("BinaryCrossentropy", *yz, ctor={"from_logits": True}),
             optax)
    cases = [
        Case(sbce, X(sbce, *zy), plain, logits(), zy),
        Case(f"{sbce}/extreme", X(sbce, *zy), plain, logits(extreme=True), zy,
             note="logits at ±1e4, ±800, ±50: only logit-stable built-ins (BUILTINS §3.6)"),
        Case(f"{sbce}/pos_weight+weight", X(sbce, *zy, pos_weight=In("pw"), sample_weight=In("w")),
             (T("binary_cross_entropy_with_logits", *zy, weight=In("w_full"), pos_weight=In("pw")),), logits(), zy,
             note="pos_weight of shape (D,) broadcast along the last axis"),
        Case(f"{sbce}/pos_weight K-dim extreme", X(sbce, *zy, pos_weight=In("pw")),
             (T("binary_cross_entropy_with_logits", *zy, pos_weight=In("pw")),), logits((4, 3, D), extreme=True), zy),
        Case(f"{sbce}/label_smoothing", X(sbce, *zy, label_smoothing=0.2),
             (K("BinaryCrossentropy", *yz, ctor={"from_logits": True, "label_smoothing": 0.2}),), logits(), zy,
             note="torch BCEWithLogits has no smoothing: pass y(1 − ls) + ls/2 as its target"),
        Case("binary_cross_entropy_with_logits/alias", X("binary_cross_entropy_with_logits", *zy),
             (T("binary_cross_entropy_with_logits", *zy),), logits(), zy),
    ]
    for red in ("sum", "none"):
        cases.append(Case(f"{sbce}/{red}", X(sbce, *zy, pos_weight=In("pw"), reduction=red),
                          (T("binary_cross_entropy_with_logits", *zy, pos_weight=In("pw"), reduction=red),),
                          logits(), zy))
    return cases


def _focal_refs(labels: str, alpha: float | None, gamma: float, keras: bool = True, formula: bool = True,
                note: str = "") -> tuple[Call, ...]:
    """torchvision (formula), Keras from_logits=True (TF backend) and optax for one (alpha, gamma)."""
    zy, yz = ("logits", labels), (labels, "logits")
    a = -1.0 if alpha is None else alpha
    refs = []
    if formula:
        refs.append(Formula(f"torchvision.ops.sigmoid_focal_loss(logits, {labels}, alpha={a}, gamma={gamma}, "
                            "reduction='mean')", _torchvision_focal(a, gamma), *zy,
                            note="torchvision's source as a formula (torchvision is not installed)"))
    if keras:
        ctor = {"from_logits": True, "apply_class_balancing": alpha is not None, "alpha": 0.25 if alpha is None
                else alpha, "gamma": gamma}
        refs.append(K("BinaryFocalCrossentropy", *yz, ctor=ctor, note=KERAS_TF_FOCAL))
    refs.append(optax_ref(f"sigmoid_focal_loss(logits, {labels}, alpha={alpha}, gamma={gamma}).mean()",
                          lambda ol, z, y: ol.sigmoid_focal_loss(z, y, alpha=alpha, gamma=gamma).mean(), *zy,
                          note=note))
    return tuple(refs)


def _focal_cases() -> list[Case]:
    sf, bf = "sigmoid_focal", "binary_focal"
    zh, zs = ("logits", "hard"), ("logits", "soft")
    py, yp = ("probs", "labels"), ("labels", "probs")
    return [
        Case(sf, X(sf, *zh), _focal_refs("hard", 0.25, 2.0, note=OPTAX_HARD), logits(), ("logits",),
             note="hard labels: labels gradient compared in 'sigmoid_focal/soft'"),
        Case(f"{sf}/soft", X(sf, *zs), _focal_refs("soft", 0.25, 2.0), logits(), zs),
        Case(f"{sf}/gamma=0.5,alpha=None", X(sf, *zs, alpha=None, gamma=0.5), _focal_refs("soft", None, 0.5),
             logits(), zs,
             note="alpha=None is torchvision's alpha=-1, optax' None and Keras' apply_class_balancing=False"),
        Case(f"{sf}/label_smoothing", X(sf, *zs, label_smoothing=0.1),
             (K("BinaryFocalCrossentropy", "soft", "logits", note=KERAS_TF_FOCAL,
                ctor={"from_logits": True, "apply_class_balancing": True, "label_smoothing": 0.1}),), logits(), zs),
        Case(f"{sf}/extreme", X(sf, *zh), _focal_refs("hard", 0.25, 2.0, note=OPTAX_HARD), logits(extreme=True),
             ("logits",), note="logits at ±1e4, ±800, ±50"),
        Case(f"{sf}/extreme,gamma=0.5", X(sf, *zh, alpha=None, gamma=0.5),
             _focal_refs("hard", None, 0.5, keras=False, formula=False, note=OPTAX_HARD), logits(extreme=True),
             ("logits",), note=TORCHVISION_NAN),
        Case(f"{sf}/extreme,gamma=0.5,soft", X(sf, *zs, alpha=None, gamma=0.5),
             _focal_refs("soft", None, 0.5, keras=False, formula=False), logits(extreme=True), zs),
        Case(bf, X(bf, *py), (K("BinaryFocalCrossentropy", *yp, ctor={"apply_class_balancing": True}),),
             probabilities(), py, note="Keras' default apply_class_balancing=False is xploss alpha=None"),
        Case(f"{bf}/gamma=0.5,alpha=None,smoothing", X(bf, *py, alpha=None, gamma=0.5, label_smoothing=0.1),
             (K("BinaryFocalCrossentropy", *yp, ctor={"gamma": 0.5, "label_smoothing": 0.1}),), probabilities(), py),
        Case(f"{bf}/edges", X(bf, *py, sample_weight=In("w")),
             (K("BinaryFocalCrossentropy", *yp, ctor={"apply_class_balancing": True}, sample_weight=In("w")),),
             probabilities(edges=True), py, note=EDGE_NOTE),
    ]


def _margin_cases() -> list[Case]:
    zy = ("logits", "pm1")
    hinge_opt = optax_ref("hinge_loss(pred, ypm).mean()", lambda ol, p, y: ol.hinge_loss(p, y).mean(), "pred", "ypm")
    cases = [
        Case("soft_margin", X("soft_margin", *zy), (T("soft_margin_loss", *zy, note=TORCH_OVERFLOW),), logits(),
             ("logits",), note="torch does not differentiate the target"),
        Case("soft_margin/weight", X("soft_margin", *zy, sample_weight=In("w"), reduction="sum"),
             (Formula("Σ w·F.binary_cross_entropy_with_logits(logits, (pm1 + 1)/2)", lambda torch, z, y, w: (
                 w[:, None] * torch.nn.functional.binary_cross_entropy_with_logits(z, (y + 1) / 2, reduction="none")
             ).sum(), "logits", "pm1", "w", note="soft_margin(z, ±1) is the sigmoid BCE of (y + 1)/2"),),
             logits(), ("logits",), note="equal at y = ±1 only, so the labels gradient is not comparable"),
        Case("hinge/01", X("hinge", "pred", "y01"), (K("Hinge", "y01", "pred"),), scores, ("pred",),
             note="Keras maps 0/1 labels to ∓1 when every label is 0 or 1"),
        Case("hinge/pm1", X("hinge", "pred", "ypm"), (K("Hinge", "ypm", "pred"), hinge_opt), scores, ("pred",),
             note="kink (slack 0, not sampled): full gradient in xploss and Keras on TF; half in optax and Keras "
                  "on JAX (BUILTINS §3.2)"),
        Case("hinge/weight", X("hinge", "pred", "ypm", sample_weight=In("w")),
             (K("Hinge", "ypm", "pred", sample_weight=In("w")),), scores, ("pred",)),
        Case("hinge/mixed", X("hinge", "pred", "mixed"), (K("Hinge", "mixed", "pred"),), scores, ("pred",),
             note="labels {−1, 0, 1}: not all 0/1, so Keras (and xploss) use them unchanged"),
        Case("squared_hinge/01", X("squared_hinge", "pred", "y01"), (K("SquaredHinge", "y01", "pred"),), scores,
             ("pred",)),
        Case("squared_hinge/pm1+weight", X("squared_hinge", "pred", "ypm", sample_weight=In("w")),
             (K("SquaredHinge", "ypm", "pred", sample_weight=In("w")),), scores, ("pred",)),
    ]
    return cases


def _multilabel_cases() -> list[Case]:
    zy = ("logits", "labels")
    mlsm = "multilabel_soft_margin"
    cases = [
        Case(mlsm, X(mlsm, *zy), (T("multilabel_soft_margin_loss", *zy),), logits(), zy),
        Case(f"{mlsm}/class_weight", X(mlsm, *zy, class_weight=In("cw")),
             (T("multilabel_soft_margin_loss", *zy, weight=In("cw")),), logits(), zy),
        Case(f"{mlsm}/keras-none", X(mlsm, *zy, reduction="none"),
             (K("BinaryCrossentropy", "labels", "logits", ctor={"from_logits": True, "reduction": None}),),
             logits(), zy, note="per sample: Keras' mean over the last axis"),
        Case(f"{mlsm}/extreme", X(mlsm, *zy, class_weight=In("cw")),
             (T("multilabel_soft_margin_loss", *zy, weight=In("cw")),), logits(extreme=True), zy),
    ]
    for red in ("sum", "none"):
        cases.append(Case(f"{mlsm}/{red}", X(mlsm, *zy, class_weight=In("cw"), reduction=red),
                          (T("multilabel_soft_margin_loss", *zy, weight=In("cw"), reduction=red),), logits(), zy))
    return cases


def cases() -> list[Case]:
    return _bce_cases() + _sigmoid_bce_cases() + _focal_cases() + _margin_cases() + _multilabel_cases()


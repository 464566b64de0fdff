"""``torch.nn`` criteria for every xploss loss, with torch's conventions.

Every entry of :data:`xploss._api.LOSSES` gets an :class:`torch.nn.Module`
class, generated from one :class:`Spec` declaration:

* where torch has the loss, the class has torch's name and **torch's own
  constructor signature** (read from the ``torch.nn`` class, so positional
  use and the legacy ``size_average`` / ``reduce`` arguments work as in
  torch), plus the extra xploss options as keyword-only arguments
  (``BCELoss(label_smoothing=0.1)``);
* otherwise the class is the CamelCase of the function + ``Loss``
  (``FocalLoss``, ``QuantileLoss``) and takes the xploss options as keywords.

torch's conventions: input first, the class dimension is 1 for
``(N, C, d1, ...)`` inputs (0 for an unbatched ``(C,)`` input),
``reduction="mean" | "sum" | "none"`` with torch's meaning of "mean" (the
class-weighted mean of ``CrossEntropyLoss`` / ``NLLLoss``, the element
count of ``BCELoss`` with ``weight``, ``KLDivLoss``'s ``"batchmean"``), and
``weight=`` as torch means it: per class (a buffer that follows ``.to()`` and
``state_dict``), except for ``BCELoss`` / ``BCEWithLogitsLoss``, whose
``weight`` rescales each element (broadcast to the input).  ``forward`` also
takes an xploss ``sample_weight=`` keyword (per sample, xploss' reductions).

Examples
--------
>>> import torch
>>> import xploss.torch as xt
>>> logits, labels = torch.tensor([[2.0, 0.0, -1.0]]), torch.tensor([0])
>>> loss = xt.CrossEntropyLoss(weight=torch.tensor([1.0, 2.0, 3.0]), label_smoothing=0.1)
>>> builtin = torch.nn.CrossEntropyLoss(weight=loss.weight, label_smoothing=0.1)
>>> torch.allclose(loss(logits, labels), builtin(logits, labels))
True
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from . import _api
from ._errors import error
from .backends import _torch  # noqa: F401  (the backend, loaded eagerly: nothing to load inside torch.compile)

__all__ = ["Spec", "SPECS", "NO_CRITERION", "Criterion", "criterion_for", "UncertaintyWeighting"]

_LEGACY = ("size_average", "reduce")
_NOT_OPTIONS = ("sample_weight", "reduction", "axis", "class_weight")


@dataclass(frozen=True)
class Spec:
    """One criterion: the xploss loss and how torch's arguments map onto it.

    ``torch_name``: the ``torch.nn`` class whose constructor signature and
    semantics the criterion takes (None: no torch twin; CamelCase + ``Loss``).
    ``weight``: what torch's ``weight=`` is -- ``"class"`` (xploss
    ``class_weight``, a per-class buffer) or ``"element"`` (rescales each
    element: xploss ``sample_weight`` broadcast to the input).
    ``class_mean``: torch's "mean" with class weights and index targets is the
    weighted mean Σ w_y·l / Σ w_y (xploss ``"weighted_mean"``).
    ``elementwise``: xploss options fixed to reproduce torch (e.g. KLDivLoss
    is elementwise: ``axis=None``).
    ``renamed``: torch constructor arguments whose xploss option has another
    name (``distance_function`` -> ``distance``); torch's ``None`` keeps the
    xploss default.
    ``inputs``: keyword arrays of the xploss function that ``forward`` takes as
    optional trailing positional inputs instead of constructor options
    (``linear_cross_entropy``'s trainable ``bias``, passed with the weight).
    """

    loss: str
    torch_name: str | None = None
    weight: str | None = None
    class_mean: bool = False
    fixed: tuple[tuple[str, Any], ...] = ()
    renamed: tuple[tuple[str, str], ...] = ()
    name: str | None = None
    mean_options: tuple[tuple[str, Any], ...] = ()
    inputs: tuple[str, ...] = ()
    note: str = ""  # a sentence added to the class docstring

    @property
    def class_name(self) -> str:
        return self.name or self.torch_name or _api.camel(self.loss) + "Loss"


SPECS: tuple[Spec, ...] = (
    Spec("cross_entropy", "CrossEntropyLoss", weight="class", class_mean=True),
    Spec("nll", "NLLLoss", weight="class", class_mean=True),
    Spec("mean_squared_error", "MSELoss"),
    Spec("mean_absolute_error", "L1Loss"),
    Spec("huber", "HuberLoss"),
    Spec("smooth_l1", "SmoothL1Loss"),
    Spec("poisson_nll", "PoissonNLLLoss"),
    Spec("gaussian_nll", "GaussianNLLLoss"),
    Spec("kl_divergence", "KLDivLoss", fixed=(("axis", None),)),
    Spec("binary_cross_entropy", "BCELoss", weight="element"),
    Spec("sigmoid_binary_cross_entropy", "BCEWithLogitsLoss", weight="element"),
    Spec("soft_margin", "SoftMarginLoss"),
    Spec("multilabel_soft_margin", "MultiLabelSoftMarginLoss", weight="class"),
    Spec("multi_margin", "MultiMarginLoss", weight="class"),
    Spec("multilabel_margin", "MultiLabelMarginLoss"),
    Spec("triplet_margin", "TripletMarginLoss"),
    Spec("triplet_margin_with_distance", "TripletMarginWithDistanceLoss", renamed=(("distance_function", "distance"),)),
    Spec("cosine_embedding", "CosineEmbeddingLoss"),
    Spec("margin_ranking", "MarginRankingLoss"),
    Spec("hinge_embedding", "HingeEmbeddingLoss"),
    Spec("ctc", "CTCLoss", fixed=(("time_major", True),), mean_options=(("length_normalize", True),)),
    # holds no parameters, unlike torch.nn.LinearCrossEntropyLoss (an nn.Linear inside): hence another name
    Spec("linear_cross_entropy", name="FusedLinearCrossEntropyLoss", weight="class", class_mean=True,
         inputs=("bias",), note="It holds no parameters: ``loss(hidden, linear.weight, labels, linear.bias)`` "
         "takes the classifier's weight and bias at each call, whereas ``torch.nn.LinearCrossEntropyLoss`` owns "
         "an ``nn.Linear`` (hence the other name).  torch's ``reduction='mean'`` with ``weight=`` is the "
         "class-weighted mean, as ``F.linear_cross_entropy``'s."),
    *(Spec(box, name=_api.camel(box)) for box in ("iou_loss", "giou_loss", "diou_loss", "ciou_loss")),
    Spec("gaussian_kl", name="GaussianKLLoss"),
    Spec("vae_elbo", name="VAELoss"),
    *(Spec(gan, name=_api.camel(gan)) for gan in (
        "minimax_generator_loss", "minimax_discriminator_loss", "modified_generator_loss",
        "least_squares_generator_loss", "least_squares_discriminator_loss", "wasserstein_generator_loss",
        "wasserstein_discriminator_loss", "wasserstein_hinge_discriminator_loss")),
)

# Losses with no criterion, and why (docs/torch.rst lists them).
_CRITIC = ("takes the critic (a callable) and fresh interpolation coefficients at every call: call "
           "xploss.{}(critic, ...) in the critic step")
NO_CRITERION: dict[str, str] = {
    "gradient_penalty": _CRITIC.format("gradient_penalty"),
    "r1_penalty": _CRITIC.format("r1_penalty"),
    "weighted_sum": "a function of already-reduced losses, with nothing to configure: call xploss.weighted_sum",
    "uncertainty_weighting": "its log-variances are trainable: xploss.torch.UncertaintyWeighting(num_tasks) owns "
                             "them as an nn.Parameter",
}
_REDUCTIONS = ("mean", "sum", "none")


def _options(fn: Callable) -> dict[str, inspect.Parameter]:
    """The keyword-only options of an xploss function (name -> parameter)."""
    return {p.name: p for p in inspect.signature(fn).parameters.values() if p.kind is p.KEYWORD_ONLY}


def _signature(spec: Spec, fn: Callable) -> tuple[inspect.Signature, dict[str, str]]:
    """The constructor signature and the map constructor argument -> xploss option."""
    opts = _options(fn)
    implied = {**dict(spec.fixed), **dict(spec.mean_options)}
    extra = {k: p for k, p in opts.items() if k not in _NOT_OPTIONS and k not in implied and k not in spec.inputs}
    if spec.torch_name is not None:
        params = list(inspect.signature(getattr(nn, spec.torch_name).__init__).parameters.values())[1:]
    else:
        params = [inspect.Parameter("weight", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None)] \
            if "class_weight" in opts else []
        params.append(inspect.Parameter("reduction", inspect.Parameter.KEYWORD_ONLY,
                                        default=opts["reduction"].default))
    mapping = {}
    renamed = dict(spec.renamed)
    for p in params:
        if p.name == "weight":
            mapping["weight"] = "class_weight" if spec.weight in ("class", None) else "sample_weight"
        elif p.name in renamed:
            mapping[p.name] = renamed[p.name]
            extra.pop(renamed[p.name], None)
        elif p.name in extra:
            mapping[p.name] = p.name
        elif p.name not in (*_LEGACY, "reduction"):  # pragma: no cover - caught when the module is imported
            raise TypeError(f"{spec.class_name}: torch argument `{p.name}` has no xploss option")
    taken = {p.name for p in params}
    params += [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for k, p in extra.items() if k not in taken]
    mapping.update({k: k for k in extra if k not in taken})
    return inspect.Signature(params), mapping


class Criterion(nn.Module):
    """Base of the generated criteria (see the module docstring)."""

    spec: Spec
    _fn: Callable
    _signature: inspect.Signature
    _mapping: dict[str, str]  # constructor argument -> xploss option
    _axis: bool  # does the xploss function take a class axis?
    _weighted: bool  # does it take a per-sample weight?
    _positional: int  # the xploss function's positional arrays (``spec.inputs`` may follow them in ``forward``)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        bound = self._signature.bind(*args, **kwargs)
        bound.apply_defaults()
        values = dict(bound.arguments)
        legacy = [values.pop(k, None) for k in _LEGACY]
        if any(v is not None for v in legacy):
            from torch.nn import _reduction

            values["reduction"] = _reduction.legacy_get_string(*legacy)
        self.reduction = _reduction_of(self, values.pop("reduction"))
        for name, value in values.items():
            if isinstance(value, torch.Tensor) or name in ("weight", "pos_weight"):
                self.register_buffer(name, value)  # None allowed: registered, left out of state_dict
            else:
                setattr(self, name, value)

    def _call_options(self, inputs: tuple) -> dict[str, Any]:
        opts = dict(self.spec.fixed)
        for arg, option in self._mapping.items():
            value = getattr(self, arg)
            if option == "sample_weight":  # BCE's element weight: torch broadcasts it to the input
                if value is not None:
                    opts["sample_weight"] = value.expand_as(inputs[0])
                continue
            if value is None and arg in dict(self.spec.renamed):  # torch's None: the xploss default
                continue
            opts[option] = value
        if self._axis:
            opts["axis"] = 1 if inputs[0].ndim > 1 else 0
        return opts

    def _xploss_reduction(self, opts: dict, inputs: tuple) -> tuple[str, float]:
        """The xploss reduction giving torch's, and a divisor (KLDivLoss' batchmean)."""
        if self.reduction == "batchmean":
            return "sum", (inputs[0].shape[0] if inputs[0].ndim else 1)
        class_weighted = opts.get("class_weight") is not None or opts.get("sample_weight") is not None
        labels = inputs[min(len(inputs), self._positional) - 1]
        if self.reduction == "mean" and self.spec.class_mean and class_weighted and \
                not labels.is_floating_point():  # index targets: Σ w_y·l / Σ w_y; probabilities: / N
            return "weighted_mean", 1
        return self.reduction, 1

    def forward(self, *inputs: Any, sample_weight: Any = None) -> Any:
        """The loss of ``inputs`` (torch's order: input first); ``sample_weight``: per sample, optional."""
        if len(inputs) == 1 and not isinstance(inputs[0], torch.Tensor):  # penalties: a parameter iterable
            inputs = tuple(inputs[0])
        opts = self._call_options(inputs)
        if self.spec.inputs and len(inputs) > self._positional:  # trailing inputs: the spec's keyword arrays
            extra = inputs[self._positional:]
            if len(extra) > len(self.spec.inputs):
                raise error(f"torch.{self.spec.class_name}", "inputs", f"at most {self._positional} inputs and "
                            + ", ".join(f"`{k}`" for k in self.spec.inputs), f"{len(inputs)} inputs")
            inputs = inputs[:self._positional]
            opts.update(zip(self.spec.inputs, extra))
        if sample_weight is not None:
            if not self._weighted:
                raise error(f"torch.{self.spec.class_name}", "sample_weight",
                            "None (this loss has no per-sample weight)", type(sample_weight).__name__)
            given = opts.get("sample_weight")
            opts["sample_weight"] = sample_weight if given is None else given * _leading(sample_weight, given.ndim)
        reduction, divisor = self._xploss_reduction(opts, inputs)
        if self.reduction == "mean":
            opts.update(self.spec.mean_options)
        out = self._fn(*inputs, reduction=reduction, **opts)
        return out / divisor if divisor != 1 else out

    def extra_repr(self) -> str:
        shown = [f"reduction={self.reduction!r}"]
        shown += [f"{k}={getattr(self, k)!r}" for k in self._mapping if not isinstance(getattr(self, k), torch.Tensor)
                  and getattr(self, k) is not None]
        return ", ".join(shown)


def _leading(w: Any, ndim: int) -> Any:
    """A per-sample weight aligned on the leading axes of an ``ndim`` array."""
    return w.reshape(tuple(w.shape) + (1,) * (ndim - w.ndim))


def _reduction_of(module: Criterion, reduction: Any) -> str:
    allowed = _REDUCTIONS + (("batchmean",) if module.spec.torch_name == "KLDivLoss" else ())
    if reduction not in allowed:
        raise error(f"torch.{module.spec.class_name}", "reduction", " | ".join(repr(r) for r in allowed),
                    repr(reduction))
    return reduction


def _make(spec: Spec) -> type[Criterion]:
    fn = _api.LOSSES[spec.loss]
    signature, mapping = _signature(spec, fn)
    twin = f"``torch.nn.{spec.torch_name}``" if spec.torch_name else "no ``torch.nn`` twin"
    trailing = "".join(f"[, {k}]" for k in spec.inputs)
    doc = (f"``xploss.{spec.loss}`` as a ``torch.nn`` criterion ({twin}).\n\n"
           f"Constructor: ``{spec.class_name}{signature}``.  ``forward(*inputs{trailing}, sample_weight=None)``; "
           f"see :func:`xploss.{spec.loss}` for the loss and :mod:`xploss.torch` for the conventions."
           + (f"  {spec.note}" if spec.note else ""))
    ns = {"spec": spec, "_fn": staticmethod(fn), "_signature": signature, "_mapping": mapping,
          "_axis": "axis" in _options(fn) and "axis" not in dict(spec.fixed),
          "_weighted": "sample_weight" in _options(fn), "__doc__": doc,
          "_positional": sum(p.kind is p.POSITIONAL_ONLY for p in inspect.signature(fn).parameters.values()),
          "__module__": __name__, "__qualname__": spec.class_name, "__signature__": signature}
    return type(spec.class_name, (Criterion,), ns)


def _specs() -> tuple[Spec, ...]:
    declared = {s.loss for s in SPECS}
    return SPECS + tuple(Spec(name) for name in _api.LOSSES if name not in declared and name not in NO_CRITERION)


CLASSES: dict[str, type[Criterion]] = {}  # loss name -> criterion class
for _spec in _specs():
    CLASSES[_spec.loss] = globals()[_spec.class_name] = _make(_spec)
    __all__.append(_spec.class_name)
del _spec


def criterion_for(loss: str | Callable) -> type[Criterion]:
    """The criterion class of an xploss loss (a name or the public function, aliases included)."""
    name = loss if isinstance(loss, str) else getattr(loss, "__xploss_loss__", getattr(loss, "__name__", ""))
    if name in NO_CRITERION:
        raise error("torch.criterion_for", "loss", "a loss with a criterion", f"{name!r}, which has none: "
                    + NO_CRITERION[name])
    if name not in CLASSES:
        raise error("torch.criterion_for", "loss", "an xploss loss or its name", repr(loss))
    return CLASSES[name]


class UncertaintyWeighting(nn.Module):
    """Kendall et al.'s uncertainty weighting as a module that owns the trainable log-variances.

    ``UncertaintyWeighting(num_tasks, form="simple", init=0.0)`` holds ``log_vars``, an
    ``nn.Parameter`` of shape ``(num_tasks,)`` (optimise it with the model's parameters);
    ``forward(losses)`` is :func:`xploss.uncertainty_weighting` ``(losses, self.log_vars, form=form)``
    of a sequence of scalar losses or one ``(num_tasks,)`` tensor of them.

    Examples
    --------
    >>> import torch
    >>> import xploss.torch as xt
    >>> weighting = xt.UncertaintyWeighting(2)
    >>> total = weighting([torch.tensor(2.0), torch.tensor(0.5)])  # e^0·2 + 0 + e^0·0.5 + 0
    >>> float(total), weighting.log_vars.requires_grad
    (2.5, True)
    """

    def __init__(self, num_tasks: int, *, form: str = "simple", init: float = 0.0) -> None:
        super().__init__()
        if isinstance(num_tasks, bool) or not isinstance(num_tasks, int) or num_tasks < 1:
            raise error("torch.UncertaintyWeighting", "num_tasks", "a positive int", repr(num_tasks))
        self.form = form
        self.log_vars = nn.Parameter(torch.full((num_tasks,), float(init)))

    def forward(self, losses: Any) -> Any:
        """The weighted total (``log_vars`` cast, differentiably, to the losses' dtype)."""
        return _api.LOSSES["uncertainty_weighting"](losses, self.log_vars, form=self.form)

    def extra_repr(self) -> str:
        return f"num_tasks={self.log_vars.shape[0]}, form={self.form!r}"

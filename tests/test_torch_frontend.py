"""``xploss.torch`` criteria and the functional torch path under autocast, torch.func and torch.compile.

References are independent of xploss: the ``torch.nn`` module of the same
name (the conformance rows of ``conformance/cases_torch_modules.py``), the
NumPy references of the loss table (``tests/cases.py``) and their central
finite differences, and torch's built-in losses in training runs.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from cases import Case
from conftest import Backend, _load
from test_losses import FD_RTOL, FD_STEP, ONE_PER_LOSS, fd_grads, inputs, reduce_ref

import xploss
from conformance import cases_torch_modules
from conformance.evaluate import run_torch, run_xploss
from conformance.runner import compare
from xploss._api import LOSSES, camel

torch = _load(Backend.TORCH)
nn = torch.nn
xt = pytest.importorskip("xploss.torch")

TORCH_NAMES = ("CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss", "PoissonNLLLoss",
               "GaussianNLLLoss", "KLDivLoss", "BCELoss", "BCEWithLogitsLoss", "SoftMarginLoss",
               "MultiLabelSoftMarginLoss", "MultiMarginLoss", "MultiLabelMarginLoss", "TripletMarginLoss",
               "TripletMarginWithDistanceLoss", "CosineEmbeddingLoss", "MarginRankingLoss", "HingeEmbeddingLoss")
PUBLIC = [c for c in ONE_PER_LOSS if hasattr(c.fn, "__xploss_loss__")]  # one case per public loss


def _ids(cases: list) -> list[str]:
    return [c.id for c in cases]


def _t(x: object) -> object:
    return torch.from_numpy(np.array(x)) if isinstance(x, np.ndarray) else x


# -- 1. one criterion per loss, torch's names and constructor signatures ------------------------

def test_every_loss_has_a_criterion():
    """Every loss but the four of ``NO_CRITERION`` (documented), for which ``criterion_for`` says why."""
    assert set(xt.NO_CRITERION) == {"gradient_penalty", "r1_penalty", "weighted_sum", "uncertainty_weighting"}
    for name in xt.NO_CRITERION:
        with pytest.raises(xploss.XplossError, match=f"torch.criterion_for: argument `loss`.*{name}"):
            xt.criterion_for(getattr(xploss, name))
    with_criterion = [name for name in LOSSES if name not in xt.NO_CRITERION]
    names = {xt.criterion_for(name).__name__ for name in with_criterion}
    assert set(TORCH_NAMES) <= names
    for name in with_criterion:
        cls = xt.criterion_for(getattr(xploss, name))
        assert issubclass(cls, nn.Module) and cls.spec.loss == name
        if cls.spec.torch_name is None:
            assert cls.__name__ == cls.spec.name or cls.__name__ == camel(name) + "Loss"
    assert xt.criterion_for(xploss.mse) is xt.MSELoss and xt.FocalLoss.spec.loss == "focal"


@pytest.mark.parametrize("name", TORCH_NAMES)
def test_constructor_signature_is_torchs(name):
    ours = list(inspect.signature(getattr(xt, name)).parameters.values())
    theirs = list(inspect.signature(getattr(nn, name).__init__).parameters.values())[1:]
    assert ours[: len(theirs)] == theirs
    assert all(p.kind is p.KEYWORD_ONLY for p in ours[len(theirs):])  # the xploss extras


def test_extra_options_and_errors():
    z, y = torch.randn(5, 4, dtype=torch.float64), torch.tensor([0, 1, 2, 3, 1])
    focal = xt.FocalLoss(gamma=0.0, reduction="sum")
    assert torch.allclose(focal(z, y), nn.CrossEntropyLoss(reduction="sum")(z, y), rtol=1e-12)
    bce = xt.BCEWithLogitsLoss(label_smoothing=0.2)
    t = torch.rand(5, 4, dtype=torch.float64).round()
    assert torch.allclose(bce(z, t), nn.BCEWithLogitsLoss()(z, t * 0.8 + 0.1), rtol=1e-12)
    with pytest.raises(xploss.XplossError, match=r"xploss.torch.CrossEntropyLoss: argument `reduction`"):
        xt.CrossEntropyLoss(reduction="batchmean")
    with pytest.raises(TypeError):
        xt.MSELoss(gamma=2.0)
    with pytest.raises(xploss.XplossError, match=r"L1PenaltyLoss: argument `sample_weight`: expected None"):
        xt.L1PenaltyLoss()(z, sample_weight=torch.ones(5))
    legacy = xt.MSELoss(size_average=False)  # torch's legacy arguments map to a reduction
    assert legacy.reduction == "sum"


def test_sample_weight_in_forward():
    """An xploss per-sample weight on top of torch's class weight: Σ s·w_y·l / Σ s·w_y."""
    z, y = torch.randn(6, 3, dtype=torch.float64), torch.tensor([0, 1, 2, 2, 1, -100])
    w, s = torch.tensor([0.5, 2.0, 1.5], dtype=torch.float64), torch.rand(6, dtype=torch.float64) + 0.5
    per = nn.CrossEntropyLoss(weight=w, reduction="none")(z, y)
    wy = torch.where(y >= 0, w[y.clamp(min=0)], 0.0)
    expected = (s * per).sum() / (s * wy).sum()
    assert torch.allclose(xt.CrossEntropyLoss(weight=w)(z, y, sample_weight=s), expected, rtol=1e-12)


def test_unbatched_input_pickle_and_penalties():
    import copy
    import pickle

    w = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    ours = xt.CrossEntropyLoss(weight=w, label_smoothing=0.1)
    z, y = torch.randn(3, dtype=torch.float64), torch.tensor(1)  # unbatched (C,): the class dim is 0
    ref = nn.CrossEntropyLoss(weight=w, label_smoothing=0.1)(z, y)
    for criterion in (ours, pickle.loads(pickle.dumps(ours)), copy.deepcopy(ours)):
        assert torch.allclose(criterion(z, y), ref, rtol=1e-12)
    assert repr(ours) == "CrossEntropyLoss(reduction='mean', ignore_index=-100, label_smoothing=0.1)"
    model = nn.Linear(3, 2).double()
    expected = 0.1 * sum((p * p).sum() for p in model.parameters())
    assert torch.allclose(xt.L2PenaltyLoss(lam=0.1)(model.parameters()), expected, rtol=1e-12)  # an iterable
    assert torch.allclose(xt.L2PenaltyLoss(lam=0.1)(*model.parameters()), expected, rtol=1e-12)


# -- 2. every criterion vs the torch.nn module: values and gradients, every reduction --------------

MODULE_CASES = cases_torch_modules.cases()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", MODULE_CASES, ids=_ids(MODULE_CASES))
def test_criterion_matches_torch_module(case, dtype):
    data = case.make_inputs()
    row = compare(case, 0, "torch", dtype, run_xploss(case, data, dtype, "torch"),
                  run_torch(case, case.refs[0], data, dtype))
    assert row.ok, f"{case.id} {dtype}: value {row.value_rel:.1e}, grad {row.grad_rel:.1e} {row.error}"


# -- 3. buffers --------------------------------------------------------------------------------

def test_weight_is_a_buffer():
    w = torch.tensor([0.5, 2.0, 1.5])
    loss = xt.CrossEntropyLoss(weight=w)
    assert dict(loss.named_buffers())["weight"] is loss.weight
    assert loss.to(torch.float64).weight.dtype == torch.float64
    state = loss.state_dict()
    assert list(state) == ["weight"] and list(nn.CrossEntropyLoss(weight=w).state_dict()) == ["weight"]
    assert "weight" not in xt.CrossEntropyLoss().state_dict()  # None: registered, not saved (as torch)
    theirs = nn.CrossEntropyLoss(weight=torch.ones(3))
    theirs.load_state_dict(state)  # interchangeable state dicts
    fresh = xt.CrossEntropyLoss(weight=torch.ones(3, dtype=torch.float64))
    fresh.load_state_dict(nn.CrossEntropyLoss(weight=w.double()).state_dict())
    assert torch.equal(fresh.weight, w.double())
    z, y = torch.randn(4, 3, dtype=torch.float64), torch.tensor([0, 2, 1, 1])
    assert torch.allclose(fresh(z, y), theirs.double()(z, y), rtol=1e-12)
    bce = xt.BCEWithLogitsLoss(pos_weight=torch.tensor([2.0, 0.5]))
    assert set(bce.state_dict()) == {"pos_weight"} and bce.double().pos_weight.dtype == torch.float64
    focal = xt.FocalLoss(alpha=torch.tensor([0.2, 0.3, 0.5]))  # tensor options are buffers too
    assert set(focal.state_dict()) == {"alpha"}


# -- 4. autocast ---------------------------------------------------------------------------------

def _autocast_inputs(name: str, g: torch.Generator) -> tuple:
    n, c = 6, 4
    x = torch.randn(n, c, generator=g)
    labels = torch.randint(0, c, (n,), generator=g)
    return {
        "CrossEntropyLoss": (x, labels), "MultiMarginLoss": (x, labels), "NLLLoss": (x.log_softmax(1), labels),
        "BCELoss": (x.sigmoid(), torch.rand(n, c, generator=g)),
        "BCEWithLogitsLoss": (x, torch.rand(n, c, generator=g)),
        "MultiLabelSoftMarginLoss": (x, torch.rand(n, c, generator=g).round()),
        "SoftMarginLoss": (x, torch.randint(0, 2, (n, c), generator=g).float() * 2 - 1),
        "KLDivLoss": (x.log_softmax(1), torch.randn(n, c, generator=g).softmax(1)),
        "MultiLabelMarginLoss": (x, torch.tensor([[0, 2, -1, 1]] * n)),
        "GaussianNLLLoss": (x, torch.randn(n, c, generator=g), torch.rand(n, c, generator=g) + 0.5),
        "TripletMarginLoss": (x, torch.randn(n, c, generator=g), torch.randn(n, c, generator=g)),
        "PoissonNLLLoss": (x, torch.rand(n, c, generator=g) * 3),
        "TripletMarginWithDistanceLoss": (x, torch.randn(n, c, generator=g), torch.randn(n, c, generator=g)),
        "CosineEmbeddingLoss": (x, torch.randn(n, c, generator=g), torch.randint(0, 2, (n,), generator=g) * 2.0 - 1),
        "MarginRankingLoss": (x[:, 0], torch.randn(n, generator=g), torch.randint(0, 2, (n,), generator=g) * 2.0 - 1),
        "HingeEmbeddingLoss": (x, torch.randint(0, 2, (n, c), generator=g) * 2.0 - 1),
    }.get(name, (x, torch.randn(n, c, generator=g)))


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides")
@pytest.mark.parametrize("low", ["bfloat16", "float16"])
@pytest.mark.parametrize("name", TORCH_NAMES)
def test_autocast_follows_torchs_float32_policy(name, low):
    """Under CPU autocast: a low-precision input with a float32 target is accepted, the loss is
    computed and returned in float32 (the torch module on the float32 upcast inputs), and the input
    gradient keeps the input's dtype (float32 gradient rounded once)."""
    g = torch.Generator().manual_seed(3)
    args = _autocast_inputs(name, g)
    low_input = getattr(torch, low)
    x = args[0].to(low_input).requires_grad_(True)
    with torch.autocast("cpu", dtype=low_input):
        out = getattr(xt, name)()(x, *args[1:])
    out.backward()
    x32 = x.detach().float().requires_grad_(True)
    ref = getattr(nn, name)()(x32, *args[1:])
    ref.backward()
    assert out.dtype == torch.float32 and x.grad.dtype == low_input
    assert torch.allclose(out, ref, rtol=1e-6, atol=0), (float(out), float(ref))
    assert torch.equal(x.grad, x32.grad.to(low_input))


def test_autocast_functional_path_and_float64():
    p = torch.randn(4, 3, dtype=torch.bfloat16, requires_grad=True)
    y = torch.randn(4, 3)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = xploss.huber(p, y, delta=0.5)
        out64 = xploss.mse(p.detach().double(), y.double())
    out.backward()
    ref = nn.functional.huber_loss(p.detach().float(), y, delta=0.5)
    assert out.dtype == torch.float32 and torch.allclose(out, ref, rtol=1e-6) and p.grad.dtype == torch.bfloat16
    assert out64.dtype == torch.float64  # float64 is kept, as in torch's policy


# -- 5. torch.func on every loss, vs finite differences of the NumPy reference ----------------------

def _torch_args(case: Case) -> tuple[list, dict]:
    args, opts, _ = inputs(case, "float64")
    return [_t(a) for a in args], {k: _t(v) for k, v in opts.items()}


def _assert_close(actual, expected, what: str, rtol: float = FD_RTOL) -> None:
    a, e = np.asarray(actual.detach()), np.asarray(expected)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != {e.shape}"
    err = float(np.max(np.abs(a - e) / np.maximum(np.abs(e), 1.0), initial=0.0))
    assert err <= rtol, f"{what}: relative error {err:.1e} > {rtol:.0e}"


def _with(args: list, nums: tuple, xs: tuple) -> list:
    out = list(args)
    for i, x in zip(nums, xs):
        out[i] = x
    return out


def _fd_jacobian(case: Case, i: int, reduction: str) -> np.ndarray:
    """Central differences of the NumPy reference (``reduction``) with respect to input ``i``."""
    args, opts, _ = inputs(case, "float64")
    x0 = np.asarray(args[i], dtype=np.float64)
    f0 = np.asarray(reduce_ref(case, args, opts, None, reduction))
    jac = np.zeros(f0.shape + x0.shape)
    for j in np.ndindex(x0.shape):
        vals = []
        for step in (-2, -1, 1, 2):
            x = x0.copy()
            x[j] += step * FD_STEP
            vals.append(np.asarray(reduce_ref(case, [*args[:i], x, *args[i + 1:]], opts, None, reduction)))
        jac[(...,) + j] = (vals[0] - 8 * vals[1] + 8 * vals[2] - vals[3]) / (12 * FD_STEP)
    return jac


@pytest.mark.parametrize("case", ONE_PER_LOSS, ids=_ids(ONE_PER_LOSS))
def test_torch_func_grad_jacrev_hessian(case):
    args, opts = _torch_args(case)
    nums = case.diff

    def loss(*xs, reduction="sum"):
        return case.fn(*_with(args, nums, xs), reduction=reduction, **opts)

    xs = tuple(args[i] for i in nums)
    _, ref_grads = fd_grads(case.id, "sum", False)
    grads = torch.func.grad(loss, argnums=tuple(range(len(nums))))(*xs)
    for k, (g, r) in enumerate(zip(grads, ref_grads)):
        _assert_close(g, r, f"{case.id} grad d/d(arg {nums[k]})")
    red = "none" if "none" in case.reductions else "sum"
    jac = torch.func.jacrev(lambda x: loss(x, *xs[1:], reduction=red))(xs[0])
    _assert_close(jac, _fd_jacobian(case, nums[0], red), f"{case.id} jacrev ({red})")
    if case.coupled:  # batch-coupled losses have a VJP only: forward mode is refused with an xploss error
        with pytest.raises(xploss.XplossError, match=r"forward-mode differentiation .* VJP only"):
            torch.func.hessian(loss)(*xs)
        return
    hess = torch.func.hessian(loss)(*xs)  # forward over reverse: the Function's jvp over its vjp
    grad0 = torch.func.grad(loss)
    fd = torch.zeros_like(hess)
    for j in np.ndindex(tuple(xs[0].shape)):
        e = torch.zeros_like(xs[0])
        e[j] = FD_STEP
        g = [grad0(xs[0] + k * e, *xs[1:]) for k in (-2, -1, 1, 2)]
        fd[(...,) + j] = (g[0] - 8 * g[1] + 8 * g[2] - g[3]) / (12 * FD_STEP)
    _assert_close(hess, fd.numpy(), f"{case.id} hessian vs differences of the gradient", rtol=1e-6)


# the penalties have no samples; a batch-coupled loss of a batch of one is another loss (no in-batch negatives),
# except the proxy losses, coupled through their class weights only
PER_SAMPLE = [c for c in ONE_PER_LOSS if "penalty" not in c.id
              and (not c.coupled or c.fn in (xploss.arcface, xploss.cosface, xploss.center))]


@pytest.mark.parametrize("case", PER_SAMPLE, ids=_ids(PER_SAMPLE))
def test_torch_func_vmap_per_sample_grads(case):
    """vmap(grad) over samples, each a batch of one: the rows of the gradient of the summed loss."""
    args, opts = _torch_args(case)
    n = args[0].shape[0]
    dims = tuple(0 if isinstance(a, torch.Tensor) and a.ndim and a.shape[0] == n else None for a in args)
    i = case.diff[0]

    def one(*sample):
        batch = [a.unsqueeze(0) if d == 0 else a for a, d in zip(sample, dims)]
        return torch.func.grad(lambda x: case.fn(*_with(batch, (i,), (x,)), reduction="sum", **opts))(batch[i])[0]

    per_sample = torch.func.vmap(one, in_dims=dims)(*args)
    _assert_close(per_sample, fd_grads(case.id, "sum", False)[1][0], f"{case.id} per-sample grads")


@pytest.mark.parametrize("case", PUBLIC, ids=_ids(PUBLIC))
def test_torch_func_functional_call_of_every_criterion(case):
    """grad through ``functional_call(criterion, buffers, inputs)`` for every loss' criterion."""
    args, opts = _torch_args(case)
    cls = xt.criterion_for(case.fn)
    ctor = {("weight" if k == "class_weight" else k): v for k, v in opts.items() if k != "axis"}
    criterion = cls(**ctor, reduction="sum")
    buffers = {k: v for k, v in criterion.named_buffers()}
    i = case.diff[0]
    g = torch.func.grad(lambda x: torch.func.functional_call(criterion, buffers, tuple(_with(args, (i,), (x,)))))
    _assert_close(g(args[i]), fd_grads(case.id, "sum", False)[1][0], f"{cls.__name__} functional_call grad")


# -- 6. torch.compile(fullgraph=True): one graph for every loss, no recompile -----------------------

def _counting_backend(graphs: list):
    def backend(gm, example_inputs):
        graphs.append(gm)
        return gm.forward
    return backend


# A recompile comes from Python state a traced call reads: the mechanism's (one for every loss) and a kernel
# module's own; one loss per kernel module, fullgraph=True (the regular suite's torch.compile check of the
# functions; test_losses' sweep over every loss runs in nox -s fuzz).
ONE_PER_MODULE = list({getattr(c.fn, "__wrapped__", c.fn).__module__: c for c in reversed(ONE_PER_LOSS)}.values())


@pytest.mark.parametrize("case", ONE_PER_MODULE, ids=_ids(ONE_PER_MODULE))
def test_torch_compile_once_per_kernel_module(case):
    torch._dynamo.reset()
    graphs: list = []
    compiled = torch.compile(lambda *a, **k: case.fn(*a, **k), backend=_counting_backend(graphs), fullgraph=True)
    for seed in range(3):  # fresh inputs of the same shapes
        args, opts, _ = inputs(case, "float64", seed=seed)
        xs = [_t(a) for a in args]
        for j in case.diff:
            xs[j] = xs[j].requires_grad_(True)
        out = compiled(*xs, reduction="sum", **{k: _t(v) for k, v in opts.items()})
        out.backward()
        value = float(out.detach())
        assert abs(value - float(reduce_ref(case, args, opts, None, "sum"))) <= 1e-12 * max(abs(value), 1)
    assert len(graphs) == 1, f"{case.id}: {len(graphs)} graphs for 3 calls (a recompile)"


def test_torch_compile_criterion_once():
    torch._dynamo.reset()
    graphs: list = []
    criterion = xt.CrossEntropyLoss(weight=torch.tensor([0.5, 2.0, 1.0]), label_smoothing=0.1)
    compiled = torch.compile(criterion, backend=_counting_backend(graphs), fullgraph=True)
    for seed in range(3):
        g = torch.Generator().manual_seed(seed)
        z, y = torch.randn(8, 3, generator=g), torch.randint(0, 3, (8,), generator=g)
        y[0] = -100
        ref = nn.CrossEntropyLoss(weight=criterion.weight, label_smoothing=0.1)(z, y)
        assert torch.allclose(compiled(z, y), ref, rtol=1e-6)
    assert len(graphs) == 1


def test_torch_compile_first_call_with_empty_caches():
    """The first xploss call of a process made inside torch.compile (xploss' caches empty, as in a fresh
    process): still one graph for three calls, and an eager call filling the caches afterwards does not
    invalidate it."""
    from xploss import _define, _namespace

    torch._dynamo.reset()
    for cache in (_namespace._BACKENDS, _namespace._TYPE_CACHE, _define._BOUND):
        cache.clear()
    graphs: list = []
    compiled = torch.compile(lambda p, y: xploss.mse(p, y), backend=_counting_backend(graphs), fullgraph=True)
    for _ in range(3):
        compiled(torch.randn(4, 3, requires_grad=True), torch.randn(4, 3)).backward()
    xploss.mse(torch.randn(2), torch.randn(2))
    compiled(torch.randn(4, 3, requires_grad=True), torch.randn(4, 3)).backward()
    assert len(graphs) == 1 and "torch" in _namespace._BACKENDS


# -- 7. training: xploss criterion vs torch's module, step by step ---------------------------------

STEPS, BATCH, FEATURES, CLASSES = 200, 32, 10, 5
WEIGHT = (0.5, 2.0, 1.0, 1.5, 0.8)
# bfloat16 keeps 8 significant bits: a float32 logit gradient 1 ulp off torch's can round to the
# neighbouring bfloat16 (2^-8 = 3.9e-3 relative), and training amplifies such a flip.  Separate
# autocast runs therefore agree to bfloat16 precision; step by step (same logits) to float32's.
BF16_CURVE_RTOL = 1e-2


@pytest.fixture
def one_thread():
    """Training runs on one intra-op thread (fast and steady on a shared machine)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _data() -> tuple:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(STEPS * BATCH, FEATURES, generator=g)
    teacher = torch.randn(FEATURES, CLASSES, generator=g)
    y = (x @ teacher + 0.5 * torch.randn(STEPS * BATCH, CLASSES, generator=g)).argmax(1)
    y[torch.rand(y.shape, generator=g) < 0.1] = -100  # ignored targets
    return x.view(STEPS, BATCH, FEATURES), y.view(STEPS, BATCH)


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(FEATURES, 16), nn.Tanh(), nn.Linear(16, CLASSES))


def _criteria(**kwargs) -> tuple[nn.Module, nn.Module]:
    w = torch.tensor(WEIGHT)
    return (xt.CrossEntropyLoss(weight=w, label_smoothing=0.1, **kwargs),
            nn.CrossEntropyLoss(weight=w, label_smoothing=0.1, **kwargs))


def _train(criterion: nn.Module, autocast: bool = False, compile_backend: str | None = None) -> torch.Tensor:
    """The loss curve of SGD with momentum from one seed."""
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
    x, y = _data()

    def loss_of(xb, yb):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            return criterion(model(xb), yb)

    step = torch.compile(loss_of, backend=compile_backend, fullgraph=True) if compile_backend else loss_of
    curve = []
    for t in range(STEPS):
        opt.zero_grad()
        loss = step(x[t], y[t])
        loss.backward()
        opt.step()
        curve.append(loss.detach())
    return torch.stack(curve)


WORST: dict[str, float] = {}  # the curves' worst relative difference per mode (printed with -s)


def _worst(ours: torch.Tensor, theirs: torch.Tensor, mode: str) -> float:
    worst = float(((ours.float() - theirs.float()).abs() / theirs.float().abs().clamp(min=1.0)).max())
    WORST[mode] = worst
    print(f"training, {mode}: worst relative difference {worst:.2e} over {STEPS} steps")
    return worst


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("mode", ["eager", "autocast-bf16", "compile"])
def test_training_curve_matches_torch(mode):
    ours, theirs = _criteria()
    kwargs = {"autocast": mode == "autocast-bf16"}
    torch_curve = _train(theirs, **kwargs)
    if mode == "compile":
        torch._dynamo.reset()
        kwargs["compile_backend"] = "aot_eager"
    curve = _train(ours, **kwargs)
    assert curve.dtype == torch_curve.dtype == torch.float32
    assert float(torch_curve[-20:].mean()) < 0.8 * float(torch_curve[:20].mean()), "the model did not train"
    worst = _worst(curve, torch_curve, mode)
    assert worst <= (BF16_CURVE_RTOL if mode == "autocast-bf16" else 1e-5), f"{mode}: {worst:.1e}"


@pytest.mark.usefixtures("one_thread")
def test_training_under_autocast_matches_torch_step_by_step():
    """bf16 autocast training driven by the xploss gradient; at every step torch's module sees the same
    bf16 logits: the losses agree to float32 precision, the bf16 logit gradients to their last bit
    (float32 rounding where a gradient entry is tiny next to the others)."""
    ours, theirs = _criteria()
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
    x, y = _data()
    losses, ref_losses, flips = [], [], 0
    for t in range(STEPS):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits = model(x[t])
            grads = []
            for criterion, out in ((ours, losses), (theirs, ref_losses)):
                leaf = logits.detach().requires_grad_(True)
                loss = criterion(leaf, y[t])
                grads.append(torch.autograd.grad(loss, leaf)[0])
                out.append(loss.detach())
        assert grads[0].dtype == grads[1].dtype == torch.bfloat16
        ref = grads[1].float()  # one bfloat16 step, or float32 rounding at the scale of the gradient
        ulp = ref.abs() * 2.0 ** -7 + 4 * 2.0 ** -23 * ref.abs().max()
        assert bool(((grads[0].float() - grads[1].float()).abs() <= ulp).all()), f"step {t}"
        flips += int((grads[0] != grads[1]).sum())
        opt.zero_grad()
        logits.backward(grads[0])
        opt.step()
    worst = _worst(torch.stack(losses), torch.stack(ref_losses), "autocast-bf16, step by step")
    print(f"bf16 logit gradients one ulp apart: {flips} of {STEPS * BATCH * CLASSES}")
    assert worst <= 1e-6


@pytest.mark.usefixtures("one_thread")
def test_vmap_per_sample_gradients_of_a_model_match_torch_loops():
    """torch.func per-sample gradients (functional_call + vmap(grad)) with the xploss criterion vs a
    loop of torch.autograd.grad over torch's built-in, one sample at a time."""
    model = _model()
    params = {k: v.detach() for k, v in model.named_parameters()}
    x, y = _data()
    xb, yb = x[0], y[0].clamp(min=0)
    ours, theirs = _criteria(reduction="sum")

    def sample_loss(p, xi, yi):
        return ours(torch.func.functional_call(model, p, (xi.unsqueeze(0),)), yi.unsqueeze(0))

    per_sample = torch.func.vmap(torch.func.grad(sample_loss), in_dims=(None, 0, 0))(params, xb, yb)
    worst = 0.0
    for i in range(BATCH):
        loss = theirs(model(xb[i : i + 1]), yb[i : i + 1])
        grads = torch.autograd.grad(loss, list(model.parameters()))
        for g_ours, g_ref in zip(per_sample.values(), grads):
            worst = max(worst, float((g_ours[i] - g_ref).abs().max() / g_ref.abs().max().clamp(min=1.0)))
    print(f"per-sample gradients: worst relative difference {worst:.2e}")
    assert worst <= 1e-6


def test_docs_list_every_criterion():
    from pathlib import Path

    page = (Path(__file__).resolve().parent.parent / "docs" / "torch.rst").read_text()
    missing = [cls.__name__ for cls in xt.CLASSES.values() if f"``{cls.__name__}``" not in page]
    assert not missing, f"docs/torch.rst does not list {missing}"

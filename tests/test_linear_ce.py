"""``xploss.linear_cross_entropy``: the blocked linear + cross-entropy against torch's, on every backend.

References are torch's own, never xploss: ``F.cross_entropy(hidden @ W.T + b, ...)`` (the logits formed) and
``F.linear_cross_entropy`` (torch 2.13), values and gradients by ``torch.autograd`` in float64, reduced with
xploss' documented reductions (``_reduce``) where torch has none (``"mean"`` with class weights, per-sample
weights).  ``V = 11`` classes in blocks that do not divide it (and one wider than ``V``).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import Backend, _load
from helpers import to_backend, to_numpy

import xploss

N, H, V = 6, 4, 11
TOL = 1e-12

# id -> (options, reduction, sample weight?)
CONFIGS = {
    "chunk4-mean": ({"chunk_size": 4}, "mean", False),
    "bias-smoothing-chunk5-sum": ({"bias": True, "label_smoothing": 0.2, "chunk_size": 5}, "sum", False),
    "ignore-cw-chunk3-weighted_mean": ({"ignore": True, "class_weight": True, "chunk_size": 3}, "weighted_mean",
                                       False),
    "all-options-chunk4-mean": ({"bias": True, "ignore": True, "class_weight": True, "label_smoothing": 0.3,
                                 "chunk_size": 4}, "mean", True),
    "bias-ignore-chunk2-none": ({"bias": True, "ignore": True, "chunk_size": 2}, "none", True),
    "wider-than-V": ({"bias": True, "label_smoothing": 0.1, "chunk_size": 64}, "mean", False),
    "default-chunk-weighted": ({"bias": True, "class_weight": True}, "weighted_mean", True),
}


def _data(seed: int = 0, ignore: bool = False, shape: tuple = (N,)) -> dict:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, V, size=shape)
    if ignore:
        y.reshape(-1)[1] = -100
    return {"h": rng.normal(size=(*shape, H)), "w": rng.normal(size=(V, H)), "b": rng.normal(size=V), "y": y,
            "cw": rng.uniform(0.5, 2.0, V), "sw": rng.uniform(0.5, 2.0, shape), "ct": rng.normal(size=shape)}


def _torch_reference(d: dict, opts: dict, reduction: str, weighted: bool) -> tuple[float | np.ndarray, list]:
    """Value and gradients (hidden, W, b) of the unfused torch loss with xploss' reduction; F.linear_cross_entropy
    checked equal to it where torch has the reduction."""
    torch = _load(Backend.TORCH)
    F = torch.nn.functional
    h, w, b = (torch.tensor(d[k], requires_grad=True) for k in ("h", "w", "b"))
    y = torch.tensor(d["y"])
    bias = b if opts.get("bias") else None
    cw = torch.tensor(d["cw"]) if opts.get("class_weight") else None
    ls = opts.get("label_smoothing", 0.0)
    z = h @ w.T + (0.0 if bias is None else bias)
    per = F.cross_entropy(z.reshape(-1, V), y.reshape(-1), weight=cw, label_smoothing=ls,
                          reduction="none").reshape(y.shape)
    sw = torch.tensor(d["sw"]) if weighted else torch.ones(y.shape, dtype=torch.float64)
    valid = (y != -100).double()
    if reduction == "none":
        out = sw * per
    elif reduction == "sum":
        out = (sw * per).sum()
    elif reduction == "mean":
        out = (sw * per).sum() / valid.sum()
    else:  # weighted_mean
        norm = valid if cw is None else cw[y.clamp(min=0)] * valid
        out = (sw * per).sum() / (sw * norm).sum()
    if not weighted and reduction != "mean" or (reduction == "mean" and cw is None and not weighted):
        torch_red = "mean" if reduction == "weighted_mean" else reduction
        builtin = F.linear_cross_entropy(h, w, y, linear_bias=bias, weight=cw, label_smoothing=ls,
                                         reduction=torch_red)
        assert torch.allclose(builtin, out, rtol=1e-13, atol=1e-13)
    scalar = (out * torch.tensor(d["ct"])).sum() if reduction == "none" else out
    grads = torch.autograd.grad(scalar, (h, w, b), allow_unused=True)
    grads = [np.zeros(V) if g is None else g.numpy() for g in grads]
    return out.detach().numpy(), grads


def _to(b: Backend, x: np.ndarray) -> object:
    """``x`` on backend ``b`` (floating as float64; a 0-d array stays 0-d on torch too)."""
    if b is Backend.TORCH and np.ndim(x) == 0:
        return _load(Backend.TORCH).tensor(np.asarray(x))
    return to_backend(b, x, "float64" if np.asarray(x).dtype.kind == "f" else None)


def _xploss(b: Backend, d: dict, opts: dict, reduction: str, weighted: bool) -> tuple[np.ndarray, list]:
    T = lambda k: _to(b, d[k])  # noqa: E731
    kw = {"reduction": reduction}
    if "chunk_size" in opts:
        kw["chunk_size"] = opts["chunk_size"]
    if opts.get("class_weight"):
        kw["class_weight"] = T("cw")
    if "label_smoothing" in opts:
        kw["label_smoothing"] = opts["label_smoothing"]
    if weighted:
        kw["sample_weight"] = T("sw")
    y, ct = T("y"), T("ct")

    def f(h, w, bias):
        out = xploss.linear_cross_entropy(h, w, y, bias=bias if opts.get("bias") else None, **kw)
        if reduction != "none":
            return out
        return xploss.linear_cross_entropy(h, w, y, bias=bias if opts.get("bias") else None,
                                           **{**kw, "reduction": "sum", "sample_weight": ct * (T("sw") if weighted
                                                                                               else 1.0)})
    value = xploss.linear_cross_entropy(T("h"), T("w"), y, bias=T("b") if opts.get("bias") else None, **kw)
    argnums = (0, 1, 2) if opts.get("bias") else (0, 1)  # array_api_strict's tape refuses an unused argument
    _, grads = xploss.value_and_grad(f, argnums=argnums)(T("h"), T("w"), T("b"))
    return to_numpy(value), [to_numpy(g) for g in grads]


def _close(actual: np.ndarray, expected: np.ndarray, what: str) -> None:
    scale = max(1.0, float(np.max(np.abs(expected)))) if np.size(expected) else 1.0
    err = float(np.max(np.abs(np.asarray(actual) - expected))) if np.size(expected) else 0.0
    assert err <= TOL * scale, f"{what}: {err:.2e}"


# -- 1. values and gradients (hidden, class_weights, bias) on every backend ---------------------------------

# JAX and TensorFlow compile each configuration (JAX: a forward and a backward scan, ~1-3 s): three of them
COMPILED = {Backend.JAX, Backend.TENSORFLOW}
COMPILED_CONFIGS = ("all-options-chunk4-mean", "bias-ignore-chunk2-none", "ignore-cw-chunk3-weighted_mean")


@pytest.mark.parametrize("config", list(CONFIGS))
def test_matches_torch(backend, config):
    if backend in COMPILED and config not in COMPILED_CONFIGS:
        pytest.skip("compiled backends: three configurations (every option among them)")
    opts, reduction, weighted = CONFIGS[config]
    d = _data(ignore=opts.get("ignore", False))
    ref, ref_grads = _torch_reference(d, opts, reduction, weighted)
    value, grads = _xploss(backend, d, opts, reduction, weighted)
    _close(value, ref, "value")
    for name, g, r in zip(("hidden", "class_weights", "bias"), grads, ref_grads):
        _close(g, r, f"d/d{name}")


def test_numpy_without_autograd_runs_the_hand_vjp(monkeypatch):
    """NumPy's tape (no autograd): the eager blocks, dW written block by block into one buffer."""
    from xploss.backends import _numpy

    monkeypatch.setattr(_numpy, "_load_autograd", lambda: None)
    for config in ("all-options-chunk4-mean", "bias-smoothing-chunk5-sum"):
        opts, reduction, weighted = CONFIGS[config]
        d = _data(ignore=opts.get("ignore", False))
        ref, ref_grads = _torch_reference(d, opts, reduction, weighted)
        value, grads = _xploss(Backend.NUMPY, d, opts, reduction, weighted)
        _close(value, ref, config)
        for g, r in zip(grads, ref_grads):
            _close(g, r, config)


def test_counts_and_leading_axes(backend):
    """``(B, T, H)`` hidden states with ``(B, T)`` labels and a ``(B,)`` weight; the partial-form reductions."""
    torch = _load(Backend.TORCH)
    d = _data(seed=1, ignore=True, shape=(2, 3))
    T = lambda x: _to(backend, x)  # noqa: E731
    sw = d["sw"][:, 0]
    z = torch.tensor(d["h"]) @ torch.tensor(d["w"]).T
    per = torch.nn.functional.cross_entropy(z.reshape(-1, V), torch.tensor(d["y"]).reshape(-1),
                                            reduction="none").reshape(2, 3).numpy()
    out = xploss.linear_cross_entropy(T(d["h"]), T(d["w"]), T(d["y"]), sample_weight=T(sw), reduction="none",
                                      chunk_size=4)
    _close(to_numpy(out), per * sw[:, None], "per-sample")
    count = xploss.linear_cross_entropy(T(d["h"]), T(d["w"]), T(d["y"]), reduction="count", chunk_size=4)
    total = xploss.linear_cross_entropy(T(d["h"]), T(d["w"]), T(d["y"]), class_weight=T(d["cw"]),
                                        sample_weight=T(sw), reduction="total_weight", chunk_size=4)
    valid = d["y"] != -100
    assert float(to_numpy(count)) == valid.sum()
    _close(to_numpy(total), (sw[:, None] * d["cw"][np.where(valid, d["y"], 0)] * valid).sum(), "total_weight")
    one = xploss.linear_cross_entropy(T(d["h"][0, 0]), T(d["w"]), T(np.asarray(d["y"][0, 0])), chunk_size=4)
    assert np.shape(to_numpy(one)) == ()
    _close(to_numpy(one), per[0, 0], "unbatched (H,)")


def test_extreme_logits_and_masked_classes(backend):
    """Logits of 1e4 (no overflow) and classes masked by a ``-inf`` bias, a whole block of them included:
    finite values and gradients equal to torch's."""
    torch = _load(Backend.TORCH)
    d = _data(seed=2)
    d["h"] = d["h"] * 3e3
    b = d["b"].copy()
    b[4:8] = -np.inf  # the block [4, 8) of chunk_size=4 entirely masked, and its targets avoided
    d["y"] = np.where((d["y"] >= 4) & (d["y"] < 8), 0, d["y"])
    h, w, bt = (torch.tensor(x, requires_grad=True) for x in (d["h"], d["w"], b))
    ref = torch.nn.functional.cross_entropy(h @ w.T + bt, torch.tensor(d["y"]))
    rg = torch.autograd.grad(ref, (h, w, bt))
    T = lambda x: _to(backend, x)  # noqa: E731
    f = lambda h, w, bias: xploss.linear_cross_entropy(h, w, T(d["y"]), bias=bias, chunk_size=4)  # noqa: E731
    value, grads = xploss.value_and_grad(f, argnums=(0, 1, 2))(T(d["h"]), T(d["w"]), T(b))
    assert np.isfinite(float(to_numpy(value)))
    _close(to_numpy(value), ref.detach().numpy(), "value")
    for g, r in zip(grads, rg):
        assert np.all(np.isfinite(to_numpy(g)))
        _close(to_numpy(g), r.numpy(), "grad")


# -- 2. compilers, higher order, training -----------------------------------------------------------------

def test_torch_compile_fullgraph_once_and_double_backward():
    torch = _load(Backend.TORCH)
    F = torch.nn.functional
    torch._dynamo.reset()
    graphs = []

    def counting(gm, example_inputs):
        graphs.append(gm)
        return gm.forward

    def f(h, w, b, y):
        return xploss.linear_cross_entropy(h, w, y, bias=b, label_smoothing=0.1, chunk_size=4)

    compiled = torch.compile(f, backend=counting, fullgraph=True)
    for seed in range(3):  # new values, same shapes: one graph
        d = _data(seed=seed)
        h, w, b = (torch.tensor(d[k], requires_grad=True) for k in ("h", "w", "b"))
        y = torch.tensor(d["y"])
        out = compiled(h, w, b, y)
        grads = torch.autograd.grad(out, (h, w, b))
        ref = F.cross_entropy(h @ w.T + b, y, label_smoothing=0.1)
        for g, r in zip(grads, torch.autograd.grad(ref, (h, w, b))):
            _close(g.numpy(), r.numpy(), "compiled grad")
        _close(out.detach().numpy(), ref.detach().numpy(), "compiled value")
    assert len(graphs) == 1
    # double backward: the VJP recomputed under autograd (a Hessian-vector product through hidden)
    (gh,) = torch.autograd.grad(f(h, w, b, y), h, create_graph=True)
    second = torch.autograd.grad((gh * gh).sum(), (h, w, b))
    (rh,) = torch.autograd.grad(F.cross_entropy(h @ w.T + b, y, label_smoothing=0.1), h, create_graph=True)
    for g, r in zip(second, torch.autograd.grad((rh * rh).sum(), (h, w, b))):
        _close(g.numpy(), r.numpy(), "second order")
    with pytest.raises(xploss.XplossError, match="forward-mode differentiation"):
        torch.func.jacfwd(lambda x: f(x, w, b, y))(h)


def test_jax_jit_grad_and_compiled_memory():
    """jax.jit(grad) equals torch; the compiled program's temporaries stay far below the logits (one
    ``lax.scan`` over the blocks: unrolled, XLA scheduled every block's matmul at once, 1-2x the logits)."""
    jax = _load(Backend.JAX)
    jnp = jax.numpy
    opts, reduction, weighted = CONFIGS["all-options-chunk4-mean"]
    d = _data(ignore=True)
    ref, ref_grads = _torch_reference(d, opts, reduction, weighted)

    def f(h, w, b):
        return xploss.linear_cross_entropy(h, w, jnp.asarray(d["y"]), bias=b, class_weight=jnp.asarray(d["cw"]),
                                           label_smoothing=0.3, sample_weight=jnp.asarray(d["sw"]), chunk_size=4)

    value, grads = jax.jit(jax.value_and_grad(f, argnums=(0, 1, 2)))(d["h"], d["w"], d["b"])
    _close(np.asarray(value), ref, "jit value")
    for g, r in zip(grads, ref_grads):
        _close(np.asarray(g), r, "jit grad")
    n, h, v = 1024, 32, 4096
    shapes = (jax.ShapeDtypeStruct((n, h), jnp.float32), jax.ShapeDtypeStruct((v, h), jnp.float32),
              jax.ShapeDtypeStruct((n,), jnp.int32))
    step = jax.jit(jax.grad(lambda a, w, y: xploss.linear_cross_entropy(a, w, y, chunk_size=256), argnums=(0, 1)))
    temp = step.lower(*shapes).compile().memory_analysis().temp_size_in_bytes
    assert temp <= 0.15 * n * v * 4, f"{temp / (n * v * 4):.2f}x the logits"


def test_tensorflow_function_and_xla():
    tf = _load(Backend.TENSORFLOW)
    opts, reduction, weighted = CONFIGS["all-options-chunk4-mean"]
    d = _data(ignore=True)
    ref, ref_grads = _torch_reference(d, opts, reduction, weighted)
    y, cw, sw = tf.constant(d["y"]), tf.constant(d["cw"]), tf.constant(d["sw"])

    def step(h, w, b):
        with tf.GradientTape() as tape:
            tape.watch([h, w, b])
            out = xploss.linear_cross_entropy(h, w, y, bias=b, class_weight=cw, label_smoothing=0.3,
                                              sample_weight=sw, chunk_size=4)
        return out, tape.gradient(out, [h, w, b])

    args = [tf.constant(d[k]) for k in ("h", "w", "b")]
    for compiled in (tf.function(step), tf.function(step, jit_compile=True)):
        value, grads = compiled(*args)
        _close(value.numpy(), ref, "value")
        for g, r in zip(grads, ref_grads):
            _close(g.numpy(), r, "grad")


def test_torch_training_step_with_an_nn_linear_head():
    """Three SGD steps of an encoder + ``nn.Linear`` head: xploss (criterion, bias passed) and
    ``F.linear_cross_entropy`` give the same parameters."""
    torch = _load(Backend.TORCH)
    import xploss.torch as xt

    def model():
        torch.manual_seed(0)
        return torch.nn.Linear(3, H).double(), torch.nn.Linear(H, V).double()

    rng = np.random.default_rng(3)
    x, y = torch.tensor(rng.normal(size=(N, 3))), torch.tensor(rng.integers(0, V, N))
    y[0] = -100
    criterion = xt.FusedLinearCrossEntropyLoss(label_smoothing=0.1, chunk_size=4)
    params = []
    for loss_fn in (lambda hid, head: criterion(hid, head.weight, y, head.bias),
                    lambda hid, head: torch.nn.functional.linear_cross_entropy(hid, head.weight, y,
                                                                               linear_bias=head.bias,
                                                                               label_smoothing=0.1)):
        enc, head = model()
        opt = torch.optim.SGD([*enc.parameters(), *head.parameters()], lr=0.5)
        for _ in range(3):
            opt.zero_grad()
            loss_fn(torch.tanh(enc(x)), head).backward()
            opt.step()
        params.append([p.detach().numpy().copy() for p in (*enc.parameters(), *head.parameters())])
    for ours, theirs in zip(*params):
        _close(ours, theirs, "parameters after 3 steps")


def test_jax_training_step():
    """Three optax SGD steps under jax.jit: xploss and the unfused optax cross-entropy give the same head."""
    jax = _load(Backend.JAX)
    jnp = jax.numpy
    optax = pytest.importorskip("optax")
    d = _data(seed=4)
    y = jnp.asarray(d["y"])

    def ours(p):
        return xploss.linear_cross_entropy(jnp.tanh(d["h"] @ p["enc"]), p["w"], y, bias=p["b"], chunk_size=4)

    def theirs(p):
        z = jnp.tanh(d["h"] @ p["enc"]) @ p["w"].T + p["b"]
        return optax.softmax_cross_entropy_with_integer_labels(z, y).mean()

    out = []
    for loss_fn in (ours, theirs):
        p = {"enc": jnp.eye(H), "w": jnp.asarray(d["w"]), "b": jnp.asarray(d["b"])}
        opt = optax.sgd(0.5)
        state = opt.init(p)

        @jax.jit
        def step(p, state, loss_fn=loss_fn, opt=opt):
            g = jax.grad(loss_fn)(p)
            updates, state = opt.update(g, state)
            return optax.apply_updates(p, updates), state

        for _ in range(3):
            p, state = step(p, state)
        out.append(p)
    for k in out[0]:
        _close(np.asarray(out[0][k]), np.asarray(out[1][k]), k)


# -- 3. dtypes, options, errors ----------------------------------------------------------------------------

def test_bfloat16_computed_in_float32():
    torch = _load(Backend.TORCH)
    d = _data(seed=5)
    h, w = (torch.tensor(d[k], dtype=torch.bfloat16, requires_grad=True) for k in ("h", "w"))
    y = torch.tensor(d["y"])
    out = xploss.linear_cross_entropy(h, w, y, chunk_size=4)
    gh, gw = torch.autograd.grad(out, (h, w))
    assert out.dtype == gh.dtype == gw.dtype == torch.bfloat16
    h32, w32 = (t.detach().float().requires_grad_() for t in (h, w))
    ref = torch.nn.functional.cross_entropy(h32 @ w32.T, y)
    rh, rw = torch.autograd.grad(ref, (h32, w32))
    assert torch.allclose(out.float(), ref.to(torch.bfloat16).float())
    for g, r in ((gh, rh), (gw, rw)):
        assert torch.allclose(g.float(), r.to(torch.bfloat16).float())


def test_option_errors():
    h, w, y = np.ones((3, 2)), np.ones((4, 2)), np.array([0, 1, 2])
    with pytest.raises(xploss.XplossError, match=r"argument `chunk_size`: expected None or a positive int"):
        xploss.linear_cross_entropy(h, w, y, chunk_size=0)
    with pytest.raises(xploss.XplossTypeError, match=r"argument `labels`: .*probability targets are not supported"):
        xploss.linear_cross_entropy(h, w, np.full((3, 4), 0.25))
    with pytest.raises(xploss.XplossError, match=r"argument `class_weight`: expected shape \(4,\)"):
        xploss.linear_cross_entropy(h, w, y, class_weight=np.ones(3))
    with pytest.raises(xploss.XplossError, match=r"argument `label_smoothing`: expected a value in \[0.0, 1.0\]"):
        xploss.linear_cross_entropy(h, w, y, label_smoothing=1.5)
    with pytest.raises(xploss.XplossError, match=r"argument `hidden`: expected an array of hidden states"):
        xploss.linear_cross_entropy(np.ones(()), w, y)


def test_default_blocks():
    from xploss.losses._linear_ce import default_columns

    assert default_columns(4096, 32000) == 500  # 2**21 // 4096 = 512 rounded to a divisor of V: 64 equal blocks
    assert default_columns(4096, 50257) == 512  # no divisor close by: the last block is narrower
    assert default_columns(8, 32000) == 32000 and default_columns(10**6, 32000) == 128

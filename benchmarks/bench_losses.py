#!/usr/bin/env python
"""Time (and optionally memory) of xploss losses against the frameworks' built-ins.

For every (loss, backend, mode, size) cell this prints the forward time and the
forward+backward time of xploss DIVIDED by the built-in's (lower is better),
measured side by side in one process (``shared/PERFORMANCE.md`` §5.3): after a
warm-up, xploss and the built-in run in interleaved pairs (AB, BA, AB, ...) and
the cell reports the median of the per-pair ratios with a bootstrap 95 % CI.

Built-ins: torch.nn.functional, optax (JAX), tf.nn or keras 3 on TensorFlow;
NumPy has none, so its anchor is a hand-fused reference written below.
TensorFlow and keras have no triplet loss: its anchor is the same formula in
plain tf ops.

``--suite classification`` runs the classification issue's cells instead:
cross_entropy 4096x32000 and sigmoid_binary_cross_entropy on 10^7 elements,
torch eager, jax.jit and TF XLA, then the peak-memory mode on both.

Run ``python benchmarks/bench_losses.py --help``; see benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata as md
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def pin_xla_threads(argv: list[str]) -> None:
    """``--threads N`` for XLA, which reads its thread flags when JAX is imported: call before that import
    (the family benchmarks: bench_contrastive, bench_dice, bench_ctc)."""
    if "--threads" in argv:
        n = argv[argv.index("--threads") + 1]
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                                   f" --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads={n}").strip()

import numpy as np  # noqa: E402

import xploss  # noqa: E402

NOTES: list[str] = []  # fallbacks taken while measuring, printed under the table
BACKENDS = ("numpy", "torch", "jax", "tensorflow")
LOSSES = ("mse", "huber", "cross_entropy", "triplet_margin")  # the default table; SPECS has more
SIZES = ("small", "large", "xl")  # xl: PERFORMANCE.md §5.1's size L, only for the losses that define it
EPS = 1e-6  # triplet's eps (torch's default)


# -- inputs ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Loss:
    shapes: dict[str, tuple[int, ...]]  # size -> shape of the (first) input
    n_in: int  # float inputs: pred+target, anchor+positive+negative, or logits (+ labels, below)
    n_diff: int  # leading inputs differentiated in fwd+bwd
    fn: Callable[..., Any]  # xploss loss, positional arrays only
    labels: Callable[[np.random.Generator, tuple[int, ...]], np.ndarray] | None = None  # appended, not differentiated


def _int_labels(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.integers(0, shape[-1], shape[:-1], dtype=np.int64)


def _binary_labels(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return (rng.random(shape, dtype=np.float32) < 0.5).astype(np.float32)


SPECS = {
    "mse": Loss({"small": (256,), "large": (1_000_000,)}, 2, 1, xploss.mse),
    "huber": Loss({"small": (256,), "large": (1_000_000,)}, 2, 1, xploss.huber),
    "cross_entropy": Loss({"small": (64, 4), "large": (4096, 1000), "xl": (4096, 32000)}, 1, 1,
                          xploss.cross_entropy, _int_labels),
    "triplet_margin": Loss({"small": (16, 16), "large": (4096, 256)}, 3, 3, xploss.triplet_margin),
    "sigmoid_bce": Loss({"small": (256,), "large": (1_000_000,), "xl": (10_000_000,)}, 1, 1,
                        xploss.sigmoid_binary_cross_entropy, _binary_labels),
}


def make_inputs(loss: str, size: str, seed: int = 0, shape: tuple[int, ...] | None = None) -> list[np.ndarray]:
    spec, rng = SPECS[loss], np.random.default_rng(seed)
    shape = shape or spec.shapes[size]
    arrays = [rng.standard_normal(shape, dtype=np.float32) for _ in range(spec.n_in)]
    return arrays + ([spec.labels(rng, shape)] if spec.labels else [])


# -- NumPy hand-fused references (value, and gradients of the first n_diff inputs) -----------

def _ref_mse(p: np.ndarray, t: np.ndarray, grad: bool) -> Any:
    d = p - t
    v = np.dot(d, d) / d.size
    return v if not grad else (v, (np.multiply(d, 2.0 / d.size, out=d),))


def _ref_huber(p: np.ndarray, t: np.ndarray, grad: bool) -> Any:
    d = p - t
    a = np.abs(d)
    q = np.minimum(a, 1.0)
    v = (np.dot(q, q) * 0.5 + np.sum(a - q)) / d.size
    return v if not grad else (v, (np.clip(d, -1.0, 1.0, out=d) / d.size,))


def _ref_ce(z: np.ndarray, y: np.ndarray, grad: bool) -> Any:
    rows = np.arange(z.shape[0])
    e = z - z.max(axis=1, keepdims=True)
    zy = e[rows, y]
    np.exp(e, out=e)
    s = e.sum(axis=1)
    v = np.mean(np.log(s) - zy)
    if not grad:
        return v
    e *= (1.0 / (s * z.shape[0]))[:, None]
    e[rows, y] -= 1.0 / z.shape[0]
    return v, (e,)


def _ref_triplet(a: np.ndarray, p: np.ndarray, n: np.ndarray, grad: bool) -> Any:
    u, w = a - p + EPS, a - n + EPS
    dp, dn = np.sqrt(np.einsum("ij,ij->i", u, u)), np.sqrt(np.einsum("ij,ij->i", w, w))
    h = dp - dn + 1.0
    v = np.mean(np.maximum(h, 0.0))
    if not grad:
        return v
    act = (h >= 0) / a.shape[0]
    gp, gn = u * (act / dp)[:, None], w * (act / dn)[:, None]
    return v, (gp - gn, -gp, gn)


def _ref_bce(z: np.ndarray, y: np.ndarray, grad: bool) -> Any:
    e = np.exp(-np.abs(z))
    v = (np.sum(np.maximum(z, 0.0)) - np.dot(z, y) + np.sum(np.log1p(e))) / z.size
    if not grad:
        return v
    s = np.where(z >= 0, 1.0, e)  # sigmoid(z) = s / (1 + e), then (sigmoid - y) / n in place
    s /= np.add(e, 1.0, out=e)
    s -= y
    s /= z.size
    return v, (s,)


NUMPY_REFS = {"mse": _ref_mse, "huber": _ref_huber, "cross_entropy": _ref_ce, "triplet_margin": _ref_triplet,
              "sigmoid_bce": _ref_bce}


# -- backends: conversion, built-ins, and the eager / jitted fwd and fwd+bwd runners ---------

class NumpyBackend:
    name, modes = "numpy", ("eager",)

    def native(self, loss: str) -> tuple[str, Callable]:
        ref = NUMPY_REFS[loss]

        def fwd(*a: Any) -> Any:
            return ref(*a, grad=False)
        fwd.vg = lambda *a: ref(*a, grad=True)  # type: ignore[attr-defined]
        return "hand-fused numpy", fwd

    def convert(self, arrays: list[np.ndarray], n_diff: int) -> list:
        return arrays

    def fwd(self, f: Callable, jit: bool) -> Callable:
        return f

    def fwdbwd(self, f: Callable, jit: bool, n_diff: int) -> Callable:
        return getattr(f, "vg", None) or xploss.value_and_grad(f, argnums=tuple(range(n_diff)))


class TorchBackend:
    name, modes = "torch", ("eager", "jit")

    def __init__(self) -> None:
        import torch
        import torch.nn.functional as F

        self.torch = torch
        torch._dynamo.config.cache_size_limit = 64
        self.natives = {
            "mse": ("F.mse_loss", F.mse_loss),
            "huber": ("F.huber_loss", F.huber_loss),
            "cross_entropy": ("F.cross_entropy", F.cross_entropy),
            "triplet_margin": ("F.triplet_margin_loss", F.triplet_margin_loss),
            "sigmoid_bce": ("F.binary_cross_entropy_with_logits", F.binary_cross_entropy_with_logits),
        }

    def native(self, loss: str) -> tuple[str, Callable]:
        return self.natives[loss]

    def convert(self, arrays: list[np.ndarray], n_diff: int) -> list:
        return [self.torch.from_numpy(a.copy()).requires_grad_(i < n_diff) for i, a in enumerate(arrays)]

    def _compile(self, f: Callable, jit: bool) -> Callable:
        """torch.compile(fullgraph=True); on a graph break, note it and fall back to fullgraph=False."""
        if not jit:
            return f
        torch = self.torch
        torch._dynamo.reset()
        fns = [torch.compile(lambda *a: f(*a), fullgraph=True, dynamic=False)]

        def run(*a: Any) -> Any:
            try:
                return fns[-1](*a)
            except torch._dynamo.exc.Unsupported as exc:
                if len(fns) > 1:
                    raise
                NOTES.append(f"torch.compile(fullgraph=True) of {getattr(f, '__name__', f)} fails "
                             f"({str(exc).splitlines()[0]}); timed with graph breaks (fullgraph=False)")
                fns.append(torch.compile(lambda *a: f(*a), dynamic=False))
                return fns[-1](*a)
        return run

    def fwd(self, f: Callable, jit: bool) -> Callable:
        g, no_grad = self._compile(f, jit), self.torch.no_grad

        def run(*a: Any) -> Any:
            with no_grad():
                return g(*a)
        return run

    def fwdbwd(self, f: Callable, jit: bool, n_diff: int) -> Callable:
        g, grad = self._compile(f, jit), self.torch.autograd.grad

        def run(*a: Any) -> Any:
            out = g(*a)
            return out, grad(out, a[:n_diff])
        return run


class JaxBackend:
    name, modes = "jax", ("eager", "jit")

    def __init__(self) -> None:
        import jax
        import jax.numpy as jnp
        import optax

        self.jax, self.jnp = jax, jnp
        losses = optax.losses
        self.natives = {
            "mse": ("optax.squared_error", lambda p, t: jnp.mean(losses.squared_error(p, t))),
            "huber": ("optax.huber_loss", lambda p, t: jnp.mean(losses.huber_loss(p, t, delta=1.0))),
            "cross_entropy": ("optax.softmax_xent_int",
                              lambda z, y: jnp.mean(losses.softmax_cross_entropy_with_integer_labels(z, y))),
            "triplet_margin": ("optax.triplet_margin", lambda a, p, n: jnp.mean(losses.triplet_margin_loss(a, p, n))),
            "sigmoid_bce": ("optax.sigmoid_bce", lambda z, y: jnp.mean(losses.sigmoid_binary_cross_entropy(z, y))),
        }

    def native(self, loss: str) -> tuple[str, Callable]:
        return self.natives[loss]

    def convert(self, arrays: list[np.ndarray], n_diff: int) -> list:
        return [self.jnp.asarray(a.astype(np.int32) if a.dtype.kind == "i" else a) for a in arrays]

    def _sync(self, g: Callable) -> Callable:
        block = self.jax.block_until_ready
        return lambda *a: block(g(*a))

    def fwd(self, f: Callable, jit: bool) -> Callable:
        return self._sync(self.jax.jit(lambda *a: f(*a)) if jit else f)

    def fwdbwd(self, f: Callable, jit: bool, n_diff: int) -> Callable:
        vg = self.jax.value_and_grad(f, argnums=tuple(range(n_diff)))
        return self._sync(self.jax.jit(vg) if jit else vg)


class TensorFlowBackend:
    name, modes = "tensorflow", ("eager", "jit")

    def __init__(self) -> None:
        import keras
        import tensorflow as tf

        self.tf = tf
        kl = keras.losses

        def triplet(a: Any, p: Any, n: Any) -> Any:  # no tf / keras built-in: torch's formula in tf ops
            dp, dn = tf.norm(a - p + EPS, axis=-1), tf.norm(a - n + EPS, axis=-1)
            return tf.reduce_mean(tf.maximum(dp - dn + 1.0, 0.0))

        self.natives = {
            "mse": ("keras mean_squared_error", lambda p, t: kl.mean_squared_error(t, p)),
            "huber": ("keras huber", lambda p, t: kl.huber(t, p, delta=1.0)),
            "cross_entropy": ("tf.nn.sparse_softmax_xent", lambda z, y: tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=z))),
            "triplet_margin": ("tf ops (no built-in)", triplet),
            "sigmoid_bce": ("tf.nn.sigmoid_xent", lambda z, y: tf.reduce_mean(
                tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=z))),
        }

    def native(self, loss: str) -> tuple[str, Callable]:
        return self.natives[loss]

    def convert(self, arrays: list[np.ndarray], n_diff: int) -> list:
        return [self.tf.constant(a) for a in arrays]

    def _sync(self, g: Callable) -> Callable:
        def run(*a: Any) -> Any:
            return [t.numpy() for t in self.tf.nest.flatten(g(*a))]
        return run

    def _jit(self, f: Callable, jit: bool) -> Callable:
        # the loss inside a plain *args closure, as in a training step (tf.function's binding of
        # a signature with keyword defaults costs ~100 us per call and is not the loss' cost)
        return self.tf.function(lambda *a: f(*a), jit_compile=True, autograph=False) if jit else f

    def fwd(self, f: Callable, jit: bool) -> Callable:
        return self._sync(self._jit(f, jit))

    def fwdbwd(self, f: Callable, jit: bool, n_diff: int) -> Callable:
        tf = self.tf

        def vg(*a: Any) -> Any:
            with tf.GradientTape() as tape:
                tape.watch(a[:n_diff])
                out = f(*a)
            return out, tape.gradient(out, a[:n_diff])
        return self._sync(self._jit(vg, jit))


BACKEND_CLASSES = {"numpy": NumpyBackend, "torch": TorchBackend, "jax": JaxBackend, "tensorflow": TensorFlowBackend}


# -- timing ------------------------------------------------------------------------------------

@dataclass
class Timing:
    ratio: float  # median of per-pair ratios xploss / native
    lo: float  # bootstrap 95 % CI of that median
    hi: float
    t_x: float  # median seconds per call
    t_n: float
    first_x: float  # first call (trace + compile) seconds
    first_n: float


def _per_call(fn: Callable, args: list, number: int) -> float:
    t0 = time.perf_counter()
    for _ in range(number):
        fn(*args)
    return (time.perf_counter() - t0) / number


def _bootstrap(ratios: np.ndarray, rng: np.random.Generator) -> tuple[float, float]:
    meds = np.median(rng.choice(ratios, (2000, ratios.size)), axis=1)
    return float(np.quantile(meds, 0.025)), float(np.quantile(meds, 0.975))


def compare(fx: Callable, fn: Callable, args_x: list, args_n: list, pairs: int, sample_s: float) -> Timing:
    """Interleaved A/B timing of xploss (fx) and native (fn) after warm-up."""
    first_x, first_n = _per_call(fx, args_x, 1), _per_call(fn, args_n, 1)
    for _ in range(2):  # warm-up
        _per_call(fx, args_x, 1)
        _per_call(fn, args_n, 1)
    one = min(min(_per_call(fx, args_x, 1), _per_call(fn, args_n, 1)) for _ in range(2))
    number = max(1, int(sample_s / max(one, 1e-7)))
    tx, tn = [], []
    for i in range(pairs):
        if i % 2:
            tn.append(_per_call(fn, args_n, number))
            tx.append(_per_call(fx, args_x, number))
        else:
            tx.append(_per_call(fx, args_x, number))
            tn.append(_per_call(fn, args_n, number))
    ratios = np.array(tx) / np.array(tn)
    lo, hi = _bootstrap(ratios, np.random.default_rng(0))
    return Timing(float(np.median(ratios)), lo, hi, float(np.median(tx)), float(np.median(tn)), first_x, first_n)


# Targets (Foundation issue; PERFORMANCE.md §5.6): (size, mode, backend or None for any) -> max ratio.
TARGETS = {("large", "eager", "torch"): 1.0, ("large", "eager", "tensorflow"): 1.0,
           ("large", "eager", "numpy"): 1.1, ("large", "eager", "jax"): 0.25,
           ("large", "jit", None): 1.15, ("small", "eager", None): 2.0, ("small", "jit", None): 1.2}


def target(size: str, mode: str, backend: str) -> float:
    size = "large" if size == "xl" else size
    return TARGETS.get((size, mode, backend), TARGETS.get((size, mode, None), math.inf))


def run_cell(be: Any, loss: str, mode: str, size: str, pairs: int, sample_s: float) -> dict:
    spec, jit = SPECS[loss], mode == "jit"
    arrays = make_inputs(loss, size)
    native_name, native = be.native(loss)
    out: dict = {"loss": loss, "backend": be.name, "mode": mode, "size": size,
                 "shape": "x".join(map(str, spec.shapes[size])), "native": native_name}
    n_notes = len(NOTES)
    for kind in ("fwd", "fwdbwd"):
        runners = [be.fwd(f, jit) if kind == "fwd" else be.fwdbwd(f, jit, spec.n_diff) for f in (spec.fn, native)]
        n_diff = spec.n_diff if kind == "fwdbwd" else 0
        args_x, args_n = be.convert(arrays, n_diff), be.convert(arrays, n_diff)
        try:
            out[kind] = compare(runners[0], runners[1], args_x, args_n, pairs, sample_s)
        except Exception as exc:  # report and go on: one failing cell must not hide the table
            out[kind] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:100] if str(exc) else ''}"
        gc.collect()
    if len(NOTES) > n_notes:
        out["mode"] += "*"
    return out


# -- report ---------------------------------------------------------------------------------------

def _ms(t: float) -> str:
    return f"{t * 1e3:.3f}" if t < 0.01 else f"{t * 1e3:.1f}"


def _fmt(t: Any, limit: float) -> tuple[str, str]:
    if not isinstance(t, Timing):
        return "ERROR", "-"
    flag = "  " if t.ratio <= limit else " !"
    return f"{t.ratio:5.2f} [{t.lo:.2f},{t.hi:.2f}]{flag}", f"{_ms(t.t_x)}/{_ms(t.t_n)}"


COLUMNS = ("loss", "backend", "mode", "size", "shape", "fwd ratio [95% CI]", "fwd+bwd ratio [95% CI]",
           "target", "fwd ms x/native", "fwd+bwd ms x/native", "1st fwd+bwd s x/n", "native")


def print_row(cells: list[str], widths: list[int]) -> None:
    print(" | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)), flush=True)


WIDTHS = [14, 10, 5, 5, 10, 23, 23, 6, 17, 19, 17, 22]


def row_cells(r: dict) -> list[str]:
    limit = target(r["size"], r["mode"].rstrip("*"), r["backend"])
    fr, fm = _fmt(r["fwd"], limit)
    br, bm = _fmt(r["fwdbwd"], limit)
    fb = r["fwdbwd"]
    first = f"{fb.first_x:.2f}/{fb.first_n:.2f}" if isinstance(fb, Timing) else "-"
    return [r["loss"], r["backend"], r["mode"], r["size"], r["shape"], fr, br, f"<={limit:g}", fm, bm, first,
            r["native"]]


def _read(path: str) -> str:
    try:
        with open(path) as fh:
            return fh.read().strip()
    except OSError:
        return "n/a"


def set_threads(backends: list, n: int) -> None:
    """Pin torch's and TF's intra-op threads (steadier on a loaded machine); JAX: use XLA_FLAGS."""
    for be in backends:
        if be.name == "torch":
            be.torch.set_num_threads(n)
        if be.name == "tensorflow":
            be.tf.config.threading.set_intra_op_parallelism_threads(n)


def environment(backends: list, args: argparse.Namespace, pairs: str) -> None:
    cpu = next((ln.split(":", 1)[1].strip() for ln in _read("/proc/cpuinfo").splitlines()
                if ln.startswith("model name")), platform.processor())
    print("# xploss loss benchmark: time(xploss) / time(built-in), lower is better")
    print(f"# python {platform.python_version()}  {platform.platform()}  cpu: {cpu} x{os.cpu_count()}")
    pkgs = ["xploss", "numpy", "torch", "jax", "jaxlib", "optax", "tensorflow-cpu", "keras"]
    vers = []
    for p in pkgs:
        try:
            vers.append(f"{p} {md.version(p)}")
        except md.PackageNotFoundError:
            pass
    print("# " + ", ".join(vers))
    threads = []
    for be in backends:
        if be.name == "torch":
            threads.append(f"torch threads={be.torch.get_num_threads()} interop={be.torch.get_num_interop_threads()}")
        if be.name == "tensorflow":
            th = be.tf.config.threading
            threads.append(f"tf intra={th.get_intra_op_parallelism_threads()} "
                           f"inter={th.get_inter_op_parallelism_threads()} (0 = default)")
    print("# threads: " + ("; ".join(threads) or "-"))
    keys = ("THP_MEM_ALLOC_ENABLE", "XLA_FLAGS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
    env = {k: v for k, v in os.environ.items() if k in keys or k.startswith("MALLOC_")}
    print(f"# THP: {_read('/sys/kernel/mm/transparent_hugepage/enabled')}  env: {env or '{}'}")
    print(f"# protocol: {pairs} interleaved pairs per cell after 1 compile + 2 warm-up calls, "
          f"~{args.sample_ms:g} ms per sample; ratio = median of per-pair ratios, bootstrap 95% CI; "
          "'!' = above target; fwd+bwd differentiates the prediction/logits (triplet: all three inputs)"
          + (f"; threads pinned by --threads {args.threads}" if args.threads else ""))
    print(f"# load average: {_read('/proc/loadavg')}")
    print(flush=True)


# -- memory mode (PERFORMANCE.md §5.4): peak RSS of one call in a fresh subprocess -----------------

def _status(key: str) -> int:
    line = next(ln for ln in _read("/proc/self/status").splitlines() if ln.startswith(key))
    return int(line.split()[1]) * 1024


def memory_child(impl: str, kind: str, loss: str, shape: str) -> None:
    be, spec = TorchBackend(), SPECS[loss]
    f = spec.fn if impl == "xploss" else be.native(loss)[1]
    n_diff = spec.n_diff if kind == "fwdbwd" else 0
    call = be.fwd(f, False) if kind == "fwd" else be.fwdbwd(f, False, n_diff)
    args = be.convert(make_inputs(loss, "", shape=_shape(shape)), n_diff)
    call(*args)  # warm-up, then free everything it made (autograd.grad leaves no .grad behind)
    gc.collect()
    before = _status("VmRSS:")
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    kept = call(*args)  # noqa: F841 - the result (gradient) stays alive until the peak is read
    print(_status("VmHWM:") - before)


def _shape(text: str) -> tuple[int, ...]:
    return tuple(int(n) for n in text.split("x"))


def memory_mode(cells: list[tuple[str, str]]) -> None:
    """Peak extra RSS of one torch eager call per (loss, shape "RxC"), xploss vs the built-in (§5.4)."""
    print("# peak extra RSS of one torch eager call (VmHWM after /proc/self/clear_refs - VmRSS before), "
          "fresh subprocess each, float32, as a multiple of the first input's size; the gradient alone is 1.00x")
    print(f"# THP: {_read('/sys/kernel/mm/transparent_hugepage/enabled')}  "
          f"THP_MEM_ALLOC_ENABLE={os.environ.get('THP_MEM_ALLOC_ENABLE', 'unset')}  "
          "targets (PERFORMANCE.md §5.6): xploss fwd+bwd <= 1.0x, fwd <= 0.05x")
    be = TorchBackend()
    for loss, shape in cells:
        size, native = math.prod(_shape(shape)) * 4, be.native(loss)[0]
        for kind in ("fwd", "fwdbwd"):
            res = {}
            for impl in ("xploss", "native"):
                cmd = [sys.executable, __file__, "--memory-child", impl, kind, loss, shape]
                out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.split()
                res[impl] = int(out[-1]) / size
            print(f"{loss:14s} {shape:12s} {kind:7s} xploss {res['xploss']:.2f}x   {native} {res['native']:.2f}x",
                  flush=True)


# -- profile mode: where torch eager spends the time ----------------------------------------------

def profile_mode(losses: list[str], sizes: list[str], rows: int = 12) -> None:
    from torch.profiler import ProfilerActivity, profile

    be = TorchBackend()
    for loss in losses:
        for size in (s for s in sizes if s in SPECS[loss].shapes):
            arrays, spec = make_inputs(loss, size), SPECS[loss]
            for name, f in (("xploss", spec.fn), be.native(loss)):
                run, args = be.fwdbwd(f, False, spec.n_diff), be.convert(arrays, spec.n_diff)
                _per_call(run, args, 3)
                with profile(activities=[ProfilerActivity.CPU]) as prof:
                    _per_call(run, args, 20)
                print(f"\n## torch eager fwd+bwd, {loss} {size}: {name} (20 calls)")
                print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows))


# -- suites ---------------------------------------------------------------------------------------------

# --suite classification: the classification issue's "Speed and memory" cells, size L of PERFORMANCE.md §5.1
# (cross_entropy 4096x32000 = 500 MiB of logits, sigmoid_bce 10^7); 7 pairs (the §5.3 minimum) for the heavy CE cells.
SUITES = {
    "classification": {
        "cells": [(backend, mode, loss, "xl", pairs)
                  for loss, pairs in (("cross_entropy", 7), ("sigmoid_bce", 15))
                  for backend, mode in (("torch", "eager"), ("jax", "jit"), ("tensorflow", "jit"))],
        "memory": [("cross_entropy", "4096x32000"), ("sigmoid_bce", "10000000")],
    },
}


def _names(raw: str | None, known: tuple[str, ...], what: str, default: tuple[str, ...] | None = None) -> list[str]:
    if raw is None:
        return list(known if default is None else default)
    names = [n.strip() for n in raw.split(",") if n.strip()]
    bad = [n for n in names if n not in known]
    if bad:
        raise SystemExit(f"--{what}: unknown {bad}; known: {', '.join(known)}")
    return names


def _main_table(args: argparse.Namespace) -> tuple[list[str], list[str], list[str]]:
    """--losses, --sizes and --modes of the main table (default: LOSSES at small and large, both modes)."""
    return (_names(args.losses, tuple(SPECS), "losses", LOSSES), _names(args.sizes, SIZES, "sizes", SIZES[:2]),
            _names(args.modes, ("eager", "jit"), "modes"))


def plan(args: argparse.Namespace) -> tuple[list[tuple[str, str, str, str, int]], list[tuple[str, str]]]:
    """The timed cells (backend, mode, loss, size, pairs) and the memory cells (loss, shape) to run."""
    backends = _names(args.backends, BACKENDS, "backends")
    if args.suite:
        losses = _names(args.losses, tuple(SPECS), "losses")
        suite = SUITES[args.suite]
        cells = [(b, m, loss, size, args.pairs or p) for b, m, loss, size, p in suite["cells"]
                 if b in backends and loss in losses]
        return cells, [c for c in suite["memory"] if "torch" in backends and c[0] in losses]
    losses, sizes, modes = _main_table(args)
    cells = [(b, m, loss, size, args.pairs) for b in backends for m in modes
             if m in BACKEND_CLASSES[b].modes for size in sizes for loss in losses if size in SPECS[loss].shapes]
    return cells, []


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--suite", choices=tuple(SUITES), help="a fixed set of cells (see README), then its memory cells")
    ap.add_argument("--quick", action="store_true", help="few pairs and short samples (smoke run)")
    ap.add_argument("--backends", help="comma list of " + ", ".join(BACKENDS) + " (default: all)")
    ap.add_argument("--losses", help="comma list of " + ", ".join(SPECS) + " (default: all but sigmoid_bce)")
    ap.add_argument("--sizes", help="comma list of small, large, xl (default: small,large)")
    ap.add_argument("--modes", default="eager,jit", help="comma list of eager, jit")
    ap.add_argument("--pairs", type=int, help="interleaved pairs per cell (default 15, --quick 5; suites: per cell)")
    ap.add_argument("--sample-ms", type=float, help="time per timed sample (default 20, --quick 3)")
    ap.add_argument("--threads", type=int, help="torch and TF intra-op threads (default: the libraries' own)")
    ap.add_argument("--memory", action="store_true", help="peak-RSS mode: torch eager CE, fresh subprocesses")
    ap.add_argument("--memory-shape", default="4096x32000", help="logits shape for --memory (default 4096x32000)")
    ap.add_argument("--profile", action="store_true", help="torch.profiler tables of torch eager fwd+bwd")
    ap.add_argument("--memory-child", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.memory_child:
        return memory_child(*args.memory_child)
    if args.memory:
        return memory_mode([("cross_entropy", args.memory_shape)])
    if args.profile:
        return profile_mode(*_main_table(args)[:2])
    if not args.suite:
        args.pairs = args.pairs or (5 if args.quick else 15)
    args.sample_ms = args.sample_ms or (3.0 if args.quick else 20.0)
    cells, memory_cells = plan(args)
    backends = {n: BACKEND_CLASSES[n]() for n in dict.fromkeys(c[0] for c in cells)}
    if args.threads:
        set_threads(list(backends.values()), args.threads)
    environment(list(backends.values()), args, str(args.pairs or "per-cell (" + ", ".join(
        sorted({f"{c[2]} {c[4]}" for c in cells})) + ")"))
    print_row(list(COLUMNS), WIDTHS)
    print("-" * (sum(WIDTHS) + 3 * len(WIDTHS)))
    t0, errors = time.perf_counter(), []
    for name, mode, loss, size, pairs in cells:
        r = run_cell(backends[name], loss, mode, size, pairs, args.sample_ms / 1e3)
        print_row(row_cells(r), WIDTHS)
        errors += [f"# ERROR {loss} {name} {mode} {size} {k}: {r[k]}" for k in ("fwd", "fwdbwd")
                   if isinstance(r[k], str)]
    notes = [f"# * {n}" for n in dict.fromkeys(NOTES)]
    print("\n".join(["", *notes, *errors, f"# timing {time.perf_counter() - t0:.0f} s"]), flush=True)
    if memory_cells:
        print()
        memory_mode(memory_cells)
        print(f"# total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()

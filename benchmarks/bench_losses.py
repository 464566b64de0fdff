#!/usr/bin/env python
"""Time (and optionally memory) of xploss losses against the frameworks' built-ins.

For every (loss, backend, mode, size) cell this prints the forward time and the
forward+backward time of xploss DIVIDED by the built-in's (lower is better),
measured side by side in one process (``shared/PERFORMANCE.md`` §5.3): after a
warm-up, xploss and the built-in run in interleaved pairs (AB, BA, AB, ...) and
the cell reports the median of the per-pair ratios with a bootstrap 95 % CI.
Before timing, each cell checks that the built-in computes what xploss computes
(value and gradients, rtol 1e-4): a ratio between two different functions would
mean nothing.

Built-ins: torch.nn.functional, optax (JAX), tf.nn or keras 3 on TensorFlow;
where a framework has none (NumPy always; triplet, KL, cosine embedding, margin
ranking, distillation and the Gaussian KL on TensorFlow, some on JAX) the anchor
is the loss' formula written by hand in that framework (NumPy: fused, gradient
in place), listed in ``benchmarks/README.md``.

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
LOSSES = ("mse", "mae", "huber", "smooth_l1", "sigmoid_bce", "cross_entropy", "kl_divergence", "distillation",
          "triplet_margin", "cosine_embedding", "margin_ranking", "gaussian_kl")  # the default table
SIZES = ("small", "large", "xl")  # xl: PERFORMANCE.md §5.1's size L, only for the losses that define it
EPS = 1e-6  # triplet's eps (torch's default)
COS_EPS = 1e-12  # inside cosine_embedding's squared norms (torch's)
T, ALPHA = 4.0, 0.7  # distillation's temperature and soft-term weight (xploss' defaults)
RTOL = 1e-4  # xploss and its anchor must agree to this (float32), value and gradients


# -- inputs ------------------------------------------------------------------------------

Maker = Callable[[np.random.Generator, tuple[int, ...]], list[np.ndarray]]


@dataclass(frozen=True)
class Loss:
    shapes: dict[str, tuple[int, ...]]  # size -> shape of the first input
    n_diff: int  # leading inputs differentiated in fwd+bwd
    fn: Callable[..., Any]  # xploss loss, positional arrays only
    make: Maker  # all inputs of one shape, the differentiated ones first


def _normal(rng: np.random.Generator, shape: tuple[int, ...], k: int) -> list[np.ndarray]:
    return [rng.standard_normal(shape, dtype=np.float32) for _ in range(k)]


def _floats(k: int) -> Maker:
    return lambda rng, shape: _normal(rng, shape, k)


def _int_labels(k: int) -> Maker:
    """k float (N, C) inputs, then integer class labels (N,)."""
    return lambda rng, shape: _normal(rng, shape, k) + [rng.integers(0, shape[-1], shape[:-1], dtype=np.int64)]


def _signs(rng: np.random.Generator, shape: tuple[int, ...], dtype: type) -> np.ndarray:
    return np.where(rng.random(shape) < 0.5, 1, -1).astype(dtype)


def _bce_inputs(rng: np.random.Generator, shape: tuple[int, ...]) -> list[np.ndarray]:
    return _normal(rng, shape, 1) + [(rng.random(shape, dtype=np.float32) < 0.5).astype(np.float32)]


def _log_softmax(z: np.ndarray) -> np.ndarray:
    e = z - z.max(axis=-1, keepdims=True)
    return e - np.log(np.exp(e).sum(axis=-1, keepdims=True))


def _kl_inputs(rng: np.random.Generator, shape: tuple[int, ...]) -> list[np.ndarray]:
    """log q (log-softmax of normal logits) and p (softmax of others), as a classifier's KL sees them."""
    z, t = _normal(rng, shape, 2)
    return [_log_softmax(z), np.exp(_log_softmax(t))]


def _cosine_inputs(rng: np.random.Generator, shape: tuple[int, ...]) -> list[np.ndarray]:
    return _normal(rng, shape, 2) + [_signs(rng, shape[:-1], np.int64)]


def _ranking_inputs(rng: np.random.Generator, shape: tuple[int, ...]) -> list[np.ndarray]:
    return _normal(rng, shape, 2) + [_signs(rng, shape, np.float32)]


def distillation(s: Any, t: Any, y: Any) -> Any:
    """xploss.distillation at the benchmark's T and alpha (the teacher gets no gradient)."""
    return xploss.distillation(s, t, y, temperature=T, alpha=ALPHA)


ELEMENTWISE = {"small": (256,), "large": (1_000_000,)}
ROWS = {"small": (64, 4), "large": (4096, 1000)}  # (N, C) logits
EMBEDDINGS = {"small": (16, 16), "large": (4096, 256)}  # (N, D)
SPECS = {
    "mse": Loss(ELEMENTWISE, 1, xploss.mse, _floats(2)),
    "mae": Loss(ELEMENTWISE, 1, xploss.mae, _floats(2)),
    "huber": Loss(ELEMENTWISE, 1, xploss.huber, _floats(2)),
    "smooth_l1": Loss(ELEMENTWISE, 1, xploss.smooth_l1, _floats(2)),
    "sigmoid_bce": Loss({**ELEMENTWISE, "xl": (10_000_000,)}, 1, xploss.sigmoid_binary_cross_entropy, _bce_inputs),
    "cross_entropy": Loss({**ROWS, "xl": (4096, 32000)}, 1, xploss.cross_entropy, _int_labels(1)),
    "kl_divergence": Loss(ROWS, 1, xploss.kl_divergence, _kl_inputs),
    "distillation": Loss(ROWS, 1, distillation, _int_labels(2)),
    "triplet_margin": Loss(EMBEDDINGS, 3, xploss.triplet_margin, _floats(3)),
    "cosine_embedding": Loss(EMBEDDINGS, 2, xploss.cosine_embedding, _cosine_inputs),
    "margin_ranking": Loss(ELEMENTWISE, 2, xploss.margin_ranking, _ranking_inputs),
    "gaussian_kl": Loss(EMBEDDINGS, 2, xploss.gaussian_kl, _floats(2)),
}


def make_inputs(loss: str, size: str, seed: int = 0, shape: tuple[int, ...] | None = None) -> list[np.ndarray]:
    spec = SPECS[loss]
    return spec.make(np.random.default_rng(seed), shape or spec.shapes[size])


# -- NumPy hand-fused references (value, and gradients of the first n_diff inputs) -----------

def _ref_mse(p: np.ndarray, t: np.ndarray, grad: bool) -> Any:
    d = p - t
    v = np.dot(d, d) / d.size
    return v if not grad else (v, (np.multiply(d, 2.0 / d.size, out=d),))


def _ref_mae(p: np.ndarray, t: np.ndarray, grad: bool) -> Any:
    d = p - t
    if not grad:
        return np.sum(np.abs(d, out=d)) / d.size
    v = np.sum(np.abs(d)) / d.size
    np.sign(d, out=d)
    return v, (np.multiply(d, 1.0 / d.size, out=d),)


def _ref_huber(p: np.ndarray, t: np.ndarray, grad: bool) -> Any:  # also smooth_l1 (beta = delta = 1)
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


def _ref_kl(lq: np.ndarray, p: np.ndarray, grad: bool) -> Any:
    n = lq.shape[0]
    lp = np.log(p, out=np.zeros_like(p), where=p > 0)  # xlogy: 0 log 0 = 0
    v = (np.vdot(p, lp) - np.vdot(p, lq)) / n
    return v if not grad else (v, (np.multiply(p, -1.0 / n),))


def _ref_distillation(s: np.ndarray, t: np.ndarray, y: np.ndarray, grad: bool) -> Any:
    n, lt = s.shape[0], _log_softmax(t / T)
    ls, pt = _log_softmax(s / T), np.exp(lt)
    soft = np.vdot(pt, lt - ls) / n
    ce = _ref_ce(s, y, grad)
    if not grad:
        return (1 - ALPHA) * ce + ALPHA * T * T * soft
    v, (g,) = ce
    g *= 1 - ALPHA
    np.exp(ls, out=ls)  # d(T² KL)/ds = T (softmax(s/T) - softmax(t/T)) / n
    ls -= pt
    g += ls * (ALPHA * T / n)
    return (1 - ALPHA) * v + ALPHA * T * T * soft, (g,)


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


def _ref_cosine(x1: np.ndarray, x2: np.ndarray, y: np.ndarray, grad: bool) -> Any:
    n = x1.shape[0]
    n1, n2 = np.einsum("ij,ij->i", x1, x1) + COS_EPS, np.einsum("ij,ij->i", x2, x2) + COS_EPS
    s = np.sqrt(n1 * n2)
    cos = np.einsum("ij,ij->i", x1, x2) / s
    pos, neg = y == 1, (y == -1) & (cos >= 0)  # margin 0; the hinge passes the gradient at 0 (torch)
    v = (np.sum(1 - cos[pos]) + np.sum(cos[neg])) / n
    if not grad:
        return v
    dc = (neg.astype(np.float32) - pos) / n  # d loss / d cos
    a, b = (dc / s)[:, None], (dc * cos)[:, None]
    return v, (x2 * a - x1 * (b / n1[:, None]), x1 * a - x2 * (b / n2[:, None]))


def _ref_ranking(x1: np.ndarray, x2: np.ndarray, y: np.ndarray, grad: bool) -> Any:
    h = np.subtract(x2, x1)
    h *= y  # -y (x1 - x2) + margin 0
    if not grad:
        return np.sum(np.maximum(h, 0.0, out=h)) / h.size
    v = np.sum(np.maximum(h, 0.0)) / h.size
    g = np.where(h >= 0, y * np.float32(-1.0 / h.size), np.float32(0))
    return v, (g, -g)


def _ref_gaussian_kl(mu: np.ndarray, lv: np.ndarray, grad: bool) -> Any:
    n, e = mu.shape[0], np.expm1(lv)
    v = 0.5 * (np.vdot(mu, mu) + np.sum(e) - np.sum(lv)) / n
    return v if not grad else (v, (mu / n, np.multiply(e, 0.5 / n, out=e)))


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


NUMPY_REFS = {"mse": _ref_mse, "mae": _ref_mae, "huber": _ref_huber, "smooth_l1": _ref_huber,
              "sigmoid_bce": _ref_bce, "cross_entropy": _ref_ce, "kl_divergence": _ref_kl,
              "distillation": _ref_distillation, "triplet_margin": _ref_triplet, "cosine_embedding": _ref_cosine,
              "margin_ranking": _ref_ranking, "gaussian_kl": _ref_gaussian_kl}


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

        def distill(s: Any, t: Any, y: Any) -> Any:  # BUILTINS-2 §1.13: batchmean KL times T², plus the CE
            soft = F.kl_div(F.log_softmax(s / T, -1), F.softmax(t / T, -1), reduction="batchmean")
            return (1 - ALPHA) * F.cross_entropy(s, y) + ALPHA * T * T * soft

        self.natives = {
            "mse": ("F.mse_loss", F.mse_loss),
            "mae": ("F.l1_loss", F.l1_loss),
            "huber": ("F.huber_loss", F.huber_loss),
            "smooth_l1": ("F.smooth_l1_loss", F.smooth_l1_loss),
            "sigmoid_bce": ("F.binary_cross_entropy_with_logits", F.binary_cross_entropy_with_logits),
            "cross_entropy": ("F.cross_entropy", F.cross_entropy),
            "kl_divergence": ("F.kl_div batchmean", lambda lq, p: F.kl_div(lq, p, reduction="batchmean")),
            "distillation": ("CE + T² F.kl_div (hand)", distill),
            "triplet_margin": ("F.triplet_margin_loss", F.triplet_margin_loss),
            "cosine_embedding": ("F.cosine_embedding_loss", F.cosine_embedding_loss),
            "margin_ranking": ("F.margin_ranking_loss", F.margin_ranking_loss),
            "gaussian_kl": ("torch ops (hand)", lambda mu, lv: (-0.5 * (1 + lv - mu * mu - lv.exp())).sum(-1).mean()),
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

    def memory_runner(self, f: Callable, jit: bool, n_diff: int, args: list) -> tuple[Callable, dict]:
        return (self.fwdbwd(f, jit, n_diff) if n_diff else self.fwd(f, jit)), {}


class JaxBackend:
    name, modes = "jax", ("eager", "jit")

    def __init__(self) -> None:
        import jax
        import jax.numpy as jnp
        import optax

        self.jax, self.jnp = jax, jnp
        losses, nn = optax.losses, jax.nn

        def cosine(x1: Any, x2: Any, y: Any) -> Any:  # torch's formula (optax' cosine_distance has another eps)
            n1, n2 = jnp.sum(x1 * x1, -1) + COS_EPS, jnp.sum(x2 * x2, -1) + COS_EPS
            cos = jnp.sum(x1 * x2, -1) / jnp.sqrt(n1 * n2)
            return jnp.mean(jnp.where(y == 1, 1 - cos, jnp.where(y == -1, jnp.maximum(cos, 0.0), 0.0)))

        def distill(s: Any, t: Any, y: Any) -> Any:
            soft = jnp.mean(losses.kl_divergence(nn.log_softmax(s / T), nn.softmax(t / T)))
            return (1 - ALPHA) * jnp.mean(losses.softmax_cross_entropy_with_integer_labels(s, y)) + ALPHA * T * T * soft

        self.natives = {
            "mse": ("optax.squared_error", lambda p, t: jnp.mean(losses.squared_error(p, t))),
            "mae": ("jnp (hand)", lambda p, t: jnp.mean(jnp.abs(p - t))),
            "huber": ("optax.huber_loss", lambda p, t: jnp.mean(losses.huber_loss(p, t, delta=1.0))),
            "smooth_l1": ("optax.huber_loss", lambda p, t: jnp.mean(losses.huber_loss(p, t, delta=1.0))),
            "sigmoid_bce": ("optax.sigmoid_bce", lambda z, y: jnp.mean(losses.sigmoid_binary_cross_entropy(z, y))),
            "cross_entropy": ("optax.softmax_xent_int",
                              lambda z, y: jnp.mean(losses.softmax_cross_entropy_with_integer_labels(z, y))),
            "kl_divergence": ("optax.kl_divergence", lambda lq, p: jnp.mean(losses.kl_divergence(lq, p))),
            "distillation": ("optax xent + T² kl", distill),
            "triplet_margin": ("optax.triplet_margin", lambda a, p, n: jnp.mean(losses.triplet_margin_loss(a, p, n))),
            "cosine_embedding": ("jnp (hand)", cosine),
            "margin_ranking": ("jnp (hand)", lambda x1, x2, y: jnp.mean(jnp.maximum(-y * (x1 - x2), 0.0))),
            "gaussian_kl": ("jnp (hand)", lambda mu, lv: jnp.mean(-0.5 * jnp.sum(1 + lv - mu * mu - jnp.exp(lv), -1))),
        }

    def native(self, loss: str) -> tuple[str, Callable]:
        return self.natives[loss]

    def convert(self, arrays: list[np.ndarray], n_diff: int) -> list:
        return [self.jnp.asarray(a.astype(np.int32) if a.dtype.kind == "i" else a) for a in arrays]

    def _sync(self, g: Callable) -> Callable:
        block = self.jax.block_until_ready
        return lambda *a: block(g(*a))

    def _vg(self, f: Callable, n_diff: int) -> Callable:
        return self.jax.value_and_grad(f, argnums=tuple(range(n_diff))) if n_diff else lambda *a: f(*a)

    def fwd(self, f: Callable, jit: bool) -> Callable:
        return self._sync(self.jax.jit(lambda *a: f(*a)) if jit else f)

    def fwdbwd(self, f: Callable, jit: bool, n_diff: int) -> Callable:
        vg = self._vg(f, n_diff)
        return self._sync(self.jax.jit(vg) if jit else vg)

    def memory_runner(self, f: Callable, jit: bool, n_diff: int, args: list) -> tuple[Callable, dict]:
        """The compiled executable itself, and its memory_analysis(): temporaries, and those plus the outputs."""
        compiled = self.jax.jit(self._vg(f, n_diff)).lower(*args).compile()
        ma = compiled.memory_analysis()
        return self._sync(compiled), {"XLA temp": ma.temp_size_in_bytes,
                                      "XLA temp+out": ma.temp_size_in_bytes + ma.output_size_in_bytes}


class TensorFlowBackend:
    name, modes = "tensorflow", ("eager", "jit")

    def __init__(self) -> None:
        import keras
        import tensorflow as tf

        self.tf = tf
        kl, nn = keras.losses, tf.nn

        def triplet(a: Any, p: Any, n: Any) -> Any:  # no tf / keras built-in: torch's formula in tf ops
            dp, dn = tf.norm(a - p + EPS, axis=-1), tf.norm(a - n + EPS, axis=-1)
            return tf.reduce_mean(tf.maximum(dp - dn + 1.0, 0.0))

        def cosine(x1: Any, x2: Any, y: Any) -> Any:  # torch's (keras' CosineSimilarity is -cos, another eps)
            n1, n2 = tf.reduce_sum(x1 * x1, -1) + COS_EPS, tf.reduce_sum(x2 * x2, -1) + COS_EPS
            cos = tf.reduce_sum(x1 * x2, -1) / tf.sqrt(n1 * n2)
            dissimilar = tf.where(tf.equal(y, -1), tf.maximum(cos, 0.0), tf.zeros_like(cos))
            return tf.reduce_mean(tf.where(tf.equal(y, 1), 1 - cos, dissimilar))

        def kl_div(lq: Any, p: Any) -> Any:  # keras' KLDivergence takes probabilities (probability_kl_divergence)
            return tf.reduce_mean(tf.reduce_sum(tf.math.xlogy(p, p) - p * lq, -1))

        def distill(s: Any, t: Any, y: Any) -> Any:
            lt = nn.log_softmax(t / T)
            soft = tf.reduce_mean(tf.reduce_sum(tf.exp(lt) * (lt - nn.log_softmax(s / T)), -1))
            ce = tf.reduce_mean(nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=s))
            return (1 - ALPHA) * ce + ALPHA * T * T * soft

        self.natives = {
            "mse": ("keras mean_squared_error", lambda p, t: kl.mean_squared_error(t, p)),
            "mae": ("keras mean_absolute_error", lambda p, t: kl.mean_absolute_error(t, p)),
            "huber": ("keras huber", lambda p, t: kl.huber(t, p, delta=1.0)),
            "smooth_l1": ("keras huber", lambda p, t: kl.huber(t, p, delta=1.0)),
            "sigmoid_bce": ("tf.nn.sigmoid_xent", lambda z, y: tf.reduce_mean(
                nn.sigmoid_cross_entropy_with_logits(labels=y, logits=z))),
            "cross_entropy": ("tf.nn.sparse_softmax_xent", lambda z, y: tf.reduce_mean(
                nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=z))),
            "kl_divergence": ("tf ops (hand)", kl_div),
            "distillation": ("tf.nn xent + T² kl (hand)", distill),
            "triplet_margin": ("tf ops (no built-in)", triplet),
            "cosine_embedding": ("tf ops (hand)", cosine),
            "margin_ranking": ("tf ops (hand)", lambda x1, x2, y: tf.reduce_mean(tf.nn.relu(-y * (x1 - x2)))),
            "gaussian_kl": ("tf ops (hand)", lambda mu, lv: tf.reduce_mean(
                -0.5 * tf.reduce_sum(1 + lv - mu * mu - tf.exp(lv), -1))),
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

    def _vg(self, f: Callable, n_diff: int) -> Callable:
        tf = self.tf

        def vg(*a: Any) -> Any:
            with tf.GradientTape() as tape:
                tape.watch(a[:n_diff])
                out = f(*a)
            return out, tape.gradient(out, a[:n_diff])
        return vg

    def fwd(self, f: Callable, jit: bool) -> Callable:
        return self._sync(self._jit(f, jit))

    def fwdbwd(self, f: Callable, jit: bool, n_diff: int) -> Callable:
        return self._sync(self._jit(self._vg(f, n_diff), jit))

    def memory_runner(self, f: Callable, jit: bool, n_diff: int, args: list) -> tuple[Callable, dict]:
        """The tensors themselves (no NumPy copy); the allocator's peak is read by the caller."""
        return self._jit(self._vg(f, n_diff) if n_diff else f, jit), {}


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


def _first(fn: Callable, args: list) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, out


def _bootstrap(ratios: np.ndarray, rng: np.random.Generator) -> tuple[float, float]:
    meds = np.median(rng.choice(ratios, (2000, ratios.size)), axis=1)
    return float(np.quantile(meds, 0.025)), float(np.quantile(meds, 0.975))


def compare(fx: Callable, fn: Callable, args_x: list, args_n: list, pairs: int, sample_s: float,
            check: Callable[[Any, Any], None] | None = None) -> Timing:
    """Interleaved A/B timing of xploss (fx) and native (fn) after warm-up; ``check`` sees both first results."""
    first_x, out_x = _first(fx, args_x)
    first_n, out_n = _first(fn, args_n)
    if check is not None:
        check(out_x, out_n)
    del out_x, out_n
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


def _arrays(out: Any) -> list[np.ndarray]:
    """A runner's result (value, or value and gradients, of any framework) as flat float64 arrays."""
    if isinstance(out, tuple | list):
        return [a for o in out for a in _arrays(o)]
    return [np.asarray(out.detach() if hasattr(out, "detach") else out, dtype=np.float64)]


def same_values(out_x: Any, out_n: Any) -> None:
    """Raise unless xploss and its anchor agree: the value to rtol RTOL, each gradient to rtol RTOL with an
    atol of RTOL * max |gradient| (entries that cancel to near zero)."""
    xs, ns = _arrays(out_x), _arrays(out_n)
    if len(xs) != len(ns):
        raise AssertionError(f"xploss returns {len(xs)} arrays, the anchor {len(ns)}")
    for i, (x, n) in enumerate(zip(xs, ns, strict=True)):
        atol = RTOL * float(np.max(np.abs(n), initial=0.0)) if i else 0.0
        bad = ~np.isclose(x, n, rtol=RTOL, atol=atol) if x.shape == n.shape else np.ones(1, bool)
        if bad.any():
            what = "the value" if i == 0 else f"gradient {i}"
            raise AssertionError(f"anchor differs from xploss in {what}: {int(bad.sum())} of {n.size} entries "
                                 f"beyond rtol {RTOL:g} (shapes {x.shape} / {n.shape})")


# Targets of issue #11 (interleaved medians, --threads 1), as (fwd, fwd+bwd); None: no target.
# Every jitted cell (jax.jit, torch.compile, TF XLA), at every size: <= 1.1. JAX eager: none (xploss jits itself,
# optax runs op by op). NumPy: against the hand-fused reference; small NumPy has no target either.
JIT_TARGET = 1.1
EAGER_TARGETS = {("large", "torch"): (1.1, 1.0), ("large", "tensorflow"): (1.0, 1.0), ("large", "numpy"): (1.5, 1.5),
                 ("small", "torch"): (2.0, 1.5), ("small", "tensorflow"): (2.0, 1.5)}
KINDS = {"fwd": "fwd", "fwdbwd": "fwd+bwd"}


def targets(size: str, mode: str, backend: str) -> tuple[float | None, float | None]:
    """The (fwd, fwd+bwd) ratio targets of a cell; xl counts as large."""
    if mode.rstrip("*") == "jit":
        return JIT_TARGET, JIT_TARGET
    return EAGER_TARGETS.get(("large" if size == "xl" else size, backend), (None, None))


def run_cell(be: Any, loss: str, mode: str, size: str, pairs: int, sample_s: float) -> dict:
    spec, jit, t0 = SPECS[loss], mode == "jit", time.perf_counter()
    arrays = make_inputs(loss, size)
    native_name, native = be.native(loss)
    out: dict = {"loss": loss, "backend": be.name, "mode": mode, "size": size,
                 "shape": "x".join(map(str, spec.shapes[size])), "native": native_name}
    n_notes = len(NOTES)
    for kind in KINDS:
        runners = [be.fwd(f, jit) if kind == "fwd" else be.fwdbwd(f, jit, spec.n_diff) for f in (spec.fn, native)]
        n_diff = spec.n_diff if kind == "fwdbwd" else 0
        args_x, args_n = be.convert(arrays, n_diff), be.convert(arrays, n_diff)
        try:
            out[kind] = compare(runners[0], runners[1], args_x, args_n, pairs, sample_s, check=same_values)
        except Exception as exc:  # report and go on: one failing cell must not hide the table
            out[kind] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"
        gc.collect()
    if len(NOTES) > n_notes:
        out["mode"] += "*"
    out["seconds"] = time.perf_counter() - t0
    return out


# -- report ---------------------------------------------------------------------------------------

def _ms(t: float) -> str:
    return f"{t * 1e3:.3f}" if t < 0.01 else f"{t * 1e3:.1f}"


def missed(ratio: float, limit: float | None) -> bool:
    """Above the target as printed (two decimals): 1.004 meets <= 1.0."""
    return limit is not None and round(ratio, 2) > limit


def _fmt(t: Any, limit: float | None) -> tuple[str, str]:
    if not isinstance(t, Timing):
        return "ERROR", "-"
    flag = " !" if missed(t.ratio, limit) else "  "
    return f"{t.ratio:5.2f} [{t.lo:.2f},{t.hi:.2f}]{flag}", f"{_ms(t.t_x)}/{_ms(t.t_n)}"


def _target_text(limits: tuple[float | None, float | None]) -> str:
    return "-" if limits == (None, None) else "<=" + "/".join("-" if x is None else f"{x:g}" for x in limits)


COLUMNS = ("loss", "backend", "mode", "size", "shape", "fwd ratio [95% CI]", "fwd+bwd ratio [95% CI]",
           "target f/fb", "fwd ms x/native", "fwd+bwd ms x/native", "1st fwd+bwd s x/n", "cell s", "native")
WIDTHS = [16, 10, 5, 5, 10, 23, 23, 11, 17, 19, 17, 6, 24]


def print_row(cells: list[str], widths: list[int]) -> None:
    print(" | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)), flush=True)


def row_cells(r: dict) -> list[str]:
    limits = targets(r["size"], r["mode"], r["backend"])
    fr, fm = _fmt(r["fwd"], limits[0])
    br, bm = _fmt(r["fwdbwd"], limits[1])
    fb = r["fwdbwd"]
    first = f"{fb.first_x:.2f}/{fb.first_n:.2f}" if isinstance(fb, Timing) else "-"
    return [r["loss"], r["backend"], r["mode"], r["size"], r["shape"], fr, br, _target_text(limits), fm, bm, first,
            f"{r['seconds']:.0f}", r["native"]]


def summary(rows: list[dict]) -> list[str]:
    """The targets line (cells with a target, misses) and one line per miss; then how many anchors were checked."""
    n, checked, misses = 0, 0, []
    for r in rows:
        for kind, limit in zip(KINDS, targets(r["size"], r["mode"], r["backend"]), strict=True):
            t = r[kind]
            checked += isinstance(t, Timing)
            if limit is None or not isinstance(t, Timing):
                continue
            n += 1
            if missed(t.ratio, limit):
                misses.append(f"{r['loss']} {r['backend']} {r['mode']} {r['size']} {KINDS[kind]} "
                              f"{t.ratio:.2f}/{limit:g}")
    return [f"# targets: {n} cells, {len(misses)} misses" + (":" if misses else ""),
            *[f"#   {m}" for m in misses],
            f"# anchors: {checked} timed cells, each checked equal to xploss before timing (value rtol {RTOL:g}, "
            f"gradients rtol {RTOL:g} + atol {RTOL:g} x max|g|)"]


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


def environment(backends: list, args: argparse.Namespace, protocol: str) -> None:
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
    print(f"# protocol: interleaved pairs x sample time per size: {protocol}, after 1 compile + 2 warm-up calls; "
          "ratio = median of per-pair ratios, bootstrap 95% CI; "
          "target f/fb = the fwd / fwd+bwd targets, '!' = above its target; each cell first checks the built-in "
          "against xploss (value, gradients); fwd+bwd differentiates the leading float inputs (README)"
          + (f"; threads pinned by --threads {args.threads}" if args.threads else ""))
    print(f"# load average: {_read('/proc/loadavg')}")
    print(flush=True)


# -- memory mode (PERFORMANCE.md §5.4): peak extra memory of one call in a fresh subprocess -------------

MEMORY_CELLS = (("torch", "eager"), ("jax", "jit"), ("tensorflow", "eager"), ("tensorflow", "jit"))
MEMORY_TARGETS = {"fwd": 0.05, "fwdbwd": 1.0}  # xploss, x the logits; the gradient alone is 1.0x
# Shown, not held to the targets: XLA's temporaries exclude the outputs (the gradient); TensorFlow's RSS stays flat
# (its allocator keeps the warm-up call's memory), its allocator's peak is the measure there.
UNTARGETED = (("jax", "XLA temp"), ("tensorflow", "RSS"))


def _status(key: str) -> int:
    line = next(ln for ln in _read("/proc/self/status").splitlines() if ln.startswith(key))
    return int(line.split()[1]) * 1024


def memory_child(backend: str, mode: str, impl: str, kind: str, loss: str, shape: str) -> None:
    """Print, as JSON, the peak extra bytes of one call after a warm-up call: RSS (VmHWM after clear_refs minus
    VmRSS before, the result kept alive), XLA's compiled temporaries (JAX), TF's allocator peak (TensorFlow)."""
    import json

    be, spec = BACKEND_CLASSES[backend](), SPECS[loss]
    name, f = ("xploss", spec.fn) if impl == "xploss" else be.native(loss)
    n_diff = spec.n_diff if kind == "fwdbwd" else 0
    args = be.convert(make_inputs(loss, "", shape=_shape(shape)), n_diff)
    call, extra = be.memory_runner(f, mode == "jit", n_diff, args)
    call(*args)  # warm-up (and compile), then free everything it made (autograd.grad leaves no .grad behind)
    gc.collect()
    tf = getattr(be, "tf", None)
    if tf is not None:
        tf.config.experimental.reset_memory_stats("CPU:0")
        current = tf.config.experimental.get_memory_info("CPU:0")["current"]
    before = _status("VmRSS:")
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    kept = call(*args)  # noqa: F841 - the result (gradient) stays alive until the peak is read
    measures = {"RSS": _status("VmHWM:") - before, **extra}
    if tf is not None:
        measures["TF allocator"] = tf.config.experimental.get_memory_info("CPU:0")["peak"] - current
    print(json.dumps({"name": name, "measures": measures}))


def _shape(text: str) -> tuple[int, ...]:
    return tuple(int(n) for n in text.split("x"))


def _memory_run(backend: str, mode: str, impl: str, kind: str, loss: str, shape: str) -> dict | str:
    import json

    cmd = [sys.executable, __file__, "--memory-child", backend, mode, impl, kind, loss, shape]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode:
        return (run.stderr.strip().splitlines() or ["no output"])[-1][:120]
    return json.loads(run.stdout.strip().splitlines()[-1])


def memory_mode(cells: list[tuple[str, str]], backends: list[str]) -> None:
    """Peak extra memory of one call per (loss, shape), xploss vs the built-in, on each of MEMORY_CELLS."""
    print("# peak extra memory of one call after a warm-up call, fresh subprocess each, float32, as a multiple of "
          "the first input (the logits); the result is kept, so the gradient alone is 1.00x. RSS: VmHWM after "
          "/proc/self/clear_refs - VmRSS before; XLA temp: the compiled executable's memory_analysis() "
          "temp_size_in_bytes (+out: plus its outputs); TF allocator: get_memory_info('CPU:0') peak - current")
    print(f"# THP: {_read('/sys/kernel/mm/transparent_hugepage/enabled')}  "
          f"THP_MEM_ALLOC_ENABLE={os.environ.get('THP_MEM_ALLOC_ENABLE', 'unset')}  targets (issue #11): xploss "
          f"fwd+bwd <= {MEMORY_TARGETS['fwdbwd']:g}x, fwd <= {MEMORY_TARGETS['fwd']:g}x; '!' = above "
          f"(not applied to {', '.join(' '.join(u) for u in UNTARGETED)})")
    print(f"{'backend':10s} {'mode':5s} {'loss':14s} {'shape':12s} {'kind':7s} {'measure':13s} {'xploss':>8s}   "
          f"{'built-in':>8s}  {'target':7s} built-in")
    for loss, shape in cells:
        size = math.prod(_shape(shape)) * 4
        for backend, mode in (c for c in MEMORY_CELLS if c[0] in backends):
            for kind in KINDS:
                res = {impl: _memory_run(backend, mode, impl, kind, loss, shape) for impl in ("xploss", "native")}
                head = f"{backend:10s} {mode:5s} {loss:14s} {shape:12s} {KINDS[kind]:7s}"
                failed = [f"{impl}: {r}" for impl, r in res.items() if isinstance(r, str)]
                if failed:
                    print(f"{head} ERROR {'; '.join(failed)}", flush=True)
                    continue
                for measure, value in res["xploss"]["measures"].items():
                    x, n = value / size, res["native"]["measures"][measure] / size
                    limit = None if (backend, measure) in UNTARGETED else MEMORY_TARGETS[kind]
                    flag = " !" if missed(x, limit) else "  "
                    print(f"{head} {measure:13s} {x:7.2f}x{flag} {n:7.2f}x  "
                          f"{'-' if limit is None else f'<={limit:g}x':7s} {res['native']['name']}", flush=True)


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
        "memory_backends": ("torch",),  # the classification issue's rows; --memory has JAX and TensorFlow too
    },
}

# The default table's pairs and sample times per size (a sample is at least one call): small cells 15 pairs of
# 10 ms, large and xl ones 9 pairs (the §5.3 minimum is 7) of 20 ms; --quick 5 pairs of 3 ms; --pairs and
# --sample-ms override them.
PAIRS = {"small": 15, "large": 9, "xl": 9}
SAMPLE_MS = {"small": 10.0, "large": 20.0, "xl": 20.0}
QUICK_PAIRS, QUICK_SAMPLE_MS = 5, 3.0
QUICK_SIZES, QUICK_MODES = "large", "eager"  # --quick's defaults: torch.compile alone takes ~6 min of the table here


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


def _pairs(args: argparse.Namespace, size: str) -> int:
    return args.pairs or (QUICK_PAIRS if args.quick else PAIRS[size])


def _sample_s(args: argparse.Namespace, size: str) -> float:
    return (args.sample_ms or (QUICK_SAMPLE_MS if args.quick else SAMPLE_MS[size])) / 1e3


def plan(args: argparse.Namespace) -> tuple[list[tuple[str, str, str, str, int]], list[tuple[str, str]], list[str]]:
    """The timed cells (backend, mode, loss, size, pairs), the memory cells (loss, shape) and their backends."""
    backends = _names(args.backends, BACKENDS, "backends")
    if args.suite:
        losses = _names(args.losses, tuple(SPECS), "losses")
        suite = SUITES[args.suite]
        cells = [(b, m, loss, size, args.pairs or p) for b, m, loss, size, p in suite["cells"]
                 if b in backends and loss in losses]
        return (cells, [c for c in suite["memory"] if c[0] in losses],
                [b for b in backends if b in suite["memory_backends"]])
    losses, sizes, modes = _main_table(args)
    cells = [(b, m, loss, size, _pairs(args, size)) for b in backends for m in modes
             if m in BACKEND_CLASSES[b].modes for size in sizes for loss in losses if size in SPECS[loss].shapes]
    return cells, [], backends


# Seconds per row beyond its timed samples (first calls and compiles, warm-up, conversions, the anchor check), small
# and large, typical of --quick rows on the project's 2-core machine with inductor's on-disk cache warm (a cold cache
# or a loaded machine doubles torch.compile's, and the OpenMP kernels of a compiled graph can then stall for a time
# slice per barrier: use --threads 1); xl counts 3x large. A typical large call lasts CALL_S (a sample holds >= 1).
SETUP_S = {("numpy", "eager"): (0.7, 1.5), ("torch", "eager"): (0.5, 1.0), ("torch", "jit"): (6.0, 10.0),
           ("jax", "eager"): (2.5, 2.5), ("jax", "jit"): (1.5, 1.8), ("tensorflow", "eager"): (1.0, 2.5),
           ("tensorflow", "jit"): (1.7, 3.0)}
CALL_S = {"small": 0.0, "large": 0.03, "xl": 0.4}


def estimate_s(cells: list[tuple[str, str, str, str, int]], args: argparse.Namespace) -> float:
    """Rough wall time of the cells: per row the setup, then fwd and fwd+bwd, 2 x pairs samples each."""
    total = 0.0
    for b, m, _, size, pairs in cells:
        small, large = SETUP_S[(b, m)]
        setup = small if size == "small" else large * (3 if size == "xl" else 1)
        total += setup + 4 * pairs * max(_sample_s(args, size), CALL_S[size])
    return total


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--suite", choices=tuple(SUITES), help="a fixed set of cells (see README), then its memory cells")
    ap.add_argument("--quick", action="store_true", help=f"smoke run: {QUICK_PAIRS} pairs of {QUICK_SAMPLE_MS:g} ms "
                                                         f"samples, --sizes {QUICK_SIZES} --modes {QUICK_MODES} "
                                                         "unless given")
    ap.add_argument("--backends", help="comma list of " + ", ".join(BACKENDS) + " (default: all)")
    ap.add_argument("--losses", help="comma list of " + ", ".join(SPECS) + " (default: all)")
    ap.add_argument("--sizes", help="comma list of small, large, xl (default: small,large)")
    ap.add_argument("--modes", help="comma list of eager, jit (default: both)")
    ap.add_argument("--pairs", type=int, help=f"interleaved pairs per cell (default {PAIRS['small']} small, "
                                              f"{PAIRS['large']} large and xl; suites: per cell)")
    ap.add_argument("--sample-ms", type=float, help=f"time per timed sample (default {SAMPLE_MS['small']:g} ms small, "
                                                    f"{SAMPLE_MS['large']:g} ms large and xl)")
    ap.add_argument("--threads", type=int, help="torch and TF intra-op threads (default: the libraries' own)")
    ap.add_argument("--memory", action="store_true",
                    help="peak-memory mode: CE on torch eager, jax.jit, TF eager and XLA, fresh subprocesses")
    ap.add_argument("--memory-shape", default="4096x32000", help="logits shape for --memory (default 4096x32000)")
    ap.add_argument("--profile", action="store_true", help="torch.profiler tables of torch eager fwd+bwd")
    ap.add_argument("--memory-child", nargs=6, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.memory_child:
        return memory_child(*args.memory_child)
    if args.memory:
        return memory_mode([("cross_entropy", args.memory_shape)], _names(args.backends, BACKENDS, "backends"))
    if args.profile:
        return profile_mode(*_main_table(args)[:2])
    if args.quick and not args.suite:
        args.sizes, args.modes = args.sizes or QUICK_SIZES, args.modes or QUICK_MODES
    cells, memory_cells, memory_backends = plan(args)
    backends = {n: BACKEND_CLASSES[n]() for n in dict.fromkeys(c[0] for c in cells)}
    if args.threads:
        set_threads(list(backends.values()), args.threads)
    sizes = dict.fromkeys(c[3] for c in cells)
    protocol = ", ".join(f"{s} {_pairs(args, s)} x {_sample_s(args, s) * 1e3:g} ms" for s in sizes)
    if args.suite:
        protocol = "per cell (" + ", ".join(sorted({f"{c[2]} {c[4]}" for c in cells})) + f"), {protocol}"
    environment(list(backends.values()), args, protocol)
    print(f"# {len(cells)} rows, estimated {estimate_s(cells, args) / 60:.1f} min on the project's 2-core machine "
          "('cell s' below: each row's wall time)" + ("; --quick: --sizes large --modes eager unless given"
                                                      if args.quick and not args.suite else "") + "\n", flush=True)
    print_row(list(COLUMNS), WIDTHS)
    print("-" * (sum(WIDTHS) + 3 * len(WIDTHS)))
    t0, rows, errors = time.perf_counter(), [], []
    for name, mode, loss, size, pairs in cells:
        rows.append(run_cell(backends[name], loss, mode, size, pairs, _sample_s(args, size)))
        print_row(row_cells(rows[-1]), WIDTHS)
        errors += [f"# ERROR {loss} {name} {mode} {size} {KINDS[k]}: {rows[-1][k]}" for k in KINDS
                   if isinstance(rows[-1][k], str)]
    notes = [f"# * {n}" for n in dict.fromkeys(NOTES)]
    print("\n".join(["", *summary(rows), *notes, *errors, f"# timing {time.perf_counter() - t0:.0f} s"]), flush=True)
    if memory_cells:
        print()
        memory_mode(memory_cells, memory_backends)
        print(f"# total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()

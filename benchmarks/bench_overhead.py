"""Per-call cost of a small loss, layer by layer: where the time of ``xploss.mse(x, y)`` goes at 256 elements.

For mse (256), huber (256) and cross-entropy (64 x 4) on torch eager and TensorFlow eager, forward and
forward + backward, four implementations side by side in one process (interleaved rounds, medians):

* ``builtin``: the framework's own loss (``F.mse_loss``, ``keras.losses.mean_squared_error``, ...);
* ``floor``: the xploss kernel's own operations in a bare hand-VJP binding (a ``torch.autograd.Function`` /
  ``tf.custom_gradient`` with nothing else): the least a loss with a hand derivative can cost in that
  framework's eager mode;
* ``bound``: xploss' binding without the public call's checks (``xploss._define.apply``: the cached bound
  operation, the reduction, the autodiff binding);
* ``xploss``: the public call (argument checks, backend lookup, the caller and autocast checks).

Ratios are against ``builtin``.  ``floor / builtin`` is what the binding itself costs (a Python
``autograd.Function`` against an operation whose backward is C++); ``bound - floor`` and ``xploss - bound``
are xploss' own layers.  Run: ``python benchmarks/bench_overhead.py --threads 1`` (about a minute).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402

import xploss  # noqa: E402
from xploss import _define  # noqa: E402
from xploss.losses import _classification, _regression  # noqa: E402


def _time(fn, n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n * 1e6


def _measure(impls: dict, n: int, rounds: int) -> dict:
    """Median µs per call of each implementation over ``rounds`` interleaved rounds of ``n`` calls."""
    for f in impls.values():  # warm-up (and the check that each runs)
        _time(f, max(n // 10, 5))
    samples: dict = {k: [] for k in impls}
    for _ in range(rounds):
        for k, f in impls.items():
            samples[k].append(_time(f, n))
    return {k: statistics.median(v) for k, v in samples.items()}


def _arrays(prim: _define.Primitive, p, t) -> tuple:
    """The kernel's arrays: cross-entropy's third is its (absent) class weight."""
    return (p, t, None) if prim is _classification._CE_INDEX else (p, t)


def _torch_cases() -> list:
    import torch
    import torch.nn.functional as F

    from xploss.backends import _torch

    be = _torch.TorchBackend()
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(256, generator=g), torch.randn(256, generator=g)
    z, lab = torch.randn(64, 4, generator=g), torch.randint(0, 4, (64,), generator=g)

    class Mse(torch.autograd.Function):
        @staticmethod
        def forward(ctx, p, t):
            r = p - t
            ctx.save_for_backward(r)
            return (r * r).sum() / r.numel()

        @staticmethod
        def backward(ctx, gr):
            (r,) = ctx.saved_tensors
            return r * (2.0 * (gr / r.numel())), None

    class Huber(torch.autograd.Function):
        @staticmethod
        def forward(ctx, p, t):
            r = p - t
            c = torch.clamp(r, -1.0, 1.0)
            ctx.save_for_backward(c)
            return (c * (r - 0.5 * c)).sum() / r.numel()

        @staticmethod
        def backward(ctx, gr):
            (c,) = ctx.saved_tensors
            return c * (gr / c.numel()), None

    class Ce(torch.autograd.Function):
        @staticmethod
        def forward(ctx, zz, yy):
            lse = torch.logsumexp(zz, 1, keepdim=True)
            ctx.save_for_backward(zz, yy, lse)
            return (lse.squeeze(1) - torch.gather(zz, 1, yy.unsqueeze(1)).squeeze(1)).sum() / zz.shape[0]

        @staticmethod
        def backward(ctx, gr):
            zz, yy, lse = ctx.saved_tensors
            c = gr / zz.shape[0]
            return torch.sub(zz, lse).exp_().mul_(c).scatter_add_(1, yy.unsqueeze(1), (-c).expand(zz.shape[0], 1)), None

    rows = []
    for name, builtin, floor, prim, static, a, b in (
        ("mse 256", F.mse_loss, Mse.apply, _regression._MSE, {}, x, y),
        ("huber 256", F.huber_loss, Huber.apply, _regression._HUBER, {"delta": 1.0, "scale": 1.0}, x, y),
        ("cross_entropy 64x4", F.cross_entropy, Ce.apply, _classification._CE_INDEX,
         {"axis": 1, "ignore_index": None, "label_smoothing": 0.0}, z, lab),
    ):
        public = {"mse 256": xploss.mse, "huber 256": xploss.huber}.get(name, xploss.cross_entropy)
        ar = a.clone().requires_grad_()

        def bound(p, t, prim=prim, static=static):
            return _define.apply(be, prim, _arrays(prim, p, t), reduction="mean", **static)

        impls = {"builtin": builtin, "floor": floor, "bound": bound, "xploss": public}
        with torch.no_grad():
            fwd = _measure({k: (lambda f=f, a=a, b=b: f(a, b)) for k, f in impls.items()}, 2000, 9)
        fb = _measure({k: (lambda f=f, ar=ar, b=b: f(ar, b).backward()) for k, f in impls.items()}, 2000, 9)
        rows.append(("torch eager", name, fwd, fb))
    return rows


def _tf_cases() -> list:
    import keras
    import tensorflow as tf

    from xploss.backends import _tensorflow

    be = _tensorflow.TensorFlowBackend()
    rng = np.random.default_rng(0)
    x = tf.constant(rng.standard_normal(256), tf.float32)
    y = tf.constant(rng.standard_normal(256), tf.float32)
    z = tf.constant(rng.standard_normal((64, 4)), tf.float32)
    lab = tf.constant(rng.integers(0, 4, 64))

    @tf.custom_gradient
    def mse_floor(p, t):
        r = p - t
        n = float(r.shape[0])

        def grad(gr):
            return r * (2.0 * (gr / n)), None
        return tf.reduce_sum(r * r) / n, grad

    @tf.custom_gradient
    def huber_floor(p, t):
        r = p - t
        c = tf.clip_by_value(r, -1.0, 1.0)
        n = float(r.shape[0])

        def grad(gr):
            return c * (gr / n), None
        return tf.reduce_sum(c * (r - 0.5 * c)) / n, grad

    @tf.custom_gradient
    def ce_floor(zz, yy):
        lse = tf.reduce_logsumexp(zz, axis=1, keepdims=True)
        n = float(zz.shape[0])

        def grad(gr):
            return (tf.exp(zz - lse) - tf.one_hot(yy, zz.shape[1])) * (gr / n), None
        return tf.reduce_sum(tf.squeeze(lse, 1) - tf.gather(zz, yy, axis=1, batch_dims=1)) / n, grad

    mse_k, huber_k = keras.losses.mean_squared_error, keras.losses.huber
    rows = []
    for name, builtin, floor, prim, static, public, a, b in (
        ("mse 256", lambda p, t: mse_k(t, p), mse_floor, _regression._MSE, {}, xploss.mse, x, y),
        ("huber 256", lambda p, t: huber_k(t, p), huber_floor, _regression._HUBER,
         {"delta": 1.0, "scale": 1.0}, xploss.huber, x, y),
        ("cross_entropy 64x4",
         lambda zz, yy: tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(yy, zz)), ce_floor,
         _classification._CE_INDEX, {"axis": 1, "ignore_index": None, "label_smoothing": 0.0},
         xploss.cross_entropy, z, lab),
    ):
        def bound(p, t, prim=prim, static=static):
            return _define.apply(be, prim, _arrays(prim, p, t), reduction="mean", **static)

        impls = {"builtin": builtin, "floor": floor, "bound": bound, "xploss": public}

        def with_tape(f, a=a, b=b):
            def run():
                with tf.GradientTape() as tape:
                    tape.watch(a)
                    out = f(a, b)
                tape.gradient(out, a)
            return run

        fwd = _measure({k: (lambda f=f, a=a, b=b: f(a, b)) for k, f in impls.items()}, 500, 7)
        fb = _measure({k: with_tape(f) for k, f in impls.items()}, 300, 7)
        rows.append(("TF eager", name, fwd, fb))
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backends", default="torch,tensorflow", help="comma list of torch, tensorflow")
    ap.add_argument("--threads", type=int, default=0, help="torch and TF intra-op threads (default: theirs)")
    args = ap.parse_args(argv)
    backends = args.backends.split(",")
    if args.threads:
        if "torch" in backends:
            import torch
            torch.set_num_threads(args.threads)
        if "tensorflow" in backends:
            import tensorflow as tf
            tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    rows = (_torch_cases() if "torch" in backends else []) + (_tf_cases() if "tensorflow" in backends else [])
    print("# per-call cost, µs (median of interleaved rounds) and x builtin; floor = the kernel's ops in a bare "
          "hand-VJP binding, bound = xploss without the public checks, xploss = the public call")
    head = f"{'backend':12s} {'case':19s} {'mode':8s} " + " ".join(f"{k:>15s}" for k in
                                                                    ("builtin", "floor", "bound", "xploss"))
    print(head)
    for backend, name, fwd, fb in rows:
        for mode, t in (("fwd", fwd), ("fwd+bwd", fb)):
            cells = [f"{t['builtin']:8.1f}      "] + [f"{t[k]:8.1f} {t[k] / t['builtin']:5.2f}x" for k in
                                                      ("floor", "bound", "xploss")]
            print(f"{backend:12s} {name:19s} {mode:8s} " + " ".join(f"{c:>15s}" for c in cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())

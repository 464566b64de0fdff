#!/usr/bin/env python
"""CTC forward and forward+backward: ``xploss.ctc`` against each framework's built-in, side by side.

T = 200 frames, N = 16 sequences, C = 32 classes, S = 40 labels (padded variable lengths: label lengths
20..40, input lengths 150..200), float32.  One run prints the interleaved A/B ratios (median of per-pair
ratios after a warm-up, bootstrap 95 % CI: ``bench_losses.compare``) of

* torch eager: ``xploss.ctc(z, y, il, ll, time_major=True)`` vs ``F.ctc_loss(log_softmax(z), ...)`` (ATen's C++
  kernel; xploss runs T Python steps of array ops eagerly: the ratio is what that costs);
* JAX under ``jax.jit``: ``xploss.ctc`` vs ``optax.ctc_loss`` (paddings from the lengths), both ``jax.lax.scan``;
* TensorFlow under ``tf.function``: ``xploss.ctc`` vs ``tf.nn.ctc_loss`` (its C++ CTCLossV2 kernel);

fwd (the summed loss) and fwd+bwd (its gradient w.r.t. the logits).  ``--threads 1`` pins torch's, TF's and
XLA's intra-op threads (steadier on a loaded machine); ``--quick`` T = 50, S = 10; ``--backends`` a comma list.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from bench_losses import compare, pin_xla_threads  # noqa: E402

pin_xla_threads(sys.argv)  # before anything imports JAX

import xploss  # noqa: E402


def inputs(t: int, n: int, c: int, s: int) -> dict:
    rng = np.random.default_rng(0)
    z = rng.normal(size=(t, n, c)).astype(np.float32)  # time-major
    y = rng.integers(1, c, size=(n, s)).astype(np.int64)
    ll = rng.integers(s // 2, s + 1, size=n).astype(np.int64)
    il = rng.integers(max(3 * t // 4, 2 * s + 1), t + 1, size=n).astype(np.int64)
    il[0], ll[0] = t, s
    return {"z": z, "y": y, "il": il, "ll": ll}


def torch_calls(d: dict):
    import torch
    import torch.nn.functional as F

    z = torch.from_numpy(d["z"]).requires_grad_(True)
    y, il, ll = (torch.from_numpy(d[k]) for k in ("y", "il", "ll"))

    def xl(z):
        return xploss.ctc(z, y, il, ll, time_major=True, reduction="sum")

    def tv(z):
        return F.ctc_loss(z.log_softmax(-1), y, il, ll, reduction="sum")

    def fwd(f):
        def run(z):
            with torch.no_grad():
                return f(z)
        return run

    def fb(f):
        return lambda z: torch.autograd.grad(f(z), z)
    return {"fwd": (fwd(xl), fwd(tv)), "fwd+bwd": (fb(xl), fb(tv))}, [z], "F.ctc_loss"


def jax_calls(d: dict):
    import jax
    import jax.numpy as jnp
    import optax

    zb = jnp.asarray(np.ascontiguousarray(d["z"].transpose(1, 0, 2)))
    y, il, ll = (jnp.asarray(d[k]) for k in ("y", "il", "ll"))
    t, s = zb.shape[1], y.shape[1]
    lpad = (jnp.arange(t)[None] >= il[:, None]).astype(jnp.float32)
    ypad = (jnp.arange(s)[None] >= ll[:, None]).astype(jnp.float32)

    def xl(z):
        return xploss.ctc(z, y, il, ll, reduction="sum")

    def ox(z):
        return optax.ctc_loss(z, lpad, y, ypad).sum()

    def wrap(g):
        return lambda z: jax.block_until_ready(g(z))
    return ({"fwd": (wrap(jax.jit(xl)), wrap(jax.jit(ox))),
             "fwd+bwd": (wrap(jax.jit(jax.grad(xl))), wrap(jax.jit(jax.grad(ox))))}, [zb], "optax.ctc_loss")


def tf_calls(d: dict):
    import tensorflow as tf

    zb = tf.constant(np.ascontiguousarray(d["z"].transpose(1, 0, 2)))
    y, il, ll = (tf.constant(d[k]) for k in ("y", "il", "ll"))

    def xl(z):
        return xploss.ctc(z, y, il, ll, reduction="sum")

    def tn(z):
        return tf.reduce_sum(tf.nn.ctc_loss(y, z, ll, il, logits_time_major=False, blank_index=0))

    def grad(f):
        def g(z):
            with tf.GradientTape() as tape:
                tape.watch(z)
                out = f(z)
            return tape.gradient(out, z)
        return g

    def run(f):
        fn = tf.function(f)
        return lambda z: fn(z).numpy()
    return ({"fwd": (run(xl), run(tn)), "fwd+bwd": (run(grad(xl)), run(grad(tn)))}, [zb], "tf.nn.ctc_loss")


CALLS = {"torch": ("torch eager", torch_calls), "jax": ("jax.jit", jax_calls), "tensorflow": ("tf.function", tf_calls)}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="T = 50, S = 10")
    ap.add_argument("--t", type=int)
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--c", type=int, default=32)
    ap.add_argument("--s", type=int)
    ap.add_argument("--backends", default="torch,jax,tensorflow")
    ap.add_argument("--threads", type=int, help="torch, TF and XLA intra-op threads")
    ap.add_argument("--pairs", type=int, default=7, help="interleaved A/B pairs per comparison")
    ap.add_argument("--sample-s", type=float, default=0.3, help="seconds per timing sample")
    args = ap.parse_args(argv)
    t, s = args.t or (50 if args.quick else 200), args.s or (10 if args.quick else 40)
    d = inputs(t, args.n, args.c, s)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if args.threads:
        if "torch" in backends:
            import torch

            torch.set_num_threads(args.threads)
        if "tensorflow" in backends:
            import tensorflow as tf

            tf.config.threading.set_intra_op_parallelism_threads(args.threads)
            tf.config.threading.set_inter_op_parallelism_threads(1)
    print(f"# ctc, T = {t}, N = {args.n}, C = {args.c}, S = {s} (label lengths {d['ll'].min()}..{d['ll'].max()}, "
          f"input lengths {d['il'].min()}..{d['il'].max()}), float32, reduction sum"
          + (f"; threads pinned to {args.threads}" if args.threads else ""))
    print(f"{'mode':14s} {'built-in':16s} {'kind':8s} {'xploss ms':>10s} {'built-in ms':>12s} {'ratio':>8s} "
          f"{'95% CI':>16s}  first call (s)")
    for b in backends:
        mode, make = CALLS[b]
        calls, a, name = make(d)
        for kind, (fx, fn) in calls.items():
            r = compare(fx, fn, a, a, args.pairs, args.sample_s)
            print(f"{mode:14s} {name:16s} {kind:8s} {1e3 * r.t_x:10.2f} {1e3 * r.t_n:12.2f} {r.ratio:8.3f} "
                  f"  [{r.lo:.3f}, {r.hi:.3f}]  xploss {r.first_x:.2f}, built-in {r.first_n:.2f}", flush=True)


if __name__ == "__main__":
    main()

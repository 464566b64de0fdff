#!/usr/bin/env python
"""linear_cross_entropy forward+backward: xploss' vocabulary-blocked kernel against the built-ins.

One run prints, float32, ``N`` hidden states of ``H`` features, ``V`` classes (default 4096 x 1024 x 32000,
``--quick`` 1024 x 256 x 8000), the gradients of the mean loss with respect to ``hidden`` and ``W``:

* time, interleaved A/B pairs after a warm-up, the median of the per-pair ratios xploss / built-in with a
  bootstrap 95 % CI (``bench_losses.compare``): torch eager against ``F.linear_cross_entropy`` (torch 2.13's
  default, ``options=None``: the linear layer then ``F.cross_entropy``; target <= 1.1), its chunked path
  (``options=LinearCrossEntropyOptions()``) and the unfused ``F.cross_entropy(h @ W.T)``; ``jax.jit`` against
  the unfused optax loss; TensorFlow XLA (``tf.function(jit_compile=True)``) against the unfused
  ``tf.nn.sparse_softmax_cross_entropy_with_logits``;
* peak extra memory of one fwd+bwd call, a fresh subprocess per implementation: torch and JAX the resident
  set (VmHWM after ``/proc/self/clear_refs`` minus VmRSS before, the gradients kept), JAX also the compiled
  executable's ``memory_analysis()`` temporaries, TensorFlow its allocator's peak
  (``tf.config.experimental.get_memory_info``; its pool keeps the warm-up's pages, so the RSS says nothing).
  As multiples of the full ``(N, V)`` float32 logits; the target (<= 0.1x) is for the memory beyond the
  gradients themselves (``dh`` and ``dW``, which every implementation returns: 0.28x at the default shape).

``--threads 1`` pins torch's, TensorFlow's and XLA's threads; ``--pairs`` (default 3), ``--no-memory``,
``--no-time``.  '!' marks a missed target.
"""

from __future__ import annotations

import argparse
import gc
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from bench_losses import _read, _status, compare, pin_xla_threads  # noqa: E402

pin_xla_threads(sys.argv)  # before anything imports JAX

TIME_TARGET, MEMORY_TARGET = 1.1, 0.1
IMPLS = {"torch": ("xploss", "F.linear_cross_entropy", "F.lce(options=chunked)", "F.cross_entropy(h@W.T)"),
         "jax": ("xploss", "optax unfused"), "tensorflow": ("xploss", "tf unfused")}


def inputs(n: int, h: int, v: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    hidden = rng.normal(size=(n, h)).astype(np.float32)
    w = (rng.normal(size=(v, h)) / np.sqrt(h)).astype(np.float32)
    return hidden, w, rng.integers(0, v, size=n)


# -- the implementations: per framework the losses, their fwd+bwd and the arguments -----------------------

def torch_losses(data: tuple, threads: int | None) -> tuple[dict, object, list]:
    import torch
    import torch.nn.functional as F

    import xploss

    if threads:
        torch.set_num_threads(threads)
    h, w = (torch.from_numpy(a).requires_grad_(True) for a in data[:2])
    y = torch.from_numpy(data[2])
    chunked = torch.nn.LinearCrossEntropyOptions()
    losses = {"xploss": lambda h, w: xploss.linear_cross_entropy(h, w, y),
              "F.linear_cross_entropy": lambda h, w: F.linear_cross_entropy(h, w, y),
              "F.lce(options=chunked)": lambda h, w: F.linear_cross_entropy(h, w, y, options=chunked),
              "F.cross_entropy(h@W.T)": lambda h, w: F.cross_entropy(h @ w.T, y)}

    def fwdbwd(f):
        return lambda h, w: torch.autograd.grad(f(h, w), (h, w))
    return losses, fwdbwd, [h, w]


def jax_losses(data: tuple, threads: int | None) -> tuple[dict, object, list]:
    import jax
    import jax.numpy as jnp
    import optax

    import xploss

    y = jnp.asarray(data[2])
    losses = {"xploss": lambda h, w: xploss.linear_cross_entropy(h, w, y),
              "optax unfused": lambda h, w: optax.softmax_cross_entropy_with_integer_labels(h @ w.T, y).mean()}

    def fwdbwd(f):
        g = jax.jit(jax.value_and_grad(f, argnums=(0, 1)))
        return lambda h, w: jax.block_until_ready(g(h, w))
    return losses, fwdbwd, [jnp.asarray(data[0]), jnp.asarray(data[1])]


def tf_losses(data: tuple, threads: int | None) -> tuple[dict, object, list]:
    import tensorflow as tf

    import xploss

    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    y = tf.constant(data[2])
    losses = {"xploss": lambda h, w: xploss.linear_cross_entropy(h, w, y),
              "tf unfused": lambda h, w: tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
                  y, tf.matmul(h, w, transpose_b=True)))}

    def fwdbwd(f):
        def vg(h, w):
            with tf.GradientTape() as tape:
                tape.watch([h, w])
                out = f(h, w)
            return out, tape.gradient(out, [h, w])
        g = tf.function(vg, jit_compile=True)
        return lambda h, w: [t.numpy() for t in g(h, w)[1]]
    return losses, fwdbwd, [tf.constant(data[0]), tf.constant(data[1])]


LOSSES = {"torch": torch_losses, "jax": jax_losses, "tensorflow": tf_losses}
LABEL = {"torch": "torch eager", "jax": "jax.jit", "tensorflow": "tf XLA"}


# -- memory: one implementation per fresh subprocess ------------------------------------------------------

def memory_child(framework: str, impl: str, shape: tuple[int, int, int], threads: int | None) -> None:
    losses, fwdbwd, args = LOSSES[framework](inputs(*shape), threads)
    call = fwdbwd(losses[impl])
    extra = ""
    if framework == "jax":  # the compiled executable's temporaries (no run needed)
        import jax

        compiled = jax.jit(jax.value_and_grad(losses[impl], argnums=(0, 1))).lower(*args).compile()
        extra = f" {compiled.memory_analysis().temp_size_in_bytes}"
    call(*args)  # warm-up (and compile), then free what it made
    gc.collect()
    if framework == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.reset_memory_stats("CPU:0")
        current = tf.config.experimental.get_memory_info("CPU:0")["current"]
        kept = call(*args)  # noqa: F841 - the gradients stay alive until the peak is read
        print(tf.config.experimental.get_memory_info("CPU:0")["peak"] - current)
        return
    before = _status("VmRSS:")
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    kept = call(*args)  # noqa: F841
    print(f"{_status('VmHWM:') - before}{extra}")


def memory_rows(shape: tuple[int, int, int], threads: int | None) -> None:
    n, h, v = shape
    logits, grads = n * v * 4, (n * h + v * h) * 4
    print(f"# peak extra memory of one fwd+bwd call, fresh subprocess each, x the (N, V) float32 logits "
          f"({logits / 2**20:.0f} MiB); the gradients alone are {grads / logits:.3f}x; target: beyond the gradients "
          f"<= {MEMORY_TARGET}x")
    print(f"{'framework':12s} {'implementation':24s} {'measure':18s} {'extra':>7s} {'beyond grads':>13s}")
    for framework, impls in IMPLS.items():
        for impl in impls:
            cmd = [sys.executable, __file__, "--memory-child", framework, impl, "--shape", "x".join(map(str, shape))]
            if threads:
                cmd += ["--threads", str(threads)]
            run = subprocess.run(cmd, capture_output=True, text=True)
            if run.returncode != 0:
                print(f"{LABEL[framework]:12s} {impl:24s} ERROR {run.stderr.strip().splitlines()[-1][:80]}")
                continue
            values = [int(x) for x in run.stdout.split()[-2 if framework == "jax" else -1:]]
            measures = {"torch": ["RSS"], "jax": ["RSS", "XLA temp"], "tensorflow": ["TF allocator"]}[framework]
            for measure, value in zip(measures, values):
                beyond = (value - (0 if measure == "XLA temp" else grads)) / logits
                flag = " !" if impl == "xploss" and beyond > MEMORY_TARGET else "  "
                print(f"{LABEL[framework]:12s} {impl:24s} {measure:18s} {value / logits:6.3f}x {beyond:12.3f}x{flag}",
                      flush=True)


# -- time ---------------------------------------------------------------------------------------------

def time_rows(shape: tuple[int, int, int], args: argparse.Namespace) -> None:
    print(f"{'framework':12s} {'xploss vs':24s} {'ratio':>6s} {'95% CI':>14s} {'xploss s':>9s} {'other s':>8s}  "
          "target")
    data = inputs(*shape)
    for framework, impls in IMPLS.items():
        try:
            losses, fwdbwd, fargs = LOSSES[framework](data, args.threads)
        except ImportError as exc:
            print(f"{LABEL[framework]:12s} skipped: {exc}")
            continue
        ours = fwdbwd(losses["xploss"])
        for impl in impls[1:]:
            t = compare(ours, fwdbwd(losses[impl]), fargs, fargs, args.pairs, args.sample_s)
            target = TIME_TARGET if impl == "F.linear_cross_entropy" else None
            flag = " !" if target is not None and t.ratio > target else "  "
            print(f"{LABEL[framework]:12s} {impl:24s} {t.ratio:6.3f} [{t.lo:.3f}, {t.hi:.3f}] {t.t_x:9.3f} "
                  f"{t.t_n:8.3f}{flag} {f'<= {target:g}' if target else '-'}", flush=True)
        del losses, ours, fargs
        gc.collect()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="N = 1024, H = 256, V = 8000")
    ap.add_argument("--shape", help="NxHxV (default 4096x1024x32000)")
    ap.add_argument("--threads", type=int, help="torch, TensorFlow and XLA intra-op threads")
    ap.add_argument("--pairs", type=int, default=3, help="interleaved A/B pairs per comparison")
    ap.add_argument("--sample-s", type=float, default=0.1, help="seconds per timing sample (at least one call)")
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--no-time", action="store_true")
    ap.add_argument("--memory-child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    shape = tuple(int(x) for x in (args.shape or ("1024x256x8000" if args.quick else "4096x1024x32000")).split("x"))
    if args.memory_child:
        return memory_child(*args.memory_child, shape, args.threads)
    import torch

    print(f"# linear_cross_entropy fwd+bwd (d/dhidden, d/dW of the mean), N x H x V = {'x'.join(map(str, shape))}, "
          f"float32; torch {torch.__version__}; threads {args.threads or 'default'}; "
          f"load average: {_read('/proc/loadavg')}")
    if not args.no_time:
        time_rows(shape, args)
    if not args.no_memory:
        memory_rows(shape, args.threads)


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""NT-Xent forward+backward: xploss' row-blocked kernel against direct implementations.

One run prints, side by side (interleaved A/B pairs after a warm-up, median of the per-pair ratios with a
bootstrap 95 % CI: ``bench_losses.compare``):

* torch eager, float32, ``N`` samples per view (``2N`` rows), ``D`` features: ``xploss.nt_xent`` against the
  usual "seed" implementation (normalize, cat, the ``2N × 2N`` similarity matrix, the diagonal masked with
  -inf, ``F.cross_entropy``: written below) and pytorch-metric-learning's ``NTXentLoss``;
* JAX under ``jax.jit``: ``xploss.nt_xent`` against ``optax.losses.ntxent`` on the concatenated views;
* the peak extra RSS of one torch fwd+bwd call of each (a fresh subprocess each: VmHWM after
  ``/proc/self/clear_refs`` minus VmRSS before), in MiB and in ``(2N)²`` float32 matrices.

``python benchmarks/bench_contrastive.py`` (N = 4096, D = 256), ``--quick`` (N = 512, D = 64),
``--threads 1`` pins torch's and XLA's threads (steadier on a loaded machine), ``--no-pml`` skips PML; PML is
skipped where its (positive pairs x negative pairs) mask exceeds 2**27 entries (N > 128): ``--n 128`` for its row.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from bench_losses import _status, compare, pin_xla_threads  # noqa: E402

pin_xla_threads(sys.argv)  # before anything imports JAX

import xploss  # noqa: E402

TAU = 0.5


def inputs(n: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    z1 = rng.normal(size=(n, d)).astype(np.float32)
    return z1, (z1 + 0.5 * rng.normal(size=(n, d))).astype(np.float32)


# -- torch implementations ----------------------------------------------------------------------

def seed_ntxent(z1, z2, tau: float = TAU):
    """The usual direct implementation: a full (2N, 2N) similarity matrix."""
    import torch
    import torch.nn.functional as F

    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    sim = (z @ z.T) / tau
    sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool), float("-inf"))
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(n)])
    return F.cross_entropy(sim, targets)


def pml_ntxent(z1, z2, tau: float = TAU):
    import torch
    from pytorch_metric_learning.losses import NTXentLoss

    n = z1.shape[0]
    return NTXentLoss(temperature=tau)(torch.cat([z1, z2]), torch.cat([torch.arange(n)] * 2))


def xploss_ntxent(z1, z2, tau: float = TAU):
    return xploss.nt_xent(z1, z2, temperature=tau)


TORCH_IMPLS = {"xploss": xploss_ntxent, "seed": seed_ntxent, "pml": pml_ntxent}


def torch_fwdbwd(f):
    import torch

    def run(z1, z2):
        loss = f(z1, z2)
        return torch.autograd.grad(loss, (z1, z2))
    return run


def torch_args(z1: np.ndarray, z2: np.ndarray) -> list:
    import torch

    return [torch.from_numpy(z1).requires_grad_(True), torch.from_numpy(z2).requires_grad_(True)]


# -- JAX -------------------------------------------------------------------------------------------

def jax_calls():
    import jax
    import jax.numpy as jnp
    import optax

    def xl(z1, z2):
        return xploss.nt_xent(z1, z2, temperature=TAU)

    def ox(z1, z2):
        n = z1.shape[0]
        return optax.losses.ntxent(jnp.concatenate([z1, z2]), jnp.concatenate([jnp.arange(n)] * 2), TAU)

    def fb(f):
        g = jax.jit(jax.value_and_grad(f, argnums=(0, 1)))
        return lambda a, b: jax.block_until_ready(g(a, b))
    return fb(xl), fb(ox), jnp.asarray


# -- memory ----------------------------------------------------------------------------------------

def memory_child(impl: str, n: int, d: int) -> None:
    import gc

    run = torch_fwdbwd(TORCH_IMPLS[impl])
    args = torch_args(*inputs(n, d))
    run(*args)  # warm-up, then free what it made
    gc.collect()
    before = _status("VmRSS:")
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    kept = run(*args)  # noqa: F841 - the gradients stay alive until the peak is read
    print(_status("VmHWM:") - before)


def peak(impl: str, n: int, d: int, threads: int | None) -> float:
    cmd = [sys.executable, __file__, "--memory-child", impl, "--n", str(n), "--d", str(d)]
    if threads:
        cmd += ["--threads", str(threads)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.split()
    return int(out[-1])


def jax_row(n: int, d: int, args: argparse.Namespace) -> None:
    """xploss vs optax under jax.jit; optax's cosine matrix broadcasts a (2N, 2N, D) array: when that does not
    fit, both run at the largest N (halving) where it does."""
    fx, fo, conv = jax_calls()
    while True:
        z1, z2 = inputs(n, d)
        ja = [conv(z1), conv(z2)]
        try:
            t = compare(fx, fo, ja, ja, args.pairs, args.sample_s)
            break
        except Exception as exc:  # XLA's RESOURCE_EXHAUSTED
            if "RESOURCE_EXHAUSTED" not in str(exc) or n <= 64:
                raise
            print(f"# jax.jit: optax ntxent at N = {n} needs {(2 * n) ** 2 * d * 4 / 2**30:.0f} GiB "
                  "((2N, 2N, D) broadcast in its cosine_similarity): out of memory; halving N", flush=True)
            n //= 2
    print(f"jax.jit (N = {n})")
    print(f"{'':18s} {'optax':8s} {float(fo(*ja)[0]):10.6f} {1e3 * t.t_x:10.2f} {1e3 * t.t_n:10.2f} "
          f"{t.ratio:12.3f}   [{t.lo:.3f}, {t.hi:.3f}]   (first call: xploss {t.first_x:.2f} s, "
          f"optax {t.first_n:.2f} s)", flush=True)


# -- main ------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="N = 512, D = 64")
    ap.add_argument("--n", type=int, help="samples per view (default 4096, --quick 512)")
    ap.add_argument("--d", type=int, help="features (default 256, --quick 64)")
    ap.add_argument("--threads", type=int, help="torch and XLA intra-op threads")
    ap.add_argument("--pairs", type=int, default=7, help="interleaved A/B pairs per comparison")
    ap.add_argument("--sample-s", type=float, default=0.3, help="seconds per timing sample")
    ap.add_argument("--no-pml", action="store_true", help="skip pytorch-metric-learning")
    ap.add_argument("--memory-only", action="store_true", help="only the peak-memory rows")
    ap.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    n = args.n or (512 if args.quick else 4096)
    d = args.d or (64 if args.quick else 256)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.memory_child:
        memory_child(args.memory_child, n, d)
        return
    pml_size = 2 * n * 2 * n * (2 * n - 2)  # PML NTXent's (positive pairs, negative pairs) mask
    too_big = pml_size > 2 ** 27
    impls = [k for k in TORCH_IMPLS if not ((args.no_pml or too_big) and k == "pml")]
    if too_big and not args.no_pml:
        print(f"# PML NTXentLoss skipped: its (positive pairs x negative pairs) mask holds {pml_size:.2e} elements "
              "at this N (killed for memory); run --n 128 for its row")
    print(f"# nt_xent fwd+bwd, N = {n} per view (2N = {2 * n} rows), D = {d}, float32, tau = {TAU}; "
          f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    z1, z2 = inputs(n, d)
    ta = torch_args(z1, z2)
    x = torch_fwdbwd(xploss_ntxent)
    lx = float(xploss_ntxent(*ta).detach())
    print(f"{'':18s} {'impl':8s} {'loss':>10s} {'xploss ms':>10s} {'impl ms':>10s} "
          f"{'xploss/impl':>12s} {'95% CI':>16s}")
    print("torch eager")
    for name in impls[1:] if not args.memory_only else []:
        t = compare(x, torch_fwdbwd(TORCH_IMPLS[name]), ta, ta, args.pairs, args.sample_s)
        loss = float(TORCH_IMPLS[name](*ta).detach())
        print(f"{'':18s} {name:8s} {loss:10.6f} {1e3 * t.t_x:10.2f} {1e3 * t.t_n:10.2f} {t.ratio:12.3f} "
              f"  [{t.lo:.3f}, {t.hi:.3f}]   (xploss loss {lx:.6f})", flush=True)
    if not args.memory_only:
        jax_row(n, d, args)
    mat = (2 * n) ** 2 * 4
    print(f"# peak extra RSS of one torch fwd+bwd call (fresh subprocess each); one (2N)² float32 matrix = "
          f"{mat / 2**20:.1f} MiB; inputs {2 * n * d * 4 / 2**20:.1f} MiB")
    for name in impls:
        p = peak(name, n, d, args.threads)
        print(f"{'':18s} {name:8s} {p / 2**20:10.1f} MiB  = {p / mat:5.2f} (2N)² matrices", flush=True)


if __name__ == "__main__":
    main()

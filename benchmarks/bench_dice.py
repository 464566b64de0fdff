#!/usr/bin/env python
"""Dice forward and forward+backward on (8, 4, 256, 256): xploss against MONAI (torch eager) and optax (jax.jit).

One run prints, side by side (interleaved A/B pairs after a warm-up, median of the per-pair ratios with a
bootstrap 95 % CI: ``bench_losses.compare``), float32, softmax probabilities from logits, integer label maps:

* torch eager: ``xploss.dice(logits, labels, axis=1, from_logits=True, smooth=s/2)`` against MONAI 1.6.1
  ``DiceLoss(softmax=True, to_onehot_y=True, smooth_nr=s, smooth_dr=s)(logits, labels[:, None])`` (the same
  number: MONAI's smoothing in the ``2I + s`` form is xploss' ``s/2``) and against the one-hot-then-sum
  implementation most code writes by hand;
* JAX under ``jax.jit``: ``xploss.dice`` on channels-last logits against ``optax.losses.dice_loss(logits,
  one_hot)`` (its ``apply_softmax`` and smooth 1 = xploss ``smooth=1``), both reduced to the batch mean.

``python benchmarks/bench_dice.py`` (8, 4, 256, 256); ``--quick`` (2, 4, 64, 64); ``--threads 1`` pins torch's
and XLA's threads (steadier on a loaded machine).
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

SMOOTH = 1e-5  # MONAI's default, in its 2I + s form


def inputs(shape: tuple) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    n, c, h, w = shape
    return rng.normal(size=shape).astype(np.float32), rng.integers(0, c, size=(n, h, w))


# -- torch --------------------------------------------------------------------------------------------

def torch_impls() -> dict:
    import torch.nn.functional as F
    from monai.losses import DiceLoss

    monai = DiceLoss(softmax=True, to_onehot_y=True, smooth_nr=SMOOTH, smooth_dr=SMOOTH)

    def xl(z, y):
        return xploss.dice(z, y, axis=1, from_logits=True, smooth=SMOOTH / 2)

    def mo(z, y):
        return monai(z, y[:, None])

    def hand(z, y):  # the usual hand-written Dice
        p = z.softmax(1)
        g = F.one_hot(y, z.shape[1]).permute(0, 3, 1, 2).to(p.dtype)
        inter = (p * g).sum((2, 3))
        return (1 - (2 * inter + SMOOTH) / (p.sum((2, 3)) + g.sum((2, 3)) + SMOOTH)).mean()
    return {"xploss": xl, "monai": mo, "hand": hand}


def torch_modes(f):
    import torch

    def fwd(z, y):
        with torch.no_grad():
            return f(z, y)

    def fb(z, y):
        return torch.autograd.grad(f(z, y), (z,))
    return {"fwd": fwd, "fwd+bwd": fb}


# -- JAX ------------------------------------------------------------------------------------------------

def jax_impls() -> dict:
    import jax
    import jax.numpy as jnp
    import optax

    def xl(z, y):
        return xploss.dice(z, y, axis=-1, from_logits=True, smooth=1.0)

    def ox(z, y):
        return jnp.mean(optax.losses.dice_loss(z, jax.nn.one_hot(y, z.shape[-1], dtype=z.dtype)))
    return {"xploss": xl, "optax": ox}


def jax_modes(f):
    import jax

    fwd = jax.jit(f)
    fb = jax.jit(jax.value_and_grad(f))
    return {"fwd": lambda z, y: jax.block_until_ready(fwd(z, y)),
            "fwd+bwd": lambda z, y: jax.block_until_ready(fb(z, y))}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="shape (2, 4, 64, 64)")
    ap.add_argument("--threads", type=int, help="torch and XLA intra-op threads")
    ap.add_argument("--pairs", type=int, default=9, help="interleaved A/B pairs per comparison")
    ap.add_argument("--sample-s", type=float, default=0.3, help="seconds per timing sample")
    args = ap.parse_args(argv)
    shape = (2, 4, 64, 64) if args.quick else (8, 4, 256, 256)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    z, y = inputs(shape)
    print(f"# dice, logits {shape} float32 (softmax inside), int64 labels; torch {torch.__version__}, "
          f"threads {torch.get_num_threads()}")
    print(f"{'':10s} {'mode':8s} {'vs':8s} {'loss':>10s} {'xploss ms':>10s} {'ref ms':>10s} {'xploss/ref':>11s} "
          f"{'95% CI':>16s}")
    impls = torch_impls()
    zt, yt = torch.from_numpy(z).requires_grad_(True), torch.from_numpy(y)
    for mode in ("fwd", "fwd+bwd"):
        fx = torch_modes(impls["xploss"])[mode]
        for name in ("monai", "hand"):
            t = compare(fx, torch_modes(impls[name])[mode], [zt, yt], [zt, yt], args.pairs, args.sample_s)
            loss = float(impls[name](zt, yt).detach())
            print(f"{'torch':10s} {mode:8s} {name:8s} {loss:10.6f} {1e3 * t.t_x:10.2f} {1e3 * t.t_n:10.2f} "
                  f"{t.ratio:11.3f}   [{t.lo:.3f}, {t.hi:.3f}]  (xploss {float(impls['xploss'](zt, yt)):.6f})",
                  flush=True)
    import jax.numpy as jnp

    zj, yj = jnp.asarray(np.moveaxis(z, 1, -1)), jnp.asarray(y)
    ji = jax_impls()
    for mode in ("fwd", "fwd+bwd"):
        t = compare(jax_modes(ji["xploss"])[mode], jax_modes(ji["optax"])[mode], [zj, yj], [zj, yj], args.pairs,
                    args.sample_s)
        print(f"{'jax.jit':10s} {mode:8s} {'optax':8s} {float(ji['optax'](zj, yj)):10.6f} {1e3 * t.t_x:10.2f} "
              f"{1e3 * t.t_n:10.2f} {t.ratio:11.3f}   [{t.lo:.3f}, {t.hi:.3f}]  "
              f"(xploss {float(ji['xploss'](zj, yj)):.6f}; first call {t.first_x:.2f} s vs {t.first_n:.2f} s)",
              flush=True)


if __name__ == "__main__":
    main()

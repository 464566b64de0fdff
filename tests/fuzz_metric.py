"""Fuzz specs of the metric-learning family (#8), appended to ``fuzz_strategies.SPECS``.

Embeddings are drawn from a seeded normal (hypothesis draws the seed, the sizes and the options), so that
pairwise distances have no ties: mining picks the same pair on every backend, and the backends are compared
at 1e-12 as for every other loss.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from fuzz_strategies import Example, Hyper, Spec, maybe
from hypothesis import strategies as st

N_SIDES = (2, 3, 5)
D_SIDES = (1, 2, 4)


def _rng(draw: Callable) -> np.random.Generator:
    return np.random.default_rng(draw(st.integers(0, 2**32 - 1)))


def _rows(draw: Callable, rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    return rng.normal(size=(n, d)) * draw(st.sampled_from([0.3, 1.0, 3.0]))


def _labels(draw: Callable, rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, draw(st.sampled_from([1, 2, 3])), size=n)


def _options(draw: Callable, strategies: dict) -> dict:
    return {k: v for k, s in strategies.items() if (v := draw(maybe(s))) is not None}


def embeddings_and_labels(name: str, **opts: st.SearchStrategy) -> Callable:
    """``fn(embeddings (N, D), labels (N,), **opts)``."""
    def gen(draw: Callable, labels: str | None) -> Example:
        rng = _rng(draw)
        n, d = draw(st.sampled_from(N_SIDES)), draw(st.sampled_from(D_SIDES))
        return Example(name, [_rows(draw, rng, n, d), _labels(draw, rng, n)], _options(draw, opts), diff=(0,),
                       sample_shape=(n,), labels=1)
    return gen


def two_sets(name: str, pair_labels: str | None = None, event: bool = True, same_n: bool = True,
             **opts: st.SearchStrategy) -> Callable:
    """``fn(x1, x2[, labels], **opts)``: two float inputs (rows (N, D), or (N,) scores when not ``event``);
    ``pair_labels``: ``"01"`` (0 / 1 floats), ``"pm1"`` (±1 floats) or None."""
    def gen(draw: Callable, labels: str | None) -> Example:
        rng = _rng(draw)
        n, d = draw(st.sampled_from(N_SIDES)), draw(st.sampled_from(D_SIDES))
        m = n if same_n else n + draw(st.sampled_from([0, 1, 2]))
        shape1, shape2 = ((n, d), (m, d)) if event else ((n,), (m,))
        args = [_rows(draw, rng, *shape1) if event else rng.normal(size=shape1),
                _rows(draw, rng, *shape2) if event else rng.normal(size=shape2)]
        if pair_labels is not None:
            y = rng.integers(0, 2, size=n).astype(np.float64)
            args.append(y if pair_labels == "01" else 2.0 * y - 1.0)
        return Example(name, args, _options(draw, opts), diff=(0, 1), sample_shape=(n,))
    return gen


def proxies(name: str, **opts: st.SearchStrategy) -> Callable:
    """``fn(embeddings (N, D), class_weights (C, D), labels (N,) in [0, C), **opts)``."""
    def gen(draw: Callable, labels: str | None) -> Example:
        rng = _rng(draw)
        n, d, c = draw(st.sampled_from(N_SIDES)), draw(st.sampled_from(D_SIDES)), draw(st.sampled_from([1, 2, 4]))
        args = [_rows(draw, rng, n, d), _rows(draw, rng, c, d), rng.integers(0, c, size=n)]
        return Example(name, args, _options(draw, opts), diff=(0, 1), sample_shape=(n,), labels=2, classes=c)
    return gen


MARGIN = Hyper("margin", (-1.0,))
TEMPERATURE = Hyper("temperature", (0.0, -0.5), array_ok=True)

SPECS: list[Spec] = []  # filled as the family's losses land

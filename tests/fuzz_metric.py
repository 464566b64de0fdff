"""Fuzz specs of the metric-learning family (#8), appended to ``fuzz_strategies.SPECS``.

Embeddings are drawn from a seeded normal (hypothesis draws the seed, the sizes and the options), so that
pairwise distances have no ties: mining picks the same pair on every backend, and the backends are compared
at 1e-12 as for every other loss.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from fuzz_strategies import CAMPAIGN, Example, Hyper, Spec, maybe, reals
from hypothesis import strategies as st

# the regular suite: one shape (JAX compiles every eager call once per shape); nox -s fuzz: all of them
N_SIDES = (2, 3, 5) if CAMPAIGN else (4,)
D_SIDES = (1, 2, 4) if CAMPAIGN else (3,)


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


def three_sets(name: str, **opts: st.SearchStrategy) -> Callable:
    """``fn(anchor, positive, negative, **opts)``."""
    def gen(draw: Callable, labels: str | None) -> Example:
        rng = _rng(draw)
        n, d = draw(st.sampled_from(N_SIDES)), draw(st.sampled_from(D_SIDES))
        return Example(name, [_rows(draw, rng, n, d) for _ in range(3)], _options(draw, opts), diff=(0, 1, 2),
                       sample_shape=(n,))
    return gen


def scores_and_labels(name: str, nonnegative: bool = False, **opts: st.SearchStrategy) -> Callable:
    """``fn(x (N,), labels (N,), **opts)``: ``hinge_embedding`` (±1 labels) or ``contrastive_from_distances``
    (distances >= 0, 0 / 1 labels)."""
    def gen(draw: Callable, labels: str | None) -> Example:
        rng = _rng(draw)
        n = draw(st.sampled_from(N_SIDES))
        x = rng.normal(size=n) * draw(st.sampled_from([0.3, 1.0, 3.0]))
        y = rng.integers(0, 2, size=n).astype(np.float64)
        args = [np.abs(x), y] if nonnegative else [x, 2.0 * y - 1.0]
        return Example(name, args, _options(draw, opts), diff=(0,), sample_shape=(n,))
    return gen


def with_scale(gen: Callable) -> Callable:
    """``gen``'s example plus the positional ``logit_scale`` (clip), a Python float."""
    def out(draw: Callable, labels: str | None) -> Example:
        ex = gen(draw, labels)
        return ex.replace(args=[*ex.args, draw(reals(0.5, 20.0))])
    return out


MARGIN = Hyper("margin", (-1.0,))
TEMPERATURE = Hyper("temperature", (0.0, -0.5), array_ok=True)
SCALE = Hyper("scale", (0.0, -1.0), array_ok=True)
MARGIN_01 = st.floats(0.0, 1.0)
POS = st.floats(0.05, 3.0)
DIST = st.sampled_from(["euclidean", "squared_euclidean", "cosine"])


def _s(name: str, gen: Callable, **kw: object) -> Spec:
    return Spec(name, gen, **kw)


SPECS: list[Spec] = [
    # pairs and ranking
    _s("contrastive", two_sets("contrastive", "01", margin=POS, pos_margin=st.floats(0.0, 0.5),
                               squared=st.booleans(), distance=st.sampled_from(["euclidean", "squared_euclidean"])),
       hypers=(MARGIN,), binary_labels=True, label_position=2),
    _s("contrastive_from_distances", scores_and_labels("contrastive_from_distances", nonnegative=True, margin=POS,
                                                       squared=st.booleans()),
       hypers=(MARGIN,), binary_labels=True),
    _s("cosine_embedding", two_sets("cosine_embedding", "pm1", margin=st.floats(-0.5, 0.5))),
    _s("margin_ranking", two_sets("margin_ranking", "pm1", event=False, margin=st.floats(0.0, 2.0)),
       broadcast_labels=True, label_position=2),
    _s("hinge_embedding", scores_and_labels("hinge_embedding", margin=POS), broadcast_labels=True),
    _s("cosine_similarity", two_sets("cosine_similarity")),
    _s("cosine_distance", two_sets("cosine_distance", epsilon=st.sampled_from([0.0, 1e-8]))),
    _s("triplet_margin_with_distance", three_sets("triplet_margin_with_distance", distance=DIST, margin=POS,
                                                  swap=st.booleans()), hypers=(MARGIN,)),
    _s("bpr", two_sets("bpr", event=False)),
    # proxies and centres
    _s("arcface", proxies("arcface", scale=st.floats(1.0, 64.0), margin=st.floats(0.0, 0.8),
                          easy_margin=st.booleans()), hypers=(SCALE,), int_labels=True, shape_position=2),
    _s("cosface", proxies("cosface", scale=st.floats(1.0, 64.0), margin=st.floats(0.0, 0.5)), hypers=(SCALE,),
       int_labels=True, shape_position=2),
    _s("center", proxies("center"), int_labels=True, shape_position=2),
    # the linear layer + cross-entropy (#11): hidden (N, H), class_weights (V, H), labels (N,)
    _s("linear_cross_entropy", proxies("linear_cross_entropy", label_smoothing=st.floats(0.0, 1.0),
                                       chunk_size=st.sampled_from([1, 3])),
       hypers=(Hyper("label_smoothing", (-0.1, 1.5)),), int_labels=True, shape_position=2),
    # in-batch contrastive
    _s("nt_xent", two_sets("nt_xent", temperature=st.floats(0.05, 2.0), directions=st.sampled_from(["mean", "sum"])),
       hypers=(TEMPERATURE,)),
    _s("info_nce", two_sets("info_nce", same_n=False, temperature=st.floats(0.05, 2.0)), hypers=(TEMPERATURE,)),
    _s("supcon", embeddings_and_labels("supcon", temperature=st.floats(0.05, 2.0),
                                       base_temperature=st.floats(0.05, 2.0)),
       hypers=(TEMPERATURE,), group_labels=True),
    _s("clip", with_scale(two_sets("clip"))),
    _s("circle", embeddings_and_labels("circle", gamma=st.floats(1.0, 80.0), margin=st.floats(0.0, 0.5),
                                       detach_weights=st.booleans()), group_labels=True),
    # mined from (embeddings, labels)
    _s("batch_hard_triplet", embeddings_and_labels("batch_hard_triplet", margin=POS, soft=st.booleans(),
                                                   distance=DIST), hypers=(MARGIN,), group_labels=True),
    _s("batch_semi_hard_triplet", embeddings_and_labels("batch_semi_hard_triplet", margin=POS, distance=DIST),
       hypers=(MARGIN,), group_labels=True),
    _s("batch_all_triplet", embeddings_and_labels("batch_all_triplet", margin=POS, distance=DIST,
                                                  average=st.sampled_from(["nonzero", "all"])),
       hypers=(MARGIN,), group_labels=True),
    _s("lifted_structure", embeddings_and_labels("lifted_structure", margin=POS), group_labels=True),
    _s("multi_similarity", embeddings_and_labels("multi_similarity", alpha=st.floats(0.5, 4.0),
                                                 beta=st.floats(1.0, 50.0), base=MARGIN_01), group_labels=True),
    _s("n_pairs", two_sets("n_pairs", similarity=st.sampled_from(["dot", "cosine"]))),
]

"""Per-loss test table of the CTC family (extends ``cases.py``).

The reference is a float64 NumPy forward algorithm written from Graves et al. (2006) with plain Python loops
(one sequence at a time, the extended label sequence built by hand, log-sum-exp by ``math``); no xploss code.
``tests/test_ctc.py`` checks it against a brute-force sum over every alignment.  CTC is a per-sequence
loss, so the generic table fits it: one batch-major case with padded variable lengths and a repeated label
(finite differences, native autodiff of the kernel, compiled modes, extremes, non-negativity).  The
time-major layout does not fit the table's batch concatenation along axis 0; it and the other options are
in ``test_ctc.py``.
"""

from __future__ import annotations

import math

import numpy as np
from cases import Case, scaled

import xploss

N, T, C, S = 3, 5, 4, 2


def _log_softmax(z: np.ndarray) -> np.ndarray:
    m = z.max(axis=-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))


def _lse(values: list) -> float:
    m = max(values)
    if m == -math.inf:
        return -math.inf
    return m + math.log(sum(math.exp(v - m) for v in values))


def ctc_nll(lp: np.ndarray, target: list, blank: int) -> float:
    """``-log p(target)`` of one sequence, ``lp`` its ``(T_n, C)`` log-probabilities (the forward algorithm)."""
    ext = [blank]
    for k in target:
        ext += [k, blank]
    n_t, n_s = lp.shape[0], len(ext)
    if n_t == 0:
        return 0.0 if not target else math.inf
    alpha = [-math.inf] * n_s
    alpha[0] = lp[0, ext[0]]
    if n_s > 1:
        alpha[1] = lp[0, ext[1]]
    for t in range(1, n_t):
        new = []
        for s in range(n_s):
            terms = [alpha[s]] + ([alpha[s - 1]] if s >= 1 else [])
            if s >= 2 and ext[s] != blank and ext[s] != ext[s - 2]:
                terms.append(alpha[s - 2])
            new.append(_lse(terms) + lp[t, ext[s]])
        alpha = new
    return -_lse([alpha[-1]] + ([alpha[-2]] if n_s > 1 else []))


def ref_ctc(z, labels, input_lengths, label_lengths, *, blank=0, time_major=False, length_normalize=False,
            zero_infinity=False):
    z = np.asarray(z, dtype=np.float64)
    if time_major:
        z = np.transpose(z, (1, 0, 2))
    out = np.zeros(z.shape[0])
    for n in range(z.shape[0]):
        t_n, u_n = int(input_lengths[n]), int(label_lengths[n])
        v = ctc_nll(_log_softmax(z[n, :t_n]), [int(k) for k in labels[n, :u_n]], blank)
        if zero_infinity and v == math.inf:
            v = 0.0
        out[n] = max(v, 0.0) / (max(u_n, 1) if length_normalize else 1)
    return out


def _inputs(time_major: bool, blank: int):
    def make(rng: np.random.Generator) -> tuple:
        z = rng.normal(scale=1.5, size=(T, N, C) if time_major else (N, T, C))
        others = [k for k in range(C) if k != blank]
        labels = rng.choice(others, size=(N, S))
        labels[1] = others[0]  # a repeated label: needs a blank between
        labels[2, 1] = 7  # padding past the length (any content)
        return z, labels, np.array([5, 4, 3]), np.array([2, 2, 1])
    return make


CASES = [
    # unweighted, two reductions: every JAX / XLA compilation of the recursion costs ~1 s, and the reduction
    # and weight code is shared (test_ctc checks sample_weight and the other reductions against torch)
    Case("ctc-lengths", xploss.ctc, _inputs(False, 0), ref_ctc, diff=(0,), reductions=("sum", "mean"),
         weighted=False, nonneg=True, extreme=scaled(1e4)),
]

"""Per-loss test table of the CTC family (extends ``cases.py``).

The reference is a float64 NumPy forward algorithm written from Graves et al. (2006) with plain Python loops
(one sequence at a time, the extended label sequence built by hand, log-sum-exp by ``math``); no xploss code.
``tests/test_ctc.py`` checks it against a brute-force sum over every alignment.  CTC is a per-sequence
loss and the generic table would fit a batch-major case (not a time-major one: the table concatenates
batches along axis 0), but it is kept out of the table for test time (below); ``test_ctc.py`` holds the
checks, with this module's reference.
"""

from __future__ import annotations

import math

import numpy as np


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


# CTC is a per-sequence loss and fits the generic table (a batch-major case runs there as it is), but the table
# costs ~70 s of test time for it: every JAX / XLA compilation of the recursion takes 1-3 s, and its native-autodiff
# check runs the kernel op by op on eager JAX (T steps of fresh compilations, 17 s).  test_ctc.py covers what the
# table would: values and gradients on every backend at 1e-12 against torch, finite differences, non-negativity
# at scale, jax.jit / tf.function(jit_compile=True) / torch.compile(fullgraph=True) against eager.
CASES: list = []

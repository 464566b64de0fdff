"""
A linear SVM with the hinge loss
================================

A soft-margin linear SVM is the hinge loss plus an L2 penalty on the weights:

.. math:: \\frac1N \\sum_i \\max(0,\\, 1 - s_i (w^\\top x_i + b)) + \\lambda \\lVert w \\rVert^2,
   \\qquad s_i = \\pm 1.

:func:`xploss.hinge` takes 0/1 labels and maps them to ∓1 (Keras' rule); :func:`xploss.l2_penalty` is
the penalty.  Plain (sub)gradient descent through :func:`xploss.value_and_grad` on NumPy finds the
separating line; the plot shows the margins ``w·x + b = ±1`` and the support vectors, the points on or
inside the margin: the only ones with a non-zero hinge gradient.
"""

import matplotlib.pyplot as plt
import numpy as np

import xploss

# %%
# Two classes, 60 points each, labels 0 and 1.

rng = np.random.default_rng(2)
X = np.concatenate([rng.normal([-1.2, -1.0], 0.7, size=(60, 2)), rng.normal([1.2, 1.0], 0.7, size=(60, 2))])
labels = np.repeat([0.0, 1.0], 60)
LAM = 0.01


def objective(theta):
    """Mean hinge loss of ``X @ w + b`` plus ``LAM * |w|^2``; ``theta = (w1, w2, b)``."""
    return xploss.hinge(X @ theta[:2] + theta[2], labels) + xploss.l2_penalty(theta[:2], lam=LAM)


# %%
# Subgradient descent with a decaying step.

step = xploss.value_and_grad(objective)
theta, curve = np.zeros(3), []
for t in range(2000):
    value, grad = step(theta)
    theta = theta - 0.5 / np.sqrt(1.0 + t) * grad
    curve.append(float(value))

w, b = theta[:2], theta[2]
margin = (2 * labels - 1) * (X @ w + b)  # s_i (w·x_i + b)
print(f"w = {w.round(3)}, b = {b:.3f}; margin width 2/|w| = {2 / np.linalg.norm(w):.3f}")
print(f"objective {curve[-1]:.4f}; training accuracy {np.mean(margin > 0):.1%}")

# %%
# The support vectors are the points with a non-zero hinge gradient: the gradient of the summed loss
# with respect to the scores is ``-s_i`` inside the margin (``s_i (w·x_i + b) < 1``) and 0 outside.

_, d_scores = xploss.value_and_grad(lambda s: xploss.hinge(s, labels, reduction="sum"))(X @ w + b)
support = d_scores != 0
print(f"{support.sum()} support vectors of {len(labels)} points; all inside the margin: "
      f"{bool(np.all(margin[support] < 1))}; all others outside: {bool(np.all(margin[~support] >= 1))}")

# %%
# Margin plot
# -----------

fig, (ax, ax_curve) = plt.subplots(1, 2, figsize=(11, 4.5), gridspec_kw={"width_ratios": [3, 2]})
xx, yy = np.meshgrid(np.linspace(-3.5, 3.5, 200), np.linspace(-3.5, 3.5, 200))
score = np.stack([xx, yy], -1) @ w + b
ax.contourf(xx, yy, score, levels=[-100, -1, 0, 1, 100], colors=["#c6dbef", "#eef4fb", "#fdeeee", "#fcbba1"])
ax.contour(xx, yy, score, levels=[-1, 0, 1], colors="k", linestyles=["--", "-", "--"], linewidths=[1, 2, 1])
ax.scatter(*X[labels == 0].T, s=16, color="tab:blue", label="class 0")
ax.scatter(*X[labels == 1].T, s=16, color="tab:red", label="class 1")
ax.scatter(*X[support].T, s=90, facecolor="none", edgecolor="k", lw=1.2, label="support vectors")
ax.set(xlabel="$x_1$", ylabel="$x_2$", title="Boundary w·x + b = 0 and margins ±1", aspect="equal")
ax.legend(loc="upper left", fontsize=8)
ax_curve.plot(curve)
ax_curve.set(xlabel="subgradient step", ylabel="hinge + L2 penalty", title="Training objective", ylim=(0, 0.5))
fig.tight_layout()
plt.show()

r"""
Focal loss vs cross-entropy on an imbalanced problem
====================================================

One minority point for fifty majority points.  Under cross-entropy the thousand majority points, most of
them soon easy and well classified, still make most of the gradient; the focal loss (Lin et al. 2017,
:func:`xploss.focal`) multiplies each sample's cross-entropy by :math:`(1 - p_t)^\gamma`, nearly 0 for an
easy sample, so the few hard samples — here the minority — drive training.

A linear softmax classifier is trained with the same learning rate and the same 400 gradient-descent
steps (gradients from :func:`xploss.value_and_grad` on NumPy) on :func:`xploss.cross_entropy` and on the
focal loss for :math:`\gamma \in \{1, 2, 5\}`, and evaluated on a large held-out set.
"""

import matplotlib.pyplot as plt
import numpy as np

import xploss

# %%
# Data: 1000 majority points around the origin, 20 minority points around (2.5, 2.5); the held-out set
# has the same proportions, 20 times larger.

rng = np.random.default_rng(4)


def sample(n_majority, n_minority):
    X = np.concatenate([rng.normal([0.0, 0.0], 1.0, size=(n_majority, 2)),
                        rng.normal([2.5, 2.5], 0.6, size=(n_minority, 2))])
    return X, np.repeat([0, 1], [n_majority, n_minority])


X, labels = sample(1000, 20)
X_test, labels_test = sample(20000, 400)

# %%
# :math:`\gamma = 0` is the cross-entropy itself:

logits = rng.normal(size=(5, 2))
print("focal(gamma=0) == cross_entropy:",
      bool(np.isclose(xploss.focal(logits, labels[:5], gamma=0.0), xploss.cross_entropy(logits, labels[:5]))))


# %%
# Training
# --------
# The parameters ``theta`` are a (2, 2) weight matrix and two biases; the minority recall and precision on
# the held-out set (class 1 predicted where its logit is the larger) are recorded every 10 steps.

def logits_of(theta, X):
    return X @ theta[:4].reshape(2, 2) + theta[4:]


def minority_recall_precision(theta):
    predicted = np.argmax(logits_of(theta, X_test), axis=1) == 1
    true_positives = np.sum(predicted & (labels_test == 1))
    return true_positives / np.sum(labels_test == 1), true_positives / max(np.sum(predicted), 1)


def train(loss, steps=400, lr=0.5):
    step = xploss.value_and_grad(lambda theta: loss(logits_of(theta, X), labels))
    theta, history = np.zeros(6), []
    for i in range(steps + 1):
        if i % 10 == 0:
            history.append(minority_recall_precision(theta))
        if i < steps:
            theta = theta - lr * step(theta)[1]
    return theta, np.array(history)


losses = {"cross-entropy": xploss.cross_entropy}
for gamma in (1.0, 2.0, 5.0):
    losses[f"focal, gamma={gamma:g}"] = lambda z, y, gamma=gamma: xploss.focal(z, y, gamma=gamma)
results = {name: train(loss) for name, loss in losses.items()}

# %%
# Minority recall and precision after 400 steps
# ---------------------------------------------

print(f"{'':18s} {'recall':>7s} {'precision':>10s}")
for name, (_, history) in results.items():
    recall, precision = history[-1]
    print(f"{name:18s} {recall:7.3f} {precision:10.3f}")

# %%
# Where the gradient comes from
# -----------------------------
# At the parameters of the cross-entropy model after 20 steps, the share of the gradient (summed
# ``|dL/dlogits|``) that the 20 minority points contribute, under each loss:

theta_20, _ = train(xploss.cross_entropy, steps=20)
for name, loss in losses.items():
    _, d_logits = xploss.value_and_grad(lambda z, loss=loss: loss(z, labels))(logits_of(theta_20, X))
    per_sample = np.abs(d_logits).sum(axis=1)
    print(f"{name:18s} minority share of the gradient: {per_sample[labels == 1].sum() / per_sample.sum():.0%}")

# %%
# With :math:`\gamma = 1` or 2 the minority is found sooner, at nearly the same precision; :math:`\gamma = 5`
# shrinks every gradient so much that, at this learning rate, training is slower overall.  Trained to
# convergence the boundaries meet (about 0.90 recall and precision for all four after 4000 steps): for a
# model that can represent the true posterior :math:`q`, the focal loss's minimiser is a monotone function
# of :math:`q` that maps 1/2 to 1/2, so the ``p = 0.5`` boundary is the same; the focal loss changes
# *which samples drive training*, not where training ends.

steps = np.arange(0, 401, 10)
fig, (ax, ax_recall, ax_precision) = plt.subplots(1, 3, figsize=(14, 4.2))
ax.scatter(*X[labels == 0].T, s=5, color="0.6", label="majority (1000)")
ax.scatter(*X[labels == 1].T, s=25, color="tab:red", label="minority (20)")
xx = np.linspace(-3.5, 4.5, 2)
for (name, (theta, history)), color in zip(results.items(), ["k", "tab:blue", "tab:green", "tab:purple"]):
    W, b = theta[:4].reshape(2, 2), theta[4:]
    dw, db = W[:, 1] - W[:, 0], b[1] - b[0]  # the boundary: dw · x + db = 0
    ax.plot(xx, -(dw[0] * xx + db) / dw[1], color=color, label=name)
    ax_recall.plot(steps, history[:, 0], color=color, label=name)
    ax_precision.plot(steps, history[:, 1], color=color, label=name)
ax.set(xlim=(-3.5, 4.5), ylim=(-3.5, 4.5), aspect="equal", title="Boundaries after 400 steps")
ax.legend(fontsize=7, loc="upper left")
ax_recall.set(xlabel="gradient-descent step", ylabel="held-out minority recall", title="Recall")
ax_precision.set(xlabel="gradient-descent step", ylabel="held-out minority precision", title="Precision",
                 ylim=(0.8, 1.01))
ax_recall.legend(fontsize=8)
fig.tight_layout()
plt.show()

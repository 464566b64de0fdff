"""
Logistic regression and its decision boundary
=============================================

A linear classifier on a 2-D toy problem, trained by gradient descent on
:func:`xploss.sigmoid_binary_cross_entropy`: the binary cross-entropy computed from the logits
``X @ w + b`` (torch's ``binary_cross_entropy_with_logits``, stable for any logit), with the gradient
from :func:`xploss.value_and_grad` on NumPy.  The plot shows the predicted probability over the plane
and the decision boundary ``p = 0.5``.
"""

import matplotlib.pyplot as plt
import numpy as np

import xploss

# %%
# Two overlapping Gaussian classes, 100 points each, labels 0 and 1.

rng = np.random.default_rng(1)
X = np.concatenate([rng.normal([-1.0, -0.5], 0.9, size=(100, 2)), rng.normal([1.0, 0.8], 0.9, size=(100, 2))])
labels = np.repeat([0.0, 1.0], 100)

# %%
# Training
# --------
# The parameters are one vector ``theta = (w1, w2, b)``; ``value_and_grad`` differentiates the whole
# function, model included.

def loss(theta):
    return xploss.sigmoid_binary_cross_entropy(X @ theta[:2] + theta[2], labels)


step = xploss.value_and_grad(loss)
theta, curve = np.zeros(3), []
for _ in range(1000):
    value, grad = step(theta)
    theta = theta - 1.0 * grad
    curve.append(float(value))

accuracy = np.mean((X @ theta[:2] + theta[2] > 0) == labels)
print(f"w = {theta[:2].round(3)}, b = {theta[2]:.3f}; loss {curve[0]:.4f} -> {curve[-1]:.4f}; "
      f"training accuracy {accuracy:.1%}")

# %%
# The gradient is (close to) zero at the end, and the loss equals the mean of ``-log p`` of the true class,
# computed here by hand:

p = 1.0 / (1.0 + np.exp(-(X @ theta[:2] + theta[2])))
print("|grad| =", np.abs(step(theta)[1]).max())
print("by hand:", -np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p)), " xploss:", float(loss(theta)))

# %%
# Decision boundary
# -----------------

xx, yy = np.meshgrid(np.linspace(-4, 4, 200), np.linspace(-4, 4, 200))
prob = 1.0 / (1.0 + np.exp(-(np.stack([xx, yy], -1) @ theta[:2] + theta[2])))

fig, (ax, ax_curve) = plt.subplots(1, 2, figsize=(11, 4.5), gridspec_kw={"width_ratios": [3, 2]})
contour = ax.contourf(xx, yy, prob, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.6)
ax.contour(xx, yy, prob, levels=[0.5], colors="k", linewidths=2)
ax.scatter(*X[labels == 0].T, s=14, color="tab:blue", edgecolor="k", lw=0.3, label="class 0")
ax.scatter(*X[labels == 1].T, s=14, color="tab:red", edgecolor="k", lw=0.3, label="class 1")
fig.colorbar(contour, ax=ax, label="p(class 1)")
ax.set(xlabel="$x_1$", ylabel="$x_2$", title="Predicted probability, boundary p = 0.5", aspect="equal")
ax.legend(loc="upper left")
ax_curve.plot(curve)
ax_curve.set(xlabel="gradient-descent step", ylabel="sigmoid_binary_cross_entropy", title="Training loss")
fig.tight_layout()
plt.show()

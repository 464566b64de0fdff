"""
Linear regression with outliers: MSE vs Huber
=============================================

A straight line fitted by plain gradient descent twice, once on :func:`xploss.mse` and once on
:func:`xploss.huber`, to data in which one point in ten is an outlier.  The gradients come from
:func:`xploss.value_and_grad` on NumPy arrays (HIPS autograd differentiates the model ``w * x + b``;
xploss supplies each loss's hand-written derivative).  The squared error lets the outliers drag the
line; Huber's gradient is bounded by ``delta``, so the outliers pull no harder than any other point
that is more than ``delta`` away, and the fit stays close to the true line.
"""

import matplotlib.pyplot as plt
import numpy as np

import xploss

# %%
# Data: ``y = 2 x + 1`` with Gaussian noise, and 10 of the 100 points shifted up by 8 to 12.

rng = np.random.default_rng(0)
TRUE_SLOPE, TRUE_INTERCEPT = 2.0, 1.0
x = rng.uniform(-2.0, 2.0, size=100)
y = TRUE_SLOPE * x + TRUE_INTERCEPT + 0.3 * rng.normal(size=100)
outlier = np.zeros(100, dtype=bool)
outlier[rng.choice(np.flatnonzero(x > 0), size=10, replace=False)] = True  # on the right: they tilt the line
y[outlier] += rng.uniform(8.0, 12.0, size=10)


# %%
# Gradient descent
# ----------------
# One function fits both losses: ``loss(pred, target)`` is any xploss regression loss.

def fit(loss, steps=1000, lr=0.1):
    """Slope and intercept minimising ``loss(w * x + b, y)`` by gradient descent from (0, 0)."""
    step = xploss.value_and_grad(lambda theta: loss(theta[0] * x + theta[1], y))
    theta, curve = np.zeros(2), []  # (slope, intercept)
    for _ in range(steps):
        value, grad = step(theta)
        theta = theta - lr * grad
        curve.append(float(value))
    return float(theta[0]), float(theta[1]), curve


fits = {"MSE": fit(xploss.mse), "Huber (delta=1)": fit(lambda p, t: xploss.huber(p, t, delta=1.0))}

# %%
# The gradient-descent MSE fit is the least-squares line: check it against the normal equations.

A = np.stack([x, np.ones_like(x)], axis=1)
lstsq = np.linalg.lstsq(A, y, rcond=None)[0]
print("MSE fit - least squares:", np.abs(np.array(fits["MSE"][:2]) - lstsq).max())

# %%
# Fitted vs true
# --------------

print(f"{'':16s} {'slope':>7s} {'intercept':>10s}")
print(f"{'true':16s} {TRUE_SLOPE:7.3f} {TRUE_INTERCEPT:10.3f}")
for name, (w, b, _) in fits.items():
    print(f"{name:16s} {w:7.3f} {b:10.3f}")

# %%
# The Huber line follows the bulk of the data; the MSE line is tilted and lifted by the outliers.

fig, (ax, ax_curve) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [3, 2]})
ax.scatter(x[~outlier], y[~outlier], s=12, color="0.5", label="data")
ax.scatter(x[outlier], y[outlier], s=30, marker="x", color="crimson", label="outliers")
grid = np.linspace(-2, 2, 2)
ax.plot(grid, TRUE_SLOPE * grid + TRUE_INTERCEPT, "k--", lw=1.5, label="true line")
for (name, (w, b, curve)), color in zip(fits.items(), ["tab:orange", "tab:blue"]):
    ax.plot(grid, w * grid + b, color=color, lw=2, label=f"{name}: {w:.2f} x + {b:.2f}")
    ax_curve.semilogy(curve, color=color, label=name)
ax.set(xlabel="x", ylabel="y", title="Fitted lines")
ax.legend(fontsize=8)
ax_curve.set(xlabel="gradient-descent step", ylabel="loss", title="Training loss")
ax_curve.legend()
fig.tight_layout()
plt.show()

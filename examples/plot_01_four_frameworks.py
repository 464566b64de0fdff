"""
One model, four frameworks, one loss code
=========================================

The headline demo.  A two-layer network is trained four times from one NumPy seed: with NumPy
(HIPS autograd, through :func:`xploss.value_and_grad`), PyTorch, JAX and TensorFlow.  The loss is the
same function each time, ``xploss.cross_entropy(logits, labels)``; each framework's own autodiff
(``autograd``, ``torch.autograd``, ``jax.grad``, ``tf.GradientTape``) runs through xploss' one
hand-written derivative.  Same data, same initial weights, the same plain SGD steps, all in float64:
the four loss curves coincide to rounding error.
"""

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
import torch

import xploss

# %%
# Data and initial weights
# ------------------------
# Three interleaved spirals in 2-D, and the initial weights of a 2-16-3 ``tanh`` network, all drawn
# from one NumPy generator.  Every framework starts from copies of these arrays.

rng = np.random.default_rng(0)
torch.set_num_threads(1)  # tiny tensors: one thread is the fastest
N_PER_CLASS, CLASSES, HIDDEN, STEPS, LR = 60, 3, 16, 300, 0.5

radius = np.tile(np.linspace(0.2, 1.0, N_PER_CLASS), CLASSES)
angle = 4.0 * radius + np.repeat(np.arange(CLASSES) * 2 * np.pi / CLASSES, N_PER_CLASS)
X = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1) + 0.05 * rng.normal(size=(180, 2))
y = np.repeat(np.arange(CLASSES), N_PER_CLASS)
init = [rng.normal(size=(2, HIDDEN)), np.zeros(HIDDEN), 0.5 * rng.normal(size=(HIDDEN, CLASSES)), np.zeros(CLASSES)]


# %%
# The loss code, written once
# ---------------------------
# Only the activation function differs between frameworks; the model is ``@`` and ``+``, and the loss is
# one xploss call that accepts NumPy, torch, JAX and TensorFlow arrays alike.

def loss_fn(params, X, y, tanh):
    """Mean softmax cross-entropy of a two-layer ``tanh`` network."""
    W1, b1, W2, b2 = params
    logits = tanh(X @ W1 + b1) @ W2 + b2
    return xploss.cross_entropy(logits, y)


# %%
# Four training loops
# -------------------
# Each is the framework's idiomatic loop: gradients from its own autodiff, then ``p - LR * g``.

def train_numpy():
    step = xploss.value_and_grad(lambda *p: loss_fn(p, X, y, np.tanh), argnums=(0, 1, 2, 3))
    params, curve = [p.copy() for p in init], []
    for _ in range(STEPS):
        loss, grads = step(*params)
        params = [p - LR * g for p, g in zip(params, grads)]
        curve.append(float(loss))
    return curve


def train_torch():
    params = [torch.tensor(p, requires_grad=True) for p in init]
    Xt, yt = torch.tensor(X), torch.tensor(y)
    curve = []
    for _ in range(STEPS):
        loss = loss_fn(params, Xt, yt, torch.tanh)
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, g in zip(params, grads):
                p -= LR * g
        curve.append(loss.item())
    return curve


def train_jax():
    with jax.enable_x64(True):  # float64 in JAX, for this function only
        step = jax.jit(jax.value_and_grad(lambda p: loss_fn(p, jnp.asarray(X), jnp.asarray(y), jnp.tanh)))
        params, curve = [jnp.asarray(p) for p in init], []
        for _ in range(STEPS):
            loss, grads = step(params)
            params = [p - LR * g for p, g in zip(params, grads)]
            curve.append(float(loss))
    return curve


def train_tensorflow():
    params = [tf.Variable(p) for p in init]
    Xt, yt = tf.constant(X), tf.constant(y)
    curve = []
    for _ in range(STEPS):
        with tf.GradientTape() as tape:
            loss = loss_fn(params, Xt, yt, tf.tanh)
        for p, g in zip(params, tape.gradient(loss, params)):
            p.assign_sub(LR * g)
        curve.append(float(loss))
    return curve


curves = {"NumPy (autograd)": train_numpy(), "PyTorch": train_torch(), "JAX": train_jax(),
          "TensorFlow": train_tensorflow()}

# %%
# The curves agree
# ----------------
# The largest difference from the NumPy curve over all 300 steps, per framework:

reference = np.array(curves["NumPy (autograd)"])
print(f"loss: {reference[0]:.4f} at step 0, {reference[-1]:.4f} at step {STEPS}")
for name, curve in curves.items():
    print(f"{name:17s} max |curve - NumPy curve| = {np.max(np.abs(np.array(curve) - reference)):.1e}")

# %%
# Overlaid, the four curves are one line; the right panel shows how far apart they are (float64
# rounding, accumulated over the steps).

styles = {"NumPy (autograd)": dict(lw=6, alpha=0.3), "PyTorch": dict(lw=2.5), "JAX": dict(ls="--", lw=2),
          "TensorFlow": dict(ls=":", lw=2, color="k")}
fig, (ax, ax_diff) = plt.subplots(1, 2, figsize=(11, 4))
for name, curve in curves.items():
    ax.plot(curve, label=name, **styles[name])
    if name != "NumPy (autograd)":
        ax_diff.semilogy(np.abs(np.array(curve) - reference) + 1e-18, label=name, **styles[name])
ax.set(xlabel="SGD step", ylabel="xploss.cross_entropy", title="Four frameworks, one loss curve")
ax_diff.set(xlabel="SGD step", ylabel="|curve - NumPy curve|", title="Differences (1e-18 added for the log)",
            ylim=(1e-18, 1e-6))
ax.legend()
ax_diff.legend()
fig.tight_layout()
plt.show()

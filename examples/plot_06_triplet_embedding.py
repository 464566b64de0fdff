"""
A metric-learning embedding with the batch-hard triplet loss (PyTorch)
======================================================================

A tiny PyTorch MLP maps 2-D points to a 2-D embedding and is trained with
:func:`xploss.batch_hard_triplet` (Hermans et al. 2017): for each anchor in the batch, its farthest
same-class point must be closer, by a margin, than its closest other-class point.  The loss takes the
embeddings and the labels and mines the triplets itself, inside the loss, with a hand-written
derivative that ``loss.backward()`` runs through.

The classes are three concentric rings: no straight line separates them in the input, and a random
network mixes them; after training each ring is a compact cluster of its own.
"""

import matplotlib.pyplot as plt
import numpy as np
import torch

import xploss

# %%
# Three rings of radius 1, 2 and 3, 60 points each, plus a held-out set drawn the same way.

torch.manual_seed(0)
torch.set_num_threads(1)  # tiny tensors: one thread is the fastest
rng = np.random.default_rng(6)


def rings(n_per_class):
    radius = np.repeat([1.0, 2.0, 3.0], n_per_class) + 0.15 * rng.normal(size=3 * n_per_class)
    angle = rng.uniform(0, 2 * np.pi, size=3 * n_per_class)
    points = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    return torch.tensor(points, dtype=torch.float32), torch.tensor(np.repeat([0, 1, 2], n_per_class))


x, labels = rings(60)
x_test, labels_test = rings(100)
net = torch.nn.Sequential(torch.nn.Linear(2, 32), torch.nn.Tanh(), torch.nn.Linear(32, 32), torch.nn.Tanh(),
                          torch.nn.Linear(32, 2))


def nearest_mean_accuracy(embed):
    """Held-out accuracy of the nearest class mean (of the training points) in the embedding ``embed``."""
    with torch.no_grad():
        means = torch.stack([embed(x)[labels == k].mean(dim=0) for k in range(3)])
        return (torch.cdist(embed(x_test), means).argmin(dim=1) == labels_test).float().mean().item()


with torch.no_grad():
    before = net(x).numpy()
accuracy_input, accuracy_before = nearest_mean_accuracy(lambda points: points), nearest_mean_accuracy(net)

# %%
# Training: full batches of 180 points, Adam, 500 steps.

optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
curve = []
for _ in range(500):
    loss = xploss.batch_hard_triplet(net(x), labels, margin=1.0)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    curve.append(loss.item())

with torch.no_grad():
    after = net(x).numpy()
print(f"batch-hard triplet loss: {curve[0]:.3f} -> {curve[-1]:.3f}")
print(f"held-out nearest-class-mean accuracy: {accuracy_input:.1%} on the input, {accuracy_before:.1%} in the "
      f"embedding before training, {nearest_mean_accuracy(net):.1%} after")

# %%
# The per-anchor losses (``reduction="none"``): an anchor whose hardest positive is closer than its hardest
# negative by at least the margin contributes 0.

per_anchor = xploss.batch_hard_triplet(net(x), labels, margin=1.0, reduction="none")
print(f"anchors satisfying the margin: {(per_anchor == 0).sum().item()} of {len(labels)}")

# %%
# Before and after
# ----------------

fig, axes = plt.subplots(1, 4, figsize=(15, 3.8), gridspec_kw={"width_ratios": [1, 1, 1, 1.2]})
colors = np.array(["tab:blue", "tab:orange", "tab:green"])[labels.numpy()]
for ax, points, title in zip(axes, [x.numpy(), before, after],
                             ["Input (3 rings)", "Embedding before training", "Embedding after training"]):
    ax.scatter(*points.T, c=colors, s=10)
    ax.set(title=title, aspect="equal")
axes[3].plot(curve)
axes[3].set(xlabel="Adam step", ylabel="xploss.batch_hard_triplet", title="Training loss")
fig.tight_layout()
plt.show()

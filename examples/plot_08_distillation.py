"""
Knowledge distillation (PyTorch)
================================

A small student network learns from a larger teacher's softened predictions with
:func:`xploss.distillation` (Hinton et al. 2015): ``(1 - alpha) * CE(student, labels) + alpha * T² *
KL(softmax(teacher / T) || softmax(student / T))``.  With ``return_parts=True`` the loss also returns the hard
(label) and soft (teacher) terms, which the loss curve shows.  The teacher's logits are a constant: no gradient
reaches the teacher.
"""

import matplotlib.pyplot as plt
import numpy as np
import torch

import xploss

torch.manual_seed(0)
torch.set_num_threads(1)  # tiny tensors: one thread is the fastest
rng = np.random.default_rng(8)

# %%
# Three noisy spirals; a 2-64-64-3 teacher trained on the labels with :func:`xploss.cross_entropy`.

radius = np.tile(np.linspace(0.2, 1.0, 100), 3)
angle = 4.0 * radius + np.repeat(np.arange(3) * 2 * np.pi / 3, 100)
x = torch.tensor(np.stack([radius * np.cos(angle), radius * np.sin(angle)], 1) + 0.08 * rng.normal(size=(300, 2)),
                 dtype=torch.float32)
labels = torch.tensor(np.repeat([0, 1, 2], 100))


def mlp(*sizes):
    layers = []
    for i, o in zip(sizes[:-1], sizes[1:]):
        layers += [torch.nn.Linear(i, o), torch.nn.Tanh()]
    return torch.nn.Sequential(*layers[:-1])


def train(net, loss_of_logits, steps=600):
    optimizer, curve = torch.optim.Adam(net.parameters(), lr=0.01), []
    for _ in range(steps):
        loss, parts = loss_of_logits(net(x))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        curve.append([loss.item(), parts["hard"].item(), parts["soft"].item()])
    return np.array(curve)


teacher = mlp(2, 64, 64, 3)
train(teacher, lambda z: (xploss.cross_entropy(z, labels), {"hard": torch.zeros(()), "soft": torch.zeros(())}))
with torch.no_grad():
    teacher_logits = teacher(x)

# %%
# The distillation step
# ---------------------
# A 2-16-3 student, temperature 4, alpha 0.7:

student = mlp(2, 16, 3)
curve = train(student, lambda z: xploss.distillation(z, teacher_logits, labels, temperature=4.0, alpha=0.7,
                                                     return_parts=True))


def accuracy(net):
    with torch.no_grad():
        return (net(x).argmax(1) == labels).float().mean().item()


print(f"training accuracy: teacher {accuracy(teacher):.1%}, student {accuracy(student):.1%}")
print(f"distillation loss {curve[0, 0]:.3f} -> {curve[-1, 0]:.3f} "
      f"(= 0.3 * hard {curve[-1, 1]:.3f} + 0.7 * soft {curve[-1, 2]:.3f})")

# %%

fig, ax = plt.subplots(figsize=(7, 4))
for column, name in enumerate(["total", "hard: CE on the labels", "soft: T² KL to the teacher"]):
    ax.plot(curve[:, column], label=name)
ax.set(xlabel="Adam step", ylabel="loss", title="xploss.distillation and its parts", yscale="log")
ax.legend()
fig.tight_layout()
plt.show()

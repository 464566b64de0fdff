"""
A tiny variational autoencoder (PyTorch)
========================================

A VAE with a 2-D latent space on synthetic 8x8 "digits" (ten 5x7 glyphs with flipped pixels), trained with
:func:`xploss.vae_elbo`: the negative evidence lower bound, a reconstruction term summed over the pixels
(``reconstruction="bce_logits"``, the stable sigmoid cross-entropy of the decoder's logits) plus the
closed-form KL of the encoder's Gaussian to the prior, :func:`xploss.gaussian_kl`.  With
``return_parts=True`` the loss also returns its two parts, which the loss curve shows.
"""

import matplotlib.pyplot as plt
import numpy as np
import torch

import xploss

torch.manual_seed(0)
torch.set_num_threads(1)  # tiny tensors: one thread is the fastest

# %%
# The data set: ten glyphs, 40 copies of each with 5% of the 64 pixels flipped (400 binary images).

GLYPHS = ["01110 10001 10011 10101 11001 10001 01110", "00100 01100 00100 00100 00100 00100 01110",
          "01110 10001 00001 00010 00100 01000 11111", "11111 00010 00100 00010 00001 10001 01110",
          "00010 00110 01010 10010 11111 00010 00010", "11111 10000 11110 00001 00001 10001 01110",
          "00110 01000 10000 11110 10001 10001 01110", "11111 00001 00010 00100 01000 01000 01000",
          "01110 10001 10001 01110 10001 10001 01110", "01110 10001 10001 01111 00001 00010 01100"]
rng = np.random.default_rng(7)
clean = np.zeros((10, 8, 8))
for d, glyph in enumerate(GLYPHS):
    clean[d, :7, 1:6] = [[float(c) for c in row] for row in glyph.split()]  # 7 x 5, in the 8 x 8 frame
digit = np.repeat(np.arange(10), 40)
flip = rng.random((400, 64)) < 0.05
x = torch.tensor(np.abs(clean.reshape(10, 64)[digit] - flip), dtype=torch.float32)

# %%
# The model
# ---------
# An encoder to the posterior's mean and log-variance, the reparameterisation trick, a decoder to pixel
# logits.

LATENT = 2
encoder = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.Tanh(), torch.nn.Linear(128, 2 * LATENT))
decoder = torch.nn.Sequential(torch.nn.Linear(LATENT, 128), torch.nn.Tanh(), torch.nn.Linear(128, 64))


def forward(x):
    mu, logvar = encoder(x).chunk(2, dim=1)
    z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
    return decoder(z), mu, logvar


# %%
# Training: the mean over the batch of the per-image negative ELBO, Adam, 800 full-batch steps.

optimizer = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], lr=3e-3)
history = []
for _ in range(800):
    logits, mu, logvar = forward(x)
    loss, parts = xploss.vae_elbo(logits, x, mu, logvar, reconstruction="bce_logits", return_parts=True)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    history.append([loss.item(), parts["reconstruction"].item(), parts["kl"].item()])
history = np.array(history)
print(f"negative ELBO {history[0, 0]:.1f} -> {history[-1, 0]:.1f} nats per image "
      f"(reconstruction {history[-1, 1]:.1f}, KL {history[-1, 2]:.1f})")

# %%
# The two parts are the losses they reuse: the summed sigmoid cross-entropy and :func:`xploss.gaussian_kl`.

with torch.no_grad():
    logits, mu, logvar = forward(x)
    total, parts = xploss.vae_elbo(logits, x, mu, logvar, reconstruction="bce_logits", return_parts=True)
    by_parts = (xploss.sigmoid_binary_cross_entropy(logits, x, reduction="sum") / len(x)
                + xploss.gaussian_kl(mu, logvar))
print(f"vae_elbo {total.item():.5f} = summed BCE / N + gaussian_kl = {by_parts.item():.5f}")

# %%
# Reconstructions, the latent space, and samples
# ----------------------------------------------
# Top: one noisy image per glyph and its reconstruction from the posterior mean.  Bottom left: the posterior means
# of all 400 images, coloured by glyph.  Bottom middle: the decoder over a 10 x 10 grid of the latent
# space, [-2, 2] x [-2, 2].  Bottom right: the loss and its parts.

with torch.no_grad():
    mu = encoder(x)[:, :LATENT]
    reconstructed = torch.sigmoid(decoder(mu)).numpy()
    grid = torch.tensor(np.stack(np.meshgrid(np.linspace(-2, 2, 10), np.linspace(2, -2, 10)), -1).reshape(-1, 2),
                        dtype=torch.float32)
    manifold = torch.sigmoid(decoder(grid)).numpy().reshape(10, 10, 8, 8).transpose(0, 2, 1, 3).reshape(80, 80)

fig = plt.figure(figsize=(13, 7.5), layout="constrained")
top = fig.subfigures(2, 1, height_ratios=[1, 2.6])
pairs = top[0].subplots(2, 10)
for d in range(10):
    i = 40 * d
    for row, picture in zip(pairs[:, d], [x[i].numpy(), reconstructed[i]]):
        row.imshow(picture.reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        row.set_axis_off()
top[0].suptitle("Images (top) and their reconstructions (bottom)")
ax_latent, ax_manifold, ax_curve = top[1].subplots(1, 3)
scatter = ax_latent.scatter(*mu.numpy().T, c=digit, cmap="tab10", s=18)
ax_latent.legend(*scatter.legend_elements(), fontsize=6, ncol=2, title="glyph", title_fontsize=7)
ax_latent.set(title="Posterior means", xlabel="$z_1$", ylabel="$z_2$")
ax_manifold.imshow(manifold, cmap="gray_r", extent=(-2, 2, -2, 2))
ax_manifold.set(title="Decoded latent grid", xlabel="$z_1$", ylabel="$z_2$")
for column, name in enumerate(["negative ELBO", "reconstruction", "KL"]):
    ax_curve.plot(history[:, column], label=name)
ax_curve.set(xlabel="Adam step", ylabel="nats per image", title="xploss.vae_elbo and its parts", yscale="log")
ax_curve.legend()
plt.show()

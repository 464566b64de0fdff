"""``.. loss-figure:: <spec>``: a loss and its gradient, drawn from xploss on four backends at build time.

The spec (docs/_ext/figure_specs.py) gives the grid and the curves; this extension evaluates every curve
on NumPy, torch, JAX and TensorFlow in float64, differentiates it with each framework's own autodiff
(``xploss.value_and_grad`` on NumPy, ``torch.autograd``, ``jax.grad``, ``tf.GradientTape``), checks that
the four backends agree to :data:`RTOL` and draws them overlaid (NumPy a solid line, the others markers
on top), with the spec's built-ins.  A disagreement is a warning (an error under ``-W``) naming the
curve, backend and point.

Options::

    .. loss-figure:: focal
       :x: 0.05 0.95           (the grid's range)
       :params: alpha=0.25     (fixed parameters, comma separated)
       :sweep: gamma=0,1,2     (the swept parameter and its values)
       :builtins: torch keras  (the built-ins to overlay, by key; "none" for none)

PNGs are cached by a hash of the spec, its options, these two files and xploss' sources
(``<doctreedir>/loss_figures``): a rebuild redraws only what changed.
"""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import figure_specs
import numpy as np
from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

BACKENDS = ("numpy", "torch", "jax", "tensorflow")
RTOL = 1e-5  # relative agreement of the backends' values and gradients
# How each backend is drawn over the NumPy line (markers staggered so that all stay visible).
STYLES = {
    "numpy": {"linestyle": "-", "linewidth": 2.0, "alpha": 0.85},
    "torch": {"linestyle": "none", "marker": "o", "markersize": 5, "markerfacecolor": "none"},
    "jax": {"linestyle": "none", "marker": "x", "markersize": 5},
    "tensorflow": {"linestyle": "none", "marker": "+", "markersize": 7},
}
BUILTIN_STYLES = ({"color": "black", "linestyle": "--", "linewidth": 1.0},
                  {"color": "dimgray", "linestyle": ":", "linewidth": 1.6})
HERE = Path(__file__).resolve().parent


# --------------------------------------------------------------------------- evaluation


def grid(spec: figure_specs.Spec) -> np.ndarray:
    lo, hi = spec.x
    return np.geomspace(lo, hi, spec.points) if spec.xscale == "log" else np.linspace(lo, hi, spec.points)


def namespace(backend: str) -> Any:
    """The array namespace a curve builds its inputs with: one that the backend's autodiff traces."""
    if backend == "numpy":
        import autograd.numpy as anp  # NumPy functions that also take autograd's boxes

        return anp
    if backend == "torch":
        import array_api_compat.torch as xp

        return xp
    if backend == "jax":
        import jax.numpy as jnp

        return jnp
    import tensorflow as tf

    import xploss._namespace as ns

    return ns.array_namespace(tf.constant(0.0))


def pointwise(loss: Any, params: dict[str, float], batched: bool, xp: Any) -> Any:
    """``x -> per-point losses``: the curve itself, or one call per point stacked (batch-coupled losses)."""

    def per_point(x: Any) -> Any:
        if batched:
            return loss(xp, x, **params)
        return xp.stack([loss(xp, x[i], **params) for i in range(int(x.shape[0]))])

    return per_point


def evaluate(backend: str, loss: Any, params: dict[str, float], batched: bool,
             x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Values and gradients of a curve's per-point losses over the grid ``x`` on ``backend``, in float64."""
    fn = pointwise(loss, params, batched, namespace(backend))
    if backend == "numpy":
        import xploss

        values = np.asarray(fn(x))
        _, grads = xploss.value_and_grad(lambda t: fn(t).sum())(x)
        return values, np.asarray(grads)
    if backend == "torch":
        import torch

        t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        values = fn(t)
        (grads,) = torch.autograd.grad(values.sum(), t)
        return values.detach().numpy(), grads.numpy()
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        with jax.enable_x64(True):
            t = jnp.asarray(x, dtype=jnp.float64)
            if batched:  # one compiled call (eager JAX dispatches, and compiles, op by op)
                values, grads = jax.jit(lambda u: (fn(u), jax.grad(lambda w: fn(w).sum())(u)))(t)
            else:  # one traced call instead of a Python loop of eager calls
                values, grads = jax.vmap(jax.value_and_grad(lambda u: loss(jnp, u, **params)))(t)
            return np.asarray(values), np.asarray(grads)
    if backend == "tensorflow":
        import tensorflow as tf

        t = tf.constant(x, dtype=tf.float64)
        with tf.GradientTape() as tape:
            tape.watch(t)
            values = fn(t)
            total = tf.reduce_sum(values)
        return values.numpy(), tape.gradient(total, t).numpy()
    raise KeyError(backend)


def disagreement(a: np.ndarray, b: np.ndarray) -> tuple[float, int]:
    """Worst relative difference of two curves and its index.

    Relative to ``max(|a|, |b|)``, floored at 1e-6 of the curve's largest finite magnitude (a value
    crossing zero is compared on the curve's scale); non-finite points must be equal.
    """
    finite = np.isfinite(a) & np.isfinite(b)
    if not np.array_equal(np.isfinite(a), np.isfinite(b)) or np.any(a[~finite] != b[~finite]):
        bad = ~finite & ~((a == b) | (np.isnan(a) & np.isnan(b)))
        if np.any(bad):
            return float("inf"), int(np.argmax(bad))
    scale = np.max(np.abs(b[finite]), initial=0.0)
    denom = np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-6 * scale + np.finfo(float).tiny)
    rel = np.where(finite, np.abs(a - b) / denom, 0.0)
    i = int(np.argmax(rel))
    return float(rel[i]), i


def compute(spec: figure_specs.Spec) -> tuple[np.ndarray, list[dict[str, Any]], list[str]]:
    """The grid, one record per curve (label, colour slot, per-backend values and grads) and the problems."""
    x = grid(spec)
    key = spec.sweep[0] if spec.sweep else None
    records, problems = [], []
    for curve in spec.curves:
        for params in sweep_params(spec):
            label = curve.label if key is None else f"{key}={params[key]:g}"
            if key is not None and len(spec.curves) > 1:
                label = f"{curve.label} {label}"
            results = {b: evaluate(b, curve.loss, params, spec.batched, x) for b in BACKENDS}
            for backend in BACKENDS[1:]:
                for what, k in (("loss", 0), ("gradient", 1)):
                    rel, i = disagreement(results[backend][k], results["numpy"][k])
                    if rel > RTOL:
                        problems.append(f"{label}: the {what} on {backend} differs from NumPy's by {rel:.2e} "
                                        f"(relative, limit {RTOL:g}) at x = {x[i]:.6g}: {results[backend][k][i]:.12g} "
                                        f"vs {results['numpy'][k][i]:.12g}")
            records.append({"label": label, "results": results})
    return x, records, problems


# --------------------------------------------------------------------------- drawing


def draw(spec: figure_specs.Spec, x: np.ndarray, records: list[dict[str, Any]],
         builtins: list[tuple[str, np.ndarray, np.ndarray]], path: Path) -> None:
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), dpi=100, layout="constrained")
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    step = max(len(x) // 16, 1)
    for n, record in enumerate(records):
        colour = colours[n % len(colours)]
        for panel, ax in enumerate(axes):
            for j, backend in enumerate(BACKENDS):
                y = record["results"][backend][panel]
                ax.plot(x, y, color=colour, markevery=(j * step // 4, step), label=record["label"] if j == 0 else None,
                        **STYLES[backend])
    styles: dict[str, dict[str, Any]] = {}
    for label, values, grads in builtins:  # one line per sweep value, one legend entry per built-in
        first = label not in styles
        style = styles.setdefault(label, BUILTIN_STYLES[len(styles) % len(BUILTIN_STYLES)])
        for ax, y in zip(axes, (values, grads)):
            ax.plot(x, y, label=f"{label} (built-in)" if first else None, zorder=5, **style)
    for ax, ylabel, scale in zip(axes, ("loss", "d loss / d x"), (spec.yscale, spec.gscale)):
        ax.set_xscale(spec.xscale)
        if scale == "symlog":  # gradients over many decades: a tick every three
            ax.set_yscale(scale, linthresh=1.0)
            ax.yaxis.set_major_locator(matplotlib.ticker.SymmetricalLogLocator(base=1000.0, linthresh=1.0))
        else:
            ax.set_yscale(scale)
        ax.set_xlabel(spec.xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=7, loc="best")
    proxies = [Line2D([], [], color="gray", **STYLES[b]) for b in BACKENDS]
    axes[1].legend(proxies, ["NumPy (autograd)", "torch.autograd", "jax.grad", "tf.GradientTape"], fontsize=7,
                   loc="best", title="xploss on", title_fontsize=7)
    fig.suptitle(spec.title, fontsize=10)
    fig.savefig(path)
    plt.close(fig)


# --------------------------------------------------------------------------- the directive


def _floats(text: str) -> list[float]:
    return [float(v) for v in text.replace(",", " ").split()]


def _assignments(text: str) -> dict[str, list[float]]:
    """``"a=1 b=2,3"`` -> ``{"a": [1.0], "b": [2.0, 3.0]}``."""
    out = {}
    for item in text.split():
        key, sep, values = item.partition("=")
        if not sep:
            raise ValueError(f"expected name=value, got {item!r}")
        out[key] = _floats(values)
    return out


def configure(spec: figure_specs.Spec, options: dict[str, str]) -> tuple[figure_specs.Spec, list[str]]:
    """The spec with the directive's options applied, and the built-in keys to overlay."""
    if "x" in options:
        lo, hi = _floats(options["x"])
        spec = replace(spec, x=(lo, hi))
    if "params" in options:
        spec = replace(spec, params=dict(spec.params, **{k: v[0] for k, v in _assignments(options["params"]).items()}))
    if "sweep" in options:
        ((key, values),) = _assignments(options["sweep"]).items()
        spec = replace(spec, sweep=(key, tuple(values)))
    keys = list(spec.builtins)
    if "builtins" in options:
        keys = [] if options["builtins"].strip() == "none" else options["builtins"].split()
    unknown = sorted(set(keys) - set(spec.builtins))
    if unknown:
        raise ValueError(f"unknown built-in(s) {', '.join(unknown)} (the spec has: {', '.join(spec.builtins)})")
    return spec, keys


_SOURCES: str | None = None


def sources_digest() -> str:
    """A digest of xploss' sources and of this extension: a changed loss redraws (and rechecks) its figures."""
    global _SOURCES
    if _SOURCES is None:
        import xploss

        digest = hashlib.sha256()
        files = sorted(Path(xploss.__file__).parent.rglob("*.py")) + [HERE / "figure_specs.py", Path(__file__)]
        for f in files:
            digest.update(f.read_bytes())
        _SOURCES = digest.hexdigest()
    return _SOURCES


class LossFigure(SphinxDirective):
    required_arguments = 1
    has_content = False
    option_spec = {"x": directives.unchanged, "params": directives.unchanged, "sweep": directives.unchanged,
                   "builtins": directives.unchanged}

    def run(self) -> list[nodes.Node]:
        name = self.arguments[0]
        if BUILD.get("format") != "html":
            return []  # the figures (and their agreement check) are built by the HTML builder
        if name not in figure_specs.SPECS:
            logger.warning("loss-figure: no spec %r in docs/_ext/figure_specs.py", name, location=self.get_location())
            return []
        for f in (HERE / "figure_specs.py", Path(__file__)):
            self.env.note_dependency(str(f))
        try:
            spec, keys = configure(figure_specs.SPECS[name], dict(self.options))
        except ValueError as exc:
            logger.warning("loss-figure %s: %s", name, exc, location=self.get_location())
            return []
        key = hashlib.sha256(repr((name, sorted(self.options.items()), sources_digest())).encode()).hexdigest()
        folder = Path(BUILD["doctreedir"]) / "loss_figures"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}-{key[:16]}.png"
        if not path.exists():
            x, records, problems = compute(spec)
            builtins = [(spec.builtins[k].label, *spec.builtins[k].fn(x, **params))
                        for k in keys for params in sweep_params(spec)]
            if problems:
                path = folder / f"{name}-disagreement.png"  # drawn for inspection, never cached
                for problem in problems:
                    logger.warning("loss-figure %s: backends disagree: %s", name, problem,
                                   location=self.get_location())
            for stale in folder.glob(f"{name}-*.png"):  # the figures of older sources
                stale.unlink()
            draw(spec, x, records, builtins, path)
        uri = os.path.relpath(path, Path(self.env.srcdir, self.env.docname).parent)
        alt = f"{spec.title}: the loss and its gradient on NumPy, torch, JAX and TensorFlow"
        return [nodes.image(uri=Path(uri).as_posix(), alt=alt, classes=["loss-figure"])]


def sweep_params(spec: figure_specs.Spec) -> list[dict[str, float]]:
    """The parameters of each sweep value (one entry without a sweep)."""
    if spec.sweep is None:
        return [dict(spec.params)]
    return [dict(spec.params, **{spec.sweep[0]: v}) for v in spec.sweep[1]]


BUILD: dict[str, str] = {}  # the builder's format and doctree folder (set at builder-inited)


def _builder_inited(app: Sphinx) -> None:
    BUILD.update(format=app.builder.format, doctreedir=str(app.doctreedir))


def setup(app: Sphinx) -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    app.add_directive("loss-figure", LossFigure)
    app.connect("builder-inited", _builder_inited)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}

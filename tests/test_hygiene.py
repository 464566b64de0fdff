"""Package hygiene: no framework imports, a complete ``__all__``, documented and
conformance-covered losses."""

from __future__ import annotations

import importlib
import inspect
import re
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

import xploss

ROOT = Path(__file__).resolve().parents[1]
FRAMEWORKS = ("torch", "jax", "jaxlib", "tensorflow", "keras", "optax", "flax")
NOT_LOSSES = {"XplossError", "XplossTypeError", "array_namespace", "center_update", "value_and_grad", "verify"}


def _losses() -> dict[str, object]:
    """Every public loss name (aliases included) -> function."""
    return {n: getattr(xploss, n) for n in xploss.__all__ if n not in NOT_LOSSES}


def _unique_losses() -> list[tuple[str, object]]:
    """One (canonical name, function) per loss function object (aliases collapsed)."""
    seen = {}
    for fn in _losses().values():
        seen.setdefault(id(fn), (fn.__name__, fn))
    return sorted(seen.values(), key=lambda t: t[0])


# -- (a) no framework is imported by numpy use ------------------------------------------

NUMPY_ONLY = textwrap.dedent("""
    import sys
    import numpy as np
    import xploss
    p, y = np.array([[0.5, 2.0], [1.0, -1.0]]), np.array([[0.0, 1.0], [1.0, 0.0]])
    xploss.mse(p, y); xploss.huber(p, y, delta=0.5, sample_weight=np.array([1.0, 2.0]))
    xploss.cross_entropy(p, np.array([0, -100])); xploss.triplet_margin(p, y, -y)
    xploss.gaussian_nll(p, y, np.ones(2)); xploss.l2_penalty(p, y)
    xploss.value_and_grad(xploss.cross_entropy)(p, np.array([1, 0]))
    xploss.value_and_grad(xploss.mse, argnums=(0, 1))(p, y)
    xploss.array_namespace(p)
    print(sorted({{m.split(".")[0] for m in sys.modules}} & {frameworks!r}))
""")


def test_numpy_use_imports_no_framework():
    code = NUMPY_ONLY.format(frameworks=set(FRAMEWORKS))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", f"numpy-only use imported frameworks: {out.stdout.strip()}"


# -- (b) __all__ ------------------------------------------------------------------------------

def test_all_is_complete_and_exists():
    missing = [n for n in xploss.__all__ if not hasattr(xploss, n)]
    assert not missing, f"in __all__ but not defined: {missing}"
    assert len(set(xploss.__all__)) == len(xploss.__all__), "duplicates in __all__"
    public = {
        n for n, v in vars(xploss).items()
        if not n.startswith("_") and callable(v) and not isinstance(v, types.ModuleType)
    }
    missing = sorted(public - set(xploss.__all__))
    assert not missing, f"public callables missing from __all__: {missing}"


# Combinations of already-reduced (0-d) losses: their result is one number, there is nothing to reduce.
NO_REDUCTION = {"weighted_sum", "uncertainty_weighting"}


def test_every_loss_is_an_array_function():
    """Arrays positional-only, options keyword-only, a `reduction` option everywhere (but the
    combinations of scalar losses)."""
    for name, fn in _unique_losses():
        params = inspect.signature(fn).parameters.values()
        kinds = {p.kind for p in params}
        assert inspect.Parameter.POSITIONAL_OR_KEYWORD not in kinds, f"{name}: a positional-or-keyword parameter"
        assert ("reduction" in {p.name for p in params}) != (name in NO_REDUCTION), f"{name}: `reduction` option"


# -- (c) numpydoc docstrings --------------------------------------------------------------

SECTION = re.compile(r"^([A-Z][A-Za-z ]+)\n-{3,}\n", re.M)
REQUIRED_SECTIONS = ("Parameters", "Returns", "See Also", "Examples")


def _sections(doc: str) -> dict[str, str]:
    doc = inspect.cleandoc(doc)
    parts = SECTION.split(doc)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def _documented_params(text: str) -> set[str]:
    names = set()
    for line in text.splitlines():
        if line and not line[0].isspace():
            names |= {n.strip().lstrip("*") for n in line.split(" : ")[0].split(",")}
    return names


@pytest.mark.parametrize("name,fn", _unique_losses(), ids=[n for n, _ in _unique_losses()])
def test_loss_docstring(name, fn):
    doc = fn.__doc__ or ""
    assert ".. math::" in doc, f"{name}: no `.. math::` block"
    sections = _sections(doc)
    absent = [s for s in REQUIRED_SECTIONS if not sections.get(s, "").strip()]
    assert not absent, f"{name}: missing or empty numpydoc sections {absent}"
    assert ">>>" in sections["Examples"], f"{name}: Examples holds no doctest"
    signature = set(inspect.signature(fn).parameters)
    undocumented = signature - _documented_params(sections["Parameters"])
    assert not undocumented, f"{name}: parameters not documented: {sorted(undocumented)}"


# -- (d) conformance coverage -----------------------------------------------------------------

def test_every_loss_has_a_conformance_case():
    """``conformance.cases.coverage()``: every public loss (aliases included) ->
    ``"built-in"`` or ``"reference formula"``."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    coverage = importlib.import_module("conformance.cases").coverage()
    unknown = sorted(set(coverage) - set(_losses()))
    assert not unknown, f"conformance covers names that are not xploss losses: {unknown}"
    uncovered = sorted(set(_losses()) - set(coverage))
    assert not uncovered, f"losses without a conformance case or reference-formula marker: {uncovered}"
    kinds = set(coverage.values())
    assert kinds <= {"built-in", "reference formula"}, f"unknown coverage kinds: {kinds}"


def test_every_loss_has_a_docs_entry():
    """Each loss function has an ``.. autofunction::`` entry on a family page of the docs."""
    text = "".join(p.read_text() for p in (ROOT / "docs").glob("*.rst"))
    documented = set(re.findall(r"autofunction:: (?:xploss\.)?(\w+)", text))
    missing = [name for name, _ in _unique_losses() if name not in documented]
    assert not missing, f"losses without a docs entry: {missing}"

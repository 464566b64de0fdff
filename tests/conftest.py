"""Backend fixture over numpy, array_api_strict, torch, jax and tensorflow.

``XPLOSS_BACKENDS=numpy,torch`` narrows the run (unknown names are an error).
With ``XPLOSS_REQUIRE_BACKENDS=1`` (set by ``nox -s tests``) or ``CI=true`` a
backend that cannot be imported fails the run instead of being skipped.
"""

from __future__ import annotations

import enum
import importlib
import os
from typing import Any

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("JAX_ENABLE_X64", "1")
os.environ.setdefault("JAX_PLATFORMS", "cpu")


class Backend(enum.Enum):
    NUMPY = "numpy"
    ARRAY_API_STRICT = "array_api_strict"
    TORCH = "torch"
    JAX = "jax"
    TENSORFLOW = "tensorflow"

    @property
    def module(self) -> Any:
        return importlib.import_module(self.value)

    @property
    def has_autodiff(self) -> bool:
        return self in (Backend.TORCH, Backend.JAX, Backend.TENSORFLOW)


def _selected() -> list[Backend]:
    raw = os.environ.get("XPLOSS_BACKENDS", "")
    if not raw:
        return list(Backend)
    names = [n.strip() for n in raw.split(",") if n.strip()]
    known = {b.value: b for b in Backend}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise pytest.UsageError(f"XPLOSS_BACKENDS: unknown backend(s) {unknown}; known: {sorted(known)}")
    return [known[n] for n in names]


# fuzz_metric extends fuzz_strategies' table and is imported by it: collected first (``--doctest-modules``
# imports every module, alphabetically) it would import itself half-initialised.  It has no doctests.
collect_ignore = ["fuzz_metric.py", "fuzz_overlap.py", "fuzz_lovasz.py", "fuzz_boxes.py", "fuzz_ctc.py",
                  "fuzz_generative.py"]

REQUIRE = os.environ.get("XPLOSS_REQUIRE_BACKENDS") == "1" or os.environ.get("CI", "").lower() == "true"
BACKENDS = _selected()


def _load(b: Backend) -> Any:
    try:
        mod = b.module
    except ImportError as exc:  # pragma: no cover - depends on the environment
        if REQUIRE:
            pytest.fail(f"backend {b.value} is required here but cannot be imported: {exc}")
        pytest.skip(f"{b.value} not installed")
    if b is Backend.JAX:
        import jax

        jax.config.update("jax_enable_x64", True)
    return mod


@pytest.fixture(params=BACKENDS, ids=[b.value for b in BACKENDS])
def backend(request: pytest.FixtureRequest) -> Backend:
    _load(request.param)
    return request.param


@pytest.fixture(params=[b for b in BACKENDS if b.has_autodiff], ids=[b.value for b in BACKENDS if b.has_autodiff])
def ad_backend(request: pytest.FixtureRequest) -> Backend:
    _load(request.param)
    return request.param


@pytest.fixture(params=["float32", "float64"])
def dtype(request: pytest.FixtureRequest) -> str:
    return request.param

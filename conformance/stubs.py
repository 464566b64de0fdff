"""Import one pure-Python module of an installed package without running the package's ``__init__``.

Some references do not import beside the CPU torch build (``../shared/BUILTINS-2.md`` §5):
torchvision 0.28.0's ``_C.so`` links the CUDA libraries (``import torchvision`` fails with "operator
torchvision::nms does not exist"), and segmentation_models_pytorch imports timm, which imports
torchvision.  Their loss files are plain Python over torch.  :func:`load` registers empty package
modules whose ``__path__`` is the installed package directory (so relative imports between the
package's own pure-Python files resolve) and executes only the named module's file.  Nothing
third-party is committed: the files come from the installed distribution (pinned in the
``conformance`` dependency group).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from pathlib import Path
from typing import Any

__all__ = ["load", "Unavailable"]


class Unavailable(ImportError):
    """The distribution holding a reference is not installed."""


def _root(package: str) -> Path:
    if package in sys.modules:
        return Path(sys.modules[package].__path__[0])
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise Unavailable(f"{package} is not installed (the `conformance` dependency group pins it)")
    return Path(next(iter(spec.submodule_search_locations)))


def _stub_package(name: str, path: Path) -> None:
    existing = sys.modules.get(name)
    if existing is not None and getattr(existing, "__xploss_stub__", False):
        return
    mod = types.ModuleType(name)
    mod.__path__ = [str(path)]  # type: ignore[attr-defined]
    mod.__package__ = name
    mod.__xploss_stub__ = True  # type: ignore[attr-defined]
    sys.modules[name] = mod


def load(module: str) -> Any:
    """``load("torchvision.ops.giou_loss")``: the module, with every parent package stubbed.

    A package already imported for real is kept (then its ``__init__`` has run and the module is
    imported normally)."""
    if module in sys.modules:
        return sys.modules[module]
    parts = module.split(".")
    top = parts[0]
    if top in sys.modules and not getattr(sys.modules[top], "__xploss_stub__", False):
        return importlib.import_module(module)
    root = _root(top)
    for i in range(1, len(parts)):
        name = ".".join(parts[:i])
        _stub_package(name, root.joinpath(*parts[1:i]))
    path = root.joinpath(*parts[1:]).with_suffix(".py")
    spec = importlib.util.spec_from_file_location(module, path)
    if spec is None or spec.loader is None:
        raise Unavailable(f"{module}: no file {path}")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[module] = mod
    try:
        spec.loader.exec_module(mod)
    except BaseException:
        del sys.modules[module]
        raise
    return mod

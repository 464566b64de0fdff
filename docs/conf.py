"""Sphinx configuration for the xploss documentation (offline build, no downloads)."""

from __future__ import annotations

import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path[:0] = [ROOT, os.path.join(ROOT, "docs", "_ext")]  # xploss, conformance, local extensions

import xploss  # noqa: E402

project = "xploss"
author = "xploss developers"
copyright = "xploss developers"  # noqa: A001 - Sphinx's name
release = version = xploss.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.doctest",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # issue #12: MathJax served from _static/mathjax, no CDN
    "numpydoc",
    "conformance_table",
    "loss_figures",  # issue #12: `.. loss-figure::`, drawn from xploss on four backends at build time
]

exclude_patterns = ["_build"]
html_theme = "alabaster"
html_static_path: list[str] = ["_static"]  # issue #12
html_css_files = ["xploss.css"]  # issue #12: wrapped table cells, a wider body, figures to the page width
html_theme_options = {"description": "Losses written once, exact on every framework", "fixed_sidebar": True}

autodoc_typehints = "none"  # signatures show names and defaults; types live in the numpydoc sections
add_module_names = True
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks: set[str] = set()
numpydoc_xref_param_type = False

# Examples in the pages run with `sphinx-build -b doctest docs docs/_build/doctest`.
doctest_global_setup = "import numpy as np\nimport xploss"

# -- issue #12: the examples gallery (sphinx-gallery runs every script in examples/ at build time) -------------
extensions.append("sphinx_gallery.gen_gallery")
sphinx_gallery_conf = {
    "examples_dirs": os.path.join(ROOT, "examples"),
    "gallery_dirs": "auto_examples",  # generated, git-ignored
    "filename_pattern": r"/plot_",  # every script runs
    "within_subsection_order": "FileNameSortKey",
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "download_all_examples": False,
    "write_computation_times": False,
    "binder": {},
    "jupyterlite": None,
}
# -- end of the examples gallery block ----------------------------------------------------------------------

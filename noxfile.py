"""Sessions: tests, conformance (the main job), docs, bench, lint, fuzz.

pip (not uv) builds the environments: uv does not see this workplace's local
CPU torch wheel, and torch is pinned to it in pyproject's dependency groups.
"""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "virtualenv"
nox.options.sessions = ["tests"]

PYPROJECT = nox.project.load_toml("pyproject.toml")
# The GAN losses' reference (#10), --no-deps: only its losses_impl.py is loaded (conformance/stubs.py), which
# needs TensorFlow alone; its requirements (tensorflow-hub, tensorflow-probability) serve the package __init__.
TFGAN = "tensorflow-gan==2.1.0"


def _install(session: nox.Session, *groups: str) -> None:
    deps: list[str] = []
    for group in groups:
        deps += nox.project.dependency_groups(PYPROJECT, group)
    session.install(*deps)
    session.install("-e", ".")


@nox.session(python="3.11")
def tests(session: nox.Session) -> None:
    """Unit, gradient, property and doctest tests on all five backends."""
    _install(session, "test")
    session.env["XPLOSS_REQUIRE_BACKENDS"] = "1"
    # one worker per core (2 here: ~4.5 min instead of ~6 for pytest alone)
    session.run("pytest", "-n", "auto", "--dist", "worksteal", *session.posargs)  # idle workers steal: a short tail


@nox.session(python="3.11")
def fuzz(session: nox.Session) -> None:
    """The heavy sweeps: the hypothesis campaign (#7, 200 random examples per loss on every backend, valid and bad
    inputs), and every loss under torch.compile, tf.function(jit_compile=True) and jax.jit (the regular suite
    compiles one loss per kernel module there)."""
    _install(session, "test")
    session.env["XPLOSS_REQUIRE_BACKENDS"] = "1"
    session.env["XPLOSS_FUZZ_EXAMPLES"] = "200"  # the regular suite runs 2, derandomized
    session.env["XPLOSS_SWEEP"] = "1"
    session.run("pytest", "-n", "auto", "-p", "no:randomly", "--hypothesis-show-statistics", "tests/test_fuzz.py",
                "tests/test_losses.py", "-k", "test_fuzz or torch_compile or tf_function_xla or jax_jit",
                *session.posargs)


@nox.session(python="3.11")
def conformance(session: nox.Session) -> None:
    """The main job: xploss vs torch / Keras built-ins on every backend; writes reports/."""
    _install(session, "conformance")
    session.install("--no-deps", TFGAN)
    session.run("python", "-m", "conformance", *session.posargs)


@nox.session(python="3.11")
def docs(session: nox.Session) -> None:
    """Build the Sphinx site with warnings as errors, then run the pages' examples."""
    _install(session, "docs", "conformance")
    session.install("--no-deps", TFGAN)
    session.run("sphinx-build", "-W", "--keep-going", "-b", "html", "docs", "docs/_build/html")
    session.run("sphinx-build", "-W", "--keep-going", "-b", "doctest", "docs", "docs/_build/doctest")
    # issue #12: the screenshot check, as a user sees the pages (headless Chromium, network off)
    _chromium(session)
    session.run("python", "docs/_ext/screenshots.py", "docs/_build/html", "--out", "docs/_build/screenshots",
                "--page", "reports/conformance.html")


def _chromium(session: nox.Session) -> None:
    """/usr/bin/chromium for the screenshot check: installed by apt when root, else a clear failure (issue #12)."""
    import os
    import shutil

    if os.path.exists(os.environ.get("CHROMIUM", "/usr/bin/chromium")):
        return
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        session.run("apt-get", "install", "-y", "chromium", external=True)
    else:
        session.error("the docs' screenshot check needs Chromium: apt-get install -y chromium (as root), "
                      "or set CHROMIUM=/path/to/chromium")


@nox.session(python="3.11")
def bench(session: nox.Session) -> None:
    """Time ratios of xploss vs the built-ins, side by side in one process."""
    _install(session, "backends")
    session.run("python", "benchmarks/bench_losses.py", *session.posargs)


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    session.install(*nox.project.dependency_groups(PYPROJECT, "lint"))
    session.run("ruff", "check", "xploss", "tests", "conformance", "benchmarks")

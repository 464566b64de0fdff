"""Run the case table: every case, on every xploss backend, in float64 and float32.

``python -m conformance [--cases PATTERN] [--out DIR] [--backends a,b]``

The Keras references run in a subprocess (``KERAS_BACKEND=tensorflow``)
started first, so that its TensorFlow import overlaps the torch/JAX work here.
Each reference is computed once per case and dtype and every backend is
compared against it.  Exit status 1 if any comparison fails.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("JAX_ENABLE_X64", "1")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from . import cases_keras_classes as keras_classes  # noqa: E402
from . import report  # noqa: E402
from .cases import Case, select  # noqa: E402
from .evaluate import guarded, run_torch, run_xploss  # noqa: E402
from .report import Row  # noqa: E402

BACKENDS = ("numpy", "array_api_strict", "torch", "jax", "tensorflow")


# -- comparison ------------------------------------------------------------------------------

def _errors(actual: np.ndarray, expected: np.ndarray, what: str, dtype: str) -> tuple[float, float, str]:
    """Worst absolute and relative (to max(|ref|, 1)) error; a problem string if not comparable."""
    if actual.shape != expected.shape:
        return float("inf"), float("inf"), f"{what}: shape {actual.shape} != reference {expected.shape}"
    if str(actual.dtype) != dtype:
        return float("inf"), float("inf"), f"{what}: dtype {actual.dtype} != {dtype}"
    a, e = actual.astype(np.float64), expected.astype(np.float64)
    if not np.array_equal(np.isfinite(a), np.isfinite(e)) or np.any(a[~np.isfinite(e)] != e[~np.isfinite(e)]):
        return float("inf"), float("inf"), f"{what}: non-finite entries differ"
    diff = np.where(np.isfinite(e), np.abs(a - e), 0.0)
    if diff.size == 0:
        return 0.0, 0.0, ""
    return float(diff.max()), float((diff / np.maximum(np.abs(e), 1.0)).max()), ""


def compare(case: Case, index: int, backend: str, dtype: str, actual: dict, expected: dict) -> Row:
    row = Row(case, index, backend, dtype)
    if "error" in expected:
        row.error = f"reference raised {expected['error']}"
        return row
    if "error" in actual:
        row.error = f"xploss raised {actual['error']}"
        return row
    row.value_abs, row.value_rel, problem = _errors(actual["value"], expected["value"], "value", dtype)
    problems = [problem]
    row.grad_abs = row.grad_rel = 0.0
    for name, ref_grad in expected["grads"].items():
        g_abs, g_rel, problem = _errors(actual["grads"][name], ref_grad, f"d/d{name}", dtype)
        row.grad_abs, row.grad_rel = max(row.grad_abs, g_abs), max(row.grad_rel, g_rel)
        problems.append(problem)
    row.error = "; ".join(p for p in problems if p)
    return row


# -- the Keras subprocess --------------------------------------------------------------------

def _start_keras(jobs: dict, path: str, backend: str = "tensorflow") -> subprocess.Popen:
    env = {**os.environ, "KERAS_BACKEND": backend}
    proc = subprocess.Popen([sys.executable, "-m", "conformance.keras_leg", path, backend], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
                            cwd=Path(__file__).resolve().parent.parent)
    proc.stdin.write(json.dumps(jobs))
    proc.stdin.close()
    return proc


def _finish_keras(proc: subprocess.Popen, path: str, jobs: dict) -> dict:
    stderr = proc.stderr.read()
    proc.wait()
    if proc.returncode != 0:
        tail = "\n".join(stderr.strip().splitlines()[-5:])
        error = {"error": f"Keras subprocess failed: {tail}"}
        return {"keras": "", "results": {tuple(j): error for j in jobs["refs"]},
                "classes": {tuple(j): {"xploss": error, "keras": error} for j in jobs["classes"]}}
    with open(path, "rb") as fh:
        return pickle.load(fh)


def _start_keras_legs(ref_jobs: list, class_cases: list, keras_backends: list) -> dict:
    """One Keras process per Keras backend: the function cases' Keras references (TensorFlow) and the
    ``xploss.keras`` class rows (``cases_keras_classes.py``, on ``keras_backends``).
    backend -> (proc, path, jobs)."""
    legs = {}
    for backend in keras_classes.KERAS_BACKENDS:
        classes = class_cases if backend in keras_backends else []
        jobs = {"refs": ref_jobs if backend == "tensorflow" else [],
                "classes": [[c.id, dt] for c in classes for dt in keras_classes.dtypes_for(backend)]}
        if not jobs["refs"] and not jobs["classes"]:
            continue
        tmp = tempfile.NamedTemporaryFile(prefix=f"xploss-keras-{backend}-", suffix=".pkl", delete=False)
        tmp.close()
        legs[backend] = (_start_keras(jobs, tmp.name, backend), tmp.name, jobs)
    return legs


def _import_quietly(name: str) -> None:
    """Import a framework with file descriptor 2 silenced (TensorFlow's C++ start-up chatter)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            __import__(name)
    finally:
        os.dup2(saved, 2)
        os.close(saved)


# -- progress ---------------------------------------------------------------------------------

class Progress:
    """A one-line bar on a terminal; one plain line per step otherwise."""

    def __init__(self, total: int) -> None:
        self.total, self.tty, self.t0 = total, sys.stdout.isatty(), time.perf_counter()

    def step(self, done: int, label: str) -> None:
        elapsed = time.perf_counter() - self.t0
        if self.tty:
            filled = int(30 * done / max(self.total, 1))
            line = f"[{'#' * filled}{'.' * (30 - filled)}] {done}/{self.total} {elapsed:5.1f}s {label}"
            sys.stdout.write("\r" + line[:110].ljust(110))
        else:
            sys.stdout.write(f"[{done:3d}/{self.total}] {elapsed:6.1f}s {label}\n")
        sys.stdout.flush()

    def close(self) -> None:
        if self.tty:
            sys.stdout.write("\n")


# -- versions and summary ----------------------------------------------------------------------

def _versions(keras_version: str) -> dict[str, str]:
    from importlib import metadata

    import xploss

    out = {"python": platform.python_version(), "platform": platform.platform(), "xploss": xploss.__version__}
    for name, dist in (("numpy", "numpy"), ("torch", "torch"), ("jax", "jax"), ("jaxlib", "jaxlib"),
                       ("tensorflow", "tensorflow-cpu"), ("keras", "keras"), ("array-api-strict", "array-api-strict"),
                       ("array-api-compat", "array-api-compat")):
        mod = sys.modules.get(name.replace("-", "_"))
        version = getattr(mod, "__version__", None)
        if version is None:
            try:
                version = metadata.version(dist)
            except metadata.PackageNotFoundError:
                version = "not installed"
        out[name] = version
    if keras_version:
        out["keras"] = f"{keras_version} (TensorFlow backend; xploss.keras class rows: one process per backend)"
    return out


def _print_summary(rows: list[Row]) -> None:
    groups: dict[tuple, list[Row]] = {}
    for r in rows:
        groups.setdefault((r.case.id, r.ref.lib), []).append(r)
    width = max(len(k[0]) for k in groups) + 2
    print(f"\n{'case':{width}}{'ref':9}{'f64 worst':>11}{'f32 worst':>11}  status")
    for (cid, lib), rs in groups.items():
        worst = {dt: max((r.worst for r in rs if r.dtype == dt), default=float("nan")) for dt in ("float64", "float32")}
        bad = sorted({f"{r.backend}/{r.dtype}" for r in rs if not r.ok})
        status = "pass" if not bad else "FAIL " + ",".join(bad)
        print(f"{cid:{width}}{lib:9}{worst['float64']:11.1e}{worst['float32']:11.1e}  {status}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance", description=__doc__.splitlines()[0])
    parser.add_argument("--cases", help="glob (huber*) or substring selecting case ids")
    parser.add_argument("--out", default="reports", help="report directory (default: reports)")
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated xploss backends")
    parser.add_argument("--keras-backends", default=",".join(keras_classes.KERAS_BACKENDS),
                        help="comma-separated Keras backends of the xploss.keras class rows ('' for none)")
    opts = parser.parse_args(argv)
    backends = [b.strip() for b in opts.backends.split(",") if b.strip()]
    keras_backends = [b.strip() for b in opts.keras_backends.split(",") if b.strip()]
    unknown = sorted(set(backends) - set(BACKENDS)) + sorted(set(keras_backends) - set(keras_classes.KERAS_BACKENDS))
    cases = select(opts.cases)
    class_cases = keras_classes.select(opts.cases) if keras_backends else []
    if unknown or not (cases or class_cases):
        parser.error(f"unknown backends {unknown}" if unknown else f"no case matches {opts.cases!r}")
    t0 = time.perf_counter()

    keras_jobs = [[c.id, i, dt] for c in cases for i, ref in enumerate(c.refs) if ref.lib == "keras" for dt in c.dtypes]
    legs = _start_keras_legs(keras_jobs, class_cases, keras_backends)

    if "tensorflow" in backends:
        _import_quietly("tensorflow")
    progress = Progress(len(cases) + (1 if legs else 0))
    rows: list[Row] = []
    xploss_results: dict[tuple, dict] = {}
    for k, case in enumerate(cases):
        progress.step(k, case.id)
        for dtype in case.dtypes:
            inputs = case.make_inputs()
            runs_on = [b for b in backends if case.backends is None or b in case.backends]
            for b in runs_on:
                xploss_results[(case.id, b, dtype)] = guarded(run_xploss, case, inputs, dtype, b)
            for i, ref in enumerate(case.refs):
                if ref.lib != "keras":
                    expected = guarded(run_torch, case, ref, inputs, dtype)
                    rows += [compare(case, i, b, dtype, xploss_results[(case.id, b, dtype)], expected)
                             for b in runs_on]
    keras_version = ""
    if legs:
        progress.step(len(cases), "waiting for the Keras legs")
        by_id = {c.id: c for c in cases}
        for backend, (proc, path, jobs) in legs.items():
            leg = _finish_keras(proc, path, jobs)
            os.unlink(path)
            keras_version = keras_version or leg["keras"]
            for (cid, i, dtype), expected in leg["results"].items():
                rows += [compare(by_id[cid], i, b, dtype, xploss_results[(cid, b, dtype)], expected)
                         for b in backends]
            for (cid, dtype), pair in leg.get("classes", {}).items():
                rows.append(compare(keras_classes.BY_ID[cid], 0, f"keras-{backend}", dtype, pair["xploss"],
                                    pair["keras"]))
    progress.step(progress.total, "done")
    progress.close()

    order = {c.id: n for n, c in enumerate([*cases, *class_cases])}
    backend_order = [*backends, *(f"keras-{b}" for b in keras_classes.KERAS_BACKENDS)]
    rows.sort(key=lambda r: (order[r.case.id], r.ref_index, backend_order.index(r.backend), r.dtype != "float64"))
    meta = {"seconds": time.perf_counter() - t0, "backends": backends, "versions": _versions(keras_version),
            "keras_backends": keras_backends if class_cases else [],
            "command": " ".join(["python -m conformance", *(argv if argv is not None else sys.argv[1:])])}
    paths = report.write(Path(opts.out), rows, meta)
    _print_summary(rows)
    n_fail = sum(not r.ok for r in rows)
    print(f"\n{len(rows) - n_fail}/{len(rows)} comparisons passed in {meta['seconds']:.1f} s; "
          f"report: {', '.join(map(str, paths))}")
    return 1 if n_fail else 0

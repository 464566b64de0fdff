"""``xploss.keras``: every class against the Keras built-in, on the three Keras backends.

Keras fixes its backend at import, so ``tests/keras_check.py`` runs once per
backend (tensorflow, jax, torch), the three processes in parallel, started by
one module fixture; each writes the numbers (xploss class and Keras built-in
side by side) that the tests below assert on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REQUIRE

ROOT = Path(__file__).resolve().parents[1]
KERAS_BACKENDS = ("tensorflow", "jax", "torch")
F32 = 1e-5  # float32 tolerance, relative to max(|ref|, 1)
CURVE_TOL = 1e-5  # training curves: float32 round-off after 100 Adam steps


def _available(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None and importlib.util.find_spec("keras") is not None


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Run the checker on every available Keras backend at once; backend -> its JSON (or None)."""
    tmp = tmp_path_factory.mktemp("keras")
    procs = {}
    for backend in KERAS_BACKENDS:
        if not _available(backend):
            procs[backend] = None
            continue
        env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3", "JAX_ENABLE_X64": "0"}
        procs[backend] = subprocess.Popen([sys.executable, str(ROOT / "tests" / "keras_check.py"),
                                           str(tmp / f"{backend}.json")], cwd=ROOT, env=env,
                                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = {}
    for backend, proc in procs.items():
        if proc is None:
            out[backend] = None
            continue
        log, _ = proc.communicate(timeout=600)
        path = tmp / f"{backend}.json"
        out[backend] = json.loads(path.read_text()) if proc.returncode == 0 and path.exists() else {"crash": log}
    return out


@pytest.fixture(params=KERAS_BACKENDS)
def run(request: pytest.FixtureRequest, results: dict) -> dict:
    """One backend's results; the test fails if its checker crashed or a check raised."""
    r = results[request.param]
    if r is None:
        if REQUIRE:
            pytest.fail(f"Keras backend {request.param} is required here but not installed")
        pytest.skip(f"{request.param} or keras not installed")
    assert "crash" not in r, r.get("crash", "")[-3000:]
    return r


def _section(run: dict, name: str) -> object:
    assert name not in run["errors"], run["errors"].get(name)
    return run[name]


def _close(actual: list, expected: list, what: str, tol: float = F32) -> None:
    a, e = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != Keras {e.shape}"
    err = np.abs(a - e) / np.maximum(np.abs(e), 1.0)
    assert np.all(err <= tol), f"{what}: worst rel. error {err.max():.2e} > {tol:.0e}"


# -- classes -----------------------------------------------------------------------------------

def test_every_loss_has_a_class_and_config_round_trips(results: dict) -> None:
    """Classes, aliases and config round-trips are backend-independent: checked in the TensorFlow process."""
    run = results["tensorflow"]
    if run is None:
        pytest.skip("tensorflow or keras not installed")
    classes = _section(run, "classes")
    assert classes["missing"] == []
    assert classes["aliases_differ"] == [], "an alias' class is not the canonical class object"
    assert classes["roundtrip_failures"] == []
    assert classes["undocumented"] == [], "classes missing from docs/keras.rst's table"
    assert classes["count"] >= 43


def test_save_and_load_keep_the_xploss_loss(results: dict) -> None:
    """Keras serialization is backend-independent: checked in the TensorFlow process."""
    run = results["tensorflow"]
    if run is None:
        pytest.skip("tensorflow or keras not installed")
    saved = _section(run, "saved_models")
    assert set(saved) == {"MeanSquaredError", "Huber", "Poisson", "KlDivergence", "LogCosh", "Quantile",
                          "CrossEntropy"}
    for name, r in saved.items():
        assert r == {"class": f"xploss.keras.{name}", "same_config": True}, name


def test_options_are_validated_by_the_function(run: dict) -> None:
    v = _section(run, "validation")
    assert v["Huber(delta=-1)"].startswith("XplossError: xploss.huber: argument `delta`")
    assert "argument `tau`" in v["Quantile(tau=2)"]
    assert "argument `label_smoothing`" in v["CrossEntropy(label_smoothing=2)"]
    assert "XplossTypeError" in v["Huber(weight=1)"] and "`delta`" in v["Huber(weight=1)"]


# -- values and gradients vs the Keras built-ins ----------------------------------------------------

def test_values_and_gradients_match_keras(run: dict) -> None:
    rows = _section(run, "values")
    reductions = {r["id"].split("/")[-2] for r in rows}
    assert reductions == {"sum_over_batch_size", "sum", "mean_with_sample_weight", "none", "mean"}
    assert len(rows) >= (50 if run["backend"] == "tensorflow" else 14)
    for r in rows:
        _close(r["x"], r["k"], f"{r['id']} value")
        _close(r["gx"], r["gk"], f"{r['id']} d/dy_pred")


def test_keras_masks_are_applied_as_keras_does(run: dict) -> None:
    rows = _section(run, "masks")
    assert len(rows) == (9 if run["backend"] == "tensorflow" else 3)
    for r in rows:
        _close(r["x"], r["k"], f"{r['id']} value")
        _close(r["gx"], r["gk"], f"{r['id']} d/dy_pred")


def test_integer_labels_handed_as_floats(run: dict) -> None:
    labels = _section(run, "labels")
    for form in ("float (N,)", "float (N,1)", "int (N,)", "int (N,1)"):
        _close(labels[form], labels["ref"], form)
    _close(labels["class_weight"], labels["class_weight_ref"], "class_weight vs sample_weight=cw[y]")


def test_three_array_losses_and_penalties(run: dict) -> None:
    s = _section(run, "special")
    for key in ("gaussian", "gaussian_col", "triplet", "l1", "l2", "layer_l2", "fit_l2"):
        _close(s[key], s[f"{key}_ref"], key)
    assert s["layer_l2_class"] == "L2Penalty"  # the regularizer survived save -> load


def test_plain_function_in_compile_is_refused(run: dict) -> None:
    message = _section(run, "plain_function")
    assert "XplossTypeError" in message and "xploss.keras.MeanSquaredError" in message


def test_user_function_in_the_right_order_is_not_refused(run: dict) -> None:
    """The caller check must not catch a user's ``lambda y_true, y_pred: xploss.mse(y_pred, y_true)``."""
    curves = _section(run, "user_function")
    assert len(curves["function"]) == 3
    # per-element losses: Keras averages them all, as the class averages its per-row means (equal rows)
    _close(curves["function"], curves["class"], f"user function vs class ({run['backend']})", 1e-6)


# -- training ----------------------------------------------------------------------------------------

def test_training_curves_match_keras(run: dict) -> None:
    training = _section(run, "training")
    for kind, t in training.items():
        x, k = t["x"], t["k"]
        assert len(x["curve"]) == len(k["curve"]) == (100 if kind == "regression" else 50), kind
        _close(x["curve"], k["curve"], f"{kind} curve ({run['backend']})", CURVE_TOL)
        assert x["curve"][-1] < 0.5 * x["curve"][0], f"{kind}: did not train"
    reg = training["regression"]
    assert reg["x"]["loaded_loss"] == "xploss.keras.MeanSquaredError"  # load_model kept the xploss class
    _close(reg["x"]["evaluate"], reg["k"]["evaluate"], "evaluate with sample_weight after resume")


def test_masked_sequence_training_matches_keras(run: dict) -> None:
    curves = _section(run, "masked_sequences")
    assert len(curves["x"]) == len(curves["k"]) == 40
    _close(curves["x"], curves["k"], f"masked sequence curve ({run['backend']})", CURVE_TOL)
    # the mask matters here: without it the padded steps (label 0) enter the loss
    assert abs(curves["x_unmasked"][0] - curves["k"][0]) > 1e-3

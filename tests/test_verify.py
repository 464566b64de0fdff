"""``xploss.verify`` and ``python -m conformance verify``: the case table's equivalences on the user's arrays.

The references are the built-ins themselves (torch, Keras on TensorFlow), run by the conformance
machinery on the arrays passed here; a failing comparison (options that do not reproduce the
built-in) must show the failure, the divergence and the option that fixes it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import xploss

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from conformance import verify as cv  # noqa: E402


def _ce_inputs(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(12, 5)) * 2.0, rng.integers(0, 5, 12), rng.uniform(0.2, 2.0, 5)


def _torch_mean(logits: np.ndarray, labels: np.ndarray, cw: np.ndarray) -> float:
    """torch's class-weighted mean by hand: Σ cw[y]·(−log softmax(z)_y) / Σ cw[y]."""
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    nll = -logp[np.arange(len(labels)), labels]
    return float((cw[labels] * nll).sum() / cw[labels].sum())


# -- the API on every framework's arrays ----------------------------------------------------------------

def _convert(framework: str, x: np.ndarray, dtype: str):
    x = x.astype(dtype) if x.dtype.kind == "f" else x
    if framework == "numpy":
        return x
    if framework == "torch":
        return pytest.importorskip("torch").from_numpy(x)
    if framework == "jax":
        return pytest.importorskip("jax.numpy").asarray(x)
    return pytest.importorskip("tensorflow").constant(x)


@pytest.mark.parametrize("framework,dtype", [("numpy", "float64"), ("torch", "float64"), ("jax", "float64"),
                                             ("tensorflow", "float32")])
def test_api_on_every_framework(framework, dtype):
    """torch's class-weighted cross-entropy, verified on arrays of each framework (converted to NumPy)."""
    pytest.importorskip("torch")
    logits, labels, cw = _ce_inputs()
    z, y, w = (_convert(framework, a, dtype) for a in (logits, labels, cw))
    result = xploss.verify("cross_entropy", z, y, class_weight=w, reduction="weighted_mean",
                           backends=["numpy", "torch"], against="torch")
    assert result.passed, str(result)
    assert result.dtypes == (dtype,)
    (check,) = result.checks
    assert check.builtin == "F.cross_entropy(logits, labels, weight=cw)" and check.exact
    tol = {"float64": 1e-12, "float32": 1e-5}[dtype]
    assert [r.backend for r in check.rows] == ["numpy", "torch"]
    assert all(r.tol == tol and r.value_rel <= tol and r.grad_rel <= tol for r in check.rows)
    # the reference really is torch's weighted mean: xploss agrees with the hand formula too
    value = xploss.cross_entropy(logits, labels, class_weight=cw, reduction="weighted_mean")
    assert abs(float(value) - _torch_mean(logits, labels, cw)) < 1e-12
    assert "[pass] F.cross_entropy" in str(result) and "PASSED" in str(result)


def test_failing_options_name_the_divergence_and_the_option():
    """class_weight with the default 'mean' is not torch's weighted mean: the report shows the failure,
    names the divergence and the option that reproduces torch."""
    pytest.importorskip("torch")
    logits, labels, cw = _ce_inputs(1)
    result = xploss.verify("cross_entropy", logits, labels, class_weight=cw, backends=["numpy"], against="torch")
    assert not result.passed
    (check,) = result.checks
    assert not check.exact and check.differs == {"reduction": ("mean", "weighted_mean")}
    assert [d.name for d in check.divergences][:1] == ["torch's class-weighted mean"]
    (row,) = check.rows
    ours = float(xploss.cross_entropy(logits, labels, class_weight=cw))
    assert not row.ok and row.value_abs == pytest.approx(abs(ours - _torch_mean(logits, labels, cw)), rel=1e-9)
    text = str(result)
    for part in ("[FAIL] F.cross_entropy", "reduction: yours 'mean', the mapping's 'weighted_mean'",
                 "torch's class-weighted mean", 'reduction="weighted_mean"', "nearest documented mapping",
                 "xploss.cross_entropy(logits, labels, class_weight=cw, reduction='weighted_mean')", "FAILED"):
        assert part in text, f"{part!r} not in\n{text}"


def test_torch_bce_clamp_divergence_on_certain_predictions():
    """Probabilities at exactly 0 and 1: Keras' eps=1e-7 clip is not torch's −100 log clamp (eps=None)."""
    pytest.importorskip("torch")
    probs = np.array([[0.0, 1.0, 0.3], [1.0, 0.6, 0.0]])
    labels = np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 0.0]])
    assert xploss.verify("binary_cross_entropy", probs, labels, backends=["numpy"], against="torch").passed
    clipped = xploss.verify("binary_cross_entropy", probs, labels, eps=1e-7, backends=["numpy"], against="torch")
    assert not clipped.passed
    (check,) = clipped.checks
    assert check.case == "binary_cross_entropy/edges-torch" and not check.rows[0].ok
    assert "torch BCE's -100 log clamp" in [d.name for d in check.divergences]
    assert "eps=None" in str(clipped) and "documented disagreement between built-ins" in str(clipped)


def test_scalar_options_carry_over_to_the_reference():
    """A case drawn with delta=1.0 checks delta=2.5 too: torch's delta follows the user's."""
    pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    pred, target = rng.normal(size=(6, 4)) * 3, rng.normal(size=(6, 4))
    result = xploss.verify(xploss.huber, pred, target, delta=2.5, backends=["numpy"], against="torch")
    assert result.passed and result.checks[0].builtin == "F.huber_loss(pred, target, delta=2.5)"


def test_keras_port_of_categorical_focal_on_torch_tensors():
    """README's porting example: Keras' CategoricalFocalCrossentropy, as xploss on torch tensors."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("keras")
    gen = torch.Generator().manual_seed(0)
    probs = torch.softmax(torch.randn(16, 4, generator=gen, dtype=torch.float64), dim=-1)
    onehot = torch.nn.functional.one_hot(torch.randint(0, 4, (16,), generator=gen), 4).double()
    result = xploss.verify("categorical_focal", probs, onehot, gamma=3.0, backends=["numpy", "torch"],
                           against="keras")
    assert result.passed, str(result)
    (check,) = result.checks
    assert check.builtin == "keras.losses.CategoricalFocalCrossentropy(gamma=3.0)(onehot, raw)"
    assert all(r.value_rel <= 1e-12 and r.grad_rel <= 1e-12 for r in check.rows)
    assert "Keras' y_true-first order" in [d.name for d in check.divergences]


# -- frameworks that are missing, bad calls ---------------------------------------------------------------

def test_missing_frameworks_are_skipped(monkeypatch):
    absent = {"torch", "jax", "tensorflow", "keras"}
    monkeypatch.setattr(cv, "_available", lambda module: module not in absent)
    rng = np.random.default_rng(3)
    result = xploss.verify("mse", rng.normal(size=(4, 3)), rng.normal(size=(4, 3)))
    assert result.backends == ["numpy", "array_api_strict"]
    assert {s.split(":")[0] for s in result.skipped} == {"backend torch", "backend jax", "backend tensorflow"}
    assert result.checks and all(c.skipped for c in result.checks) and not result.passed
    assert {c.skipped for c in result.checks} == {"torch not installed", "keras, tensorflow not installed"}
    assert "skipped: torch not installed" in str(result)


def test_bad_calls_raise_naming_the_argument():
    x = np.zeros((2, 3))
    with pytest.raises(xploss.XplossError, match="argument `loss`.*Received: 'no_such_loss'"):
        xploss.verify("no_such_loss", x, x)
    with pytest.raises(xploss.XplossError, match="argument `weight`: expected `sample_weight=`"):
        xploss.verify("mse", x, x, weight=np.ones(2))
    with pytest.raises(xploss.XplossError, match="argument `dtypes`"):
        xploss.verify("mse", x, x, dtypes="float16")


def test_import_xploss_stays_lazy():
    code = "import sys, xploss; print(sorted({'conformance', 'torch', 'tensorflow', 'jax'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stderr


def test_divergence_table_is_in_the_porting_guide():
    text = (ROOT / "docs" / "porting.rst").read_text(encoding="utf-8")
    missing = [d.name for d in cv.DIVERGENCES if d.name not in text]
    assert not missing, f"docs/porting.rst lacks the divergences {missing}"
    assert "porting" in (ROOT / "docs" / "index.rst").read_text(encoding="utf-8")


# -- the CLI, from a built wheel ------------------------------------------------------------------------

def test_wheel_ships_conformance_and_the_cli_verifies_an_npz(tmp_path):
    """Build a wheel (from a copy of the sources), check it holds the case table and verify, then run
    ``python -m conformance verify`` from the unpacked wheel in another directory."""
    pytest.importorskip("torch")
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for pkg in ("xploss", "conformance"):
        shutil.copytree(ROOT / pkg, src / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-q", "-w", str(tmp_path / "dist")]
    build = subprocess.run([*pip, "--no-build-isolation"], capture_output=True, text=True, timeout=180)
    if build.returncode != 0:  # this environment's setuptools cannot build it: let pip fetch the build backend
        build = subprocess.run(pip, capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    (wheel,) = (tmp_path / "dist").glob("xploss-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        for f in ("conformance/__main__.py", "conformance/verify.py", "conformance/cases.py",
                  "conformance/cases_softmax.py", "xploss/_verify.py"):
            assert f in names, f"{f} missing from {wheel.name}"
        zf.extractall(tmp_path / "site")

    logits, labels, cw = _ce_inputs(4)
    np.savez(tmp_path / "batch.npz", logits=logits, labels=labels, cw=cw)
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    code = ("import sys, runpy, conformance; print('from', conformance.__file__); "
            "sys.argv = ['conformance', *sys.argv[1:]]; runpy.run_module('conformance', run_name='__main__')")

    def cli(*args: str) -> subprocess.CompletedProcess:
        argv = ["verify", "cross_entropy", "--npz", str(tmp_path / "batch.npz"), "--arrays", "logits,labels",
                "--option", "class_weight=@cw", "--backends", "numpy", "--against", "torch", *args]
        return subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=120,
                              cwd=work, env=env)

    good = cli("--option", "reduction=weighted_mean")
    assert good.returncode == 0, good.stdout + good.stderr
    assert f"from {tmp_path / 'site'}" in good.stdout
    assert "[pass] F.cross_entropy(logits, labels, weight=cw)" in good.stdout and "PASSED" in good.stdout
    bad = cli()  # the default 'mean' is not torch's weighted mean
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "[FAIL] F.cross_entropy" in bad.stdout and "torch's class-weighted mean" in bad.stdout


def test_builtins_the_table_leaves_out_for_such_arrays_are_skipped():
    """(N, T, C) KL: torch's batchmean divides by N, optax' .mean() by N·T, so the table compares that
    layout with torch only; verify skips optax there, saying why, and checks torch."""
    pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    log_q = rng.normal(size=(4, 3, 5))
    log_q -= np.log(np.exp(log_q).sum(-1, keepdims=True))
    p = np.exp(rng.normal(size=(4, 3, 5)))
    p /= p.sum(-1, keepdims=True)
    result = xploss.verify("kl_divergence", log_q, p, reduction="batchmean", backends=["numpy"],
                           against=["torch", "optax"])
    assert result.passed, str(result)
    torch_check = next(c for c in result.checks if c.builtin.startswith("F.kl_div("))
    optax_check = next(c for c in result.checks if c.builtin.startswith("optax.losses.kl_divergence("))
    assert torch_check.case == "kl_divergence/N,T,C" and torch_check.rows[0].ok
    assert optax_check.skipped.startswith("not compared on arrays like yours")
    assert "kl_divergence/N,T,C" in optax_check.skipped and not optax_check.rows


def test_keras_argument_order_gets_a_hint():
    """Labels first (Keras' y_true-first order) fit no case; the report says that swapping would."""
    logits, labels, _ = _ce_inputs(6)
    result = xploss.verify("cross_entropy", labels, logits, backends=["numpy"])
    assert not result.passed and not result.checks
    assert "with the two arrays swapped it would match" in str(result)
    assert xploss.verify("cross_entropy", logits, labels, backends=["numpy"], against="torch").passed


# the table's own rows, fed back through verify: derived inputs (w_full, sw, onehot), K-dim layouts, a float
# positional, variadic penalties, formulas and optax through the bridge
SELF = ("mse/weight", "cross_entropy/K-dim+weight+ignore", "nll/K-dim",
        "sigmoid_binary_cross_entropy/pos_weight+weight", "gaussian_nll/var=float", "l1_penalty/mean",
        "multilabel_margin/none", "zero_one/weighted_mean",
        "kl_divergence/log_target", "triplet_margin/margin=2.0,p=1.0,swap=True", "focal/gamma=0,alpha,smoothing",
        "poly1_cross_entropy", "soft_margin/weight", "multi_margin/p=2,margin=0.5,weight", "quantile/tau=0.9")


@pytest.mark.parametrize("case_id", SELF)
def test_verify_reproduces_the_table_on_its_own_inputs(case_id):
    pytest.importorskip("torch")
    from conformance.cases import BY_ID, In

    case = BY_ID[case_id]
    inputs = case.make_inputs()
    options = {k: inputs[v.name] if isinstance(v, In) else v for k, v in case.xploss.kwargs.items()}
    result = xploss.verify(case.xploss.name, *(inputs[a] for a in case.xploss.args), backends=["numpy"],
                           against=["torch", "formula", "optax"], **options)
    assert result.passed, str(result)
    refs = {r.render().split("(")[0] for r in case.refs if r.lib != "keras"}
    compared = {c.builtin.split("(")[0] for c in result.checks if c.rows}
    assert refs <= compared, str(result)  # every torch / formula / optax reference of the row was compared


def test_keras_clipping_divergence_names_eps():
    """Certain predictions against Keras' BinaryCrossentropy: the default eps=None (torch's clamp) fails
    there, and the report names Keras' 1e-7 clip and eps=1e-7."""
    pytest.importorskip("keras")
    probs = np.array([[0.0, 1.0, 0.3], [1.0, 0.6, 0.0]])
    labels = np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 0.0]])
    result = xploss.verify("binary_cross_entropy", probs, labels, backends=["numpy"], against="keras")
    (check,) = result.checks
    assert check.builtin == "keras.losses.BinaryCrossentropy()(labels, probs)" and check.case.endswith("edges-keras")
    assert check.differs == {"eps": (None, 1e-7)} and not check.rows[0].ok
    keras_value = np.mean(-np.log(np.clip(np.where(labels == 1, probs, 1 - probs), 1e-7, 1 - 1e-7)))
    torch_like = float(xploss.binary_cross_entropy(probs, labels))  # −100-clamped logs
    assert check.rows[0].value_abs == pytest.approx(abs(torch_like - keras_value))
    assert "Keras' 1e-7 clipping of probabilities" in [d.name for d in check.divergences]
    assert "-> eps=1e-7" in str(result)

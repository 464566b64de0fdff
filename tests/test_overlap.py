"""The overlap losses beyond the generic table of ``cases_overlap.py``: every option against the
float64 loop reference ``cases_overlap.ref_overlap`` (values and finite differences), the identities of
the family (Tversky ½/½ = Dice, 1/1 = Jaccard), the α/β roles, void pixels, layouts, the empty-class
policies, the generalised Dice weights, gradients on every backend, traced poisoning, the input errors
and a few training steps in torch."""

from __future__ import annotations

import zlib

import cases  # noqa: F401 - loads cases_overlap (imported by the table; importing it first is circular)
import numpy as np
import pytest
from cases_overlap import VOID, C, H, N, W, dense_parts, label_maps, present_maps, ref_overlap  # noqa: E402, I001
from helpers import assert_close, to_backend, to_numpy

import xploss

RNG = np.random.default_rng(20261203)
FNS = {"dice": xploss.dice, "tversky": xploss.tversky, "focal_tversky": xploss.focal_tversky,
       "jaccard": xploss.jaccard, "generalized_dice": xploss.generalized_dice}


def _fd(f, x, step=1e-4):
    """4-point central differences of the scalar ``f`` at ``x`` (float64)."""
    out = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        vals = []
        for k in (-2, -1, 1, 2):
            y = x.copy()
            y[i] += k * step
            vals.append(f(y))
        out[i] = (vals[0] - 8 * vals[1] + 8 * vals[2] - vals[3]) / (12 * step)
    return out


def _ref(name, z, t, **opts):
    """The reference of ``name`` (the function's own defaults: focal Tversky 0.3/0.7/0.75, Jaccard 1/1)."""
    kw = dict(opts)
    if name == "jaccard":
        kw.update(alpha=1.0, beta=1.0)
    elif name == "focal_tversky":
        kw = {"alpha": 0.3, "beta": 0.7, "gamma": 0.75, **kw}
    elif name == "generalized_dice":
        kw["generalized"] = True
    return ref_overlap(z, t, **kw)


def _ref_mean(name, z, t, **opts):
    """The reference ``reduction="mean"``: over the images, those without a target class left out for
    ``empty="ignore"`` (0 when none is left)."""
    loss = _ref(name, z, t, **opts)
    if np.ndim(loss) == 0:
        return float(loss)
    if opts.get("empty") == "ignore":
        count = np.sum(_ref(name, z, t, present=True, **opts))
        return float(np.sum(loss) / count) if count else 0.0
    return float(np.mean(loss))


def _soft(rng, shape=(N, C, H, W)):
    e = np.exp(rng.normal(scale=1.5, size=shape))
    return e / e.sum(axis=1, keepdims=True)


def _labels_void(rng):
    p, y = label_maps(void=True)(rng)
    return p, y


def _logits_labels(rng):
    return label_maps(void=True, logits=True)(rng)


def _multilabel(rng):
    return rng.normal(scale=1.5, size=(N, C, H, W)), (rng.random(size=(N, C, H, W)) < 0.4).astype(float)


def _soft_pair(rng):
    return _soft(rng), _soft(rng)


def _no_foreground(rng):
    """Image 1 is all background and image 0 lacks class 2 (empty classes; with include_background=False
    image 1 holds no target class at all)."""
    return present_maps(rng)


# (name, generator, options, differentiate the target too)
CONFIGS = [
    ("dice", label_maps(), {"per": "sample"}, False),
    ("dice", label_maps(), {"per": "batch", "smooth": 0.0}, False),
    ("dice", label_maps(), {"per": "all", "smooth": 1e-7, "smooth_numerator": 0.0}, False),
    ("dice", _labels_void, {"ignore_index": VOID, "include_background": False, "per": "batch"}, False),
    ("dice", label_maps(), {"class_weight": np.array([0.2, 1.0, 3.0]), "smooth": 0.3}, False),
    ("dice", _no_foreground, {"empty": "zero", "smooth": 0.0, "include_background": False}, False),
    ("dice", _no_foreground, {"empty": "ignore", "smooth": 0.0, "include_background": False}, False),
    ("dice", _no_foreground, {"empty": "smooth", "smooth": 1.0, "include_background": False}, False),
    ("dice", _soft_pair, {"intersection": "min", "per": "batch"}, True),
    ("dice", _soft_pair, {"squared": True, "smooth": 0.1}, True),
    ("dice", _multilabel, {"from_logits": True, "activation": "sigmoid", "smooth": 1.0}, True),
    ("tversky", _logits_labels, {"from_logits": True, "alpha": 0.3, "beta": 0.7, "ignore_index": VOID,
                                 "smooth": 0.0}, False),
    ("tversky", _soft_pair, {"alpha": 0.8, "beta": 0.1, "intersection": "min", "smooth_numerator": 0.0}, True),
    ("focal_tversky", label_maps(), {"gamma": 0.75}, False),
    ("focal_tversky", _no_foreground, {"gamma": 2.0, "per": "batch", "empty": "ignore"}, False),
    ("jaccard", label_maps(), {"squared": True, "per": "batch", "smooth": 0.5}, False),
    ("jaccard", _soft_pair, {"intersection": "min", "smooth": 0.0}, True),
    ("generalized_dice", _no_foreground, {"weight_type": "square"}, False),
    ("generalized_dice", _no_foreground, {"weight_type": "simple", "per": "batch", "include_background": False},
     False),
    ("generalized_dice", _no_foreground, {"weight_type": "uniform", "smooth": 0.2}, False),
    ("generalized_dice", _logits_labels, {"from_logits": True, "ignore_index": VOID}, False),
]


def _cid(c):
    return c[0] + "-" + ",".join(f"{k}={v if not isinstance(v, np.ndarray) else 'w'}" for k, v in c[2].items())


@pytest.mark.parametrize("name, make, opts, target_grad", CONFIGS, ids=[_cid(c) for c in CONFIGS])
def test_value_and_gradient_match_reference(name, make, opts, target_grad):
    z, t = make(np.random.default_rng(zlib.crc32(_cid((name, make, opts)).encode())))
    fn = FNS[name]
    kw = {"axis": 1, **opts}
    want = _ref(name, z, t, **kw)
    assert_close(fn(z, t, reduction="none", **kw), want, dtype="float64", what="none")
    mean = _ref_mean(name, z, t, **kw)
    argnums = (0, 1) if target_grad else (0,)
    value, grads = xploss.value_and_grad(lambda z, t: fn(z, t, **kw), argnums=argnums)(z, t)
    assert_close(value, mean, dtype="float64", what="mean")
    assert_close(grads[0], _fd(lambda z_: _ref_mean(name, z_, t, **kw), z), dtype="float64", rtol=1e-8, what="d/dz")
    if target_grad:
        assert_close(grads[1], _fd(lambda t_: _ref_mean(name, z, t_, **kw), t), dtype="float64", rtol=1e-8,
                     what="d/dt")


# -- identities and roles ---------------------------------------------------------------------------

@pytest.mark.parametrize("smooth", [0.0, 1e-5, 0.7])
@pytest.mark.parametrize("per", ["sample", "batch"])
def test_tversky_half_is_dice_and_one_is_jaccard(smooth, per):
    p, y = label_maps()(RNG)
    kw = dict(axis=1, smooth=smooth, per=per)
    for fn, a in ((xploss.dice, 0.5), (xploss.jaccard, 1.0)):
        v1, g1 = xploss.value_and_grad(lambda p, fn=fn: fn(p, y, **kw))(p)
        v2, g2 = xploss.value_and_grad(lambda p, a=a: xploss.tversky(p, y, alpha=a, beta=a, **kw))(p)
        assert_close(v2, to_numpy(v1), dtype="float64")
        assert_close(g2, g1, dtype="float64")
    # ... and MONAI's Dice-form numbers: 1 - (2I + 2s) / (P + G + 2s) per image and class
    pp, gg, _ = dense_parts(p, y)
    sums = (0, 2) if per == "batch" else (2,)
    i, big_p, big_g = (np.sum(a, axis=sums) for a in (pp * gg, pp, gg))
    dice_form = np.mean(1.0 - (2 * i + 2 * smooth) / (big_p + big_g + 2 * smooth))
    assert_close(xploss.dice(p, y, **kw), dice_form, dtype="float64")
    jac_form = np.mean(1.0 - (i + smooth) / (big_p + big_g - i + smooth))
    assert_close(xploss.jaccard(p, y, **kw), jac_form, dtype="float64")


def test_false_positives_move_with_alpha_only():
    g = np.zeros((2, 1, 4, 4))
    g[:, :, :2] = 1.0
    fp_only = np.where(g == 1.0, 1.0, 0.3)  # covers the target: FN = 0, FP > 0
    fn_only = np.where(g == 1.0, 0.6, 0.0)  # nothing outside the target: FP = 0, FN > 0

    def t(p, a, b):
        return float(xploss.tversky(p, g, alpha=a, beta=b, axis=1, smooth=0.0))
    assert t(fp_only, 0.3, 0.7) == pytest.approx(t(fp_only, 0.3, 0.1), abs=1e-15)
    assert t(fp_only, 0.3, 0.7) > t(fp_only, 0.1, 0.7) + 0.05
    # closed form: 1 - I / (I + α FP), I = 8, FP = 0.3 · 8 per image
    assert t(fp_only, 0.3, 0.7) == pytest.approx(1.0 - 8.0 / (8.0 + 0.3 * 2.4), abs=1e-15)
    assert t(fn_only, 0.3, 0.7) == pytest.approx(t(fn_only, 0.9, 0.7), abs=1e-15)
    assert t(fn_only, 0.3, 0.7) > t(fn_only, 0.3, 0.2) + 0.05
    assert t(fn_only, 0.3, 0.7) == pytest.approx(1.0 - 4.8 / (4.8 + 0.7 * 3.2), abs=1e-15)


# -- void pixels, layouts, targets ------------------------------------------------------------------

@pytest.mark.parametrize("name, logits, per", [("dice", False, "sample"), ("tversky", True, "batch"),
                                                ("generalized_dice", True, "sample"),
                                                ("focal_tversky", False, "batch")])
def test_void_pixels_change_neither_value_nor_gradient(name, logits, per):
    z, y = label_maps(void=True, logits=logits)(RNG)
    void = np.broadcast_to((y == VOID)[:, None], z.shape)
    other = RNG.normal(scale=4.0, size=z.shape) if logits else _soft(RNG)
    z2 = np.where(void, other, z)
    fn = FNS[name]
    f = xploss.value_and_grad(lambda z: fn(z, y, axis=1, from_logits=logits, per=per, ignore_index=VOID))
    (v1, g1), (v2, g2) = f(z), f(z2)
    assert float(v1) == pytest.approx(float(v2), abs=1e-15)
    assert np.all(g1[void] == 0.0) and np.all(g2[void] == 0.0)
    assert_close(g2, g1, dtype="float64")
    # the same as dropping the void pixels: a target of 0 with the probabilities zeroed there
    p = z if not logits else np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    assert float(v1) == pytest.approx(float(_ref_mean(name, p, y, axis=1, per=per, ignore_index=VOID)), abs=1e-14)


@pytest.mark.parametrize("name", ["dice", "generalized_dice", "focal_tversky"])
def test_channels_first_and_last_agree(name):
    z, y = label_maps(logits=True)(RNG)
    fn = FNS[name]
    first = xploss.value_and_grad(lambda z: fn(z, y, axis=1, from_logits=True, reduction="sum"))(z)
    zl = np.moveaxis(z, 1, -1).copy()
    last = xploss.value_and_grad(lambda z: fn(z, y, axis=-1, from_logits=True, reduction="sum"))(zl)
    assert_close(last[0], float(first[0]), dtype="float64")
    assert_close(last[1], np.moveaxis(first[1], 1, -1), dtype="float64")
    mid = xploss.value_and_grad(lambda z: fn(z, y, axis=2, from_logits=True, reduction="sum"))(np.moveaxis(z, 1, 2))
    assert_close(mid[0], float(first[0]), dtype="float64")
    oh = np.moveaxis(np.eye(C)[y], -1, 1)
    assert_close(fn(zl, np.moveaxis(oh, 1, -1), axis=-1, from_logits=True, reduction="none"),
                 fn(z, y, axis=1, from_logits=True, reduction="none"), dtype="float64")


@pytest.mark.parametrize("name", ["dice", "jaccard", "tversky", "generalized_dice"])
@pytest.mark.parametrize("per", ["sample", "batch"])
def test_labels_and_one_hot_agree(name, per):
    p, y = label_maps()(RNG)
    oh = np.moveaxis(np.eye(C)[y], -1, 1)
    fn = FNS[name]
    a = xploss.value_and_grad(lambda p: fn(p, y, axis=1, per=per))(p)
    for target in (oh, oh.astype(np.int64), oh.astype(bool)):
        b = xploss.value_and_grad(lambda p, t=target: fn(p, t, axis=1, per=per))(p)
        assert_close(b[0], float(a[0]), dtype="float64")
        assert_close(b[1], a[1], dtype="float64")


def test_per_scopes_pool_what_they_say():
    """Side by side: per image and class, per class over the batch, everything pooled."""
    p, y = label_maps()(RNG)
    pp, gg, _ = dense_parts(p, y)

    def dice_of(axes):
        i, a, b = (np.sum(x, axis=axes) for x in (pp * gg, pp, gg))
        return 1.0 - 2 * i / (a + b)
    assert_close(xploss.dice(p, y, axis=1, per="sample", smooth=0.0, reduction="none"),
                 np.mean(dice_of((2,)), axis=1), dtype="float64")
    assert_close(xploss.dice(p, y, axis=1, per="batch", smooth=0.0), np.mean(dice_of((0, 2))), dtype="float64")
    assert_close(xploss.dice(p, y, axis=1, per="all", smooth=0.0), dice_of((0, 1, 2)), dtype="float64")


# -- empty classes, generalised Dice weights --------------------------------------------------------

def test_an_image_without_target_class_leaves_the_mean():
    p, y = present_maps(RNG)  # image 1 is all background
    kw = dict(axis=1, include_background=False, empty="ignore", smooth=0.0)
    per_image = to_numpy(xploss.dice(p, y, reduction="none", **kw))
    assert per_image[1] == 0.0
    v, g = xploss.value_and_grad(lambda p: xploss.dice(p, y, **kw))(p)
    assert float(v) == pytest.approx((per_image[0] + per_image[2]) / 2, abs=1e-15)
    assert np.all(g[1] == 0.0)
    assert float(xploss.dice(p, y, reduction="count", **kw)) == 2.0
    w = np.array([1.0, 5.0, 2.0])
    assert float(xploss.dice(p, y, sample_weight=w, reduction="weighted_mean", **kw)) == pytest.approx(
        (per_image[0] + 2 * per_image[2]) / 3, abs=1e-15)
    # "zero": the absent class 2 of image 0 scores 0 and still counts; "smooth" with s = 0: class 2 of image 0
    # has P > 0, G = 0: loss 1 exactly
    zero = to_numpy(xploss.dice(p, y, axis=1, include_background=False, empty="zero", smooth=0.0, reduction="none"))
    smooth = to_numpy(xploss.dice(p, y, axis=1, include_background=False, smooth=0.0, reduction="none"))
    assert zero[1] == 0.0 and smooth[1] == 1.0
    assert smooth[0] - zero[0] == pytest.approx(0.5, abs=1e-15)


def test_generalized_dice_weights_and_fill():
    p, y = present_maps(RNG)  # image 0 lacks class 2, image 1 has only class 0
    pp, gg, _ = dense_parts(p, y)
    i, a, b = (np.sum(x, axis=2) for x in (pp * gg, pp, gg))
    for wt, w in (("square", 1 / np.where(b > 0, b, 1) ** 2), ("simple", 1 / np.where(b > 0, b, 1)),
                  ("uniform", np.ones_like(b))):
        w = np.where(b > 0, w, 0.0)
        w = np.where(b > 0, w, w.max(axis=1, keepdims=True)) if wt != "uniform" else np.ones_like(b)
        want = 1.0 - 2 * np.sum(w * i, 1) / np.sum(w * (a + b), 1)
        assert_close(xploss.generalized_dice(p, y, axis=1, weight_type=wt, smooth=0.0, reduction="none"), want,
                     dtype="float64", what=wt)
    # with include_background=False, image 1 has no foreground at all: every weight 0, loss 0 and no gradient
    v, g = xploss.value_and_grad(lambda p: xploss.generalized_dice(p, y, axis=1, include_background=False,
                                                                   reduction="sum"))(p)
    none = to_numpy(xploss.generalized_dice(p, y, axis=1, include_background=False, reduction="none"))
    assert none[1] == 0.0 and np.all(g[1] == 0.0)


# -- gradients on every backend ---------------------------------------------------------------------

GRAD_CONFIGS = {
    "softmax-labels-void": (_logits_labels, "tversky", {"from_logits": True, "ignore_index": VOID, "alpha": 0.3,
                                                        "beta": 0.7, "per": "batch"}, False),
    "sigmoid-multilabel": (_multilabel, "dice", {"from_logits": True, "activation": "sigmoid"}, True),
    "soft-min": (_soft_pair, "jaccard", {"intersection": "min", "squared": False}, True),
    "gdl-simple": (label_maps(logits=True), "generalized_dice", {"from_logits": True, "weight_type": "simple"}, False),
}


@pytest.fixture(scope="module")
def grad_refs():
    out = {}
    for key, (make, name, opts, tg) in GRAD_CONFIGS.items():
        z, t = make(np.random.default_rng(len(key)))
        kw = {"axis": 1, **opts}
        gz = _fd(lambda z_, n=name, t=t, kw=kw: _ref_mean(n, z_, t, **kw), z)
        gt = _fd(lambda t_, n=name, z=z, kw=kw: _ref_mean(n, z, t_, **kw), t) if tg else None
        out[key] = (z, t, kw, _ref_mean(name, z, t, **kw), gz, gt)
    return out


@pytest.mark.parametrize("key", list(GRAD_CONFIGS))
def test_gradients_on_every_backend(backend, key, grad_refs):
    z, t, kw, value, gz, gt = grad_refs[key]
    make, name, _, tg = GRAD_CONFIGS[key]
    fn = FNS[name]
    zb, tb = to_backend(backend, z, "float64"), to_backend(backend, t, "float64" if tg else None)
    v, grads = xploss.value_and_grad(lambda z, t: fn(z, t, **kw), argnums=(0, 1) if tg else (0,))(zb, tb)
    assert_close(v, value, dtype="float64", b=backend)
    assert_close(grads[0], gz, dtype="float64", b=backend, rtol=1e-8, what="d/dz")
    if tg:
        assert_close(grads[1], gt, dtype="float64", b=backend, rtol=1e-8, what="d/dt")


# -- compiled calls and traced poisoning ------------------------------------------------------------

def test_jax_jit_matches_eager_and_poisons_bad_samples():
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    z, y = label_maps(void=True, logits=True)(RNG)
    kw = dict(axis=1, from_logits=True, ignore_index=VOID, reduction="none")
    f = jax.jit(lambda z, y: xploss.dice(z, y, **kw))
    eager = xploss.dice(z, y, **kw)
    assert_close(np.asarray(f(jnp.asarray(z), jnp.asarray(y))), eager, dtype="float64")
    g = jax.jit(jax.grad(lambda z, y: xploss.dice(z, y, axis=1, from_logits=True, ignore_index=VOID, per="batch")))
    _, want = xploss.value_and_grad(lambda z: xploss.dice(z, y, axis=1, from_logits=True, ignore_index=VOID,
                                                          per="batch"))(z)
    assert_close(np.asarray(g(jnp.asarray(z), jnp.asarray(y))), want, dtype="float64")
    bad = y.copy()
    bad[1, 0, 0] = 5  # out of range (and not the void label)
    out = np.asarray(f(jnp.asarray(z), jnp.asarray(bad)))
    assert np.isnan(out[1]) and np.isfinite(out[[0, 2]]).all()
    with pytest.raises(xploss.XplossError, match=r"`(target|labels)`.*\[0, 3\).*5"):
        xploss.dice(z, bad, **kw)
    p = label_maps()(RNG)[0]
    p_bad = p.copy()
    p_bad[2, 0, 0, 0] = 1.5
    h = jax.jit(lambda p, y: xploss.tversky(p, y, axis=1, ignore_index=VOID, reduction="none"))
    out = np.asarray(h(jnp.asarray(p_bad), jnp.asarray(y)))
    assert np.isnan(out[2]) and np.isfinite(out[:2]).all()
    with pytest.raises(xploss.XplossError, match=r"probs.*\[0, 1\]"):
        xploss.tversky(p_bad, y, axis=1, ignore_index=VOID)


# -- errors -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("call, match", [
    (lambda p, y: xploss.dice(p, y), r"axis.*axis=1.*channels-first.*axis=-1"),
    (lambda p, y: xploss.dice(p, y, axis=0), r"axis.*other than 0.*axis=0"),
    (lambda p, y: xploss.dice(p, y, axis=4), r"axis.*\[-4, 4\).*4"),
    (lambda p, y: xploss.dice(p, y[:, :1], axis=1),
     r"`(target|labels)`.*shape \(3, 2, 3\).*\(3, 3, 2, 3\).*\(3, 1, 3\)"),
    (lambda p, y: xploss.dice(p, np.zeros((3, 3, 2, 2)), axis=1), r"target.*\(3, 3, 2, 3\).*\(3, 3, 2, 2\)"),
    (lambda p, y: xploss.jaccard(p, np.moveaxis(np.eye(3)[y], -1, 1), axis=1, ignore_index=VOID),
     r"ignore_index.*None with a dense.*ignore_index=9"),
    (lambda p, y: xploss.dice(p, y, axis=1, per="batch", sample_weight=np.ones(3)), r"sample_weight.*per='batch'"),
    (lambda p, y: xploss.dice(p, y, axis=1, class_weight=np.ones(4)), r"class_weight.*\(3,\).*\(4,\)"),
    (lambda p, y: xploss.dice(p, y, axis=1, class_weight=np.ones(3), per="all"), r"class_weight.*per='all'"),
    (lambda p, y: xploss.dice(p, y, axis=1, class_weight=-np.ones(3)), r"class_weight"),
    (lambda p, y: xploss.dice(p[:, :1], y, axis=1), r"target.*single-channel.*integer class map"),
    (lambda p, y: xploss.dice(p[:, :1], p[:, :1], axis=1, include_background=False), r"include_background.*False"),
    (lambda p, y: xploss.dice(p, y, axis=1, per="image"), r"per.*'image'"),
    (lambda p, y: xploss.dice(p, y, axis=1, empty="zero", per="all"), r"empty.*per='all'"),
    (lambda p, y: xploss.tversky(p, y, axis=1, alpha=-0.1), r"alpha"),
    (lambda p, y: xploss.focal_tversky(p, y, axis=1, gamma=0.0), r"gamma"),
    (lambda p, y: xploss.dice(p, y, axis=1, smooth=-1.0), r"smooth"),
    (lambda p, y: xploss.generalized_dice(p, y, axis=1, per="all"), r"per.*'sample' or 'batch'.*'all'"),
    (lambda p, y: xploss.generalized_dice(p, y, axis=1, weight_type="log"), r"weight_type.*'log'"),
    (lambda p, y: xploss.dice(p * 2.0, y, axis=1), r"probs.*\[0, 1\]"),
    (lambda p, y: xploss.dice(p, np.moveaxis(np.eye(3)[y], -1, 1) * 2.0, axis=1), r"target.*\[0, 1\]"),
    (lambda p, y: xploss.dice(p, y, axis=1, intersection="max"), r"intersection.*'max'"),
])
def test_errors(call, match):
    p, y = label_maps()(RNG)
    with pytest.raises(xploss.XplossError, match=match):
        call(p, y)


# -- training ---------------------------------------------------------------------------------------

def test_torch_training_lowers_dice():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    x = torch.randn(2, 1, 8, 8, dtype=torch.float64)
    y = (x[:, 0] > 0.3).long() + (x[:, 0] > 1.2).long()  # three classes from thresholds of the input
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(8, 3, 1)).double()
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    losses = []
    for _ in range(10):
        opt.zero_grad()
        loss = xploss.dice(model(x), y, axis=1, from_logits=True, smooth=1.0)
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < 0.5 * losses[0], losses
    assert all(np.isfinite(losses))



def test_jaccard_under_jax_jit_matches_eager():
    """jaccard is not in the generic table (it is tversky at α = β = 1, specialised on the static 1s):
    jax.jit of the batch-pooled, squared, masked form against the eager value and gradient."""
    jax = pytest.importorskip("jax")
    z, y = label_maps(void=True, logits=True)(RNG)
    kw = dict(axis=1, from_logits=True, ignore_index=VOID, per="batch", squared=True, smooth=0.5)
    want_v, want_g = xploss.value_and_grad(lambda z: xploss.jaccard(z, y, **kw))(z)
    v, g = jax.jit(jax.value_and_grad(lambda z, y: xploss.jaccard(z, y, **kw)))(jax.numpy.asarray(z),
                                                                              jax.numpy.asarray(y))
    assert_close(np.asarray(v), float(want_v), dtype="float64")
    assert_close(np.asarray(g), want_g, dtype="float64")
    assert float(want_v) == pytest.approx(float(_ref("jaccard", z, y, **kw)), abs=1e-14)

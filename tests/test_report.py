"""The conformance report writer (conformance/report.py) on a few synthetic rows: grid, groups, links, PNG."""

from __future__ import annotations

import re
import struct
import sys
import zlib

import numpy as np
import pytest

from conformance import report
from conformance.cases import Case, T, Tol, X
from conformance.report import Row

NO_INPUTS = staticmethod(lambda rng: {})  # never called: the writer reads ids, calls and notes only
LOOSE = Tol("the reference computes in float32", float64=1e-6)
HUBER = Case("huber/a", X("huber", "pred", "target"), (T("huber_loss", "pred", "target"),), NO_INPUTS, ("pred",))
HUBER_B = Case("huber/b", X("huber", "pred", "target"), (T("huber_loss", "pred", "target", tol=LOOSE),), NO_INPUTS,
               ("pred",), note="probabilities exactly 0 and 1 (BUILTINS §2.1, §3.3)")
MSE = Case("mse", X("mse", "pred", "target"), (T("mse_loss", "pred", "target"),), NO_INPUTS, ("pred",))
META = {"seconds": 1.0, "backends": ["numpy", "torch"], "versions": {"numpy": "2"}, "command": "test"}


def _rows() -> list[Row]:
    """huber passes on numpy (two cases, one with a float64 override and a divergence note) and fails on torch
    (a float32 gradient 3x over its tolerance); mse raises on torch."""
    return [Row(HUBER, 0, "numpy", "float64", 1e-16, 2e-16, 1e-16, 5e-17),
            Row(HUBER, 0, "numpy", "float32", 1e-8, 4e-8, 0.0, 0.0),
            Row(HUBER_B, 0, "numpy", "float64", 1e-7, 2e-7, 0.0, 0.0),
            Row(HUBER, 0, "torch", "float64", 0.0, 0.0, 0.0, 0.0),
            Row(HUBER, 0, "torch", "float32", 1e-7, 1e-7, 3e-5, 3e-5),
            Row(MSE, 0, "numpy", "float64", 0.0, 0.0, 0.0, 0.0),
            Row(MSE, 0, "torch", "float64", error="xploss raised XplossError: boom")]


def test_grid_cells_are_worst_over_tolerance() -> None:
    (grid,) = report.grids(_rows(), ["numpy", "torch", "jax"])
    assert grid.losses == ["huber", "mse"]
    assert grid.cells[("huber", "numpy")] == pytest.approx(max(2e-16 / 1e-12, 4e-8 / 1e-5, 2e-7 / 1e-6))  # 0.2
    assert grid.cells[("huber", "torch")] == pytest.approx(3e-5 / 1e-5)
    assert grid.cells[("mse", "numpy")] == 0.0
    assert grid.cells[("mse", "torch")] == float("inf")
    assert ("huber", "jax") not in grid.cells  # not run: grey
    assert report.colour(None) == report.NOT_RUN
    assert report.colour(0.0) == report.colour(1e-9) == "#63be7b"  # at or under the floor: full green
    assert report.colour(1.0) == "#ffe082" and report.colour(1.5) != report.colour(1.0)  # yellow, then red


def test_groups_headers_and_links(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # the report still writes .md and .html, saying so
    rows = _rows()
    res = report.results(rows)
    huber, mse = res.groups
    assert (huber.loss, len(huber.rows), huber.failed) == ("huber", 3, [False, False, True])
    assert huber.tolerance == "float64 1e-12 / 1e-6 · float32 1e-5"  # differing tolerances: the set per dtype
    assert huber.summary.startswith("3 rows, 2 pass, 1 FAIL · worst 3 of tol")
    assert mse.worst == float("inf") and "error" in mse.summary
    assert not any("1e-12" in str(c) for r in huber.rows for c in r[:-1])  # no tolerance column in the rows

    paths = report.write(tmp_path, rows, META)
    page = (tmp_path / "conformance.html").read_text()
    details = dict(re.findall(r"<details id='(loss-[^']+)'( open)?>", page))
    assert details == {"loss-huber": " open", "loss-mse": " open"}
    ok = report.write(tmp_path / "ok", rows[:4], META)[1].read_text()
    assert re.findall(r"<details id='loss-huber'( open)?>", ok) == [""]  # a passing group starts closed
    ids = set(re.findall(r"id='([^']+)'", page))
    hrefs = set(re.findall(r"href='#([^']+)'", page))
    assert {"D1", "T1", "loss-huber", "loss-mse"} <= hrefs and hrefs <= ids  # every link has its anchor
    d1 = re.search(r"<tr id='D1'>.*?</tr>", page).group(0)
    assert "huber/b" in d1 and "builtins.html#builtins-2-1'>§2.1</a>" in d1 and "#builtins-3-3'>§3.3" in d1
    assert "<tr class='fail'>" in page and "<tr class='pass'>" in page
    md = (tmp_path / "conformance.md").read_text()
    assert "| [huber](#loss-huber) | 0.2 ✓ | 3 ✗ |" in md and "| [mse](#loss-mse) | 0 ✓ | error ✗ |" in md
    assert "3 rows, 2 pass, 1 FAIL" in md and "docs/builtins.rst" in md
    assert paths == [tmp_path / "conformance.md", tmp_path / "conformance.html"]
    assert not (tmp_path / report.HEATMAP).exists()
    assert "conformance_heatmap.png not written: matplotlib is not installed" in md
    assert "conformance_heatmap.png not written: matplotlib is not installed" in page


def _png_size(path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk, after checking the signature and the chunk's CRC."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    assert struct.unpack(">I", data[29:33])[0] == zlib.crc32(data[12:29])
    return struct.unpack(">II", data[16:24])


def test_heatmap_png(tmp_path) -> None:
    pytest.importorskip("matplotlib")
    grids = report.grids(_rows(), ["numpy", "torch", "jax"])
    layout = report.write_heatmap(tmp_path / "h.png", grids)
    from matplotlib.image import imread

    w, h = _png_size(tmp_path / "h.png")
    pixels = np.round(imread(tmp_path / "h.png")[..., :3] * 255).astype(int)
    label = report.LABEL_PAD + report.CHAR_W * len("huber")
    assert (w, h) == (label + 3 * report.CELL_W + report.GAP + report.CBAR_W,
                      report.TOP + 2 * report.CELL_H + report.BOTTOM) == (layout.width, layout.height)
    for loss, backend in [("huber", "numpy"), ("huber", "torch"), ("mse", "torch"), ("mse", "jax")]:
        left, top, _, _ = layout.cell_box(0, loss, backend)
        rgb = pixels[top + 3, left + 4]  # a corner, off the cell's number
        want = report.colour(grids[0].cells.get((loss, backend)))
        assert np.abs(rgb - [int(want[i:i + 2], 16) for i in (1, 3, 5)]).max() <= 6, (loss, backend, rgb, want)

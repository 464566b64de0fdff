"""Write the conformance report: Markdown, a self-contained HTML page and a heatmap PNG.

Both text formats render the same blocks, so they cannot drift apart:

* :class:`Table`: the summary, versions, failures, divergences and cases tables;
* :class:`Grid`: one cell per loss and backend, the worst error as a fraction of
  its tolerance (a heatmap in the HTML, a number and a pass/fail mark in the
  Markdown, and ``conformance_heatmap.png`` when matplotlib is installed);
* :class:`Results`: the result rows grouped per loss, each group with its row
  count, pass/fail count, worst fraction and tolerances in its header.

The citations "BUILTINS §n" and "BUILTINS-2 §n" refer to the docs pages
``docs/builtins.rst`` and ``docs/builtins2.rst``; the HTML links them.
"""

from __future__ import annotations

import html
import math
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Row", "Cell", "Table", "Grid", "Group", "Results", "tables", "grids", "results", "write",
           "fraction", "colour", "heatmap_layout", "write_heatmap"]

DTYPES = ("float64", "float32")
HEATMAP = "conformance_heatmap.png"
# The docs pages of the cited research notes: citation -> (source page, built page, anchor prefix).
CITED = {"BUILTINS": ("docs/builtins.rst", "builtins.html", "builtins-"),
         "BUILTINS-2": ("docs/builtins2.rst", "builtins2.html", "builtins2-")}
DOCS_HTML = Path(__file__).resolve().parent.parent / "docs" / "_build" / "html"  # where ``nox -s docs`` builds
WHERE_CITED = ("Citations “BUILTINS §n” and “BUILTINS-2 §n” are sections of the project's notes on the "
               "built-ins' exact semantics, in the docs: docs/builtins.rst and docs/builtins2.rst.")


@dataclass
class Row:
    """One comparison: a case's xploss call on one backend and dtype against one built-in."""

    case: Any
    ref_index: int
    backend: str
    dtype: str
    value_abs: float = float("nan")
    value_rel: float = float("nan")
    grad_abs: float = float("nan")
    grad_rel: float = float("nan")
    error: str = ""

    @property
    def ref(self) -> Any:
        return self.case.refs[self.ref_index]

    @property
    def tol(self) -> float:
        return self.ref.tolerance(self.dtype)

    @property
    def ok(self) -> bool:
        return not self.error and self.value_rel <= self.tol and self.grad_rel <= self.tol

    @property
    def worst(self) -> float:
        return float("inf") if self.error else max(self.value_rel, self.grad_rel)


def fraction(row: Row) -> float:
    """The row's worst relative error (value or gradient) as a fraction of its tolerance; inf for an error
    or a NaN, so that it passes exactly when the fraction is at most 1."""
    f = row.worst / row.tol
    if f != f:
        return float("inf")
    return math.nextafter(1.0, math.inf) if f <= 1.0 and not row.ok else f  # a failing row never shows "1"


def loss_of(case: Any) -> str:
    """The loss a case checks: the xploss function, ``torch.<Criterion>`` or ``keras.<Class>``."""
    name = case.xploss.name
    return f"keras.{name}" if case.xploss.lib == "xploss.keras" else name


# -- the blocks ---------------------------------------------------------------------------------------------

@dataclass
class Cell:
    """A table cell with a link (``href``), a tooltip (``title``) or its own CSS class."""

    text: str
    href: str = ""
    title: str = ""
    cls: str = ""

    def __str__(self) -> str:
        return self.text


@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list[Any]]  # str or Cell
    failed: list[bool] = field(default_factory=list)  # per row, highlighted
    intro: str = ""
    anchors: list[str] = field(default_factory=list)  # per row: an id the other rows link to, or ""
    level: int = 2
    prose: tuple[int, ...] = ()  # columns of running text (wrapped, proportional font) rather than code


@dataclass
class Grid:
    """Loss × backend: each cell the worst :func:`fraction` over the loss's rows on that backend (dtypes and
    references); a pair without rows was not run."""

    title: str
    losses: list[str]
    backends: list[str]
    cells: dict[tuple[str, str], float]
    intro: str = ""
    labels: dict[str, str] = field(default_factory=dict)  # backend -> column label
    level: int = 2

    def label(self, backend: str) -> str:
        return self.labels.get(backend, backend)


@dataclass
class Group:
    """One loss's result rows, one per case, reference and backend (the dtypes side by side)."""

    loss: str
    rows: list[list[Any]]
    failed: list[bool]
    worst: float
    tolerance: str

    @property
    def anchor(self) -> str:
        return loss_anchor(self.loss)

    @property
    def summary(self) -> str:
        n_fail = sum(self.failed)
        counts = f"{len(self.rows)} rows, {len(self.rows) - n_fail} pass" + (f", {n_fail} FAIL" if n_fail else "")
        return f"{counts} · worst {_frac(self.worst)} of tol · tol {self.tolerance}"


@dataclass
class Results:
    title: str
    headers: list[str]
    groups: list[Group]
    intro: str = ""
    level: int = 2


@dataclass
class Heading:
    title: str
    intro: str = ""
    level: int = 2


# -- formatting ---------------------------------------------------------------------------------------------

def _e(x: float) -> str:
    if x != x:
        return "—"
    return "0" if x == 0 else f"{x:.1e}"


def _frac(f: float | None) -> str:
    """A fraction of the tolerance, short: 0.031, 1.4, 3e-05; "error" for inf; "—" for not run."""
    if f is None:
        return "—"
    if math.isinf(f):
        return "error"
    if f == 0:
        return "0"
    return f"{f:.2g}" if f >= 0.0095 else f"{f:.0e}"  # 0.0096 is "0.0096", not "1e-02"


def _slug(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.]+", "-", s).strip("-")


def loss_anchor(loss: str) -> str:
    """The id of a loss's group of result rows."""
    return "loss-" + _slug(loss)


def _sci(x: float) -> str:
    """A tolerance, short: 1e-12, 1e-5, 2.5e-6."""
    mantissa, exponent = f"{x:.2e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def _tol_set(values: Iterable[float]) -> str:
    return " / ".join(_sci(t) for t in sorted(set(values)))


# -- colours: one scale for the HTML grid and the PNG -------------------------------------------------------

FLOOR, CEIL = 1e-4, 1e2  # the log scale's ends: at or under FLOOR full green, over CEIL full dark red
_STOPS = ((FLOOR, (0x63, 0xbe, 0x7b)), (1e-2, (0xb8, 0xdc, 0x7e)), (1.0, (0xff, 0xe0, 0x82)))  # green -> yellow
_OVER = ((1.0, (0xf0, 0x6a, 0x5c)), (CEIL, (0xa5, 0x1b, 0x1b)))  # over the tolerance: red -> dark red
NOT_RUN = "#e3e3e3"


def _interp(stops: tuple, x: float) -> tuple[int, ...]:
    lx = math.log10(x)
    for (a, ca), (b, cb) in zip(stops, stops[1:]):
        if lx <= math.log10(b):
            t = (lx - math.log10(a)) / (math.log10(b) - math.log10(a))
            return tuple(round(u + t * (v - u)) for u, v in zip(ca, cb))
    return stops[-1][1]


def colour(f: float | None) -> str:
    """The heatmap colour of a fraction of the tolerance (log scale): green well under it, yellow near it, red
    over it (and for errors), grey for not run."""
    if f is None:
        return NOT_RUN
    f = min(max(f, FLOOR), CEIL)
    rgb = _interp(_STOPS, f) if f <= 1.0 else _interp(_OVER, f)
    return "#" + "".join(f"{v:02x}" for v in rgb)


def _ink(f: float | None) -> str:
    return "#fff" if f is not None and f > 3.0 else "#222"


# -- building the blocks ------------------------------------------------------------------------------------

def _unique_cases(rows: list[Row]) -> list[Any]:
    return list({r.case.id: r.case for r in rows}.values())


def _notes(rows: list[Row]) -> dict[str, dict[tuple[str, int], str]]:
    """Anchors of the rows that other rows link to, keyed by (case id, reference index): the cases table
    (``case``), the documented disagreements (``div``: D1, D2, ...) and the tolerance overrides (``tol``)."""
    out: dict[str, dict] = {"case": {}, "div": {}, "tol": {}}
    for c in _unique_cases(rows):
        for i, ref in enumerate(c.refs):
            out["case"][c.id, i] = f"case-{len(out['case']) + 1}"
            if "§" in c.note + ref.note:
                out["div"][c.id, i] = f"D{len(out['div']) + 1}"
            if ref.tol is not None:
                out["tol"][c.id, i] = f"T{len(out['tol']) + 1}"
    return out


def tables(rows: list[Row], meta: dict) -> list[Table]:
    """The report's tables: summary, versions, Keras classes, failures, overrides, disagreements, cases."""
    out = [_summary(rows, meta),
           Table("Versions", ["package", "version"], [[k, v] for k, v in meta["versions"].items()])]
    out += _keras_class_table(rows)
    notes = _notes(rows)
    fails = [r for r in rows if not r.ok]
    out.append(Table("Failures", ["case", "built-in", "backend", "dtype", "value rel", "grad rel", "tol", "error"],
                     [[Cell(r.case.id, "#" + loss_anchor(loss_of(r.case))), r.ref.render(),
                       r.backend, r.dtype, _e(r.value_rel), _e(r.grad_rel), _e(r.tol), r.error] for r in fails],
                     [True] * len(fails), intro="" if fails else "None.", prose=(7,)))
    out.append(Heading("Divergences", "What the rows above are compared under, each linked from the rows it "
                                      "explains: the tolerance overrides (T1, T2, ...) and the documented "
                                      "disagreements between built-ins (D1, D2, ...). " + WHERE_CITED))
    cases = {c.id: c for c in _unique_cases(rows)}
    tol = notes["tol"]
    out.append(Table("Tolerance overrides", ["case", "built-in", "float64", "float32", "reason"],
                     [[cid, cases[cid].refs[i].render(), _e(t.float64 or float("nan")), _e(t.float32 or float("nan")),
                       t.reason] for (cid, i) in tol for t in (cases[cid].refs[i].tol,)],
                     intro="" if tol else "None.", anchors=list(tol.values()), level=3, prose=(4,)))
    div = notes["div"]
    out.append(Table("Documented disagreements between built-ins", ["case", "built-in", "what differs and why"],
                     [[cid, ref.render(), "; ".join(n for n in (cases[cid].note, ref.note) if n)]
                      for (cid, i) in div for ref in (cases[cid].refs[i],)],
                     intro="Edge inputs where the built-ins themselves disagree (probabilities exactly 0 "
                           "or 1, xlogy(0, 0) gradients, clipping, kinks), with the cited fact from "
                           "BUILTINS and how each row is compared. Nothing here is hidden: the result rows "
                           "pass under exactly these conditions." if div else "None.",
                     anchors=list(div.values()), level=3, prose=(2,)))
    out.append(Table("Cases", ["case", "xploss", "built-in", "gradients", "note"],
                     [[c.id, c.xploss.render(), ref.render(), ", ".join(c.grads_for(ref)) or "—",
                       "; ".join(n for n in (c.note, ref.note) if n)] for c in cases.values() for ref in c.refs],
                     anchors=list(notes["case"].values()), prose=(4,)))
    return out


def _summary(rows: list[Row], meta: dict) -> Table:
    n_fail = sum(not r.ok for r in rows)
    summary = [["comparisons (case × built-in × backend × dtype)", str(len(rows))],
               ["passed", str(len(rows) - n_fail)], ["failed", str(n_fail)],
               ["cases", str(len({r.case.id for r in rows}))],
               ["backends", ", ".join(meta["backends"])], ["runtime", f"{meta['seconds']:.1f} s"],
               ["command", meta["command"]]]
    if meta.get("keras_backends"):
        summary.insert(5, ["xploss.keras class rows on Keras backends", ", ".join(meta["keras_backends"])])
    for dtype in DTYPES:
        for what in ("value", "grad"):
            sel = [r for r in rows if r.dtype == dtype and not r.error]
            if sel:
                w = max(sel, key=lambda r: getattr(r, f"{what}_rel"))
                summary.append([f"worst {dtype} {what} error (rel. to max(|ref|,1))",
                                f"{_e(getattr(w, f'{what}_rel'))} ({w.case.id} vs {w.ref.lib}, {w.backend})"])
    return Table("Summary", ["", ""], summary, failed=[False, False, n_fail > 0],
                 intro="xploss against the torch, Keras and optax built-ins (and reference formulas where no "
                       "framework ships the loss), value and gradient, on every backend. Tolerance: "
                       "|xploss − ref| ≤ tol · max(|ref|, 1) elementwise; 1e-12 in float64, 1e-5 in float32 "
                       "unless a reason is given (Tolerance overrides). Keras runs on its TensorFlow backend (the "
                       "only truly float64 one). " + WHERE_CITED)


def _keras_class_table(rows: list[Row]) -> list[Table]:
    """Per Keras backend and dtype: the ``xploss.keras`` class rows (``conformance/cases_keras_classes.py``)."""
    body, failed = [], []
    for backend in sorted({r.backend for r in rows if r.backend.startswith("keras-")}):
        for dtype in DTYPES:
            sel = [r for r in rows if r.backend == backend and r.dtype == dtype]
            if not sel:
                continue
            ok = [r for r in sel if not r.error]
            worst = {w: max(ok, key=lambda r, w=w: getattr(r, f"{w}_rel"), default=None) for w in ("value", "grad")}
            cells = [backend.removeprefix("keras-"), dtype, str(len(sel)), str(sum(r.ok for r in sel))]
            cells += [f"{_e(getattr(r, f'{w}_rel'))} ({r.case.id})" if r else "—" for w, r in worst.items()]
            body.append(cells)
            failed.append(not all(r.ok for r in sel))
    if not body:
        return []
    return [Table("xploss.keras classes vs the Keras built-ins", ["Keras backend", "dtype", "comparisons", "passed",
                                                                   "worst value rel", "worst grad rel (d/dy_pred)"],
                  body, failed,
                  intro="Each xploss.keras class and the Keras built-in it equals, called loss(y_true, y_pred, "
                        "sample_weight=w) side by side in one Keras process per Keras backend: the default "
                        "reduction and the weighted per-sample losses (reduction=None) for every class, every Keras "
                        "reduction for MSE, BCE and the masked sparse cross-entropy. float64 on TensorFlow only, "
                        "the one Keras backend that computes in float64; the rows are the keras:* cases below.")]


def _worst_cells(rows: list[Row]) -> dict[tuple[str, str], float]:
    cells: dict[tuple[str, str], float] = {}
    for r in rows:
        key = (loss_of(r.case), r.backend)
        cells[key] = max(cells.get(key, 0.0), fraction(r))
    return cells


def grids(rows: list[Row], backends: list[str] | None = None) -> list[Grid]:
    """The loss × backend grids: xploss functions and criteria on the xploss backends (``backends``, default
    those in ``rows``), and the ``xploss.keras`` classes on the Keras backends, if any ran."""
    cells = _worst_cells(rows)
    seen = list(dict.fromkeys(r.backend for r in rows))
    ours = backends or [b for b in seen if not b.startswith("keras-")]
    theirs = [b for b in seen if b.startswith("keras-")]
    out = []
    for level, title, cols, intro in (
            (2, "Summary grid", ours, "Each cell: the worst error of a loss on a backend as a fraction of its "
                                   "tolerance, over its cases, built-ins and both dtypes (≤ 1 passes; “error” when "
                                   "a call raised or a shape, dtype or non-finite entry differs; grey: not run). "
                                   "Green is well under the tolerance, yellow near it, red over it (log scale). "
                                   "A cell links to the loss's rows."),
            (3, "Summary grid: xploss.keras classes", theirs, "The same for the xploss.keras classes, per Keras "
                                                           "backend (float64 on TensorFlow only).")):
        losses = list(dict.fromkeys(loss for (loss, b) in cells if b in cols))
        if losses:
            out.append(Grid(title, losses, cols, {k: v for k, v in cells.items() if k[1] in cols}, intro,
                            {b: b.removeprefix("keras-") for b in cols}, level))
    return out


def _tolerance(sel: list[Row]) -> str:
    """The tolerances of a group, per dtype: "float64 1e-12 · float32 1e-05", a set where they differ."""
    return " · ".join(f"{dt} {_tol_set(r.tol for r in sel if r.dtype == dt)}"
                      for dt in DTYPES if any(r.dtype == dt for r in sel))


RESULT_HEADERS = ["case", "built-in", "backend", "f64 value", "f64 grad", "f32 value", "f32 grad", "worst/tol", "notes"]


def _result_row(by_dtype: dict[str, Row], notes: dict) -> tuple[list[Any], bool]:
    any_row = next(iter(by_dtype.values()))
    key = (any_row.case.id, any_row.ref_index)
    cells: list[Any] = [any_row.case.id, Cell(any_row.ref.lib, "#" + notes["case"][key], any_row.ref.render()),
                        any_row.backend]
    for dtype in DTYPES:
        r = by_dtype.get(dtype)
        for what in ("value", "grad"):
            if r is None or r.error:
                cells.append(Cell("—" if r is None else "error", cls="num"))
            else:
                cells.append(Cell(_e(getattr(r, f"{what}_rel")), title=f"abs {_e(getattr(r, f'{what}_abs'))}",
                                  cls="num"))
    worst = max(fraction(r) for r in by_dtype.values())
    ok = all(r.ok for r in by_dtype.values())
    cells.append(Cell(f"{_frac(worst)} {'✓' if ok else '✗'}", cls="num"))
    links = [Cell(label, "#" + label) for label in (notes["tol"].get(key), notes["div"].get(key)) if label]
    if not links and (any_row.case.note or any_row.ref.note):
        links.append(Cell("note", "#" + notes["case"][key]))
    errors = "; ".join(f"{r.dtype}: {r.error}" for r in by_dtype.values() if r.error)
    cells.append(links + ([errors] if errors else []))
    return cells, not ok


def results(rows: list[Row]) -> Results:
    """The result rows grouped per loss (in the cases' order)."""
    notes = _notes(rows)
    by_loss: dict[str, dict[tuple, dict[str, Row]]] = {}
    for r in rows:
        by_loss.setdefault(loss_of(r.case), {}).setdefault((r.case.id, r.ref_index, r.backend), {})[r.dtype] = r
    groups = []
    for loss, merged in by_loss.items():
        built = [_result_row(by_dtype, notes) for by_dtype in merged.values()]
        sel = [r for by_dtype in merged.values() for r in by_dtype.values()]
        groups.append(Group(loss, [c for c, _ in built], [f for _, f in built], max(map(fraction, sel)),
                            _tolerance(sel)))
    return Results("Results", RESULT_HEADERS, groups,
                   intro="Per loss: one row per case, built-in and backend, with the worst relative error (to "
                         "max(|ref|, 1)) over all elements of the value and of every compared gradient in each dtype "
                         "(the HTML shows the absolute error on hover), the worst of them as a fraction of the "
                         "tolerance, and links to the row's tolerance override (T), documented disagreement (D) or "
                         "note. In the HTML a group opens on a click; the failing ones are open.")


def blocks(rows: list[Row], meta: dict) -> list[Any]:
    """Everything the report shows, in order."""
    tabs = tables(rows, meta)
    k = next(i for i, t in enumerate(tabs) if t.title == "Failures")
    return [*tabs[:k], *grids(rows, meta.get("backends")), tabs[k], results(rows), *tabs[k + 1:]]


# -- Markdown -----------------------------------------------------------------------------------------------

def _md_cell(c: Any) -> str:
    if isinstance(c, list):
        return ", ".join(_md_cell(x) for x in c)
    if isinstance(c, Cell) and c.href:
        return f"[{_md_text(c.text)}]({c.href})"
    return _md_text(str(c))


def _md_text(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def _labelled(anchors: list[str] | None) -> bool:
    """Whether the anchors are labels shown in a column of their own (D1, T1), not only ids (case-1)."""
    return bool(anchors) and not anchors[0].startswith("case-")


def _md_table(headers: list[str], rows: list[list[Any]], anchors: list[str] | None = None) -> list[str]:
    if anchors:
        ids = [f'<a id="{a}"></a>' for a in anchors]
        if _labelled(anchors):
            headers, rows = ["", *headers], [[i + a, *row] for i, a, row in zip(ids, anchors, rows)]
        else:
            rows = [[i + _md_cell(row[0]), *row[1:]] for i, row in zip(ids, rows)]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return lines + ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows] + [""]


def _md_grid(g: Grid, heatmap: str) -> list[str]:
    def cell(loss: str, b: str) -> str:
        f = g.cells.get((loss, b))
        return "—" if f is None else f"{_frac(f)} {'✓' if f <= 1 else '✗'}"
    lines = _md_table(["loss", *map(g.label, g.backends)],
                      [[Cell(loss, "#" + loss_anchor(loss)), *(cell(loss, b) for b in g.backends)]
                       for loss in g.losses])
    return ([f"![loss × backend heatmap]({HEATMAP})", ""] if heatmap == "written" and g.title == "Summary grid"
            else []) + lines


def markdown(title: str, items: list[Any], heatmap: str = "") -> str:
    lines = [f"# {title}", ""]
    for b in items:
        lines += [f"{'#' * b.level} {b.title}", ""]
        if isinstance(b, Grid) and heatmap and heatmap != "written" and b.title == "Summary grid":
            lines += [heatmap, ""]
        if b.intro:
            lines += [b.intro, ""]
        if isinstance(b, Table) and b.rows:
            lines += _md_table(b.headers, b.rows, b.anchors)
        elif isinstance(b, Grid):
            lines += _md_grid(b, heatmap)
        elif isinstance(b, Results):
            for g in b.groups:
                lines += [f'### <a id="{g.anchor}"></a>{g.loss}', "", g.summary, ""]
                lines += _md_table(b.headers, g.rows)
    return "\n".join(lines)


# -- HTML ---------------------------------------------------------------------------------------------------

_CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1500px; padding: 0 1.5em; color: #222; }
nav { margin: 0 0 1em; } nav a { margin-right: 1em; }
.banner { padding: .6em 1em; border-radius: 4px; font-weight: 600; margin: 1em 0; }
.banner.pass { background: #dff3e3; color: #1d5e2c; } .banner.fail { background: #fde2e2; color: #8a1c1c; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 12px; }
th, td { border: 1px solid #d4d4d4; padding: 2px 6px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; position: sticky; top: 0; z-index: 1; }
td { font-family: ui-monospace, monospace; }
tr.fail td { background: #fde2e2; }
tr:nth-child(even):not(.fail) td { background: #fafafa; }
table.results { white-space: nowrap; }
table.results tr.pass td { background: #f1f9f2; }
table.results tr.fail td { background: #fbd9d6; }
table.results td:first-child { border-left: 4px solid #63be7b; }
table.results tr.fail td:first-child { border-left-color: #c62828; }
td.num { text-align: right; }
td.notes { white-space: normal; min-width: 12em; font-family: system-ui, sans-serif; }
table:not(.results):not(.grid) td { overflow-wrap: anywhere; min-width: 5em; }
td.label { white-space: nowrap; font-weight: 600; }
td.prose { font-family: system-ui, sans-serif; min-width: 24em; }
.panels { display: flex; flex-wrap: wrap; gap: 0 1.5em; align-items: flex-start; }
table.grid td { text-align: center; padding: 1px 8px; white-space: nowrap; }
table.grid td.loss { text-align: left; background: #fff; }
table.grid td a { color: inherit; text-decoration: none; display: block; }
table.grid th { position: static; }
.legend span { display: inline-block; padding: 1px 8px; margin-right: 2px; font: 12px ui-monospace, monospace; }
details { margin: 2px 0; } details > table { margin: 0.3em 0 1em 1.2em; }
summary { cursor: pointer; padding: 2px 4px; }
summary .mark { display: inline-block; width: 1.1em; height: 1.1em; vertical-align: -0.2em; margin-right: .4em;
                border-radius: 2px; }
summary b { font-family: ui-monospace, monospace; display: inline-block; min-width: 26em; }
summary .meta { color: #555; margin-left: .6em; font-size: 13px; }
tr:target td { outline: 2px solid #1f6feb; }
h3 { margin-top: 1.5em; }
"""


def _cite(text: str, docs: str) -> str:
    """Escape ``text``, linking every "BUILTINS[-2][.md] §n[, §m]" citation to its section of the docs page."""
    def link(m: re.Match) -> str:
        _, page, prefix = CITED[m.group(1)]

        def one(s: re.Match) -> str:
            return f"<a href='{docs}/{page}#{prefix}{s.group(1).replace('.', '-')}'>{s.group(0)}</a>"
        return (f"<a href='{docs}/{page}'>{m.group(1)}{m.group(2) or ''}</a> "
                + re.sub(r"§(\d+(?:\.\d+)?)", one, m.group(3)))
    out = []
    pattern = r"(BUILTINS(?:-2)?)(\.md)? (§\d+(?:\.\d+)?(?:[-–]\d+(?:\.\d+)?)?(?:, §\d+(?:\.\d+)?)*)"
    pos = 0
    for m in re.finditer(pattern, text):
        out += [html.escape(text[pos:m.start()]), link(m)]
        pos = m.end()
    return "".join(out) + html.escape(text[pos:])


def _html_cell(c: Any, docs: str) -> str:
    if isinstance(c, list):
        return ", ".join(_html_cell(x, docs) for x in c)
    if not isinstance(c, Cell):
        return _cite(str(c), docs)
    title = f" title='{html.escape(c.title)}'" if c.title else ""
    text = html.escape(c.text)
    return f"<a href='{html.escape(c.href)}'{title}>{text}</a>" if c.href else f"<span{title}>{text}</span>"


def _td(c: Any, docs: str, prose: bool = False) -> str:
    cls = c.cls if isinstance(c, Cell) else ("notes" if isinstance(c, list) else "prose" if prose else "")
    return f"<td{f' class={cls!r}' if cls else ''}>{_html_cell(c, docs)}</td>"


def _html_table(headers: list[str], rows: list[list[Any]], failed: list[bool], docs: str, cls: str = "",
                anchors: list[str] | None = None, prose: tuple[int, ...] = ()) -> list[str]:
    anchors = anchors or []
    if _labelled(anchors):
        headers = ["", *headers]
    parts = [f"<table{f' class={cls!r}' if cls else ''}><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in headers)
             + "</tr>"]
    for i, row in enumerate(rows):
        bad = i < len(failed) and failed[i]
        klass = " class='fail'" if bad else (" class='pass'" if cls == "results" else "")
        anchor = anchors[i] if i < len(anchors) else ""
        ident = f" id='{anchor}'" if anchor else ""
        label = [f"<td class='label'>{html.escape(anchor)}</td>"] if _labelled(anchors) else []
        parts.append(f"<tr{klass}{ident}>" + "".join(label)
                     + "".join(_td(c, docs, k in prose) for k, c in enumerate(row)) + "</tr>")
    parts.append("</table>")
    return parts


def _legend() -> str:
    stops = [(1e-4, "≤1e-4"), (1e-2, "1e-2"), (0.3, "0.3"), (1.0, "1"), (2.0, ">1"), (float("inf"), "error"),
             (None, "not run")]
    return ("<p class='legend'>worst / tol: " + "".join(
        f"<span style='background:{colour(f)};color:{_ink(f)}'>{html.escape(t)}</span>" for f, t in stops) + "</p>")


def _html_grid(g: Grid, heatmap: str) -> list[str]:
    parts = [_legend()]
    if g.title == "Summary grid":
        parts.append(f"<p>As a picture: <a href='{HEATMAP}'>{HEATMAP}</a>.</p>" if heatmap == "written"
                     else f"<p>{html.escape(heatmap)}</p>")
    parts.append("<div class='panels'>")
    for losses in _panels(g.losses, HTML_ROWS):
        parts.append("<table class='grid'><tr><th>loss</th>" + "".join(f"<th>{html.escape(g.label(b))}</th>"
                                                                        for b in g.backends) + "</tr>")
        for loss in losses:
            anchor = loss_anchor(loss)
            tds = []
            for b in g.backends:
                f = g.cells.get((loss, b))
                tip = f"{loss} on {b}: " + ("not run" if f is None else f"worst error {_frac(f)} of the tolerance")
                tds.append(f"<td style='background:{colour(f)};color:{_ink(f)}' title='{html.escape(tip)}'>"
                           f"<a href='#{anchor}'>{_frac(f)}</a></td>")
            parts.append(f"<tr><td class='loss'><a href='#{anchor}'>{html.escape(loss)}</a></td>{''.join(tds)}</tr>")
        parts.append("</table>")
    parts.append("</div>")
    return parts


def _html_results(b: Results, docs: str) -> list[str]:
    parts = []
    for g in b.groups:
        bad = any(g.failed)
        mark = f"<span class='mark' style='background:{colour(g.worst)}'></span>"
        parts.append(f"<details id='{g.anchor}'{' open' if bad else ''}><summary>{mark}<b>{html.escape(g.loss)}"
                     f"</b><span class='meta'>{html.escape(g.summary)}</span></summary>")
        parts += _html_table(b.headers, g.rows, g.failed, docs, cls="results")
        parts.append("</details>")
    return parts


def _nav(items: list[Any]) -> str:
    return "<nav>" + "".join(f"<a href='#{_slug(b.title)}'>{html.escape(b.title)}</a>" for b in items
                             if b.level == 2) + "</nav>"


def _banner(rows_table: Table) -> str:
    counts = dict((r[0], r[1]) for r in rows_table.rows)
    n, n_fail = counts.get("comparisons (case × built-in × backend × dtype)", "0"), counts.get("failed", "0")
    if n_fail == "0":
        return f"<div class='banner pass'>All {n} comparisons pass.</div>"
    return f"<div class='banner fail'>{n_fail} of {n} comparisons FAIL.</div>"


def html_page(title: str, items: list[Any], heatmap: str = "", docs: str = "") -> str:
    """The page; ``docs`` is the (relative) URL of the built docs site, for the citations' links."""
    docs = docs or os.path.relpath(DOCS_HTML)
    esc = html.escape
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{esc(title)}</title>",
             f"<style>{_CSS}</style></head><body><h1>{esc(title)}</h1>", _nav(items)]
    for b in items:
        parts.append(f"<h{b.level} id='{_slug(b.title)}'>{esc(b.title)}</h{b.level}>")
        if b.title == "Summary":
            parts.append(_banner(b))
        if b.intro:
            parts.append(f"<p>{_cite(b.intro, docs)}</p>")
        if isinstance(b, Table) and b.rows:
            parts += _html_table(b.headers, b.rows, b.failed, docs, anchors=b.anchors, prose=b.prose)
        elif isinstance(b, Grid):
            parts += _html_grid(b, heatmap)
        elif isinstance(b, Results):
            parts += _html_results(b, docs)
    parts.append("</body></html>")
    return "\n".join(parts)


# -- the heatmap PNG ----------------------------------------------------------------------------------------

# Pixel layout (at DPI): panels side by side, each a column of loss labels and one cell per backend.
DPI = 100
CELL_W, CELL_H, TOP, BOTTOM, GAP, CBAR_W = 84, 18, 70, 16, 24, 110
CHAR_W, LABEL_PAD = 6, 16  # a loss label's width: LABEL_PAD + CHAR_W per character (7.5 pt DejaVu Sans)
MAX_ROWS = 64  # losses per panel of the PNG
HTML_ROWS = 45  # and of the HTML grid


@dataclass
class Layout:
    """Where each grid cell lies in the PNG (pixels from the top left)."""

    width: int
    height: int
    panels: list[tuple[int, list[str], list[str], int]]  # (grid index, losses, backends, left edge of the cells)

    def cell_box(self, grid: int, loss: str, backend: str) -> tuple[int, int, int, int]:
        """``(left, top, right, bottom)`` of one cell."""
        for g, losses, backends, left in self.panels:
            if g == grid and loss in losses:
                x, y = left + backends.index(backend) * CELL_W, TOP + losses.index(loss) * CELL_H
                return x, y, x + CELL_W, y + CELL_H
        raise KeyError((grid, loss, backend))


def _panels(losses: list[str], max_rows: int) -> list[list[str]]:
    """``losses`` in consecutive panels of at most ``max_rows``, as even as possible."""
    per = math.ceil(len(losses) / math.ceil(len(losses) / max_rows))
    return [losses[i:i + per] for i in range(0, len(losses), per)]


def label_width(losses: list[str]) -> int:
    """Pixels of a panel's loss labels."""
    return LABEL_PAD + CHAR_W * max(map(len, losses))


def heatmap_layout(items: list[Grid]) -> Layout:
    """Each grid in panels of at most :data:`MAX_ROWS` losses side by side, then the colour bar."""
    panels, x, rows = [], 0, 0
    for k, g in enumerate(items):
        for losses in _panels(g.losses, MAX_ROWS):
            x += label_width(losses)
            panels.append((k, losses, g.backends, x))
            x += CELL_W * len(g.backends) + GAP
            rows = max(rows, len(losses))
    return Layout(x + CBAR_W, TOP + rows * CELL_H + BOTTOM, panels)


def _cmap() -> Any:
    from matplotlib.colors import LinearSegmentedColormap

    span = math.log10(CEIL) - math.log10(FLOOR)
    pos = [(math.log10(f) - math.log10(FLOOR)) / span for f, _ in _STOPS + _OVER]
    pos[len(_STOPS)] += 1e-6  # the jump at 1: over the tolerance is red at once
    cols = [tuple(v / 255 for v in c) for _, c in _STOPS + _OVER]
    return LinearSegmentedColormap.from_list("xploss_tol", list(zip(pos, cols)), N=1024).with_extremes(bad=NOT_RUN)


def write_heatmap(path: Path, items: list[Grid]) -> Layout:
    """Draw the grids as one PNG (log colour scale of worst / tol); needs matplotlib (ImportError otherwise)."""
    import numpy as np
    from matplotlib.colors import LogNorm
    from matplotlib.figure import Figure

    layout = heatmap_layout(items)
    w, h = layout.width, layout.height
    fig = Figure(figsize=(w / DPI, h / DPI), dpi=DPI)
    cmap, norm = _cmap(), LogNorm(FLOOR, CEIL)
    image = None
    for k, losses, backends, left in layout.panels:
        g = items[k]
        data = np.array([[g.cells.get((loss, b), np.nan) for b in backends] for loss in losses], dtype=float)
        shown = np.clip(np.where(np.isinf(data), CEIL, data), FLOOR, CEIL)
        ax = fig.add_axes((left / w, 1 - (TOP + len(losses) * CELL_H) / h, len(backends) * CELL_W / w,
                           len(losses) * CELL_H / h))
        image = ax.imshow(np.ma.masked_invalid(shown), cmap=cmap, norm=norm, aspect="auto", interpolation="nearest")
        ax.set_xticks(range(len(backends)), [g.label(b) for b in backends], fontsize=8)
        ax.xaxis.tick_top()
        ax.set_yticks(range(len(losses)), losses, fontsize=7.5)
        ax.tick_params(length=0)
        for i, row in enumerate(data):
            for j, f in enumerate(row):
                value = None if np.isnan(f) else float(f)
                if value is not None:
                    ax.text(j, i, _frac(value), ha="center", va="center", fontsize=6.5, color=_ink(value))
        ax.set_xticks(np.arange(len(backends) + 1) - 0.5, minor=True)
        ax.set_yticks(np.arange(len(losses) + 1) - 0.5, minor=True)
        ax.grid(which="minor", color="white", linewidth=0.8)
        ax.tick_params(which="minor", length=0)
        for s in ax.spines.values():
            s.set_visible(False)
        if left == _first_left(layout, k):
            ax.set_title(g.title.replace("Summary grid", "worst error / tolerance"), fontsize=9, loc="left", pad=22)
    cax = fig.add_axes(((w - CBAR_W + 30) / w, 1 - (TOP + 300) / h, 14 / w, 300 / h))
    bar = fig.colorbar(image, cax=cax)
    bar.set_ticks([1e-4, 1e-3, 1e-2, 1e-1, 1, 10, 100], labels=["≤1e-4", "1e-3", "0.01", "0.1", "1", "10", "≥100"])
    bar.ax.tick_params(labelsize=7)
    bar.set_label("worst / tol (> 1 fails)", fontsize=8)
    fig.savefig(path, dpi=DPI)
    return layout


def _first_left(layout: Layout, grid: int) -> int:
    return next(left for k, _, _, left in layout.panels if k == grid)


def _heatmap(out_dir: Path, items: list[Grid]) -> str:
    """Write the PNG; "written", or why not (matplotlib is optional)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return f"{HEATMAP} not written: matplotlib is not installed (pip install matplotlib)."
    write_heatmap(out_dir / HEATMAP, items)
    return "written"


def write(out_dir: Path, rows: list[Row], meta: dict) -> list[Path]:
    """Write ``conformance.md``, ``conformance.html`` and (with matplotlib) ``conformance_heatmap.png``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    items = blocks(rows, meta)
    heatmap = _heatmap(out_dir, [b for b in items if isinstance(b, Grid)])
    title = "xploss conformance report"
    paths = [out_dir / "conformance.md", out_dir / "conformance.html"]
    paths[0].write_text(markdown(title, items, heatmap), encoding="utf-8")
    docs = Path(os.path.relpath(DOCS_HTML, out_dir.resolve())).as_posix()
    paths[1].write_text(html_page(title, items, heatmap, docs), encoding="utf-8")
    return paths + ([out_dir / HEATMAP] if heatmap == "written" else [])

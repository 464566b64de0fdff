"""Write the conformance report as Markdown and as a self-contained HTML page.

Both formats render the same list of :class:`Table` objects, so they cannot
drift apart.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Row", "Table", "tables", "write"]


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


@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list[str]]
    failed: list[bool] = field(default_factory=list)  # per row, highlighted
    intro: str = ""


def _e(x: float) -> str:
    return "—" if x != x else f"{x:.1e}"


def _status(rows: list[Row]) -> str:
    return "pass" if all(r.ok for r in rows) else "FAIL"


def tables(rows: list[Row], meta: dict) -> list[Table]:
    """The report's tables: summary, versions, failures, overrides, disagreements, results, cases."""
    out = []
    n_fail = sum(not r.ok for r in rows)
    summary = [["comparisons (case × built-in × backend × dtype)", str(len(rows))],
               ["passed", str(len(rows) - n_fail)], ["failed", str(n_fail)],
               ["cases", str(len({r.case.id for r in rows}))],
               ["backends", ", ".join(meta["backends"])], ["runtime", f"{meta['seconds']:.1f} s"],
               ["command", meta["command"]]]
    for dtype in ("float64", "float32"):
        for what in ("value", "grad"):
            sel = [r for r in rows if r.dtype == dtype and not r.error]
            if sel:
                w = max(sel, key=lambda r: getattr(r, f"{what}_rel"))
                summary.append([f"worst {dtype} {what} error (rel. to max(|ref|,1))",
                                f"{_e(getattr(w, f'{what}_rel'))} ({w.case.id} vs {w.ref.lib}, {w.backend})"])
    out.append(Table("Summary", ["", ""], summary,
                     intro="xploss against the torch, Keras and optax built-ins (and reference formulas where no "
                           "framework ships the loss), value and gradient, on every backend. Tolerance: "
                           "|xploss − ref| ≤ tol · max(|ref|, 1) elementwise; 1e-12 in float64, 1e-5 in float32 "
                           "unless a reason is given below. Keras runs on its TensorFlow backend (the only truly "
                           "float64 one)."))
    if meta.get("keras_backends"):
        summary.insert(5, ["xploss.keras class rows on Keras backends", ", ".join(meta["keras_backends"])])
    out.append(Table("Versions", ["package", "version"], [[k, v] for k, v in meta["versions"].items()]))
    out += _keras_class_table(rows)
    fails = [r for r in rows if not r.ok]
    out.append(Table("Failures", ["case", "built-in", "backend", "dtype", "value rel", "grad rel", "tol", "error"],
                     [[r.case.id, r.ref.render(), r.backend, r.dtype, _e(r.value_rel), _e(r.grad_rel), _e(r.tol),
                       r.error] for r in fails], [True] * len(fails), intro="" if fails else "None."))
    overrides = {(c.id, ref.render()): ref.tol for c in {r.case.id: r.case for r in rows}.values()
                 for ref in c.refs if ref.tol is not None}
    out.append(Table("Tolerance overrides", ["case", "built-in", "float64", "float32", "reason"],
                     [[cid, call, _e(t.float64 or float("nan")), _e(t.float32 or float("nan")), t.reason]
                      for (cid, call), t in overrides.items()], intro="" if overrides else "None."))
    cases_by_id = {r.case.id: r.case for r in rows}
    edges = [[c.id, ref.render(), "; ".join(n for n in (c.note, ref.note) if n)]
             for c in cases_by_id.values() for ref in c.refs if "§" in c.note + ref.note]
    out.append(Table("Documented disagreements between built-ins", ["case", "built-in", "what differs and why"],
                     edges, intro="Edge inputs where the built-ins themselves disagree (probabilities exactly 0 "
                                  "or 1, xlogy(0, 0) gradients, clipping, kinks), with the cited fact from "
                                  "BUILTINS.md and how each row is compared. Nothing here is hidden: the result rows "
                                  "pass under exactly these conditions." if edges else "None."))
    groups: dict[tuple, dict[str, Row]] = {}
    for r in rows:
        groups.setdefault((r.case.id, r.ref_index, r.backend), {})[r.dtype] = r
    body, failed = [], []
    for (cid, _, backend), by_dtype in groups.items():
        any_row = next(iter(by_dtype.values()))
        cells = [cid, any_row.ref.lib, backend]
        for dtype in ("float64", "float32"):
            r = by_dtype.get(dtype)
            cells += [_e(x) for x in ((r.value_abs, r.value_rel, r.grad_abs, r.grad_rel) if r else (float("nan"),) * 4)]
        cells += ["/".join(_e(r.tol) for r in by_dtype.values()), _status(list(by_dtype.values()))]
        errors = "; ".join(f"{r.dtype}: {r.error}" for r in by_dtype.values() if r.error)
        cells.append(errors)
        body.append(cells)
        failed.append(cells[-2] != "pass")
    out.append(Table("Results", ["case", "ref", "backend", "f64 value abs", "f64 value rel", "f64 grad abs",
                                 "f64 grad rel", "f32 value abs", "f32 value rel", "f32 grad abs", "f32 grad rel",
                                 "tol (f64/f32)", "status", "error"], body, failed,
                     intro="Worst absolute and relative (to max(|ref|, 1)) error over all elements of the value and "
                           "of every compared gradient."))
    cases = {r.case.id: r.case for r in rows}.values()
    out.append(Table("Cases", ["case", "xploss", "built-in", "gradients", "note"],
                     [[c.id, c.xploss.render(), ref.render(), ", ".join(c.grads_for(ref)) or "—",
                       "; ".join(n for n in (c.note, ref.note) if n)] for c in cases for ref in c.refs]))
    return out


def _keras_class_table(rows: list[Row]) -> list[Table]:
    """Per Keras backend and dtype: the ``xploss.keras`` class rows (``conformance/cases_keras_classes.py``)."""
    body, failed = [], []
    for backend in sorted({r.backend for r in rows if r.backend.startswith("keras-")}):
        for dtype in ("float64", "float32"):
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


def _md_cell(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def markdown(title: str, tabs: list[Table]) -> str:
    lines = [f"# {title}", ""]
    for t in tabs:
        lines += [f"## {t.title}", ""]
        if t.intro:
            lines += [t.intro, ""]
        if t.rows:
            lines += ["| " + " | ".join(t.headers) + " |", "|" + "---|" * len(t.headers)]
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in t.rows]
            lines.append("")
    return "\n".join(lines)


_CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 12px; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; position: sticky; top: 0; }
td { font-family: ui-monospace, monospace; }
tr.fail td { background: #fde2e2; }
tr:nth-child(even):not(.fail) td { background: #fafafa; }
"""


def html_page(title: str, tabs: list[Table]) -> str:
    esc = html.escape
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{esc(title)}</title>",
             f"<style>{_CSS}</style></head><body><h1>{esc(title)}</h1>"]
    for t in tabs:
        parts.append(f"<h2>{esc(t.title)}</h2>")
        if t.intro:
            parts.append(f"<p>{esc(t.intro)}</p>")
        if t.rows:
            parts.append("<table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in t.headers) + "</tr>")
            for i, row in enumerate(t.rows):
                cls = " class='fail'" if i < len(t.failed) and t.failed[i] else ""
                parts.append(f"<tr{cls}>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>")
            parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write(out_dir: Path, rows: list[Row], meta: dict) -> list[Path]:
    """Write ``conformance.md`` and ``conformance.html`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tabs = tables(rows, meta)
    title = "xploss conformance report"
    paths = [out_dir / "conformance.md", out_dir / "conformance.html"]
    paths[0].write_text(markdown(title, tabs), encoding="utf-8")
    paths[1].write_text(html_page(title, tabs), encoding="utf-8")
    return paths

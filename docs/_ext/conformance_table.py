"""``.. conformance-table:: <family>``: the built-in equivalence rows of one loss family.

The rows come from the conformance suite itself, so the docs cannot drift from
what is tested.  Contract: ``conformance.cases.equivalence_rows()`` (or, as a
fallback, ``conformance.cases.doc_rows()``) returns an iterable of dicts with
the keys

* ``loss``: the public name of an xploss function (an alias is fine);
* ``xploss`` (optional): the xploss call of the case, shown instead of the name;
* ``builtin``: the built-in call or reference formula it is compared with
  (``"—"`` or empty when there is none);
* ``mapping``: how xploss' arguments map onto the built-in's;
* ``note``: conditions, tolerance overrides, known differences.

The directive keeps the rows whose loss is exported by
``xploss.losses._<family>`` and warns about any loss of that family without a
row, so that a loss without a conformance case fails the ``-W`` build.
"""

from __future__ import annotations

import importlib
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

COLUMNS = (("xploss", "xploss", 30), ("builtin", "Built-in", 30), ("mapping", "Mapping", 20), ("note", "Note", 20))


def family_losses(family: str) -> dict[str, str]:
    """Every public name of a family module -> the canonical name of its function."""
    import xploss

    module = importlib.import_module(f"xploss.losses._{family}")
    return {name: getattr(xploss, name).__name__ for name in module.__all__
            if hasattr(getattr(xploss, name), "__xploss_loss__")}  # helpers such as center_update are not losses


def load_rows() -> tuple[str, list[dict[str, Any]]]:
    """The case module's file (a build dependency) and its rows."""
    cases = importlib.import_module("conformance.cases")
    rows = getattr(cases, "equivalence_rows", None) or cases.doc_rows
    return cases.__file__, [dict(r) for r in rows()]


class ConformanceTable(SphinxDirective):
    required_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        family = self.arguments[0]
        try:
            names = family_losses(family)
            source, rows = load_rows()
        except (ImportError, AttributeError) as exc:
            logger.warning("conformance-table %s: %s", family, exc, location=self.get_location())
            return []
        self.env.note_dependency(source)
        rows = [r for r in rows if r["loss"] in names]
        missing = sorted(set(names.values()) - {names[r["loss"]] for r in rows})
        if missing:
            logger.warning("conformance-table %s: no conformance row for %s", family, ", ".join(missing),
                           location=self.get_location())
        order = list(dict.fromkeys(names.values()))
        rows.sort(key=lambda r: order.index(names[r["loss"]]))  # stable: keeps the cases' own order
        return [self._table([[self._cell(key, r, names) for key, _, _ in COLUMNS] for r in rows])]

    def _cell(self, key: str, row: dict[str, Any], names: dict[str, str]) -> nodes.entry:
        text = str(row.get(key) or "").strip()
        if key == "xploss":
            if text:
                content = [nodes.literal(text, text)]
            else:
                content, _ = self.state.inline_text(f":func:`~xploss.{names[row['loss']]}`", self.lineno)
        elif key == "builtin":
            content = [nodes.literal(text, text)] if text and text != "—" else [nodes.emphasis("", "none")]
        else:
            content = [nodes.Text(text)]
        return nodes.entry("", nodes.paragraph("", "", *content))

    def _table(self, body: list[list[nodes.entry]]) -> nodes.table:
        group = nodes.tgroup(cols=len(COLUMNS))
        group += [nodes.colspec(colwidth=width) for _, _, width in COLUMNS]
        head = nodes.row("", *(nodes.entry("", nodes.paragraph("", title)) for _, title, _ in COLUMNS))
        group += nodes.thead("", head)
        group += nodes.tbody("", *(nodes.row("", *cells) for cells in body))
        return nodes.table("", group, classes=["conformance-table"])


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("conformance-table", ConformanceTable)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}

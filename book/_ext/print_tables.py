"""Tables that fit the printed page (the PDF edition, make pdf).

Sphinx sets a long table's columns as LaTeX `l` columns, which never wrap: a table with
long text runs off the right margin and its last columns are lost. For LaTeX builds each
table's columns get widths in proportion to their longest entry (capped, so one long text
column does not squeeze the rest to nothing) and wrap within the text block, and a long
unbroken word in a cell (a sha256, a file name, an address) may break every few characters
(a zero-width space, declared for pdflatex in _config.yml). Tables wider than a page are
already printed in parts (helpers.display.PRINTED_COLUMNS).
"""

import re

from docutils import nodes

# Characters: a column is never narrower than a short number, nor wider than a phrase.
NARROWEST, WIDEST = 4, 40
LONG_WORD = re.compile(r"\S{16,}")
BREAK = "\u200b"


def breakable(text: str) -> str:
    """Long words with a break opportunity every 8 characters."""
    return LONG_WORD.sub(lambda m: BREAK.join(m.group()[i : i + 8] for i in range(0, len(m.group()), 8)), text)


def column_widths(tgroup: nodes.tgroup) -> list[int]:
    count = sum(isinstance(child, nodes.colspec) for child in tgroup.children)
    widths = [NARROWEST] * count
    for row in tgroup.findall(nodes.row):
        for i, entry in enumerate(e for e in row.children if isinstance(e, nodes.entry)):
            if i < count:
                widths[i] = max(widths[i], min(len(entry.astext()), WIDEST))
    return widths


def fit_tables(app, doctree, docname):
    if app.builder.format != "latex":
        return
    for table in doctree.findall(nodes.table):
        for tgroup in table.findall(nodes.tgroup):
            specs = [child for child in tgroup.children if isinstance(child, nodes.colspec)]
            for spec, width in zip(specs, column_widths(tgroup), strict=True):
                spec["colwidth"] = width
        table["classes"] = [c for c in table["classes"] if c != "colwidths-auto"] + ["colwidths-given"]
        for text in list(table.findall(nodes.Text)):
            if LONG_WORD.search(text.astext()):  # an address so changed links by its breakable text
                text.parent.replace(text, nodes.Text(breakable(text.astext())))


def setup(app):
    app.connect("doctree-resolved", fit_tables)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

"""A pasted figure that a run could not compute reads "-", never "nan".

Pages paste numbers from the chapters with myst-nb's glue (`{glue:text}` with a format),
which formats a missing value (NaN, glued when a run's extract lacks a category) as "nan".
Once every pasted reference is resolved, such a figure is shown as "-", the book's mark for
a figure with no value (the chapters' tables use the same).
"""

from docutils import nodes

MISSING = {"nan", "-nan", "nan%", "-nan%"}


def show_missing(app, doctree, docname):
    for node in list(doctree.findall(nodes.inline)):
        if "pasted-text" in node.get("classes", []) and node.astext().strip().lower() in MISSING:
            node.clear()
            node += nodes.Text("-")


def setup(app):
    app.connect("doctree-resolved", show_missing)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

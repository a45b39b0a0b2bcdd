"""Sphinx fixes that keep the built book clean in a browser with no network.

- sphinx-thebe (always loaded by Jupyter Book 1) registers its configuration script
  twice under Sphinx 7, redeclaring a `const`: a script error on every page. The
  book runs no live code, so thebe's handlers are disconnected.
- On a first visit the theme reads an empty colour mode from localStorage and logs
  an error (pydata-sphinx-theme); theme-mode.js sets "auto" before the theme reads it.

It also adds sortable.js, which makes the book's tables sortable in the page.
"""


def _drop_thebe(app):
    for listeners in app.events.listeners.values():
        listeners[:] = [listener for listener in listeners if listener.handler.__module__ != "sphinx_thebe"]


def setup(app):
    app.connect("builder-inited", _drop_thebe)
    app.add_js_file("theme-mode.js")
    app.add_js_file("sortable.js")
    return {"parallel_read_safe": True, "parallel_write_safe": True}

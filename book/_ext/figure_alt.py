"""Each figure is stored once in its notebook, as a PNG whose output metadata carries the alt
text (helpers.display.show): the web book and the PDF both use that image file. myst-nb keeps
only width and height from an image's metadata, so this extension passes the alt text, which
states the figure's finding (WCAG 1.1.1), and the book's figure class on to the image node."""

from myst_nb.core.render import NbElementRenderer

_render_image = NbElementRenderer.render_image


def _render_image_with_alt(self, data):
    rendered = _render_image(self, data)
    options = data.output_metadata.get(data.mime_type, {})
    for node in rendered:
        if "alt" in options:
            node["alt"] = str(options["alt"])
            node["classes"].append("vw-figure")
    return rendered


def setup(app):
    NbElementRenderer.render_image = _render_image_with_alt
    return {"parallel_read_safe": True, "parallel_write_safe": True}

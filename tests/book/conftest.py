"""The built books: make test renders the default run and executes a second one first."""
import nbformat
import pytest

from helpers.paths import ROOT
from helpers.runner import toc_pages

BUILD = ROOT / "_build"


def built(run: str):
    html = BUILD / run / "html"
    if not (html / "index.html").is_file():
        pytest.fail(f"{html}/index.html is missing: `make test` builds it (python -m helpers run ...)")
    return html


def toc_files() -> list[str]:
    return toc_pages()


def glued(run: str, notebook: str) -> dict[str, str]:
    """Values a run's executed notebook glued for its prose, by name (text/plain)."""
    nb = nbformat.read(BUILD / run / "notebooks" / notebook, as_version=4)
    values = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if "scrapbook" in out.get("metadata", {}):
                prefix = out.metadata["scrapbook"]["mime_prefix"]
                values[out.metadata["scrapbook"]["name"]] = out.data.get(f"{prefix}text/markdown", out.data.get(f"{prefix}text/plain"))
    return values


@pytest.fixture(scope="session")
def html_dir():
    return built("default")

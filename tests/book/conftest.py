"""The built books: make test renders the default run and executes a second one first."""

import pytest

from helpers.paths import ROOT
from helpers.recommendations import glued as glued_values
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
    """Values a run's executed notebook glued for its prose, by name."""
    return glued_values(BUILD / run / "notebooks" / notebook)


@pytest.fixture(scope="session")
def html_dir():
    return built("default")

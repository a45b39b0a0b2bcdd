"""Every notebook has its MyST Markdown pair (jupytext.toml), with the same cells."""

import jupytext
import pytest

from helpers.paths import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def cells(notebook) -> list[tuple[str, str]]:
    return [(c.cell_type, c.source.strip()) for c in notebook.cells]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_notebook_and_its_markdown_pair_hold_the_same_cells(path):
    pair = path.with_suffix(".md")
    assert pair.is_file(), f"{pair.name} is missing: run `.venv/bin/jupytext --sync {path.relative_to(ROOT)}`"
    assert cells(jupytext.read(pair)) == cells(jupytext.read(path)), (
        f"{pair.name} and {path.name} differ: edit one, then `.venv/bin/jupytext --sync {path.relative_to(ROOT)}`"
    )


def test_a_drifted_pair_is_caught(tmp_path):
    notebook = jupytext.read(NOTEBOOKS[0])
    jupytext.write(notebook, tmp_path / "n.md", fmt="md:myst")
    notebook.cells[-1].source += "\nprint('changed')"
    assert cells(jupytext.read(tmp_path / "n.md")) != cells(notebook)

"""The one runner: fetch data, execute every notebook with papermill, render the book.

papermill executes (with the run's parameters); Jupyter Book only renders
(execute_notebooks: off). Each run writes only under _build/<run_name>/:
  notebooks/  the executed notebooks
  source/     the staged book sources (pages, executed notebooks, the run page)
  html/       the built book
A notebook that fails stops the run before anything of it is staged; the failed
notebook is kept in _build/<run_name>/failed/ so its traceback can be read.
"""
import datetime as dt
import importlib.metadata
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import papermill
import yaml

from .errors import InputError
from .io import read_yaml
from .params import Params
from .paths import ROOT, resolve
from .sources import fetch, load_sources
from .synth import ensure

NOTEBOOKS = ROOT / "notebooks"
BUILD = ROOT / "_build"
BOOK_FILES = ("_config.yml", "_toc.yml")


def toc_pages() -> list[str]:
    """Every page of the book, in reading order (paths without suffix, from _toc.yml)."""
    toc = read_yaml(ROOT / "_toc.yml")
    return [toc["root"]] + [chapter["file"] for part in toc["parts"] for chapter in part["chapters"]]
REPORTED_PACKAGES = ("jupyter-book", "myst-nb", "papermill", "pandas", "numpy", "matplotlib", "statsmodels", "duckdb")
# Execution metadata that changes on every run; dropping it keeps re-executed notebooks byte-stable.
VOLATILE_CELL_KEYS = ("papermill", "execution")
VOLATILE_NB_KEYS = ("start_time", "end_time", "duration", "input_path", "output_path", "environment_variables", "version")


class RunError(RuntimeError):
    """A notebook failed to execute or the book failed to build."""


def notebook_paths() -> list[Path]:
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def tidy(path: Path) -> None:
    """Drop volatile execution metadata; hide papermill's injected-parameters cell in the book."""
    notebook = nbformat.read(path, as_version=4)
    for key in VOLATILE_NB_KEYS:
        notebook.metadata.get("papermill", {}).pop(key, None)
    for cell in notebook.cells:
        for key in VOLATILE_CELL_KEYS:
            cell.metadata.pop(key, None)
        tags = cell.metadata.get("tags", [])
        if "injected-parameters" in tags:
            cell.id = "injected-parameters"  # papermill draws a random id on every run
            if "remove-cell" not in tags:
                tags.append("remove-cell")
    nbformat.write(notebook, path)


def execute(params: Params, out_dir: Path) -> None:
    """Execute every notebook into `out_dir`, all or nothing."""
    partial = out_dir.with_name(f".{out_dir.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for source in notebook_paths():
        target = partial / source.name
        print(f"  executing {source.name}", flush=True)
        try:
            papermill.execute_notebook(
                source, target, parameters=params.for_notebook(), cwd=str(NOTEBOOKS),
                kernel_name="python3", progress_bar=False, request_save_on_cell_execute=False,
            )
        except papermill.PapermillExecutionError as exc:
            failed = out_dir.with_name("failed")
            failed.mkdir(exist_ok=True)
            shutil.move(target, failed / source.name)
            shutil.rmtree(partial)
            raise RunError(
                f"{source.name} failed in cell [{exc.exec_count}]: {exc.ename}: {exc.evalue}\n"
                f"The executed notebook, with the traceback, is kept in {failed / source.name}"
            ) from None
        tidy(target)
    shutil.rmtree(out_dir, ignore_errors=True)
    partial.rename(out_dir)


def _markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def sources_table() -> str:
    rows = [[s.title, s.publisher, f"<{s.url}>", s.licence, f"`{s.file}`", f"`{s.sha256}`"] for s in load_sources().values()]
    return _markdown_table(["Source", "Publisher", "Official URL", "Licence", "File", "sha256"], rows)


def run_page(params: Params, params_path: Path) -> str:
    """The 'About this run' page: parameters, data sources and software versions."""
    values = [[f"`{k}`", f"`{v}`"] for k, v in params.for_notebook().items()]
    versions = [[name, importlib.metadata.version(name)] for name in REPORTED_PACKAGES]
    return (
        "# About this run\n\n"
        f"This edition of the book was produced by the parameters file `{params_path}`. "
        "To produce it again, or for another period, run "
        f"`make book PARAMS={params_path}` (see the README).\n\n"
        f"## Parameters\n\n{_markdown_table(['Parameter', 'Value'], values)}\n"
        f"## Data sources\n\nEach file was verified against its sha256 before use.\n\n{sources_table()}\n"
        f"## Software\n\nPython {platform.python_version()}.\n\n{_markdown_table(['Package', 'Version'], versions)}"
    )


def stage(params: Params, params_path: Path, executed: Path, tree: Path) -> None:
    """Lay out the book sources of one run: pages, executed notebooks, generated pages."""
    shutil.rmtree(tree, ignore_errors=True)
    shutil.copytree(ROOT / "book", tree / "book")
    shutil.copytree(executed, tree / "notebooks")
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    if params.run_name != "default":
        config["title"] = f"{config['title']} ({params.period_label})"
    (tree / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    shutil.copy(ROOT / "_toc.yml", tree / "_toc.yml")
    (tree / "book" / "run.md").write_text(run_page(params, params_path))
    (tree / "book" / "_generated").mkdir(exist_ok=True)
    (tree / "book" / "_generated" / "data_sources.md").write_text(sources_table())


def render(tree: Path, html_dir: Path) -> None:
    """Jupyter Book renders only; warnings are errors, and every page is attempted."""
    command = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(tree), "--builder", "html",
               "-n", "-W", "--keep-going", "--quiet"]
    result = subprocess.run(command, capture_output=True, text=True)
    built = tree / "_build" / "html"
    if result.returncode != 0 or not (built / "index.html").is_file():
        raise RunError(f"jupyter-book build failed (exit {result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    shutil.rmtree(html_dir, ignore_errors=True)
    built.rename(html_dir)


def pdf(params: Params) -> Path:
    """The PDF edition of a built run: the run's staged sources through LaTeX (pdflatex),
    offline. Figures come as PNGs and tables in their Markdown form (helpers.display)."""
    tree = BUILD / params.run_name / "source"
    if not (tree / "_toc.yml").is_file():
        raise RunError(f"{tree}: no staged book for run {params.run_name!r}; build it first (make book)")
    # Code is one click away in the web book; a printed reader gets the text, figures and tables.
    config = yaml.safe_load((tree / "_config.yml").read_text())
    config["sphinx"]["config"]["nb_remove_code_source"] = True
    (tree / "_config_pdf.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    command = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(tree), "--builder", "pdflatex",
               "--config", str(tree / "_config_pdf.yml"), "--quiet"]
    result = subprocess.run(command, capture_output=True, text=True)
    built = tree / "_build" / "latex" / "victim-withdrawal.pdf"
    if result.returncode != 0 or not built.is_file():
        raise RunError(f"PDF build failed (exit {result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    target = BUILD / params.run_name / f"victim-withdrawal-{params.run_name}.pdf"
    shutil.copy(built, target)
    return target


def bring_data(params: Params, mirror: Path | None = None) -> None:
    """Public sources from the mirror; the synthetic extract generated if the run uses one."""
    fetch(mirror or resolve(params.mirror), resolve(params.raw_dir))
    if params.synthetic:
        ensure(resolve(params.extract_dir), params.period_start, params.period_end, params.synthetic_scale,
               params.synthetic_seed, changes=resolve(params.synthetic_changes) if params.synthetic_changes else None)
    elif not resolve(params.extract_dir).is_dir():
        raise InputError(f"extract folder {resolve(params.extract_dir)} does not exist (extract_dir in the parameters)")


def run(params: Params, params_path: Path, mirror: Path | None = None, render_only: bool = False,
        update_baseline: bool = False) -> Path:
    """Produce the book of one run; returns the path of its index.html."""
    started = dt.datetime.now()
    out = BUILD / params.run_name
    bring_data(params, mirror)
    executed = out / "notebooks"
    if render_only:
        shutil.rmtree(executed, ignore_errors=True)
        executed.mkdir(parents=True)
        for path in notebook_paths():
            shutil.copy(path, executed / path.name)
    else:
        print(f"Executing notebooks for run '{params.run_name}' ({params.period_label})", flush=True)
        execute(params, executed)
    if update_baseline:
        if params.run_name != "default":
            raise InputError("only the default run's notebooks are committed; use params/default.yml")
        for path in executed.glob("*.ipynb"):
            shutil.copy(path, NOTEBOOKS / path.name)
    stage(params, params_path, executed, out / "source")
    render(out / "source", out / "html")
    index = out / "html" / "index.html"
    print(f"Book built in {(dt.datetime.now() - started).total_seconds():.0f} s: {index}", flush=True)
    return index

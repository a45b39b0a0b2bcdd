"""The one runner: fetch data, execute every notebook with papermill, render the book.

papermill executes (with the run's parameters); Jupyter Book only renders
(execute_notebooks: off). Each run writes only under _build/<run_name>/:
  notebooks/  the executed notebooks
  source/     the staged book sources (pages, executed notebooks, the run page)
  html/       the built book
The analysis datasets the chapters share are built once, before any notebook runs; the
chapters then execute side by side (one kernel a core), the longest first. A notebook
that fails stops the run before anything of it is staged; the failed notebook is kept
in _build/<run_name>/failed/ so its traceback can be read.
"""

import html
import importlib.metadata
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from pathlib import Path

import nbformat
import papermill
import yaml

from . import dataset, published
from .errors import InputError
from .io import read_yaml
from .params import Params, load_params
from .paths import ROOT, resolve
from .sources import fetch, load_sources
from .synth import ensure

NOTEBOOKS = ROOT / "notebooks"
BUILD = ROOT / "_build"
BOOK_FILES = ("_config.yml", "_toc.yml")


# Pages about the synthetic extract only: left out of a book built on a supplied extract.
SYNTHETIC_ONLY = ("notebooks/90_synthetic_calibration",)
# The kernel's own log (not the notebook's output) would print, for every notebook, a warning
# that it talks to papermill over TCP without encryption (on localhost) and a KeyboardInterrupt
# at shutdown. A failing cell is reported from the notebook, with its traceback, all the same.
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=CRITICAL"]
# Kernels side by side get one BLAS/OpenMP thread each: OpenBLAS threads spin while they wait,
# and two kernels of two threads on two cores ran the driver models 7 times slower (313 s
# against 45 s). A run one at a time (make baseline) keeps the machine's default.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
TIMINGS = "timings.json"  # seconds per notebook of the last run: the next run starts the longest first


def toc(params: Params | None = None) -> dict:
    """The book's table of contents (_toc.yml), without the synthetic-only pages when the
    run uses a supplied extract."""
    contents = read_yaml(ROOT / "_toc.yml")
    if params is not None and not params.synthetic:
        for part in contents["parts"]:
            part["chapters"] = [c for c in part["chapters"] if c["file"] not in SYNTHETIC_ONLY]
        contents["parts"] = [part for part in contents["parts"] if part["chapters"]]
    return contents


def toc_pages(params: Params | None = None) -> list[str]:
    """Every page of the book, in reading order (paths without suffix, from _toc.yml)."""
    contents = toc(params)
    return [contents["root"]] + [chapter["file"] for part in contents["parts"] for chapter in part["chapters"]]


REPORTED_PACKAGES = ("jupyter-book", "myst-nb", "papermill", "pandas", "numpy", "matplotlib", "statsmodels", "duckdb")
# Execution metadata that changes on every run; dropping it keeps re-executed notebooks byte-stable.
VOLATILE_CELL_KEYS = ("papermill", "execution")
VOLATILE_NB_KEYS = (
    "start_time",
    "end_time",
    "duration",
    "input_path",
    "output_path",
    "environment_variables",
    "version",
)


class RunError(RuntimeError):
    """A notebook failed to execute or the book failed to build."""


def notebook_paths(params: Params | None = None) -> list[Path]:
    """The run's notebooks in book order (all of them when no run is given)."""
    skip = () if params is None or params.synthetic else SYNTHETIC_ONLY
    return [p for p in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")) if f"notebooks/{p.stem}" not in skip]


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
            cell.source = cell.source.rstrip()  # as ruff formats it (make lint checks the notebooks)
            if "remove-cell" not in tags:
                tags.append("remove-cell")
    nbformat.write(notebook, path)


def _execute_one(source: Path, target: Path, params: Params) -> float:
    began = time.perf_counter()
    papermill.execute_notebook(
        source,
        target,
        parameters=params.for_notebook(),
        cwd=str(NOTEBOOKS),
        kernel_name="python3",
        progress_bar=False,
        request_save_on_cell_execute=False,
        extra_arguments=KERNEL_ARGUMENTS,
    )
    tidy(target)
    return time.perf_counter() - began


@contextmanager
def _one_thread_each(jobs: int):
    """Kernels started inside inherit one BLAS thread each when `jobs` run side by side."""
    saved = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    if jobs > 1:
        os.environ.update({name: "1" for name in THREAD_VARIABLES})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def execute(params: Params, out_dir: Path, jobs: int | None = None) -> None:
    """Execute the run's notebooks into `out_dir`, `jobs` at a time, all or nothing."""
    partial = out_dir.with_name(f".{out_dir.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    sources = notebook_paths(params)
    timings_path = out_dir.parent / TIMINGS
    known = [p for p in (timings_path, BUILD / "default" / TIMINGS) if p.is_file()]  # this run's, else the default's
    last = json.loads(known[0].read_text()) if known else {}
    order = sorted(sources, key=lambda p: -last.get(p.stem, 0.0))  # the longest first: the last to start is short
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(sources)))
    began, seconds, failures = time.perf_counter(), {}, []
    with _one_thread_each(jobs), ThreadPoolExecutor(max_workers=jobs) as pool:  # each kernel is its own process
        futures = {pool.submit(_execute_one, p, partial / p.name, params): p for p in order}
        for future in as_completed(futures):
            source = futures[future]
            number = f"({sources.index(source) + 1} of {len(sources)})"
            try:
                seconds[source.stem] = future.result()
            except papermill.PapermillExecutionError as exc:
                failures.append((source, exc))
                print(f"  {source.stem} {number} FAILED in cell [{exc.exec_count}]", flush=True)
                continue
            print(f"  executed {source.stem} {number} … {seconds[source.stem]:.0f} s", flush=True)
    if failures:
        failed = out_dir.with_name("failed")
        failed.mkdir(exist_ok=True)
        for source, _ in failures:
            shutil.move(partial / source.name, failed / source.name)
        shutil.rmtree(partial)
        raise RunError(
            "\n".join(
                f"{source.name} failed in cell [{exc.exec_count}]: {exc.ename}: {exc.evalue}\n"
                f"The executed notebook, with the traceback, is kept in {failed / source.name}"
                for source, exc in failures
            )
        )
    print(f"  {len(sources)} notebooks executed in {time.perf_counter() - began:.0f} s ({jobs} at a time)", flush=True)
    shutil.rmtree(out_dir, ignore_errors=True)
    partial.rename(out_dir)
    timings_path.write_text(json.dumps({k: round(v, 1) for k, v in sorted(seconds.items())}, indent=1) + "\n")


def _markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def sources_table() -> str:
    rows = [
        [s.title, s.publisher, f"<{s.url}>", s.licence, f"`{s.file}`", f"`{s.sha256}`"] for s in load_sources().values()
    ]
    return _markdown_table(["Source", "Publisher", "Official URL", "Licence", "File", "sha256"], rows)


def published_files() -> str:
    """The data log's list of the pack's published figures: each file, its rows, its periods and
    the chapters that show every row (config/published_pages.yml, checked by the book tests)."""
    pages = yaml.safe_load((ROOT / "config" / "published_pages.yml").read_text()) or {}
    rows = []
    for name, chapters in sorted(pages.items()):
        figures = published.load(name)
        periods = ", ".join(sorted(figures["period"].astype(str).unique()))
        links = ", ".join(f"[{c[:2]}](../notebooks/{c}.ipynb)" for c in chapters)
        rows.append([f"`{name}.csv`", f"{len(figures):,}", periods, links])
    return _markdown_table(["File", "Figures", "Period (the pack's)", "Shown in chapter"], rows)


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


def page_title(path: Path) -> str:
    """The first level-1 heading of a page (.md) or notebook (.ipynb)."""
    if path.suffix == ".ipynb":
        text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")
    else:
        text = path.read_text(encoding="utf-8")
    heading = next((line[2:].strip() for line in text.splitlines() if line.startswith("# ")), None)
    if heading is None:
        raise RunError(f"{path}: no title (a first-level heading '# ...')")
    return heading


def chapters_list(params: Params, tree: Path) -> str:
    """The home page's list of every page after it, by part, from _toc.yml: it cannot go stale."""
    lines = []
    for part in toc(params)["parts"]:
        lines.append(f"\n**{part['caption']}**\n")
        for chapter in part["chapters"]:
            path = next(
                tree / f"{chapter['file']}{suffix}"
                for suffix in (".ipynb", ".md")
                if (tree / f"{chapter['file']}{suffix}").is_file()
            )
            lines.append(f"- [{page_title(path)}](../{path.relative_to(tree).as_posix()})")
    return "\n".join(lines).lstrip() + "\n"


def stage(params: Params, params_path: Path, executed: Path, tree: Path) -> None:
    """Lay out the book sources of one run: pages, executed notebooks, generated pages."""
    shutil.rmtree(tree, ignore_errors=True)
    shutil.copytree(ROOT / "book", tree / "book")
    shutil.copytree(executed, tree / "notebooks")
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    if params.run_name != "default":
        config["title"] = f"{config['title']} ({params.period_label})"
    if params.base_url:
        config["html"]["baseurl"] = params.base_url
    (tree / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    (tree / "_toc.yml").write_text(yaml.safe_dump(toc(params), sort_keys=False))
    (tree / "book" / "run.md").write_text(run_page(params, params_path))
    (tree / "book" / "_generated").mkdir(exist_ok=True)
    (tree / "book" / "_generated" / "data_sources.md").write_text(sources_table())
    (tree / "book" / "_generated" / "chapters.md").write_text(chapters_list(params, tree))
    (tree / "book" / "_generated" / "published_files.md").write_text(published_files())


def render(tree: Path, html_dir: Path) -> None:
    """Jupyter Book renders only; warnings are errors, and every page is attempted."""
    command = [
        str(Path(sys.executable).with_name("jupyter-book")),
        "build",
        str(tree),
        "--builder",
        "html",
        "-n",
        "-W",
        "--keep-going",
        "--quiet",
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    built = tree / "_build" / "html"
    if result.returncode != 0 or not (built / "index.html").is_file():
        raise RunError(
            f"jupyter-book build failed (exit {result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    shutil.rmtree(html_dir, ignore_errors=True)
    built.rename(html_dir)


def publish(params: Params, folder: Path) -> Path:
    """A built run as a folder ready to serve (GitHub Pages or any web server), with a
    sitemap of every page when the run has a base URL."""
    html_dir = BUILD / params.run_name / "html"
    if not (html_dir / "index.html").is_file():
        raise RunError(f"{html_dir}: no built book for run {params.run_name!r}; build it first (make book)")
    partial = folder.with_name(f".{folder.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(html_dir, partial, ignore=shutil.ignore_patterns(".buildinfo", ".doctrees", "_sources"))
    (partial / ".nojekyll").touch()  # served as it is: folders starting with "_" included
    if params.base_url:
        pages = "".join(
            f"  <url><loc>{html.escape(params.base_url + page)}.html</loc></url>\n" for page in toc_pages(params)
        )
        (partial / "sitemap.xml").write_text(
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            f"{pages}</urlset>\n"
        )
        (partial / "robots.txt").write_text(f"Sitemap: {params.base_url}sitemap.xml\n")
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    return folder


# A table wider than the text block loses its last columns; text sticking out this far
# (points) runs off the page. LaTeX logs both as an overfull \hbox.
OVERFULL_TABLE_PT, OVERFULL_TEXT_PT = 2.0, 30.0


def overfull(log: str) -> list[str]:
    """What runs off the printed page, from a LaTeX log: tables wider than the text block
    ('in alignment') and text overrunning it by more than OVERFULL_TEXT_PT."""
    found = []
    for width, where, lines in re.findall(
        r"Overfull \\hbox \((\d+(?:\.\d+)?)pt too wide\) in (\w+) at lines (\S+)", log
    ):
        limit = OVERFULL_TABLE_PT if where == "alignment" else OVERFULL_TEXT_PT
        if float(width) > limit:
            found.append(
                f"{'table' if where == 'alignment' else 'text'} {float(width):.0f} pt too wide (.tex lines {lines})"
            )
    return found


def pdf(params: Params) -> Path:
    """The PDF edition of a built run: the run's staged sources through LaTeX (pdflatex),
    offline. Figures come as PNGs and tables in their Markdown form (helpers.display)."""
    tree = BUILD / params.run_name / "source"
    if not (tree / "_toc.yml").is_file():
        raise RunError(f"{tree}: no staged book for run {params.run_name!r}; build it first (make book)")
    # Code is one click away in the web book; a printed reader gets the text, figures and tables.
    config = yaml.safe_load((tree / "_config.yml").read_text())
    config["sphinx"]["config"]["nb_remove_code_source"] = True
    # The title page sets the author on one line that does not wrap: the web book's is too long for it.
    config["author"] = "A re-runnable edition of MOPAC's learning pack (2025)"
    (tree / "_config_pdf.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    command = [
        str(Path(sys.executable).with_name("jupyter-book")),
        "build",
        str(tree),
        "--builder",
        "pdflatex",
        "--config",
        str(tree / "_config_pdf.yml"),
        "--quiet",
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    built = tree / "_build" / "latex" / "victim-withdrawal.pdf"
    if result.returncode != 0 or not built.is_file():
        raise RunError(
            f"PDF build failed (exit {result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    off_page = overfull(built.with_suffix(".log").read_text(encoding="latin-1"))
    if off_page:
        raise RunError(
            f"{built.with_suffix('.tex')}: {len(off_page)} place(s) run off the printed page:\n"
            + "\n".join(off_page[:20])
        )
    target = BUILD / params.run_name / f"victim-withdrawal-{params.run_name}.pdf"
    shutil.copy(built, target)
    return target


def bring_data(params: Params, mirror: Path | None = None) -> None:
    """Public sources from the mirror; the synthetic extract generated if the run uses one."""
    fetch(mirror or resolve(params.mirror), resolve(params.raw_dir))
    if params.synthetic:
        ensure(
            resolve(params.extract_dir),
            params.period_start,
            params.period_end,
            params.synthetic_scale,
            params.synthetic_seed,
            changes=resolve(params.synthetic_changes) if params.synthetic_changes else None,
            drift=params.synthetic_drift,
        )
    elif not resolve(params.extract_dir).is_dir():
        raise InputError(f"extract folder {resolve(params.extract_dir)} does not exist (extract_dir in the parameters)")


def prepare(params: Params, mirror: Path | None = None) -> None:
    """Everything the chapters share, made once before they run side by side: the data,
    the analysis dataset, and those of the run chapter 11 compares with."""
    for run in [params] + ([load_params(resolve(params.compare_params))] if params.compare_params else []):
        bring_data(run, mirror)
        began = time.perf_counter()
        _, manifest = dataset.for_run(run)
        print(
            f"  analysis dataset of run '{run.run_name}': {manifest['reports']:,} reports "
            f"… {time.perf_counter() - began:.0f} s",
            flush=True,
        )


def run(
    params: Params,
    params_path: Path,
    mirror: Path | None = None,
    render_only: bool = False,
    update_baseline: bool = False,
    jobs: int | None = None,
) -> Path:
    """Produce the book of one run; returns the path of its index.html."""
    started = time.perf_counter()
    out = BUILD / params.run_name
    executed = out / "notebooks"
    if render_only:
        bring_data(params, mirror)
        shutil.rmtree(executed, ignore_errors=True)
        executed.mkdir(parents=True)
        for path in notebook_paths(params):
            shutil.copy(path, executed / path.name)
    else:
        print(f"Run '{params.run_name}' ({params.period_label})", flush=True)
        prepare(params, mirror)
        execute(params, executed, jobs)
    if update_baseline:
        if params.run_name != "default":
            raise InputError("only the default run's notebooks are committed; use params/default.yml")
        for path in executed.glob("*.ipynb"):
            shutil.copy(path, NOTEBOOKS / path.name)
    stage(params, params_path, executed, out / "source")
    began = time.perf_counter()
    render(out / "source", out / "html")
    index = out / "html" / "index.html"
    print(f"  rendered … {time.perf_counter() - began:.0f} s", flush=True)
    print(f"Book built in {time.perf_counter() - started:.0f} s: {index}", flush=True)
    return index

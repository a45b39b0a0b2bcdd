import dataclasses
import json
import os
import re

import nbformat
import pytest

from helpers import runner
from helpers.__main__ import main
from helpers.errors import InputError
from helpers.params import parse_params

PARAMS = parse_params(
    {
        "run_name": "t",
        "period_start": "2021-04-01",
        "period_end": "2022-03-31",
        "force": "Metropolitan Police",
        "pas_survey_year": "2022-23",
        "mirror": "m",
        "raw_dir": "r",
        "home_office_sources": ["ho"],
        "comparators": ["Metropolitan Police"],
        "extract_dir": "x",
        "dataset_dir": "d",
    }
)


def _notebook(path, *sources, tags=()):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    if tags:
        nb.cells[0].metadata["tags"] = list(tags)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def test_tidy_drops_volatile_metadata_and_hides_injected_parameters(tmp_path):
    path = tmp_path / "n.ipynb"
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x = 1")
    cell.metadata = {"tags": ["injected-parameters"], "papermill": {"duration": 0.1}, "execution": {"a": 1}}
    nb.cells = [cell]
    nb.metadata["papermill"] = {"duration": 2.0, "start_time": "t", "parameters": {"a": 1}}
    nbformat.write(nb, path)
    runner.tidy(path)
    tidied = nbformat.read(path, as_version=4)
    assert tidied.cells[0].metadata == {"tags": ["injected-parameters", "remove-cell"]}
    assert tidied.cells[0].id == "injected-parameters"
    assert tidied.metadata["papermill"] == {"parameters": {"a": 1}}


def test_execute_injects_parameters(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "NOTEBOOKS", tmp_path / "nbs")
    (tmp_path / "nbs").mkdir()
    _notebook(tmp_path / "nbs" / "01_a.ipynb", "run_name = 'default'", "print(run_name)", tags=["parameters"])
    runner.execute(PARAMS, tmp_path / "out")
    executed = nbformat.read(tmp_path / "out" / "01_a.ipynb", as_version=4)
    assert executed.cells[-1].outputs[0]["text"] == "t\n"


def test_a_failing_notebook_stops_the_run_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "NOTEBOOKS", tmp_path / "nbs")
    (tmp_path / "nbs").mkdir()
    _notebook(tmp_path / "nbs" / "01_ok.ipynb", "x = 1")
    _notebook(tmp_path / "nbs" / "02_bad.ipynb", "raise ValueError('no such column: borough')")
    _notebook(tmp_path / "nbs" / "03_bad.ipynb", "x = 1", "1 / 0")
    # Notebooks run side by side: every failure is reported, not only the first.
    with pytest.raises(runner.RunError) as failure:
        runner.execute(PARAMS, tmp_path / "out", jobs=2)
    assert "02_bad.ipynb failed in cell [2]: ValueError: no such column: borough" in str(failure.value)
    assert "03_bad.ipynb failed in cell [3]: ZeroDivisionError: division by zero" in str(failure.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["failed", "nbs"]  # no 'out', no partial folder
    assert sorted(p.name for p in (tmp_path / "failed").iterdir()) == ["02_bad.ipynb", "03_bad.ipynb"]


def test_execution_prints_each_notebook_with_its_place_and_time_and_nothing_else(tmp_path, monkeypatch, capfd):
    monkeypatch.setattr(runner, "NOTEBOOKS", tmp_path / "nbs")
    (tmp_path / "nbs").mkdir()
    for name in ("01_a", "02_b", "03_c"):
        _notebook(tmp_path / "nbs" / f"{name}.ipynb", "import sys; print('to the notebook', file=sys.stderr)")
    runner.execute(PARAMS, tmp_path / "run" / "notebooks", jobs=2)
    out, err = capfd.readouterr()
    lines = out.splitlines()
    assert sorted(re.sub(r"… \d+ s", "… N s", line) for line in lines[:3]) == [
        f"  executed {name} ({i} of 3) … N s" for i, name in enumerate(("01_a", "02_b", "03_c"), 1)
    ]
    assert re.fullmatch(r"  3 notebooks executed in \d+ s \(2 at a time\)", lines[3]) and len(lines) == 4
    assert err == ""  # no kernel warnings (TCP, shutdown) on the terminal
    assert set(json.loads((tmp_path / "run" / "timings.json").read_text())) == {"01_a", "02_b", "03_c"}


def test_kernels_side_by_side_get_one_blas_thread_each_and_one_at_a_time_the_default(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "NOTEBOOKS", tmp_path / "nbs")
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    (tmp_path / "nbs").mkdir()
    _notebook(tmp_path / "nbs" / "01_a.ipynb", "import os; print(os.environ.get('OPENBLAS_NUM_THREADS'))")
    _notebook(tmp_path / "nbs" / "02_b.ipynb", "x = 1")
    for jobs, seen in ((2, "1\n"), (1, "None\n")):
        runner.execute(PARAMS, tmp_path / f"out{jobs}", jobs=jobs)
        assert nbformat.read(tmp_path / f"out{jobs}" / "01_a.ipynb", as_version=4).cells[-1].outputs[0]["text"] == seen
    assert "OPENBLAS_NUM_THREADS" not in os.environ  # the runner's own environment is left as it was


def test_a_supplied_extract_leaves_the_synthetic_appendix_out():
    supplied = dataclasses.replace(PARAMS, synthetic=False)
    assert "notebooks/90_synthetic_calibration" in runner.toc_pages(PARAMS)
    assert "notebooks/90_synthetic_calibration" not in runner.toc_pages(supplied)
    appendices = {part["caption"]: part["chapters"] for part in runner.toc(supplied)["parts"]}.get("Appendices")
    assert appendices == [{"file": "notebooks/91_notes_on_the_pack"}]  # the synthetic appendix only is left out
    assert "90_synthetic_calibration" in [p.stem for p in runner.notebook_paths(PARAMS)]
    assert "90_synthetic_calibration" not in [p.stem for p in runner.notebook_paths(supplied)]
    assert runner.toc_pages(supplied) == [p for p in runner.toc_pages(PARAMS) if "90_synthetic" not in p]


def test_cli_reports_an_impossible_date_and_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "run_name: x\nperiod_start: 2021-02-30\nperiod_end: 2022-03-31\nforce: F\n"
        "pas_survey_year: 2022-23\nmirror: m\nraw_dir: r\nhome_office_sources: [ho]\n"
        "comparators: [Metropolitan Police]\nextract_dir: x\ndataset_dir: d\n"
    )
    assert main(["fetch", "--params", str(bad)]) == 2
    assert capsys.readouterr().err == f"error: {bad}: 'period_start' must be a date YYYY-MM-DD, got '2021-02-30'\n"


def test_cli_reports_an_unknown_key_and_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.yml"
    bad.write_text("run_name: x\nperiod_strat: 2021-04-01\n")
    assert main(["run", "--params", str(bad)]) == 2
    assert "unknown key(s) period_strat" in capsys.readouterr().err


def test_publish_writes_a_folder_to_serve_with_a_sitemap_of_every_page(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "BUILD", tmp_path)
    (tmp_path / "t" / "html" / "_static").mkdir(parents=True)
    (tmp_path / "t" / "html" / "index.html").write_text("<html></html>")
    (tmp_path / "t" / "html" / ".buildinfo").write_text("sphinx")
    served = runner.publish(dataclasses.replace(PARAMS, base_url="https://example.org/book/"), tmp_path / "site")
    assert sorted(p.name for p in served.iterdir()) == [
        ".nojekyll",
        "_static",
        "index.html",
        "robots.txt",
        "sitemap.xml",
    ]
    sitemap = (served / "sitemap.xml").read_text()
    assert sitemap.count("<url>") == len(runner.toc_pages(PARAMS))
    assert "<loc>https://example.org/book/notebooks/06_scale_of_withdrawal.html</loc>" in sitemap
    assert "sitemap.xml" not in [p.name for p in runner.publish(PARAMS, tmp_path / "plain").iterdir()]  # no base URL


def test_a_base_url_must_be_an_address_ending_in_a_slash():
    with pytest.raises(InputError, match="'base_url' must be an http"):
        parse_params({**{k: v for k, v in PARAMS.for_notebook().items()}, "base_url": "example.org/book"})


def test_the_home_page_lists_every_page_of_the_contents_with_its_title(tmp_path):
    for page in runner.toc_pages(PARAMS):
        path = tmp_path / f"{page}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"Intro\n\n# Title of {path.stem}\n\nText.\n")
    listed = runner.chapters_list(PARAMS, tmp_path)
    assert listed.count("\n- [") == len(runner.toc_pages(PARAMS)) - 1  # every page but the home page itself
    assert "- [Title of 11_monitoring](../notebooks/11_monitoring.md)" in listed and "**Beyond the pack**" in listed
    supplied = runner.chapters_list(dataclasses.replace(PARAMS, synthetic=False), tmp_path)
    assert "90_synthetic" not in supplied and "91_notes_on_the_pack" in supplied
    (tmp_path / "book" / "run.md").write_text("No heading here\n")
    with pytest.raises(runner.RunError, match="run.md: no title"):
        runner.chapters_list(PARAMS, tmp_path)


def test_the_pdf_check_finds_tables_wider_than_the_page_and_text_running_off_it():
    log = (
        "Overfull \\hbox (577.09877pt too wide) in alignment at lines 9934--9974\n"
        "Overfull \\hbox (1.5pt too wide) in alignment at lines 10--12\n"
        "Overfull \\hbox (199.17422pt too wide) in paragraph at lines 91--91\n"
        "Overfull \\hbox (9.97365pt too wide) in paragraph at lines 1484--1484\n"
    )
    assert runner.overfull(log) == [
        "table 577 pt too wide (.tex lines 9934--9974)",
        "text 199 pt too wide (.tex lines 91--91)",
    ]
    assert runner.overfull("Underfull \\hbox (badness 10000) in paragraph at lines 1--2\n") == []


def test_the_data_log_lists_each_published_file_with_its_chapters(monkeypatch, tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "published_pages.yml").write_text("regression_models: [07_driver_models]\n")
    monkeypatch.setattr(runner, "ROOT", tmp_path)
    table = runner.published_files()
    figures = len(runner.published.load("regression_models"))
    assert f"| `regression_models.csv` | {figures} | 2021-22 | [07](../notebooks/07_driver_models.ipynb) |" in table

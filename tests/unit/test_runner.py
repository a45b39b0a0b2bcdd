import nbformat
import pytest

from helpers import runner
from helpers.__main__ import main
from helpers.params import parse_params

PARAMS = parse_params({"run_name": "t", "period_start": "2021-04-01", "period_end": "2022-03-31",
                       "force": "Metropolitan Police", "pas_survey_year": "2022-23", "mirror": "m", "raw_dir": "r",
                           "home_office_sources": ["ho"], "comparators": ["Metropolitan Police"],
                           "extract_dir": "x", "dataset_dir": "d"})


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
    with pytest.raises(runner.RunError, match=r"02_bad.ipynb failed in cell \[2\]: ValueError: no such column: borough"):
        runner.execute(PARAMS, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["failed", "nbs"]  # no 'out', no partial folder
    assert [p.name for p in (tmp_path / "failed").iterdir()] == ["02_bad.ipynb"]


def test_cli_reports_an_impossible_date_and_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.yml"
    bad.write_text("run_name: x\nperiod_start: 2021-02-30\nperiod_end: 2022-03-31\nforce: F\n"
                   "pas_survey_year: 2022-23\nmirror: m\nraw_dir: r\nhome_office_sources: [ho]\ncomparators: [Metropolitan Police]\nextract_dir: x\ndataset_dir: d\n")
    assert main(["fetch", "--params", str(bad)]) == 2
    assert capsys.readouterr().err == f"error: {bad}: 'period_start' must be a date YYYY-MM-DD, got '2021-02-30'\n"


def test_cli_reports_an_unknown_key_and_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.yml"
    bad.write_text("run_name: x\nperiod_strat: 2021-04-01\n")
    assert main(["run", "--params", str(bad)]) == 2
    assert "unknown key(s) period_strat" in capsys.readouterr().err

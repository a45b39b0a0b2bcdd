import datetime as dt

import pytest

from helpers.errors import InputError
from helpers.params import load_params, params_from, parse_params

VALID = {
    "run_name": "test",
    "period_start": "2021-04-01",
    "period_end": "2022-03-31",
    "force": "Metropolitan Police",
    "pas_survey_year": "2022-23",
    "mirror": "m",
    "raw_dir": "r",
    "home_office_sources": ["ho_outcomes_2018_19"],
    "comparators": ["Metropolitan Police", "England and Wales"],
    "extract_dir": "x",
    "dataset_dir": "d",
}


def test_valid_parameters_get_dates_and_the_default_threshold():
    params = parse_params(VALID)
    assert params.period_start == dt.date(2021, 4, 1)
    assert params.period_end == dt.date(2022, 3, 31)
    assert params.suppression_threshold == 100
    assert params.period_label == "April 2021 to March 2022"


def test_unknown_key_is_named():
    with pytest.raises(InputError, match=r"demo.yml: unknown key\(s\) perod_end"):
        parse_params({**VALID, "perod_end": "2022-03-31"}, source="demo.yml")


def test_missing_key_is_named():
    raw = dict(VALID)
    del raw["force"]
    with pytest.raises(InputError, match=r"missing key\(s\) force"):
        parse_params(raw)


@pytest.mark.parametrize("bad", ["2021-13-01", "01/04/2021", "next April", ""])
def test_bad_date_is_named_with_its_value(bad):
    with pytest.raises(InputError, match=rf"'period_start' must be a date YYYY-MM-DD, got '{bad}'"):
        parse_params({**VALID, "period_start": bad})


def test_end_before_start_is_refused():
    with pytest.raises(InputError, match="period_end 2021-03-31 is before period_start 2021-04-01"):
        parse_params({**VALID, "period_end": "2021-03-31"})


@pytest.mark.parametrize("bad", [0, -5, True, "100", 2.5])
def test_threshold_must_be_a_positive_whole_number(bad):
    with pytest.raises(InputError, match="suppression_threshold"):
        parse_params({**VALID, "suppression_threshold": bad})


def test_run_name_must_be_a_safe_folder_name():
    with pytest.raises(InputError, match="run_name"):
        parse_params({**VALID, "run_name": "../elsewhere"})


def test_survey_year_shape():
    with pytest.raises(InputError, match="pas_survey_year"):
        parse_params({**VALID, "pas_survey_year": "2022"})


def test_yaml_dates_and_file_name_in_errors(tmp_path):
    path = tmp_path / "run.yml"
    path.write_text(
        "run_name: x\nperiod_start: 2021-04-01\nperiod_end: 2022-03-31\nforce: F\n"
        "pas_survey_year: 2022-23\nmirror: m\nraw_dir: r\nsuppression_threshold: 10\nhome_office_sources: [ho]\n"
        "comparators: [Metropolitan Police]\nextract_dir: x\ndataset_dir: d\n"
    )
    params = load_params(path)
    assert params.period_end == dt.date(2022, 3, 31) and params.suppression_threshold == 10
    path.write_text("run_name: x\ncolour: blue\n")
    with pytest.raises(InputError, match=f"{path}: unknown key"):
        load_params(path)


def test_notebook_round_trip():
    params = parse_params(VALID)
    assert params_from(params.for_notebook()) == params


def test_shipped_parameter_files_are_valid():
    from helpers.paths import ROOT

    for path in sorted((ROOT / "params").glob("*.yml")):
        assert load_params(path).run_name == path.stem


@pytest.mark.parametrize("bad", [[], "ho_outcomes_2018_19", [""], [3]])
def test_lists_must_be_non_empty_lists_of_names(bad):
    with pytest.raises(InputError, match="'comparators' must be a non-empty list of names"):
        parse_params({**VALID, "comparators": bad})


def test_count_basis_is_one_of_the_two_home_office_counts():
    assert parse_params({**VALID, "count_basis": "closed_in_quarter"}).count_basis == "closed_in_quarter"
    with pytest.raises(InputError, match="'count_basis' must be one of recorded_in_quarter, closed_in_quarter"):
        parse_params({**VALID, "count_basis": "recorded"})


def test_a_run_file_extends_another_and_names_only_what_differs(tmp_path):
    (tmp_path / "base.yml").write_text(
        "\n".join(f"{k}: {v!r}" if isinstance(v, str) else f"{k}: {v}" for k, v in VALID.items())
    )
    (tmp_path / "next.yml").write_text(
        "extends: base.yml\nrun_name: next\nperiod_start: 2022-04-01\n"
        "period_end: 2023-03-31\nextract_mapping: force.yml\n"
    )
    params = load_params(tmp_path / "next.yml")
    assert (params.run_name, params.period_start, params.force) == ("next", dt.date(2022, 4, 1), "Metropolitan Police")
    assert params.extract_mapping == "force.yml"
    assert load_params(tmp_path / "base.yml").extract_mapping == ""


def test_extends_in_a_circle_or_to_nothing_is_named(tmp_path):
    (tmp_path / "a.yml").write_text("extends: b.yml\n")
    (tmp_path / "b.yml").write_text("extends: a.yml\n")
    with pytest.raises(InputError, match="goes round in a circle"):
        load_params(tmp_path / "a.yml")
    (tmp_path / "c.yml").write_text("extends: missing.yml\n")
    with pytest.raises(InputError, match="missing.yml: file not found"):
        load_params(tmp_path / "c.yml")

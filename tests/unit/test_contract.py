import pandas as pd
import pytest

from helpers import contract
from helpers.errors import InputError

OFFENCES = [
    # crime_ref, seq, description, major, minor, borough, committed, reported, complete, outcome_date, code, how, venue
    ["CR1", "1", "Assault occasioning actual bodily harm", "Violence Against the Person", "Violence with Injury",
     "Hackney", "2021-05-01", "2021-05-01", "2021-06-01", "2021-06-03", "16", "Phone call to police", "Private residential"],
    ["CR1", "2", "Common assault", "Violence Against the Person", "Violence without Injury",
     "Hackney", "2021-05-01", "2021-05-01", "", "", "", "", ""],
    ["CR2", "1", "Robbery of personal property", "Robbery", "Robbery of Personal Property",
     "", "", "2021-07-09", "", "", "", "Third party", "Public outdoor/open space"],
    ["CR3", "1", "Shoplifting", "Theft", "Shoplifting", "Camden", "2021-08-01", "2021-08-01", "", "", "NC", "", ""],
]
VICTIMS = [["CR1", "V1", "Female", "Female", "34", "IC1", "", "British", "None", "None", "N", "N", "Y", "Minor"],
           ["CR2", "V2", "Male", "Male", "", "", "", "", "", "", "N", "N", "N", ""]]
SUSPECTS = [["CR1", "S1", "Male", "36", "IC1", "", "British", "Known to PNC", "Ex-partner", "Y", "Y", "N"]]
FLAGS = [["CR1", "Domestic Incident"]]
KNIVES = [["CR2", "Knife intimated"]]


def columns(stem):
    return list(contract.spec()["files"][stem]["columns"])


def write_extract(folder, edits=(), parquet=()):
    """A valid extract, with `edits` = (stem, row, column, value) applied first."""
    tables = {"offences": OFFENCES, "victims": VICTIMS, "suspects": SUSPECTS, "flags": FLAGS, "knife_crime_features": KNIVES}
    folder.mkdir(exist_ok=True)
    for stem, rows in tables.items():
        frame = pd.DataFrame([list(r) for r in rows], columns=columns(stem))
        for e_stem, row, column, value in edits:
            if e_stem == stem:
                frame.loc[row, column] = value
        if stem in parquet:
            frame.replace("", None).to_parquet(folder / f"{stem}.parquet")
        else:
            frame.to_csv(folder / f"{stem}.csv", index=False)
    return folder


def test_a_valid_extract_loads_every_row(tmp_path):
    with contract.validate(write_extract(tmp_path / "x")) as extract:
        counts = {s: extract.con.execute(f'select count(*) from "{s}"').fetchone()[0] for s in extract.files}
        assert counts == {"offences": 4, "victims": 2, "suspects": 1, "flags": 1, "knife_crime_features": 1}
        assert extract.con.execute("select _line from offences where crime_ref = 'CR3'").fetchone()[0] == 5
    assert not extract.workdir.exists()


def test_extra_columns_and_column_order_do_not_matter(tmp_path):
    folder = write_extract(tmp_path / "x")
    frame = pd.read_csv(folder / "victims.csv", dtype=str)
    frame["force_notes"] = "x"
    frame[frame.columns[::-1]].to_csv(folder / "victims.csv", index=False)
    contract.validate(folder).close()


def test_missing_file(tmp_path):
    folder = write_extract(tmp_path / "x")
    (folder / "flags.csv").unlink()
    with pytest.raises(InputError, match=r"missing file flags\.csv or flags\.parquet"):
        contract.validate(folder)


def test_missing_column(tmp_path):
    folder = write_extract(tmp_path / "x")
    pd.read_csv(folder / "suspects.csv", dtype=str).drop(columns="pnc_status").to_csv(folder / "suspects.csv", index=False)
    with pytest.raises(InputError, match=r"suspects\.csv: missing column\(s\) pnc_status"):
        contract.validate(folder)


@pytest.mark.parametrize("edit, message", [
    (("offences", 2, "reported_date", "09/07/2021"), r"offences\.csv: row 4, column reported_date: '09/07/2021' is not a date"),
    (("offences", 0, "outcome_date", "2021-02-30"), r"offences\.csv: row 2, column outcome_date: '2021-02-30' is not a date"),
    (("offences", 0, "outcome_code", "19"), r"row 2, column outcome_code: '19' is not an allowed value"),
    (("offences", 1, "borough", "Gotham"), r"row 3, column borough: 'Gotham' is not an allowed value"),
    (("offences", 2, "reported_date", ""), r"row 4, column reported_date: None is empty, but the contract requires a value"),
    (("offences", 1, "offence_seq", "two"), r"row 3, column offence_seq: 'two' is not a whole number"),
    (("victims", 1, "age", "-1"), r"victims\.csv: row 3, column age: '-1' is below 0"),
    (("victims", 0, "repeat_victim", "yes"), r"victims\.csv: row 2, column repeat_victim: 'yes' is not Y or N"),
    (("victims", 1, "victim_id", "V1"), r"victims\.csv: row 3, column victim_id: 'V1' repeats an earlier row's id"),
    (("victims", 1, "crime_ref", "CR9"), r"victims\.csv: row 3, column crime_ref: 'CR9' has no offence in offences\.csv"),
    (("offences", 1, "offence_seq", "1"), r"offences\.csv: row 3, column crime_ref \+ offence_seq: 'CR1 / 1' repeats"),
    (("offences", 2, "minor_crime", "Rape"), r"row 4, column minor_crime: 'Rape' is not a minor crime of Robbery"),
    (("offences", 2, "offence_seq", "2"), r"row 4, column offence_seq: 'CR2' \(crime_ref\) has no main offence"),
])
def test_faults_name_file_row_column_and_value(tmp_path, edit, message):
    with pytest.raises(InputError, match=message):
        contract.validate(write_extract(tmp_path / "x", [edit]))


def test_parquet_files_report_record_numbers_and_count_the_rest(tmp_path):
    edits = [("victims", 0, "sex", "M"), ("victims", 1, "sex", "F")]
    with pytest.raises(InputError, match=r"victims\.parquet: record 1, column sex: 'M' is not an allowed value .*\(1 more row"):
        contract.validate(write_extract(tmp_path / "x", edits, parquet={"victims"}))


def test_empty_strings_in_parquet_are_not_recorded(tmp_path):
    folder = write_extract(tmp_path / "x", parquet={"victims"})
    frame = pd.read_parquet(folder / "victims.parquet").fillna("")  # '' rather than null
    frame.to_parquet(folder / "victims.parquet")
    with contract.validate(folder) as extract:
        assert extract.con.execute("select count(*) from victims where age is null").fetchone()[0] == 1


def test_validation_writes_nothing(tmp_path):
    folder = write_extract(tmp_path / "x", [("victims", 0, "sex", "M")])
    before = sorted(p.name for p in folder.iterdir())
    with pytest.raises(InputError):
        contract.validate(folder)
    assert sorted(p.name for p in folder.iterdir()) == before


def test_cli_reports_a_bad_extract_and_exits_2(tmp_path, capsys):
    from helpers.__main__ import main

    assert main(["validate-extract", "--extract", str(write_extract(tmp_path / "ok"))]) == 0
    assert "follows the contract (offences 4, victims 2" in capsys.readouterr().out
    bad = write_extract(tmp_path / "bad", [("flags", 0, "crime_ref", "CR7")])
    assert main(["validate-extract", "--extract", str(bad)]) == 2
    assert capsys.readouterr().err == "error: flags.csv: row 2, column crime_ref: 'CR7' has no offence in offences.csv\n"

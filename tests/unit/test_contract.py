import tempfile

import pandas as pd
import pytest
import yaml

from helpers import contract
from helpers.errors import InputError

OFFENCES = [
    # crime_ref, seq, description, major, minor, borough, committed, reported, complete, outcome_date, code, how, venue
    [
        "CR1",
        "1",
        "Assault occasioning actual bodily harm",
        "Violence Against the Person",
        "Violence with Injury",
        "Hackney",
        "2021-05-01",
        "2021-05-01",
        "2021-06-01",
        "2021-06-03",
        "16",
        "Phone call to police",
        "Private residential",
    ],
    [
        "CR1",
        "2",
        "Common assault",
        "Violence Against the Person",
        "Violence without Injury",
        "Hackney",
        "2021-05-01",
        "2021-05-01",
        "",
        "",
        "",
        "",
        "",
    ],
    [
        "CR2",
        "1",
        "Robbery of personal property",
        "Robbery",
        "Robbery of Personal Property",
        "",
        "",
        "2021-07-09",
        "",
        "",
        "",
        "Third party",
        "Public outdoor/open space",
    ],
    ["CR3", "1", "Shoplifting", "Theft", "Shoplifting", "Camden", "2021-08-01", "2021-08-01", "", "", "NC", "", ""],
]
VICTIMS = [
    ["CR1", "V1", "Female", "Female", "34", "IC1", "", "British", "None", "None", "N", "N", "Y", "Minor"],
    ["CR2", "V2", "Male", "Male", "", "", "", "", "", "", "N", "N", "N", ""],
]
SUSPECTS = [["CR1", "S1", "Male", "36", "IC1", "", "British", "Known to PNC", "Ex-partner", "Y", "Y", "N"]]
FLAGS = [["CR1", "Domestic Incident"]]
KNIVES = [["CR2", "Knife intimated"]]


def columns(stem):
    return list(contract.spec()["files"][stem]["columns"])


def write_extract(folder, edits=(), parquet=()):
    """A valid extract, with `edits` = (stem, row, column, value) applied first."""
    tables = {
        "offences": OFFENCES,
        "victims": VICTIMS,
        "suspects": SUSPECTS,
        "flags": FLAGS,
        "knife_crime_features": KNIVES,
    }
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
    with pytest.raises(InputError, match=r"flags - missing file: no flags\.csv, flags\.parquet, flags\.xlsx in"):
        contract.validate(folder)


def test_missing_column_names_a_look_alike(tmp_path):
    folder = write_extract(tmp_path / "x")
    frame = (
        pd.read_csv(folder / "suspects.csv", dtype=str).rename(columns={"pnc_status": "PNC Status"}).drop(columns="age")
    )
    frame.to_csv(folder / "suspects.csv", index=False)
    with pytest.raises(
        InputError, match=r"suspects\.csv - missing column\(s\) age, pnc_status \('PNC Status' looks like pnc_status\)"
    ):
        contract.validate(folder)


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            ("offences", 2, "reported_date", "09/07/2021"),
            r"offences\.csv, column reported_date - not a date in the format %Y-%m-%d .*: 1 row\n"
            r"    row 4: '09/07/2021'",
        ),
        (
            ("offences", 0, "outcome_date", "2021-02-30"),
            r"column outcome_date - not a date .*\n    row 2: '2021-02-30'",
        ),
        (
            ("offences", 0, "committed_date", "21-05-01"),
            r"column committed_date - not a date .*\n    row 2: '21-05-01'",
        ),
        (("offences", 0, "outcome_code", "19"), r"column outcome_code - not an allowed value .*\n    row 2: '19'"),
        (("offences", 1, "borough", "Gotham"), r"column borough - not an allowed value .*\n    row 3: 'Gotham'"),
        (
            ("offences", 2, "reported_date", ""),
            r"column reported_date - empty, but the contract requires a value: 1 row\n    row 4: \(empty\)",
        ),
        (("offences", 1, "offence_seq", "two"), r"column offence_seq - not a whole number: 1 row\n    row 3: 'two'"),
        (("victims", 1, "age", "-1"), r"victims\.csv, column age - below 0: 1 row\n    row 3: '-1'"),
        (
            ("victims", 0, "repeat_victim", "yes"),
            r"victims\.csv, column repeat_victim - not Y or N: 1 row\n    row 2: 'yes'",
        ),
        (
            ("victims", 1, "victim_id", "V1"),
            r"victims\.csv, column victim_id - repeats an earlier row's id: 1 row\n    row 3: 'V1'",
        ),
        (
            ("victims", 1, "crime_ref", "CR9"),
            r"victims\.csv, column crime_ref - no offence with this crime_ref in offences\.csv: 1 row\n"
            r"    row 3: 'CR9'",
        ),
        (
            ("offences", 1, "offence_seq", "1"),
            r"offences\.csv, column crime_ref \+ offence_seq - repeats an earlier row's id: 1 row\n"
            r"    row 3: 'CR1 / 1'",
        ),
        (
            ("offences", 2, "minor_crime", "Rape"),
            r"column minor_crime - not a minor crime of Robbery: 1 row\n    row 4: 'Rape'",
        ),
        (
            ("offences", 2, "offence_seq", "2"),
            r"column offence_seq - the report \(crime_ref\) has no main offence with offence_seq 1: 1 row\n"
            r"    row 4: 'CR2'",
        ),
    ],
)
def test_faults_name_file_row_column_and_value(tmp_path, edit, message):
    with pytest.raises(InputError, match=message) as caught:
        contract.validate(write_extract(tmp_path / "x", [edit]))
    assert caught.value.problems[0].count == 1 and len(caught.value.problems) == 1


def test_every_problem_is_reported_in_one_run(tmp_path):
    """A dozen problems in four files: each named once, with its count and first rows; the
    first rows are the first in the file, and the count covers every row."""
    edits = [
        ("offences", 0, "outcome_code", "OC16"),
        ("offences", 2, "outcome_code", "OC99"),
        ("offences", 3, "outcome_code", "XX"),
        ("offences", 1, "reported_date", "01/05/2021"),
        ("offences", 2, "borough", "Gotham"),
        ("victims", 0, "sex", "F"),
        ("victims", 1, "sex", "M"),
        ("victims", 1, "victim_id", "V1"),
        ("victims", 1, "age", "old"),
        ("suspects", 0, "crime_ref", "CR8"),
        ("flags", 0, "crime_ref", "CR7"),
    ]
    folder = write_extract(tmp_path / "x", edits, parquet={"victims"})
    (folder / "knife_crime_features.csv").unlink()
    with pytest.raises(contract.ExtractError) as caught:
        contract.validate(folder)
    found = {(p.file, p.column, p.what.split(" (")[0]): (p.count, p.rows) for p in caught.value.problems}
    assert found == {
        (
            "knife_crime_features",
            "",
            "missing file: no knife_crime_features.csv, knife_crime_features.parquet, "
            f"knife_crime_features.xlsx in {folder}",
        ): (0, []),
        ("offences.csv", "reported_date", "not a date in the format %Y-%m-%d"): (1, [(3, "01/05/2021")]),
        ("offences.csv", "borough", "not an allowed value"): (1, [(4, "Gotham")]),
        ("offences.csv", "outcome_code", "not an allowed value"): (3, [(2, "OC16"), (4, "OC99"), (5, "XX")]),
        ("victims.parquet", "sex", "not an allowed value"): (2, [(1, "F"), (2, "M")]),
        ("victims.parquet", "age", "not a whole number"): (1, [(2, "old")]),
        ("victims.parquet", "victim_id", "repeats an earlier row's id"): (1, [(2, "V1")]),
        ("suspects.csv", "crime_ref", "no offence with this crime_ref in offences.csv"): (1, [(2, "CR8")]),
        ("flags.csv", "crime_ref", "no offence with this crime_ref in offences.csv"): (1, [(2, "CR7")]),
    }
    text = str(caught.value)
    assert text.startswith(f"{folder}: 9 problem(s)") and "    record 1: 'F'\n    record 2: 'M'" in text


def test_the_report_shows_the_first_rows_and_counts_the_rest(tmp_path):
    folder = write_extract(tmp_path / "x")
    frame = pd.read_csv(folder / "flags.csv", dtype=str)
    pd.concat([frame] * 8, ignore_index=True).assign(crime_ref=[f"X{i}" for i in range(8)]).to_csv(
        folder / "flags.csv", index=False
    )
    with pytest.raises(contract.ExtractError) as caught:
        contract.validate(folder)
    (problem,) = caught.value.problems
    assert (problem.count, problem.rows) == (8, [(i + 2, f"X{i}") for i in range(contract.SHOWN)])
    assert str(caught.value).endswith("    row 6: 'X4'\n    ... and 3 more")


def test_a_folder_column_and_code_with_quotes_change_nothing(tmp_path):
    """Paths, column names and codes reach DuckDB as constants: quotes are just characters."""
    folder = write_extract(tmp_path / 'o\'brien "x"; drop table offences; --')
    frame = pd.read_csv(folder / "offences.csv", dtype=str)
    frame = frame.rename(columns={"outcome_code": 'it\'s "code"'})
    frame['it\'s "code"'] = frame['it\'s "code"'].replace({"16": "'); drop table victims; --"})
    frame.to_csv(folder / "offences.csv", index=False)
    mapping = tmp_path / "m'ap.yml"
    mapping.write_text(
        yaml.safe_dump(
            {
                "columns": {"offences": {'it\'s "code"': "outcome_code"}},
                "values": {"offences": {"outcome_code": {"'); drop table victims; --": "16"}}},
            }
        )
    )
    with contract.validate(folder, mapping) as extract:
        codes = extract.con.execute("select outcome_code from offences order by _line").fetchall()
        assert [c for (c,) in codes] == ["16", None, None, "NC"]
        assert extract.con.execute("select count(*) from victims").fetchall() == [(2,)]
    hostile = tmp_path / "hostile.yml"  # a format with SQL in it is still just a format: no date fits it
    hostile.write_text(yaml.safe_dump({"date_format": "%d/%m/%Y'); drop table x; --"}))
    with pytest.raises(
        InputError, match=r"column reported_date - not a date in the format %d/%m/%Y'\); drop table x; -- "
    ):
        contract.validate(folder, hostile)


def test_identifiers_are_quoted():
    assert contract.ident('a"b') == '"a""b"'


def test_parquet_files_report_record_numbers_and_count_the_rest(tmp_path):
    edits = [("victims", 0, "sex", "M"), ("victims", 1, "sex", "F")]
    with pytest.raises(
        InputError,
        match=r"victims\.parquet, column sex - not an allowed value .*: 2 records\n"
        r"    record 1: 'M'\n    record 2: 'F'",
    ):
        contract.validate(write_extract(tmp_path / "x", edits, parquet={"victims"}))


def test_empty_strings_in_parquet_are_not_recorded(tmp_path):
    folder = write_extract(tmp_path / "x", parquet={"victims"})
    frame = pd.read_parquet(folder / "victims.parquet").fillna("")  # '' rather than null
    frame.to_parquet(folder / "victims.parquet")
    with contract.validate(folder) as extract:
        assert extract.con.execute("select count(*) from victims where age is null").fetchall()[0][0] == 1


def test_validation_writes_nothing(tmp_path):
    folder = write_extract(tmp_path / "x", [("victims", 0, "sex", "M")])
    before = sorted(p.name for p in folder.iterdir())
    with pytest.raises(InputError):
        contract.validate(folder)
    assert sorted(p.name for p in folder.iterdir()) == before


def test_a_mapping_reads_codes_as_written_and_reports_all_its_problems(tmp_path):
    mapping = tmp_path / "m.yml"
    mapping.write_text("values:\n  victims:\n    repeat_victim: {Yes: Y, No: N, 01: N}\n")
    assert contract.load_mapping(mapping)["values"]["victims"]["repeat_victim"] == {"Yes": "Y", "No": "N", "01": "N"}
    mapping.write_text(
        "colums: {}\nfiles: {crimes: offence}\nencoding: klingon\ndate_format: '%d/%m'\n"
        "date_formats: {victims: {age: '%Y'}}\nvalues: {offences: {colour: {a: b}}}\n"
    )
    with pytest.raises(InputError) as caught:
        contract.load_mapping(mapping)
    for part in (
        "unknown key 'colums'",
        "'files' maps 'crimes' to 'offence', which is not a file",
        "'klingon' is not a text encoding",
        "'%d/%m' is not a date format",
        "'date_formats' names victims.age, which is not a date column",
        "'values' names offences.colour, which is not a column of the contract",
    ):
        assert part in str(caught.value)
    assert str(caught.value).startswith(f"{mapping}: ")


def test_dates_in_a_declared_format_with_a_time_and_overrides(tmp_path):
    folder = write_extract(
        tmp_path / "x",
        [
            ("offences", 0, "reported_date", "01/05/2021 13:45"),
            ("offences", 1, "reported_date", "01/05/2021"),
            ("offences", 2, "reported_date", "09/07/2021T00:00:00"),
            ("offences", 3, "reported_date", "01/08/2021"),
            ("offences", 0, "outcome_date", "20210603"),
        ],
    )
    frame = pd.read_csv(folder / "offences.csv", dtype=str)
    for column in ("committed_date", "investigation_complete_date"):
        frame[column] = pd.to_datetime(frame[column]).dt.strftime("%d/%m/%Y")
    frame.to_csv(folder / "offences.csv", index=False)
    mapping = tmp_path / "m.yml"
    mapping.write_text(
        yaml.safe_dump({"date_format": "%d/%m/%Y", "date_formats": {"offences": {"outcome_date": "%Y%m%d"}}})
    )
    with contract.validate(folder, mapping) as extract:
        dates = extract.con.execute("select reported_date, outcome_date from offences order by _line").fetchall()
    assert [str(d) for d, _ in dates] == ["2021-05-01", "2021-05-01", "2021-07-09", "2021-08-01"]
    assert str(dates[0][1]) == "2021-06-03"


def test_xlsx_sheets_and_csv_encodings(tmp_path):
    folder = write_extract(tmp_path / "x")
    victims = pd.read_csv(folder / "victims.csv", dtype=str, keep_default_na=False)
    (folder / "victims.csv").unlink()
    with pd.ExcelWriter(folder / "victims.xlsx") as book:
        pd.DataFrame({"note": ["not this sheet"]}).to_excel(book, sheet_name="About", index=False)
        victims.assign(age=pd.to_numeric(victims["age"])).to_excel(book, sheet_name="Victims", index=False)
    flags = (folder / "flags.csv").read_text()
    (folder / "flags.csv").write_bytes(
        flags.replace("Domestic Incident", "Domestic Incident")
        .replace("\n", "\r\n")
        .replace("CR1,", "CR1,", 1)
        .encode("cp1252")
    )
    knives = pd.read_csv(folder / "knife_crime_features.csv", dtype=str).assign(feature="Knife – intimated")
    (folder / "knife_crime_features.csv").write_bytes(knives.to_csv(index=False).encode("cp1252"))
    mapping = tmp_path / "m.yml"
    with pytest.raises(contract.ExtractError, match=r"victims\.xlsx - missing column\(s\) crime_ref"):
        contract.validate(folder)  # the first sheet is read unless the mapping names one
    mapping.write_text(
        yaml.safe_dump({"sheets": {"victims": "Victims"}, "encodings": {"knife_crime_features": "cp1252"}})
    )
    with contract.validate(folder, mapping) as extract:
        assert extract.con.execute("select age, _line from victims order by _line").fetchall() == [("34", 2), (None, 3)]
        assert extract.con.execute("select feature from knife_crime_features").fetchall() == [("Knife – intimated",)]
    mapping.write_text(yaml.safe_dump({"sheets": {"victims": "Nope"}}))
    with pytest.raises(
        contract.ExtractError, match=r"victims\.xlsx - cannot be read \(no sheet 'Nope' \(it has About, Victims\)\)"
    ):
        contract.validate(folder, mapping)


def test_a_csv_that_is_not_utf8_is_named_with_the_cure(tmp_path):
    folder = write_extract(tmp_path / "x")
    knives = pd.read_csv(folder / "knife_crime_features.csv", dtype=str).assign(feature="Knife – intimated")
    (folder / "knife_crime_features.csv").write_bytes(knives.to_csv(index=False).encode("cp1252"))
    with pytest.raises(
        contract.ExtractError, match=r"knife_crime_features\.csv - cannot be read .*declare its encoding"
    ):
        contract.validate(folder)


def test_cli_reports_a_bad_extract_writes_the_report_outside_and_exits_2(tmp_path, capsys, monkeypatch):
    from helpers.__main__ import main

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "temp"))
    (tmp_path / "temp").mkdir()

    assert main(["validate-extract", "--extract", str(write_extract(tmp_path / "ok"))]) == 0
    assert "follows the contract (offences 4, victims 2" in capsys.readouterr().out
    bad = write_extract(tmp_path / "bad", [("flags", 0, "crime_ref", "CR7"), ("victims", 0, "sex", "F")])
    assert main(["validate-extract", "--extract", str(bad), "--report", str(tmp_path / "report")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{bad}: 2 problem(s)") and f"Report: {tmp_path / 'report' / 'validation.txt'}" in err
    assert (tmp_path / "report" / "validation.txt").read_text().startswith(f"{bad}: 2 problem(s)")
    table = pd.read_csv(tmp_path / "report" / "validation.csv", dtype=str)
    assert table[["file", "column", "count", "row", "value"]].values.tolist() == [
        ["victims.csv", "sex", "1", "2", "F"],
        ["flags.csv", "crime_ref", "1", "2", "CR7"],
    ]
    assert sorted(p.name for p in bad.iterdir()) == sorted(p.name for p in (tmp_path / "ok").iterdir())
    assert main(["validate-extract", "--extract", str(bad), "--report", "data/report"]) == 2
    assert "inside the repository" in capsys.readouterr().err
    assert main(["validate-extract", "--extract", str(bad)]) == 2  # by default, a new temporary folder, named
    (written,) = (tmp_path / "temp").glob("vw-validation-*/validation.txt")
    assert f"Report: {written} and validation.csv beside it" in capsys.readouterr().err

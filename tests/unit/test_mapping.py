"""A force's own export of the synthetic extract (its names, UK dates some with a time, Yes/No,
prefixed outcome codes, one file as .xlsx, a byte-order mark, CRLF, one file in cp1252)
builds through a mapping to exactly the cohort of the contract form; draft-mapping proposes
that mapping; every problem of a bad extract is reported in one run; quotes in folder names,
column names and codes change nothing."""

import datetime as dt

import pandas as pd
import pytest
import yaml

from helpers import contract, dataset, draft, synth
from helpers.__main__ import main
from helpers.errors import InputError

START, END = dt.date(2021, 4, 1), dt.date(2022, 3, 31)
# Their file name (without extension) and format, for each contract file.
FILES = {
    "offences": ("OFFENCES_2021", "csv"),
    "victims": ("Victims", "xlsx"),
    "suspects": ("suspect list", "csv"),
    "flags": ("Crime Flags", "csv"),
    "knife_crime_features": ("knife-crime-features", "csv"),
}
# Their column names where they differ from the contract's.
COLUMNS = {
    "offences": {
        "crime_ref": "CRIME_REF",
        "offence_seq": "Offence Seq",
        "offence_description": "Offence Description",
        "major_crime": "Major Crime",
        "minor_crime": "Minor Crime",
        "borough": "Borough",
        "committed_date": "Committed Date",
        "reported_date": "Reported Date",
        "investigation_complete_date": "Investigation Complete Date",
        "outcome_date": "Outcome Date",
        "outcome_code": "Outcome",
        "how_notified": "How Notified",
        "venue_type": "Venue Type",
    },
    "victims": {
        "crime_ref": "Crime Ref",
        "victim_id": "Victim ID",
        "age": "Victim Age",
        "repeat_victim": "Repeat Victim",
    },
    "suspects": {"crime_ref": "Crime Ref", "suspect_id": "Suspect ID", "pnc_status": "PNC Status"},
    "flags": {"crime_ref": "Crime Ref", "flag": "Flag"},
    "knife_crime_features": {"crime_ref": "Crime Ref", "feature": "Feature"},
}
YES_NO = {
    "victims": ["reported_cr_last_12m", "cris_repeat_victim", "repeat_victim"],
    "suspects": ["arrested_on_scene", "arrested_or_interviewed", "disability"],
}
OUTCOMES = [
    "1",
    "1A",
    "2",
    "2A",
    "3",
    "3A",
    "4",
    "5",
    "6",
    "8",
    "9",
    "10",
    "11",
    "12",
    "13",
    "14",
    "15",
    "16",
    "17",
    "18",
    "20",
    "21",
    "22",
]


def uk(iso: pd.Series, fmt: str, with_time: bool) -> pd.Series:
    """ISO dates as `fmt`, every other one followed by a time of day if `with_time`."""
    days = pd.to_datetime(iso)
    text = days.dt.strftime(fmt).where(days.notna())
    if with_time:
        timed = (pd.Series(range(len(text)), index=text.index) % 2 == 0) & text.notna()
        text = text.where(~timed, text + " 00:00")
    return text


def export_as_force(source, out):
    """Write the contract-form extract in `source` as a force's export into `out`."""
    out.mkdir(parents=True)
    for stem, (name, fmt) in FILES.items():
        frame = pd.read_parquet(source / f"{stem}.parquet")
        for column in YES_NO.get(stem, []):
            frame[column] = frame[column].map({"Y": "Yes", "N": "No"})
        if stem == "offences":
            for column in ("committed_date", "reported_date", "investigation_complete_date"):
                frame[column] = uk(frame[column], "%d/%m/%Y", with_time=column == "reported_date")
            frame["outcome_date"] = uk(frame["outcome_date"], "%Y%m%d", with_time=False)
            frame["outcome_code"] = frame["outcome_code"].map(lambda c: f"OC{c}" if c in OUTCOMES else c)
        frame["Notes"] = "exported"  # an extra column, ignored
        frame = frame.rename(columns=COLUMNS[stem])
        path = out / f"{name}.{fmt}"
        if fmt == "xlsx":
            frame["Victim Age"] = pd.to_numeric(frame["Victim Age"])  # numbers in the sheet, as Excel keeps them
            frame.to_excel(path, index=False, sheet_name="Export")
        elif stem == "offences":  # a byte-order mark and CRLF
            path.write_bytes(frame.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig"))
        elif stem == "suspects":
            path.write_bytes(frame.to_csv(index=False).encode("cp1252"))
        else:
            frame.to_csv(path, index=False)
    return out


MAPPING = {
    "files": {name: stem for stem, (name, _) in FILES.items()},
    "encodings": {"suspects": "cp1252"},
    "date_format": "%d/%m/%Y",
    "date_formats": {"offences": {"outcome_date": "%Y%m%d"}},
    "columns": {stem: {theirs: ours for ours, theirs in renames.items()} for stem, renames in COLUMNS.items()},
    "values": {
        "offences": {"outcome_code": {f"OC{c}": c for c in OUTCOMES}},
        **{stem: {c: {"Yes": "Y", "No": "N"} for c in columns} for stem, columns in YES_NO.items()},
    },
}


@pytest.fixture(scope="module")
def extracts(tmp_path_factory):
    """The synthetic extract (contract form), its force export, the mapping and both builds."""
    root = tmp_path_factory.mktemp("force")
    synth.generate(root / "contract", START, END, scale=0.02, seed=5, progress=None)
    suspects = pd.read_parquet(root / "contract" / "suspects.parquet")
    suspects.loc[suspects.index[::7], "nationality"] = "Côte d'Ivoire"  # not ASCII: read the cp1252 file as such
    suspects.to_parquet(root / "contract" / "suspects.parquet")
    export_as_force(root / "contract", root / "export")
    (root / "mapping.yml").write_text(yaml.safe_dump(MAPPING, allow_unicode=True))
    dataset.build(root / "contract", START, END, root / "built")
    return root


def test_a_force_export_builds_exactly_the_contract_forms_cohort(extracts):
    export = extracts / "export"
    assert (export / "OFFENCES_2021.csv").read_bytes().startswith(b"\xef\xbb\xbfCRIME_REF,")
    assert b"\r\n" in (export / "OFFENCES_2021.csv").read_bytes()[:300]
    assert b"C\xf4te d'Ivoire" in (export / "suspect list.csv").read_bytes()
    assert "01/04/2021 00:00" in (export / "OFFENCES_2021.csv").read_text(encoding="utf-8-sig")
    dataset.build(export, START, END, extracts / "from_export", extracts / "mapping.yml")
    mapped, contract_form = extracts / "from_export", extracts / "built"
    cohort = pd.read_parquet(contract_form / "cohort.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(mapped / "cohort.parquet"), cohort)
    assert len(cohort) > 4000 and cohort["crime_ref"].is_monotonic_increasing  # the extract's order
    for name in ("exclusions.csv", "data_quality.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(mapped / name), pd.read_csv(contract_form / name))


def test_the_mapped_views_hold_the_contract_values(extracts):
    with contract.validate(extracts / "export", extracts / "mapping.yml") as extract:
        one = lambda sql: extract.con.execute(sql).fetchall()[0]  # noqa: E731
        assert one("select count(*) from raw_suspects where nationality = 'Côte d''Ivoire'")[0] > 0
        assert one(
            "select count(*) filter (where repeat_victim not in ('Y', 'N')), typeof(any_value(age)) from raw_victims"
        ) == (0, "VARCHAR")
        assert one("select typeof(reported_date), _line from offences where crime_ref = 'CR000000001'") == ("DATE", 2)
        assert one("select min(_line) from raw_victims")[0] == 2  # the sheet's first row after the header


def test_draft_mapping_proposes_names_formats_and_codes(extracts, tmp_path):
    out = tmp_path / "draft.yml"
    assert main(["draft-mapping", "--extract", str(extracts / "export"), "--out", str(out)]) == 0
    proposed = contract.load_mapping(out)  # the draft is a valid mapping as it stands
    assert proposed["files"] == MAPPING["files"]  # by name, by a name containing the stem's, by columns
    assert proposed["encodings"]["suspects"] == "cp1252" and proposed["encodings"]["offences"] == "utf-8"
    assert proposed["date_formats"]["offences"] == {
        "committed_date": "%d/%m/%Y",
        "reported_date": "%d/%m/%Y",
        "investigation_complete_date": "%d/%m/%Y",
        "outcome_date": "%Y%m%d",
    }
    expected = {stem: dict(renames) for stem, renames in MAPPING["columns"].items()}
    del expected["offences"]["Outcome"]  # 'Outcome' is not a name of outcome_code: left to the analyst
    assert proposed["columns"] == expected
    text = out.read_text()
    assert "# TODO: no column found for outcome_code" in text and '"Victim Age": "age"   # TODO: guessed' in text
    assert proposed["values"]["victims"] == {c: {"Yes": "Y", "No": "N"} for c in YES_NO["victims"]}
    assert "a time of day follows" in text
    with pytest.raises(InputError, match="exists; the draft does not overwrite"):
        draft.write(extracts / "export", out)


def test_ambiguous_dates_and_unknown_codes_are_flagged(tmp_path):
    folder = tmp_path / "x"
    folder.mkdir()
    offences = pd.DataFrame(
        {
            "crime_ref": ["A", "B"],
            "offence_seq": ["1", "1"],
            "outcome_code": ["OC14", "Weird"],
            "reported_date": ["01/02/2021", "03/04/2021"],
            "borough": ["hackney", "Hackney"],
        }
    )
    offences.to_csv(folder / "offences.csv", index=False)
    text, todo = draft.draft(folder)
    assert 'date_format: "%d/%m/%Y"' in text and "TODO: %d-%m-%Y" not in text and "%m/%d/%Y fit(s) too" in text
    assert '"OC14": "14"   # 1 row' in text and '# TODO "Weird": ?' in text and '"hackney": "Hackney"' in text
    assert "# TODO: no file found for victims" in text and todo >= 6

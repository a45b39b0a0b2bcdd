"""The dataset build on a hand-made extract whose every answer is known by construction."""

import datetime as dt
import json

import pandas as pd
import pytest
import yaml

from helpers import contract, dataset
from helpers.__main__ import main
from helpers.errors import InputError

START, END = dt.date(2021, 4, 1), dt.date(2022, 3, 31)
VAP, SEX = "Violence Against the Person", "Sexual Offences"

# ref: (major, minor, description, reported, outcome, complete,
#       victims [(age, ethnic)], suspects [(age, how_known)], flags)
REPORTS = {
    "R01": (
        VAP,
        "Violence with Injury",
        "Assault occasioning actual bodily harm",
        "2021-05-01",
        "16",
        "2021-05-10",
        [(30, "IC3")],
        [(32, "Current partner")],
        ["Domestic Incident"],
    ),
    "R02": (
        SEX,
        "Rape",
        "Rape of a female aged 16 or over",
        "2021-06-01",
        "14",
        "2021-10-01",
        [(15, "IC1")],
        [(17, "Family member")],
        [],
    ),
    "R03": (SEX, "Other Sexual Offences", "Exposure", "2021-06-02", "18", "2021-06-20", [(30, None)], [], []),
    "R04": (
        VAP,
        "Stalking and Harassment",
        "Pursue course of conduct which amounts to stalking",
        "2021-07-01",
        "1",
        "2021-08-01",
        [(40, "IC1")],
        [(41, "Ex-partner")],
        [],
    ),
    "R05": (
        "Public Order Offences",
        "Public Fear Alarm or Distress",
        "Racially or religiously aggravated public fear alarm or distress",
        "2021-07-02",
        "15",
        "2021-07-09",
        [(50, "IC4")],
        [(30, "Stranger")],
        ["Racial Incident"],
    ),
    "R06": (
        "Robbery",
        "Robbery of Personal Property",
        "Robbery of personal property",
        "2021-08-01",
        "16",
        "2021-08-03",
        [(19, "IC3")],
        [(20, "Acquaintance")],
        [],
    ),
    "R07": (
        VAP,
        "Violence with Injury",
        "Assault with injury on a constable",
        "2021-08-02",
        "21",
        "2021-09-01",
        [(22, "IC1")],
        [(21, "Stranger")],
        [],
    ),
    "R08": (
        VAP,
        "Violence without Injury",
        "Forced marriage",
        "2021-09-01",
        "14",
        "2021-09-05",
        [(20, "IC4")],
        [(45, "Family member")],
        [],
    ),
    "R17": (
        "Arson and Criminal Damage",
        "Criminal Damage",
        "Criminal damage to a dwelling",
        "2021-10-01",
        "15",
        "2021-10-02",
        [(60, "IC0")],
        [],
        [],
    ),
    "R18": (
        "Arson and Criminal Damage",
        "Criminal Damage",
        "Criminal damage to a dwelling",
        "2021-10-02",
        "8",
        "2021-10-03",
        [(61, "IC1")],
        [],
        [],
    ),
    # excluded, one reason each, in the order of the steps
    "R09": (VAP, "Violence without Injury", "Common assault", "2021-03-15", "18", "2021-03-20", [(30, "IC1")], [], []),
    "R10": (VAP, "Violence without Injury", "Common assault", "2021-05-05", None, None, [(30, "IC1")], [], []),
    "R11": (VAP, "Violence without Injury", "Common assault", "2021-05-06", "NC", "2021-05-07", [(30, "IC1")], [], []),
    "R12": ("Theft", "Shoplifting", "Shoplifting", "2021-05-07", "18", "2021-05-08", [(30, "IC1")], [], []),
    "R13": (
        "Arson and Criminal Damage",
        "Criminal Damage",
        "Criminal damage to a vehicle",
        "2021-05-08",
        "18",
        "2021-05-09",
        [],
        [],
        [],
    ),
    "R14": (VAP, "Violence without Injury", "Common assault", "2021-05-09", "18", "2021-05-10", [(30, "IC1")], [], []),
    "R15": (
        VAP,
        "Violence without Injury",
        "Common assault",
        "2021-05-10",
        "18",
        "2021-05-11",
        [(30, "IC1"), (31, "IC1")],
        [],
        [],
    ),
    "R16": (
        VAP,
        "Violence without Injury",
        "Common assault",
        "2021-05-11",
        "18",
        "2021-05-12",
        [(30, "IC1")],
        [(30, "Stranger"), (31, "Stranger")],
        [],
    ),
}
COHORT = ["R01", "R02", "R03", "R04", "R05", "R06", "R07", "R08", "R17", "R18"]


def write(folder, reports=REPORTS):
    folder.mkdir(parents=True, exist_ok=True)
    cols = {stem: list(spec["columns"]) for stem, spec in contract.spec()["files"].items()}
    offences, victims, suspects, flags, knives = [], [], [], [], []
    for ref, (major, minor, desc, reported, outcome, complete, vics, susps, flag_list) in reports.items():
        offences.append(
            dict(
                crime_ref=ref,
                offence_seq="1",
                offence_description=desc,
                major_crime=major,
                minor_crime=minor,
                borough="Hackney",
                committed_date=reported,
                reported_date=reported,
                investigation_complete_date=complete,
                outcome_date=complete,
                outcome_code=outcome,
                how_notified="Phone call to police",
                venue_type="Private residential",
            )
        )
        if ref == "R14":
            offences.append({**offences[-1], "offence_seq": "2", "offence_description": "Threats to kill"})
        for i, (age, ethnic) in enumerate(vics):
            victims.append(
                dict(
                    crime_ref=ref,
                    victim_id=f"V{ref}{i}",
                    sex="Female",
                    gender="Female",
                    age=str(age),
                    ethnic_appearance=ethnic,
                    repeat_victim="N",
                    reported_cr_last_12m="N",
                    cris_repeat_victim="N",
                )
            )
        for i, (age, known) in enumerate(susps):
            suspects.append(
                dict(
                    crime_ref=ref,
                    suspect_id=f"S{ref}{i}",
                    sex="Male",
                    age=str(age),
                    how_known=known,
                    arrested_on_scene="Y" if ref == "R01" else "N",
                    arrested_or_interviewed="N",
                )
            )
        flags += [dict(crime_ref=ref, flag=f) for f in flag_list]
    knives.append(dict(crime_ref="R06", feature="Knife intimated"))
    for stem, rows in (
        ("offences", offences),
        ("victims", victims),
        ("suspects", suspects),
        ("flags", flags),
        ("knife_crime_features", knives),
    ):
        pd.DataFrame(rows, columns=cols[stem]).to_csv(folder / f"{stem}.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("build")
    dataset.build(write(root / "extract"), START, END, root / "out")
    return root / "out"


def test_exclusions_step_by_step(built):
    steps = pd.read_csv(built / "exclusions.csv")
    assert steps["reports"].tolist() == [18, 17, 16, 15, 14, 13, 12, 11, 10]
    assert steps["victims"].tolist() == [18, 17, 16, 15, 14, 14, 13, 11, 10]
    assert steps["victims_removed"].tolist() == [0, 1, 1, 1, 1, 0, 1, 2, 1]


def test_cohort_and_crime_areas(built):
    cohort = pd.read_parquet(built / "cohort.parquet").set_index("crime_ref")
    assert cohort.index.tolist() == COHORT
    members = {area: sorted(cohort.index[cohort[area]]) for area in dataset.config()["crime_areas"]}
    assert members == {
        "da": ["R01"],
        "adult_sexual": ["R03"],
        "adult_rape": [],
        "csa": ["R02"],
        "stalking": ["R04"],
        "hate_crime": ["R05"],
        "syv": ["R06"],
        "hbv": ["R08"],
        "violence_with_injury": ["R01", "R07"],
    }
    assert cohort["crime_type"].to_dict() == {
        "R01": "Violence with injury",
        "R02": "Rape",
        "R03": "Other sexual offences",
        "R04": "Violence without injury",
        "R05": "Public order offences",
        "R06": "Robbery",
        "R07": "Violence with injury",
        "R08": "Violence without injury",
        "R17": "Arson and criminal damage",
        "R18": "Arson and criminal damage",
    }
    assert sorted(cohort.index[cohort["victim_withdrawal"]]) == ["R01", "R02", "R06", "R08"]
    assert cohort["outcome_group"].value_counts().to_dict() == {
        "Victim withdrawal": 4,
        "Evidential difficulties": 3,
        "Judicial": 2,
        "Other": 1,
    }


def test_derived_variables(built):
    c = pd.read_parquet(built / "cohort.parquet").set_index("crime_ref")
    assert c.loc[
        "R01", ["bcu", "relationship", "arrested_on_scene", "delay", "days_to_complete", "early_withdrawal"]
    ].tolist() == ["Central East", "Current/ex-partner", True, "Same day", 9, True]
    assert c.loc[
        "R02", ["victim_age_group", "victim_age_detail", "suspect_age_group", "days_to_complete", "early_withdrawal"]
    ].tolist() == ["1-17", "13-15", "1-17", 122, False]  # CSA: early means within 12 weeks
    assert c.loc["R03", ["suspect_recorded", "relationship", "suspect_sex", "victim_ethnicity"]].tolist() == [
        False,
        "No suspect",
        "No suspect",
        "Unknown",
    ]
    assert c.loc[
        "R05", ["suspect_known", "relationship", "victim_ethnicity", "flag_racial_incident", "flag_hate_crime"]
    ].tolist() == [False, "Stranger/not recorded", "Asian", True, True]
    assert bool(c.loc["R06", "knife_crime_feature"]) and not c.drop("R06")["knife_crime_feature"].any()


def test_data_quality_counts(built):
    dq = pd.read_csv(built / "data_quality.csv").set_index("measure")
    # No suspect recorded in R03 (18), R17 (15) and R18 (8, a community resolution): the last two need one.
    assert dq.loc["no_suspect_named_outcome", ["count", "base"]].tolist() == [2, 3]
    named = dataset.config()["named_suspect_outcomes"]
    assert {
        "1",
        "1A",
        "2",
        "2A",
        "3",
        "3A",
        "4",
        "5",
        "6",
        "7",
        "8",
        "9",
        "10",
        "11",
        "12",
        "13",
        "15",
        "16",
        "17",
        "22",
    } == set(named) and not {"14", "18", "20", "21"} & set(named)
    assert dq.loc["known_in_outcome_14", ["count", "base"]].tolist() == [2, 2]  # R02, R08: family, yet outcome 14
    assert dq.loc["known_in_outcome_18", ["count", "base"]].tolist() == [0, 0]
    assert pd.isna(dq.loc["known_in_outcome_18", "share"])
    assert dq.loc["victim_ethnicity_unknown", ["count", "base"]].tolist() == [2, 10]  # R03 not recorded, R17 IC0
    assert dq.loc["suspect_ethnicity_missing", ["count", "base"]].tolist() == [7, 7]


def test_crime_areas_are_computed_after_the_areas_they_exclude():
    chain = {"c": {"not_areas": ["b"]}, "a": {}, "b": {"not_areas": ["a"]}}
    assert dataset.area_layers(chain) == [["a"], ["b"], ["c"]]
    assert dataset.area_layers(dataset.config()["crime_areas"])[1] == ["adult_sexual", "adult_rape", "syv"]
    with pytest.raises(InputError, match=r"crime areas a, b exclude areas that are unknown or exclude each other"):
        dataset.area_layers({"a": {"not_areas": ["b"]}, "b": {"not_areas": ["a"]}})
    with pytest.raises(InputError, match=r"crime areas a exclude"):
        dataset.area_layers({"a": {"not_areas": ["nowhere"]}})


def test_a_mapping_lets_another_force_run_unchanged(tmp_path, built):
    theirs = write(tmp_path / "theirs")
    (theirs / "offences.csv").rename(theirs / "crimes.csv")
    frame = pd.read_csv(theirs / "crimes.csv", dtype=str).rename(
        columns={"crime_ref": "CRIME_NO", "outcome_code": "OUTCOME"}
    )
    frame["OUTCOME"] = frame["OUTCOME"].replace({"16": "O16", "14": "O14"})
    frame.to_csv(theirs / "crimes.csv", index=False)
    mapping = tmp_path / "force.yml"
    mapping.write_text(
        yaml.safe_dump(
            {
                "files": {"crimes": "offences"},
                "columns": {"offences": {"CRIME_NO": "crime_ref", "OUTCOME": "outcome_code"}},
                "values": {"offences": {"outcome_code": {"O16": "16", "O14": "14"}}},
            }
        )
    )
    dataset.build(theirs, START, END, tmp_path / "out", mapping)
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "out" / "cohort.parquet"), pd.read_parquet(built / "cohort.parquet")
    )


def test_a_bad_mapping_is_named(tmp_path):
    mapping = tmp_path / "force.yml"
    mapping.write_text("columns:\n  crimes: {A: crime_ref}\n")
    with pytest.raises(InputError, match=r"force\.yml: 'columns' names 'crimes', which is not a file of the contract"):
        dataset.build(write(tmp_path / "x"), START, END, tmp_path / "out", mapping)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda f: (f / "flags.csv").unlink(), r"missing file: no flags\.csv"),
        (
            lambda f: f.joinpath("victims.csv").write_text(
                f.joinpath("victims.csv").read_text().replace("VR010", "VR020")
            ),
            r"victims\.csv, column victim_id - repeats an earlier row's id: 1 row\n    row \d+: 'VR020'",
        ),
        (
            lambda f: f.joinpath("offences.csv").write_text(
                f.joinpath("offences.csv").read_text().replace("2021-05-01", "2021-05-32")
            ),
            r"offences\.csv, column committed_date - not a date .*\n    row 2: '2021-05-32'",
        ),
        (
            lambda f: f.joinpath("suspects.csv").write_text(
                f.joinpath("suspects.csv").read_text().replace("R01,", "R99,", 1)
            ),
            r"suspects\.csv, column crime_ref - no offence with this crime_ref .*\n    row 2: 'R99'",
        ),
    ],
    ids=["missing file", "duplicate id", "bad date", "orphan row"],
)
def test_a_bad_extract_stops_the_build_and_writes_nothing(tmp_path, damage, message):
    folder = write(tmp_path / "x")
    damage(folder)
    with pytest.raises(InputError, match=message):
        dataset.build(folder, START, END, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x"]


def test_the_build_stops_with_every_problem_at_once(tmp_path):
    folder = write(tmp_path / "x")
    (folder / "flags.csv").unlink()
    (folder / "victims.csv").write_text((folder / "victims.csv").read_text().replace("VR010", "VR020"))
    with pytest.raises(contract.ExtractError) as caught:
        dataset.build(folder, START, END, tmp_path / "out")
    assert [(p.file, p.column) for p in caught.value.problems] == [("flags", ""), ("victims.csv", "victim_id")]
    assert str(caught.value).startswith(f"{folder}: 2 problem(s)")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x"]


def test_cli_builds_and_reports(tmp_path, capsys):
    assert (
        main(
            [
                "build-dataset",
                "--extract",
                str(write(tmp_path / "x")),
                "--start",
                "2021-04-01",
                "--end",
                "2022-03-31",
                "--out",
                str(tmp_path / "out"),
            ]
        )
        == 0
    )
    assert "10 reports in the combined analysis dataset" in capsys.readouterr().out
    assert (
        main(
            [
                "build-dataset",
                "--extract",
                str(tmp_path / "x"),
                "--start",
                "2022-04-01",
                "--end",
                "2021-03-31",
                "--out",
                str(tmp_path / "out2"),
            ]
        )
        == 2
    )
    assert "ends (2021-03-31) before it starts" in capsys.readouterr().err and not (tmp_path / "out2").exists()


def test_the_reports_still_open_are_kept_beside_an_unchanged_cohort(built):
    manifest = json.loads((built / "build.json").read_text())
    # The latest date anywhere in the extract: R18's investigation complete and outcome dates.
    assert (manifest["as_of"], manifest["as_of_given"], manifest["open_reports"]) == ("2021-10-03", False, 1)
    cohort, still_open = (pd.read_parquet(built / f"{name}.parquet") for name in ("cohort", "open"))
    assert cohort["crime_ref"].tolist() == COHORT
    assert still_open["crime_ref"].tolist() == ["R10"]  # in scope, no outcome yet
    assert list(still_open.columns) == [c for c in cohort.columns if c not in dataset.OUTCOME_COLUMNS]
    assert still_open.loc[0, ["bcu", "crime_type", "relationship", "da"]].tolist() == [
        "Central East",
        "Violence without injury",
        "No suspect",
        False,
    ]


def test_an_as_of_date_is_recorded_and_one_before_a_report_was_made_is_refused(tmp_path, built):
    extract = write(tmp_path / "x")
    manifest = dataset.build(extract, START, END, tmp_path / "out", as_of=dt.date(2022, 1, 31))
    assert (manifest["as_of"], manifest["as_of_given"]) == ("2022-01-31", True)
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "out" / "cohort.parquet"), pd.read_parquet(built / "cohort.parquet")
    )
    assert dataset.ensure(extract, START, END, tmp_path / "out", as_of=dt.date(2022, 1, 31)) == manifest  # kept
    assert dataset.ensure(extract, START, END, tmp_path / "out")["as_of"] == "2021-10-03"  # rebuilt
    with pytest.raises(InputError, match=r"--as-of 2021-09-30: report R17 was reported on 2021-10-01, after it"):
        dataset.build(extract, START, END, tmp_path / "early", as_of=dt.date(2021, 9, 30))
    assert not (tmp_path / "early").exists()


def test_cli_competing_risks_on_a_built_dataset(tmp_path, capsys):
    assert (
        main(
            [
                "build-dataset",
                "--extract",
                str(write(tmp_path / "x")),
                "--start",
                "2021-04-01",
                "--end",
                "2022-03-31",
                "--out",
                str(tmp_path / "out"),
                "--as-of",
                "2021-12-31",
            ]
        )
        == 0
    )
    assert "10 reports in the combined analysis dataset, 1 still open on 2021-12-31" in capsys.readouterr().out
    assert main(["competing-risks", "--dataset", str(tmp_path / "out"), "--out", str(tmp_path / "cr")]) == 0
    assert "11 reports, 1 of them censored at the as-of date 2021-12-31" in capsys.readouterr().out
    curves = pd.read_csv(tmp_path / "cr" / "cumulative_incidence.csv")
    assert list(curves.columns) == ["area", "outcome_group", "day", "cif", "ci_low", "ci_high"]
    assert set(curves["outcome_group"]) == set(dataset.config()["outcome_groups"])
    final = curves[curves["area"] == "all"].groupby("outcome_group")["cif"].last()
    # 11 at risk, R10 censored at day 149 after every event: each group's share of the 11.
    assert final.to_dict() == pytest.approx(
        {"Victim withdrawal": 4 / 11, "Evidential difficulties": 3 / 11, "Judicial": 2 / 11, "Other": 1 / 11}, abs=1e-6
    )
    assert set(curves["area"]) == {"all", *dataset.config()["crime_areas"]} - {"adult_rape"}  # no reports: no curve
    (tmp_path / "out" / "open.parquet").unlink()
    assert main(["competing-risks", "--dataset", str(tmp_path / "out"), "--out", str(tmp_path / "cr")]) == 2
    assert "no open.parquet; build the dataset again" in capsys.readouterr().err


def test_a_run_builds_its_dataset_once_and_reuses_it_while_its_inputs_are_unchanged(tmp_path):
    from types import SimpleNamespace

    run = SimpleNamespace(
        dataset_dir=str(tmp_path / "out"),
        extract_dir=str(write(tmp_path / "extract")),
        extract_mapping="",
        period_start=START,
        period_end=END,
    )
    out, manifest = dataset.for_run(run)
    assert out == tmp_path / "out" and (out / "cohort.parquet").is_file()
    built_at = (out / "build.json").stat().st_mtime_ns
    assert dataset.for_run(run) == (out, manifest) and (out / "build.json").stat().st_mtime_ns == built_at

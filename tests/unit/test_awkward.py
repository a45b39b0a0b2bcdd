"""The awkward extract: every declared perturbation is present, the result still follows
the contract, the same seed gives the same bytes, and a bad declaration is named."""

import datetime as dt
import hashlib

import pandas as pd
import pytest

from helpers import awkward, contract, dataset, synth
from helpers.errors import InputError
from helpers.geography import bcu_table

START, END = dt.date(2021, 4, 1), dt.date(2022, 3, 31)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    folder = tmp_path_factory.mktemp("awkward") / "synthetic"
    synth.generate(folder, START, END, scale=0.03, seed=7, progress=None)
    return folder


@pytest.fixture(scope="module")
def made(source, tmp_path_factory):
    out = tmp_path_factory.mktemp("awkward") / "out"
    manifest = awkward.write(source, out, seed=3)
    return out, manifest, awkward.read(out), awkward.read(source)


def test_the_output_follows_the_contract_and_is_about_a_quarter_of_the_source(made):
    out, manifest, frames, original = made
    contract.validate(out).close()
    share = frames["offences"]["crime_ref"].nunique() / original["offences"]["crime_ref"].nunique()
    assert 0.15 < share < 0.25  # sample 0.25, less the reports dropped on purpose
    assert manifest["reports"] == frames["offences"]["crime_ref"].nunique()
    assert all(change["changed"] > 0 for change in manifest["changes"])


def test_every_declared_perturbation_is_present(made):
    _, _, frames, _ = made
    offences, victims, suspects = frames["offences"], frames["victims"], frames["suspects"]
    main = offences[offences["offence_seq"] == "1"].set_index("crime_ref")
    bcu = main["borough"].map(bcu_table()[0])
    # Crime types absent entirely, a crime area of a handful of reports.
    assert not offences["major_crime"].isin(["Robbery", "Arson and Criminal Damage"]).any()
    stalking = offences["offence_description"] == "Pursue course of conduct which amounts to stalking"
    assert offences.loc[stalking, "crime_ref"].nunique() == 30
    # A few per cent of boroughs not recorded; no hotel or hostel; no committed date anywhere.
    assert 0.02 < (offences["borough"] == "").mean() < 0.04
    assert "Hotel/hostel" not in set(offences["venue_type"]) and (offences["committed_date"] == "").all()
    assert 0.01 < ((offences["investigation_complete_date"] == "") & (offences["outcome_code"] != "")).mean() < 0.03
    # A BCU with no suspects at all, while the others have them.
    suspect_bcu = suspects["crime_ref"].map(bcu)
    assert "South East" not in set(suspect_bcu) and suspect_bcu.nunique() == 11
    # Victim ethnicity never recorded in one borough; one victim sex only in sexual offences.
    victim_borough = victims["crime_ref"].map(main["borough"])
    assert (victims.loc[victim_borough == "Camden", ["ethnic_appearance", "self_defined_ethnicity"]] == "").all().all()
    assert (victims.loc[victim_borough == "Camden"].shape[0]) > 0
    sexual = victims["crime_ref"].map(main["major_crime"]) == "Sexual Offences"
    assert set(victims.loc[sexual, "sex"]) == {"Female"} and "Male" in set(victims.loc[~sexual, "sex"])
    assert 0.03 < (victims["sex"] == "Unknown").mean() < 0.08 and 0.03 < (victims["age"] == "").mean() < 0.08
    # Optional columns left empty; a file with no rows.
    assert (victims["nationality"] == "").all() and (suspects["pnc_status"] == "").all()
    assert "Transgender Hate Crime" not in set(frames["flags"]["flag"]) and frames["knife_crime_features"].empty


def test_the_dataset_builds_with_every_not_recorded_category(made, tmp_path):
    out, *_ = made
    dataset.build(out, START, END, tmp_path / "built")
    cohort = pd.read_parquet(tmp_path / "built" / "cohort.parquet")
    assert (cohort["bcu"] == "Unknown").any() and (cohort["delay"] == "Unknown").all()
    assert not cohort["crime_type"].isin(["Robbery", "Arson and criminal damage"]).any()
    assert not cohort.loc[cohort["bcu"] == "South East", "suspect_recorded"].any()


def test_same_seed_same_bytes_and_csv_too(source, made, tmp_path):
    out, *_ = made

    def digest(folder):
        return {
            p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir())
            if p.suffix == ".parquet"
        }

    awkward.write(source, tmp_path / "again", seed=3)
    assert digest(tmp_path / "again") == digest(out)
    awkward.write(out, tmp_path / "csv", seed=3, fmt="csv", spec_path=write_spec(tmp_path, "sample: 1\nchanges: []\n"))
    contract.validate(tmp_path / "csv").close()
    assert awkward.read(tmp_path / "csv")["offences"].equals(awkward.read(out)["offences"])


def write_spec(folder, text):
    path = folder / "spec.yml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "text, message",
    [
        ("changes:\n  - {table: offences, set: {borough: ''}, drop: true}\n", "give exactly one of set, drop, keep"),
        ("changes:\n  - {table: crimes, drop: true}\n", "change 1: table must be one of"),
        ("changes:\n  - {table: victims, keep: 3}\n", "change 1: keep counts reports, so it applies to offences only"),
        ("changes:\n  - {table: offences, drop: true, shares: 0.1}\n", "change 1: unknown key 'shares'"),
        ("sample: 0\nchanges: []\n", "sample must be in"),
        ("changes:\n  - {table: offences, where: {borough: [Atlantis]}, drop: true}\n", "change 1: .* picks no rows"),
        ("changes:\n  - {table: victims, where: {colour: [red]}, drop: true}\n", "'colour' is not a column of victims"),
    ],
)
def test_a_bad_declaration_is_named_and_nothing_is_written(source, tmp_path, text, message):
    with pytest.raises(InputError, match=message) as info:
        awkward.write(source, tmp_path / "out", spec_path=write_spec(tmp_path, text))
    assert "spec.yml" in str(info.value) and not (tmp_path / "out").exists()


def test_a_force_export_read_back_through_its_mapping_builds_exactly_the_same_cohort(made, tmp_path):
    out, *_ = made
    mapping = awkward.CONFIG / "awkward_mapping.yml"
    exported = awkward.export(out, tmp_path / "o'brien export", mapping)  # a quote in the folder name too
    names = sorted(p.name for p in exported.iterdir())
    assert names == [
        "CRIME_OFFENCES.csv",
        "Crime Flags.csv",
        "Victims.xlsx",
        "knife crime features.csv",
        "suspect list.csv",
    ]
    offences = (exported / "CRIME_OFFENCES.csv").read_bytes()
    assert offences.startswith(b"\xef\xbb\xbf") and b"\r\n" in offences and b",OC1" in offences
    assert b"Reported Date" in offences and b" 00:00," in offences
    cohorts = [
        dataset.build(folder, START, END, tmp_path / name, mapping=m)
        for folder, name, m in ((out, "contract", None), (exported, "force", mapping))
    ]
    assert cohorts[0]["reports"] == cohorts[1]["reports"] > 0
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "contract" / "cohort.parquet"),
        pd.read_parquet(tmp_path / "force" / "cohort.parquet"),
    )

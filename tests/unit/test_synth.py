import datetime as dt
import hashlib
import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from helpers import calibration, contract, dataset, synth, withdrawal
from helpers.__main__ import main
from helpers.paths import ROOT

START, END = dt.date(2021, 4, 1), dt.date(2022, 3, 31)
DEFAULT = ROOT / "data" / "extracts" / "synthetic-fy2021-22"


@pytest.fixture(scope="module")
def default_cohort():
    if not (DEFAULT / "extract.json").exists():
        pytest.fail("the default synthetic extract is missing: run `make data` first")
    built = ROOT / "data" / "derived" / "default"
    dataset.ensure(DEFAULT, START, END, built)
    return pd.read_parquet(built / "cohort.parquet")


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    folder = tmp_path_factory.mktemp("synth") / "x"
    synth.generate(folder, START, END, scale=0.03, seed=7, progress=None)
    return folder


def digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_small_extract_follows_the_contract_and_holds_every_exclusion(small):
    extract = contract.validate(small)
    one = lambda sql: extract.con.execute(sql).fetchone()[0]  # noqa: E731
    assert one("select count(*) from (select crime_ref from offences group by crime_ref having count(*) > 1)") > 0
    assert one("select count(*) from (select crime_ref from victims group by crime_ref having count(*) > 1)") > 0
    assert one("select count(*) from (select crime_ref from suspects group by crime_ref having count(*) > 1)") > 0
    assert one("select count(*) from offences where crime_ref not in (select crime_ref from victims)") > 0
    assert one("select count(*) from offences where major_crime in ('Theft', 'Burglary', 'Drug Offences')") > 0
    for code in ("NC", "ADMIN"):
        assert one(f"select count(*) from offences where outcome_code = '{code}'") > 0
    assert one("select count(*) from offences where outcome_code is null and offence_seq = '1'") > 0
    assert one("select count(*) from offences where reported_date < '2021-04-01' or reported_date > '2022-03-31'") > 0
    assert one("select count(*) from flags where flag = 'Domestic Incident'") > 0
    assert one("select count(*) from knife_crime_features") > 0
    extract.close()


def test_same_seed_same_bytes_other_seed_or_period_other_bytes(small, tmp_path):
    synth.generate(tmp_path / "again", START, END, scale=0.03, seed=7, progress=None)
    assert digest(tmp_path / "again") == digest(small)
    synth.generate(tmp_path / "other", START, END, scale=0.03, seed=8, progress=None)
    assert digest(tmp_path / "other")["offences.parquet"] != digest(small)["offences.parquet"]
    later = dt.date(2022, 4, 1), dt.date(2023, 3, 31)
    synth.generate(tmp_path / "next", *later, scale=0.03, seed=7, progress=None)
    assert (
        pd.read_parquet(tmp_path / "next" / "truth" / "cohort.parquet")["withdrawn"].to_numpy()[:500]
        != pd.read_parquet(small / "truth" / "cohort.parquet")["withdrawn"].to_numpy()[:500]
    ).any()


def test_labelled_synthetic_in_file_metadata_and_manifest(small, tmp_path):
    meta = json.loads(pq.read_schema(small / "victims.parquet").metadata[b"vw.synthetic"])
    assert meta["synthetic"] is True and meta["seed"] == 7
    manifest = json.loads((small / "extract.json").read_text())
    assert manifest["synthetic"] is True and "SYNTHETIC" in manifest["note"]
    synth.generate(tmp_path / "csv", START, END, scale=0.01, seed=7, fmt="csv", progress=None)
    contract.validate(tmp_path / "csv").close()
    assert json.loads((tmp_path / "csv" / "extract.json").read_text())["format"] == "csv"


def test_ensure_reuses_a_matching_extract_and_remakes_a_different_one(tmp_path):
    first = synth.ensure(tmp_path / "e", START, END, 0.01, 3)
    stamp = (tmp_path / "e" / "offences.parquet").stat().st_mtime_ns
    assert synth.ensure(tmp_path / "e", START, END, 0.01, 3) == first
    assert (tmp_path / "e" / "offences.parquet").stat().st_mtime_ns == stamp
    assert synth.ensure(tmp_path / "e", START, END, 0.01, 4)["seed"] == 4
    assert synth.ensure(tmp_path / "e", START, END, 0.01, 4, drift=1.0)["drift_sd_pp"] == 1.0  # drift: remade


def chunk(seed: int, n: int = 200_000) -> pd.DataFrame:
    """Cohort reports of one chunk, drawn and given outcomes as the generator does."""
    cfg = synth.model()
    rng = np.random.default_rng(seed)
    reports = synth.draw_reports(rng, n, cfg, synth.Period(START, END))
    reports = reports[reports["kind"] == "cohort"].reset_index(drop=True)
    synth.assign_outcomes(rng, reports, cfg, synth.model_offsets())
    return reports


def test_two_seeds_differ_as_two_samples_do():
    """Withdrawal by BCU and crime area (108 cells) in two extracts of other seeds: the z statistics
    of their differences (two-proportion, pooled) have a variance between 0.7 and 1.4, as two samples
    of one world would. Raking each extract to the targets, or drawing outcomes systematically,
    took most of the noise away (about 0.5)."""
    cells = []
    for seed in (11, 12):
        reports = chunk(seed)
        parts = [reports.assign(area="all")] + [reports[reports[a]].assign(area=a) for a in synth.AREAS]
        cells.append(pd.concat(parts).groupby(["area", "bcu"])["withdrawn"].agg(["sum", "size"]))
    both = cells[0].join(cells[1], lsuffix="_1", rsuffix="_2")
    pooled = (both["sum_1"] + both["sum_2"]) / (both["size_1"] + both["size_2"])
    z = (both["sum_1"] / both["size_1"] - both["sum_2"] / both["size_2"]) / np.sqrt(
        pooled * (1 - pooled) * (1 / both["size_1"] + 1 / both["size_2"])
    )
    assert len(z) == 108
    assert 0.7 <= z.var() <= 1.4


def test_drift_moves_each_bcu_by_its_shift_and_is_recorded(tmp_path):
    shifts = synth.drift_shifts(1, synth.Period(START, END), 1.0)
    assert list(shifts) == synth.bcus() and synth.drift_shifts(1, synth.Period(START, END), 0) == {}
    assert 0.3 < np.std(list(shifts.values())) < 2  # sd 1 point, twelve draws
    reports = chunk(3, 50_000)
    p = np.full(len(reports), 0.4)
    moved = synth.drifted(reports, p, {"West Area": 2.0})
    west = (reports["bcu"] == "West Area").to_numpy()
    assert 100 * (moved[west].mean() - 0.4) == pytest.approx(2.0, abs=0.05)  # linear in the logit: close to 2 points
    assert (moved[~west] == 0.4).all()
    manifest = synth.generate(tmp_path / "d", START, END, scale=0.01, seed=3, progress=None, drift=1.0)
    assert manifest["drift_sd_pp"] == 1.0 and manifest["drift_pp"] == synth.drift_shifts(
        3, synth.Period(START, END), 1.0
    )
    with pytest.raises(synth.InputError, match="drift must be zero or positive"):
        synth.generate(tmp_path / "e", START, END, scale=0.01, seed=3, progress=None, drift=-1.0)


def test_default_extract_meets_its_calibration_targets_but_for_chance(default_cohort):
    """At the pack's scale, on the default seed: every volume and all-crime odds ratio is met; the
    rate targets miss no more than chance allows (each at most 1%: chance_misses), and the
    crime-area odds ratios at most one (99% intervals, or 20%). A miss is the appendix's to show,
    not a seed's to hide."""
    table = calibration.calibration_table(DEFAULT, default_cohort)
    assessed = table[table["assessed"]]
    missed = assessed[~assessed["within"].astype(bool)]
    rates = assessed["group"].str.startswith("Withdrawal") | (assessed["group"] == "Headline figures")
    assert len(assessed) >= 280
    assert missed["group"].isin(["Volumes", "Driver odds ratios (all-crime model)"]).sum() == 0
    assert rates[missed.index].sum() <= calibration.chance_misses(int(rates.sum()))
    assert (missed["group"] == "Driver odds ratios (crime-area models)").sum() <= 1


def test_breakdowns_hold_at_reduced_scale():
    """One in-memory draw of about a third of the pack's year: every breakdown group of the pack
    with 100 reports or more lies within its 99% sampling interval (at most one misses by chance),
    and the orderings the review saw reversed hold: hate crime's public order above its violence,
    serious youth violence's violence above its robbery, rape above other sexual offences."""
    reports = chunk(21, 300_000)
    rules = synth.breakdown_rules()
    subgroups = calibration.published.load("withdrawal_subgroups")["value"].dropna()
    rate, n, misses = {}, {}, 0
    for key, value in subgroups.items():
        area, rule = rules[key]
        rows = reports[area].to_numpy() & synth.rule_rows(reports, rule)
        n[key], events = int(rows.sum()), int(reports["withdrawn"].to_numpy()[rows].sum())
        rate[key] = events / n[key]
        low, high = calibration.sampling_interval(value, n[key], synth.rounding(value))
        misses += n[key] >= calibration.MIN_CELL and not low <= events <= high
    assert misses <= 1
    assert min(n.values()) > 50
    assert rate["hate_by_group|Public order offences"] > rate["hate_by_group|Violence against the person"]
    assert rate["syv_by_group|Violence against the person"] > rate["syv_by_group|Robbery"] + 0.2
    assert rate["sexual_by_type|Rape"] > rate["sexual_by_type|Other sexual offences"] + 0.2


def test_withdrawals_of_sexual_offences_come_late_and_the_rest_early():
    """Days to investigation complete, for withdrawals: the pack's 55% (adult sexual offences) and
    65% (CSA) after 12 weeks, most of the other areas' within 12 weeks."""
    reports = chunk(22, 300_000)
    late = reports["days_to_complete"] > calibration.LATE_DAYS
    withdrawn = reports["withdrawn"]
    assert late[withdrawn & reports["adult_sexual"]].mean() == pytest.approx(0.55, abs=0.03)
    assert late[withdrawn & reports["csa"]].mean() == pytest.approx(0.65, abs=0.04)
    for area in ("da", "stalking", "hate_crime", "syv", "violence_with_injury"):
        assert late[withdrawn & reports[area]].mean() < 0.5, area


def test_a_breakdown_planted_reversed_is_caught(monkeypatch, default_cohort):
    """The pack's breakdowns read the other way round (as the review saw them on the old
    generator): each reversed group misses its target."""
    load = calibration.published.load
    pairs = [
        ("hate_by_group|Public order offences", "hate_by_group|Violence against the person"),
        ("syv_by_group|Violence against the person", "syv_by_group|Robbery"),
        ("sexual_by_type|Rape", "sexual_by_type|Other sexual offences"),
    ]

    def reversed_pack(name):
        table = load(name)
        if name == "withdrawal_subgroups":
            for a, b in pairs:
                table.loc[[a, b], "value"] = table.loc[[b, a], "value"].to_numpy()
        return table

    monkeypatch.setattr(calibration.published, "load", reversed_pack)
    rows = pd.DataFrame(calibration.subgroup_rows(default_cohort)).set_index("key")
    for key in [k for pair in pairs for k in pair]:
        assert rows.loc[key, "assessed"] and not rows.loc[key, "within"], key


def test_a_target_that_drifts_out_is_caught(monkeypatch, default_cohort):
    load = calibration.published.load

    def drifted(name):
        table = load(name)
        if name == "withdrawal_by_bcu":
            table.loc["da|West Area", "value"] += 10  # the pack's 61% read as 71%
        return table

    monkeypatch.setattr(calibration.published, "load", drifted)
    table = calibration.calibration_table(DEFAULT, default_cohort).set_index("key")
    assert not table.loc["da|West Area", "within"]
    assert table.loc["da|Central East", "within"]


def test_cli_refuses_a_period_that_ends_before_it_starts(tmp_path, capsys):
    assert main(["synth-extract", "--out", str(tmp_path / "x"), "--start", "2022-04-01", "--end", "2021-04-01"]) == 2
    assert "period must end after it starts" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_the_build_writes_the_same_bytes_every_time(small, tmp_path):
    """Threads may finish in any order; the cohort is still written in the extract's order."""
    for name in ("a", "b"):
        dataset.build(small, START, END, tmp_path / name)
    first, second = (hashlib.sha256((tmp_path / n / "cohort.parquet").read_bytes()).hexdigest() for n in ("a", "b"))
    assert first == second
    assert pd.read_parquet(tmp_path / "a" / "cohort.parquet")["crime_ref"].is_monotonic_increasing


def test_the_build_recovers_what_the_generator_made(small, tmp_path):
    """From the written files alone, the dataset build derives every variable exactly as
    the generator drew it (its truth record), report by report."""
    dataset.build(small, START, END, tmp_path / "built")
    built = pd.read_parquet(tmp_path / "built" / "cohort.parquet")
    truth = pd.read_parquet(small / "truth" / "cohort.parquet")
    assert len(built) == len(truth) > 5000
    pairs = {
        "crime_type": "crime_type",
        "bcu": "bcu",
        "withdrawn": "victim_withdrawal",
        "suspect": "suspect_recorded",
        "suspect_known": "suspect_known",
        "outcome_code": "outcome_code",
        "outcome_group": "outcome_group",
        "victim_age_group": "victim_age_group",
        "delay": "delay",
        "days_to_complete": "days_to_complete",
        **{area: area for area in synth.AREAS + ["hbv"]},
    }
    for generated, derived in pairs.items():
        assert (truth[generated].astype(str).to_numpy() == built[derived].astype(str).to_numpy()).all(), generated
    # The generator calibrates each breakdown group on the reports chapter 06 selects for it.
    for key, (_, rule) in synth.breakdown_rules().items():
        chosen = withdrawal.select(built, rule, key).to_numpy()
        assert (synth.rule_rows(truth, rule) == chosen).all(), key


def test_suspect_ages_follow_the_declared_groups(small):
    ages = pd.to_numeric(pd.read_parquet(small / "suspects.parquet")["age"], errors="coerce")
    shares = pd.cut(ages, [9, 17, 24, 64, 90]).value_counts(normalize=True).sort_index().to_numpy()
    # config: under 18 0.12, 18-24 0.18, 25-64 0.62, 65+ 0.03 of suspects with an age (plus the SYV boost to under 25s).
    assert shares[2] > 0.5 and shares[1] > 0.15 and shares[3] < 0.06


def test_an_unquoted_age_group_key_is_named(monkeypatch, tmp_path):
    cfg = synth.config()
    cfg["suspect"]["age_groups"] = {1824: 0.5, "25_64": 0.5}  # what YAML makes of an unquoted 18_24
    monkeypatch.setattr(synth, "config", lambda: cfg)
    with pytest.raises(synth.InputError, match="suspect age_groups: unknown group '1824'"):
        synth.generate(tmp_path / "x", START, END, scale=0.01, seed=1, progress=None)

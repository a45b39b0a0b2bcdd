"""The pack's statements about its data and method (helpers.pack_notes) and the key-variable
and outcome-definition pages built from config (helpers.codebook_pages)."""

import nbformat
import pandas as pd
import pytest

from helpers import codebook_pages, pack_notes, published
from helpers.errors import InputError
from helpers.io import read_yaml
from helpers.paths import CONFIG, ROOT

CHAPTER = ROOT / "notebooks" / "05_dataset.ipynb"
APPENDIX = ROOT / "notebooks" / "91_notes_on_the_pack.ipynb"


def _source(path) -> str:
    return "\n".join(c.source for c in nbformat.read(path, 4).cells if c.cell_type == "code")


@pytest.mark.parametrize("name", sorted(pack_notes.TABLES))
def test_each_text_table_loads_with_unique_ids_and_filled_cells(name):
    table = pack_notes.load(name)
    assert len(table) and table.index.is_unique


def test_a_slip_in_a_text_table_names_the_file_row_and_column(tmp_path, monkeypatch):
    monkeypatch.setattr(pack_notes, "PUBLISHED", tmp_path)
    header = "id,topic,first,first_where,second,second_where,kind,comment\n"
    (tmp_path / "pack_inconsistencies.csv").write_text(header + "I1,t,a,b,c,d,typo,e\n")
    with pytest.raises(InputError, match=r"pack_inconsistencies.csv: row 2, column kind: 'typo'"):
        pack_notes.load("pack_inconsistencies")
    (tmp_path / "pack_inconsistencies.csv").write_text(header + "I1,t,,b,c,d,label,e\n")
    with pytest.raises(InputError, match="row 2, column first: empty"):
        pack_notes.load("pack_inconsistencies")
    (tmp_path / "pack_inconsistencies.csv").write_text(header + "I1,t,a,b,c,d,label,e\nI1,t,a,b,c,d,label,e\n")
    with pytest.raises(InputError, match="'I1' appears more than once"):
        pack_notes.load("pack_inconsistencies")
    (tmp_path / "pack_inconsistencies.csv").write_text("id,topic\nI1,t\n")
    with pytest.raises(InputError, match="missing column"):
        pack_notes.load("pack_inconsistencies")


def test_the_inconsistencies_include_those_the_issue_names():
    text = " ".join(pack_notes.load("pack_inconsistencies").astype(str).sum(axis=1))
    for fragment in ["273,298", "273,398", "Model 14", "Model 15", "Model 17", "Model 25", "Model 26",
                     "'Model 13'", "Model 23", "148,014", "'24-65'", "'SVV'", "not known to the victim",
                     "over one-third", "35%"]:  # fmt: skip
        assert fragment.lower() in text.lower(), fragment


def test_every_inconsistency_is_shown_in_full_on_the_appendix():
    source = _source(APPENDIX)
    assert 'pack_notes.load("pack_inconsistencies")' in source
    assert "display.published_table(\n    notes," in source and "published-pack_inconsistencies.csv" in source
    kinds = pack_notes.kinds_table(pack_notes.load("pack_inconsistencies"))
    assert kinds["Found"].sum() == len(pack_notes.load("pack_inconsistencies"))


def test_the_chapter_shows_every_file_it_owns_in_a_published_download():
    source = _source(CHAPTER)
    for name in ["data_recording_audit", *pack_notes.TABLES]:
        if name != "pack_inconsistencies":
            assert f'csv_name="published-{name}.csv"' in source, name


def test_the_audit_figures_add_up_as_published():
    audit = published.load("data_recording_audit")["value"]
    assert audit["records_correct"] + audit["records_non_compliant"] == audit["records_audited"]
    assert round(100 * audit["records_correct"] / audit["records_audited"]) == audit["recording_accuracy"]


def _cohort(rows):
    return pd.DataFrame(rows, columns=["crime_type", "hbv", "victim_withdrawal"])


def test_exclusion_rates_use_the_run_and_suppress_small_cells():
    exclusions = pack_notes.load("methodology_exclusions")
    cohort = _cohort(
        [("Robbery", False, w) for w in [True] * 30 + [False] * 90] + [("Public order offences", True, True)] * 5
    )
    pack = pd.Series({"rate_robbery": 19.0, "rate_hbv": 51.0})
    table = pack_notes.exclusion_rates(exclusions, cohort, pack, threshold=100)
    assert table.loc["robbery", "run_rate"] == 25.0 and table.loc["robbery", "reports"] == "120"
    assert table.loc["robbery", "pack_rate"] == 19.0
    assert pd.isna(table.loc["hbv", "run_rate"]) and table.loc["hbv", "reports"] == "N<100"
    assert table.loc["arson_criminal_damage", "reports"] == "-"  # absent from the extract
    assert pd.isna(table.loc["public_order", "pack_rate"])  # the pack gives no rate


def test_exclusion_rates_follow_reversed_data():
    exclusions = pack_notes.load("methodology_exclusions")
    low = _cohort([("Robbery", False, w) for w in [True] * 10 + [False] * 190])
    high = _cohort([("Robbery", False, w) for w in [True] * 190 + [False] * 10])
    rate = {n: pack_notes.exclusion_rates(exclusions, c, pd.Series(dtype=float), 100).loc["robbery", "run_rate"]
            for n, c in [("low", low), ("high", high)]}  # fmt: skip
    assert rate == {"low": 5.0, "high": 95.0}


def test_every_model_variable_in_config_appears_in_the_key_variable_table():
    table = codebook_pages.key_variables()
    models = read_yaml(CONFIG / "models.yml")
    missing = set(codebook_pages.model_variables(models)) - set(table["book_variable"])
    assert missing == set()
    for row in codebook_pages.load_key_variables().itertuples():
        assert row.name in set(table["pack_name"])


def test_a_pack_variable_the_config_lacks_is_marked():
    pack = codebook_pages.load_key_variables().head(2).copy()
    pack.loc[1, "config"] = "models:labels.no_such_variable"
    configs = {short: read_yaml(CONFIG / name) for short, name in codebook_pages.FILES.items()}
    table = codebook_pages.key_variables(pack, configs)
    assert table.loc[1, "declared_in"] == codebook_pages.NOT_IN_CONTRACT
    assert table.loc[0, "declared_in"] == "config/cris_contract.yml"


def test_every_outcome_code_in_config_appears_and_the_groups_agree_with_the_pack():
    dataset = read_yaml(CONFIG / "dataset.yml")
    table = codebook_pages.outcome_definitions()
    codes = [str(c) for codes in dataset["outcome_groups"].values() for c in codes] + dataset["excluded_outcomes"]
    assert sorted(table["code"]) == sorted(codes)
    assert codebook_pages.groups_agree(table).all()
    assert set(table.loc[table["victim_withdrawal"] == "yes", "code"]) == set(dataset["withdrawal_outcomes"])


def test_a_regrouped_outcome_is_shown_as_disagreeing():
    dataset = read_yaml(CONFIG / "dataset.yml")
    dataset["outcome_groups"]["Victim withdrawal"] = ["14"]
    dataset["outcome_groups"]["Other"] = [*dataset["outcome_groups"]["Other"], "16"]
    table = codebook_pages.outcome_definitions(dataset=dataset)
    agree = codebook_pages.groups_agree(table)
    assert list(table.loc[~agree, "code"]) == ["16"]


def test_implied_share_inverts_the_weighted_mean():
    assert pack_notes.implied_share(70.0, 60.0, 0.6 * 70.0 + 0.4 * 60.0) == pytest.approx(40.0)
    assert pd.isna(pack_notes.implied_share(50.0, 50.0, 50.0))


def _models(rows):
    """A regression_models-like table: (model, filters, n, %0, %1, overall)."""
    records = []
    for model, filters, n, p0, p1, overall in rows:
        for statistic, value in [("n", n), ("pct_correct_0", p0), ("pct_correct_1", p1), ("pct_correct", overall)]:
            records.append({"model_id": model, "filters": filters, "statistic": statistic, "value": value})
    return pd.DataFrame(records)


def test_the_withdrawals_check_follows_the_figures():
    consistent = _models(
        [
            ("3", "Suspect recorded", 1000, 70.0, 60.0, 0.6 * 70 + 0.4 * 60),
            ("19", "Victim withdrew, Suspect recorded", 400, 30, 90, 60),
        ]
    )
    check = pack_notes.withdrawals_check(consistent)
    assert list(check["model"]) == ["3"] and check.loc[0, "implied_withdrawals"] == 400 and check.loc[0, "agrees"]
    assert "figures add up" in pack_notes.withdrawals_sentence(check)
    broken = _models(
        [
            ("3", "Suspect recorded", 1000, 70.0, 60.0, 0.9 * 70 + 0.1 * 60),
            ("19", "Victim withdrew, Suspect recorded", 400, 30, 90, 60),
        ]
    )
    check = pack_notes.withdrawals_check(broken)
    assert not check.loc[0, "agrees"]
    assert "model 3 implies 100 withdrawals where model 19's sample has 400 (-75%)" in pack_notes.withdrawals_sentence(
        check
    )


def test_the_pack_s_model_8_is_the_one_whose_figures_do_not_add_up():
    check = pack_notes.withdrawals_check(published.load("regression_models"))
    assert list(check.loc[~check["agrees"], "model"]) == ["8"]

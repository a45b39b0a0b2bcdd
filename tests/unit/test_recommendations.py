"""Chapters 08 and 09 tell the pack's whole qualitative story and its recommendations in
detail: the pack's suggestions, statements and samples are data, rendered by helpers (so
a row dropped from a file or a page fails here), every computed figure names its period
and no label states a direction a run might not bear out."""

import re
from dataclasses import replace

import pandas as pd
import pytest

from helpers import evidence, published, recommendations
from helpers.errors import InputError
from helpers.params import load_params
from helpers.paths import ROOT

CHAPTER_08 = (ROOT / "notebooks" / "08_literature_and_voices.md").read_text(encoding="utf-8")


def test_every_question_and_topic_is_rendered_by_chapter_08():
    for name in evidence.TABLES:
        assert f'evidence.load("{name}")' in CHAPTER_08, name
    for question in evidence.load("qual_findings")["question"].unique():
        assert f'evidence.voices(findings, quotes, "{question}")' in CHAPTER_08, question
    for topic in evidence.load("qual_statements")["topic"].unique():
        assert f'evidence.statements(statements, "{topic}")' in CHAPTER_08, topic
    for name in ("qual_samples", "victim_satisfaction"):
        assert f'csv_name="published-{name}.csv"' in CHAPTER_08, name


def test_voices_show_every_finding_and_quote_of_their_question():
    findings, quotes = evidence.load("qual_findings"), evidence.load("quotes")
    for question, rows in findings.groupby("question"):
        text = evidence.voices(findings, quotes, question)
        assert all(finding in text for finding in rows["finding"]), question
        assert all(f"“{q}”" in text for q in quotes.loc[quotes["section"] == question, "text"]), question
    shown = sum(len(quotes[quotes["section"] == q]) for q in findings["question"].unique())
    assert shown == len(quotes)  # every quote is filed under a question the chapter renders


def test_the_pack_suggestions_and_statements_are_present():
    findings = evidence.load("qual_findings")
    victims = " ".join(findings.loc[findings["question"] == "What would have kept victims engaged", "finding"])
    for phrase in (
        "emotional support",
        "Updates and explanations",
        "held more accountable",
        "non-physical",
        "Children",
    ):
        assert phrase in victims, phrase
    practitioners = " ".join(findings.loc[findings["question"] == "Improving the response", "theme"])
    for phrase in ("after charge", "don't overpromise", "Scenario-based training", "peers"):
        assert phrase in practitioners, phrase
    statements = evidence.load("qual_statements")
    literature = " ".join(evidence.statements(statements, "literature"))
    assert "same for non-reporting" in literature and "open to being influenced" in literature
    assert "something has changed" in literature
    assert "randomised control trial" in " ".join(evidence.statements(statements, "satisfaction"))


def test_a_quote_under_a_theme_without_a_finding_is_an_error():
    findings = pd.DataFrame({"question": ["Q"], "theme": ["A"], "finding": ["Found."]})
    quotes = pd.DataFrame({"section": ["Q", "Q"], "pack_theme": ["A", "B"], "text": ["a", "b"], "speaker": "V"})
    with pytest.raises(InputError, match="theme 'B' of section 'Q' is not in qual_findings.csv"):
        evidence.voices(findings, quotes, "Q")
    with pytest.raises(InputError, match="no finding for question 'R'"):
        evidence.voices(findings, quotes, "R")
    with pytest.raises(InputError, match="no statement with topic 'nope'"):
        evidence.statements(pd.DataFrame({"topic": ["literature"], "statement": ["s"]}), "nope")


def test_a_bad_voice_or_a_repeated_id_names_the_file_row_and_column(tmp_path, monkeypatch):
    monkeypatch.setattr(evidence, "PUBLISHED", tmp_path)
    header = "id,voice,question,theme,finding,source,pack_section\n"
    (tmp_path / "qual_findings.csv").write_text(header + "a,Victims,Q,T,F,S,P\nb,Officers,Q,T,F,S,P\n")
    with pytest.raises(InputError, match=r"qual_findings.csv: row 3, column voice: 'Officers'"):
        evidence.load("qual_findings")
    (tmp_path / "qual_findings.csv").write_text(header + "a,Victims,Q,T,F,S,P\na,Victims,Q,T,F,S,P\n")
    with pytest.raises(InputError, match=r"row 3, column id: 'a' appears twice"):
        evidence.load("qual_findings")


def test_rate_range_follows_the_data_and_reports_unrated_studies():
    table = pd.DataFrame({"study": ["A", "B", "C"], "withdrawal_rate_percent": ["10", "", "60"]})
    assert evidence.rate_range(table) == {
        "low": 10.0,
        "low_study": "A",
        "high": 60.0,
        "high_study": "C",
        "n_rated": 2,
        "n_unrated": 1,
    }
    reversed_rates = table.assign(withdrawal_rate_percent=["60", "", "10"])
    span = evidence.rate_range(reversed_rates)
    assert (span["low_study"], span["high_study"]) == ("C", "A")
    with pytest.raises(InputError, match="no study gives a single withdrawal rate"):
        evidence.rate_range(table.assign(withdrawal_rate_percent=""))


def test_the_qualitative_samples_and_survey_reach_are_published_with_periods():
    samples = published.load("qual_samples")
    assert samples.loc[["victims_commissioner_victims", "mps_officers", "mps_focus_groups"], "value"].tolist() == [
        10,
        15,
        2,
    ]
    assert samples.loc[["cps_professionals", "cps_focus_groups", "literature_studies"], "value"].tolist() == [5, 1, 45]
    assert samples["value"].isna().sum() == 3 and (samples.loc[samples["value"].isna(), "note"] != "").all()
    assert (samples["period"] != "").all()
    satisfaction = published.load("victim_satisfaction")
    assert satisfaction.loc[
        ["victims_heard_per_year", "uss_tdiu_victims_low", "uss_tdiu_victims_high"], "value"
    ].tolist() == [
        20000,
        9000,
        10000,
    ]
    assert "huge increases" in satisfaction.loc["call_back_rct", "note"]
    assert (satisfaction["period"] != "").all()


SPEC = recommendations.load()
COVERS = {"run": "RUN", "home_office": "HO", "pas": "PAS", "responses": "QUOTES"}
RECS = {r["id"]: r for c in SPEC["categories"] for r in c["recommendations"]}


def test_the_recommendations_keep_the_pack_detail():
    assert [c["name"] for c in SPEC["categories"]] == [
        "Strategic level",
        "Practical",
        "Oversight",
        "New research",
        "Data improvements",
    ]
    assert len(RECS["training"]["points"]) == 6 and "cultural competence" in RECS["training"]["points"]
    assert (
        "static/dynamic split" in RECS["tailored_response"]["text"] and "first 12" in RECS["tailored_response"]["text"]
    )
    assert "London Policing Board" in RECS["oversight"]["text"]
    assert "good practice" in RECS["local_variation"]["text"] and "latent class" in RECS["latent_classes"]["text"]
    assert "Criminal Justice Data Improvement Programme" in RECS["data_capture"]["text"]
    assert len(RECS["data_capture"]["points"]) == 4
    assert "*From the pack's data recommendations" in recommendations.markdown(SPEC, "Data improvements", COVERS)
    assert "MPS Connect" in RECS["victim_identifier"]["text"]


def test_the_book_links_where_it_acts_on_a_recommendation():
    pages = {r: [link["page"] for link in rec.get("in_this_book", [])] for r, rec in RECS.items()}
    assert (
        "10_beyond_the_pack.ipynb" in pages["latent_classes"] and "10_beyond_the_pack.ipynb" in pages["local_variation"]
    )
    assert "11_monitoring.ipynb" in pages["oversight"] and "../book/own_extract.md" in pages["oversight"]
    text = recommendations.markdown(SPEC, "New research", COVERS)
    assert "*What this book does about it:* [Chapter 10: latent classes" in text
    broken = {
        "categories": [
            {"name": "X", "recommendations": [dict(RECS["oversight"], in_this_book=[{"page": "no.md", "label": "x"}])]}
        ]
    }
    assert recommendations.problems(broken) == ["oversight: page no.md does not exist"]


def test_every_figure_names_its_period_and_no_label_states_a_direction():
    for category in SPEC["categories"]:
        text = recommendations.markdown(SPEC, category["name"], COVERS)
        for line in (ln for ln in text.splitlines() if ln.startswith("- ") and "**" in ln):
            assert "(this run, " in line or "(published by the pack; period: " in line, line
    for rec in RECS.values():
        for item in rec["evidence"]:
            label = item.get("label", "")
            assert not re.search(r"\\b(more|less) likely\\b", label.replace("more or less likely", "")), label
    published_line = recommendations.evidence_line(
        {"published": "withdrawal_headlines", "key": "or_rape", "unit": ""}, COVERS
    )
    assert published_line.startswith("- The pack: all-crime model: rape") and "period: 2021-22" in published_line


def test_an_unknown_period_is_reported_and_each_period_follows_the_run():
    item = {"chapter": "06_scale_of_withdrawal", "glue": "rate_all", "period": "last_week"}
    spec = {"categories": [{"name": "X", "recommendations": [{"id": "a", "evidence": [item]}]}]}
    assert recommendations.problems(spec) == ["a: period 'last_week' is not one of run, home_office, pas, responses"]
    params = load_params(ROOT / "params" / "default.yml")
    covers = recommendations.periods(params)
    assert covers["run"] == params.period_label and covers["home_office"].startswith("year ending March")
    assert params.pas_survey_year in covers["pas"] and "2025" in covers["responses"]
    other = replace(params, home_office_sources=params.home_office_sources[:1], responses_file="survey.csv")
    assert recommendations.periods(other)["home_office"] != covers["home_office"]
    assert recommendations.periods(other)["responses"] == "the responses in `survey.csv`"
    line = recommendations.evidence_line(dict(item, period="pas", label="L", format=".0f", unit="%"), covers)
    assert f"(this run, {covers['pas']}; " in line

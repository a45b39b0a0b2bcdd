"""Chapter 08-09 data: the evidence tables, the theme coding on hand-written cases, and
the recommendations' links to computed or published figures."""

import pandas as pd
import pytest

from helpers import coding, evidence, recommendations
from helpers.errors import InputError

CODEBOOK = {
    "fear": {"label": "Fear", "phrases": ["retaliat", "scared"]},
    "updates": {"label": "Updates", "phrases": ["update", "in limbo"]},
}


def responses(*texts: str) -> pd.DataFrame:
    return pd.DataFrame({"id": [f"r{i}" for i in range(len(texts))], "text": list(texts), "source": "test"})


def test_a_phrase_tags_its_theme_at_the_start_of_a_word_ignoring_case_and_curly_quotes():
    tags = coding.tag(
        responses("Fear of RETALIATION", "I was scared", "The updates stopped", "unscared and outdated"), CODEBOOK
    )
    assert tags[["id", "theme"]].values.tolist() == [["r0", "fear"], ["r1", "fear"], ["r2", "updates"]]
    assert tags.loc[tags["id"] == "r0", "phrase"].item() == "retaliat"
    curly = coding.tag(responses("I didn’t hear a thing"), {"t": {"label": "T", "phrases": ["didn't hear"]}})
    assert curly["id"].tolist() == ["r0"]


def test_no_theme_and_several_themes():
    table = responses("Nothing relevant here", "Scared, and left in limbo with no update")
    tags = coding.tag(table, CODEBOOK)
    assert tags.groupby("id")["theme"].apply(list).to_dict() == {"r1": ["fear", "updates"]}
    summary = coding.summary(table, tags, CODEBOOK).set_index("theme")
    assert summary["responses"].to_dict() == {"Fear": 1, "Updates": 1, "No theme found": 1}
    assert summary.loc["Fear", "share"] == 50.0
    assert summary.loc["No theme found", "examples"] == "Nothing relevant here"


def test_the_pack_quotes_are_coded_into_the_pack_themes():
    quotes = evidence.load("quotes")
    tags = coding.tag(quotes, coding.load_codebook())
    themes = tags.groupby("id")["theme"].apply(set)
    assert themes["V04"] == {"repercussions"} and themes["V07"] == {"updates"} and "moving_on" in themes["V01"]
    assert set(quotes["id"]) == set(themes.index)  # every quote of the pack finds at least one theme


def test_responses_file_errors_name_the_file_column_and_row(tmp_path):
    path = tmp_path / "survey.csv"
    path.write_text("id,answer,source\n1,x,s\n")
    with pytest.raises(InputError, match=r"survey.csv: missing column\(s\) text"):
        coding.load_responses(path)
    path.write_text("id,text,source\n1,a,s\n2,,s\n1,b,s\n")
    with pytest.raises(InputError, match=r"survey.csv: row 4, column id: '1' appears more than once"):
        coding.load_responses(path)
    path.write_text("id,text,source\n1,a,s\n2, ,s\n")
    assert coding.load_responses(path)["id"].tolist() == ["1"]  # blank answers are not responses


def test_theme_matrix_counts_studies_and_rejects_an_unknown_theme():
    studies = pd.DataFrame({"crime_area": ["DA", "DA", "Stalking"], "themes": ["Fear; Outcomes", "Fear", ""]})
    matrix = evidence.theme_matrix(studies, ["Fear", "Outcomes", "Victim care"])
    assert matrix.to_dict() == {
        "DA": {"Fear": 2, "Outcomes": 1, "Victim care": 0},
        "Stalking": {"Fear": 0, "Outcomes": 0, "Victim care": 0},
    }
    with pytest.raises(InputError, match="theme 'Outcomes' is not in literature_themes.csv"):
        evidence.theme_matrix(studies, ["Fear"])


def test_published_evidence_tables_load_with_their_counts():
    assert len(evidence.load("literature_studies")) == 45
    themes = evidence.load("literature_themes")
    assert themes["theme"].nunique() == 11 and set(themes["direction"]) == {"increases", "decreases", "mixed"}
    assert len(evidence.load("previous_research")) == 8
    findings = evidence.load("qual_findings")
    assert findings.groupby(["voice", "question"]).size().to_dict() == {
        ("Practitioners", "Improving the response"): 4,
        ("Practitioners", "Practitioners' perspectives"): 3,
        ("Victims", "What would have kept victims engaged"): 5,
        ("Victims", "Why victims withdrew"): 4,
    }
    topics = evidence.load("qual_statements")["topic"].value_counts().to_dict()
    assert topics == {"good_service": 10, "satisfaction": 5, "literature": 4, "caution": 2}


def test_every_recommendation_links_to_a_computed_or_published_figure():
    spec = recommendations.load()
    recs = [r for c in spec["categories"] for r in c["recommendations"]]
    assert len(recs) == 9 and all(r["evidence"] for r in recs)
    assert recommendations.problems(spec) == []


def test_a_broken_recommendation_link_is_reported():
    spec = {
        "categories": [
            {
                "name": "X",
                "recommendations": [
                    {"id": "a", "evidence": [{"chapter": "06_scale_of_withdrawal", "glue": "no_such_key"}]},
                    {"id": "b", "evidence": [{"published": "victim_satisfaction", "key": "nope"}]},
                    {"id": "c", "evidence": []},
                ],
            }
        ]
    }
    assert recommendations.problems(spec) == [
        "a: 06_scale_of_withdrawal glues no 'no_such_key'",
        "b: victim_satisfaction has no key 'nope'",
        "c: no evidence linked",
    ]


def test_recommendation_markdown_pastes_from_the_chapter():
    spec = recommendations.load()
    text = recommendations.markdown(spec, "Oversight", {"run": "April 2021 to March 2022"})
    assert "{glue:text}`06_scale_of_withdrawal.ipynb::rate_all:.0f`%" in text
    assert "(this run, April 2021 to March 2022; [scale of withdrawal](06_scale_of_withdrawal.ipynb))" in text
    with pytest.raises(InputError, match="no category 'Nope'"):
        recommendations.markdown(spec, "Nope", {})

"""Chapter 06's findings follow the run: the sentence on withdrawal and the suspect is
generated from each run's numbers and test (helpers.findings), so the awkward run, whose
extract reverses the finding (config/awkward_extract.yml: outcomes 14 and 18 keep no suspect,
most outcome 18 reports recorded as 14), states the reverse of the default run; and no
heading of the chapter states a direction."""

import html
import re

import pytest

from .conftest import built, glued

NOTEBOOK = "06_scale_of_withdrawal"
DIRECTIONS = ("most likely", "differ", "higher", "lower", "most withdrawals", "always")


def page(run: str) -> str:
    return (built(run) / "notebooks" / f"{NOTEBOOK}.html").read_text(encoding="utf-8")


def text(page_html: str) -> str:
    """The words a reader sees: no tags, scripts, styles or embedded data; quotes plain."""
    page_html = re.sub(r"<(script|style)\b.*?</\1>|data:[^\"']+", "", page_html, flags=re.S)
    words = html.unescape(re.sub(r"<[^>]+>", " ", page_html)).replace("\u2019", "'")
    return re.sub(r"\s+", " ", words)


@pytest.mark.parametrize(("run", "said", "unsaid"), [("default", "higher", "lower"), ("awkward", "lower", "higher")])
def test_the_suspect_sentence_states_the_run_s_direction(run, said, unsaid):
    assert glued(run, f"{NOTEBOOK}.ipynb")["suspect_direction"] == said
    words = text(page(run))
    assert f"withdrawal was {said} with a suspect recorded" in words
    assert f"withdrawal was {unsaid} with a suspect recorded" not in words
    assert "two-proportion z-test" in words
    # The pack's finding stays, attributed, whatever the run finds.
    assert "The pack found withdrawal rates higher when a suspect was recorded" in words


@pytest.mark.parametrize("run", ["default", "awkward"])
def test_no_heading_of_the_chapter_states_a_direction(run):
    headings = [text(h).strip() for h in re.findall(r"<h[1-3][^>]*>(.*?)</h[1-3]>", page(run), flags=re.S)]
    assert headings
    assert [h for h in headings if any(d in h.lower() for d in DIRECTIONS)] == []

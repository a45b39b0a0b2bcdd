"""The book checks must fail on a broken page, or they prove nothing about the book."""

from helpers import pagecheck

BROKEN = """<html><head><title>t</title><script src="https://cdn.example.org/lib.js"></script>
<link rel="stylesheet" href="style.css"></head><body>
<a href="other.html#missing">a</a><a href="nowhere.html">b</a><a href="https://example.org">ok</a>
<script>throw new Error("boom")</script></body></html>"""
GOOD = """<html><head><title>t</title><link rel="stylesheet" href="style.css"></head>
<body><a id="top" href="other.html#top">x</a></body></html>"""


def _site(tmp_path, page):
    (tmp_path / "page.html").write_text(page)
    (tmp_path / "other.html").write_text(GOOD)
    (tmp_path / "style.css").write_text("body { color: black; }")
    return tmp_path


def test_broken_links_and_anchors_are_found(tmp_path):
    site = _site(tmp_path, BROKEN)
    assert pagecheck.broken_links(site) == [
        "page.html: other.html#missing (no such anchor)",
        "page.html: nowhere.html (no such file)",
    ]


def test_external_loads_are_found(tmp_path):
    site = _site(tmp_path, BROKEN)
    (site / "web.css").write_text("@import url(https://fonts.example.org/f.css);")
    assert pagecheck.external_loads(site) == [
        "page.html: https://cdn.example.org/lib.js",
        "web.css: https://fonts.example.org/f.css",
    ]


def test_browser_reports_script_errors_and_web_requests(tmp_path):
    site = _site(tmp_path, BROKEN)
    report = pagecheck.browser_errors([site / "page.html", site / "other.html"])
    problems = report[str(site / "page.html")]
    assert "script error: boom" in problems
    assert "request to the web: https://cdn.example.org/lib.js" in problems
    assert report[str(site / "other.html")] == []


ACCESSIBLE = """<!doctype html><html lang="en"><head><title>Figure</title></head><body><main>
<h1>Withdrawal</h1><img src="data:image/png;base64,iVBORw0KGgo=" alt="Bar chart: withdrawal is highest for rape (69%).">
</main></body></html>"""


def test_the_accessibility_check_fails_on_a_missing_alt_attribute_and_passes_with_one(tmp_path):
    (tmp_path / "good.html").write_text(ACCESSIBLE)
    (tmp_path / "bad.html").write_text(
        ACCESSIBLE.replace(' alt="Bar chart: withdrawal is highest for rape (69%)."', "")
    )
    report = pagecheck.accessibility([tmp_path / "good.html", tmp_path / "bad.html"])
    assert report[str(tmp_path / "good.html")] == []
    bad = report[str(tmp_path / "bad.html")]
    assert [v["id"] for v in bad] == ["image-alt"] and bad[0]["impact"] == "critical"

"""Glossary data, search and widget."""

import re
from pathlib import Path

import pytest

from lmmcourse import widgets
from lmmcourse.widgets import glossary, glossary_entry, load_glossary, search_glossary

# The 26 headwords of the course text's glossary (lesson10_course_text.txt), by section.
COURSE_TERMS = {
    "concept": [
        "Linear mixed model (LMM)", "Fixed effects", "Random effects", "Random intercept",
        "Random slope", "Variance components", "Level-1 / Level-2", "Shrinkage",
        "Partial pooling", "Within- vs between-cluster centering", "Random-effects assumption",
    ],
    "method": [
        "Restricted Maximum Likelihood (REML)", "Maximum Likelihood (ML)",
        "Best Linear Unbiased Predictor (BLUP)", "Empirical Bayes",
        "Likelihood-ratio test for variance components", "AIC / BIC for mixed models",
        "Kenward–Roger / Satterthwaite degrees of freedom", "lme4 / nlme (R packages)",
        "Caterpillar plot", "Random-effects diagnostics",
    ],
    "person": [
        "Nan Laird & James Ware", "Charles R. Henderson (1911–1989)", "Douglas Bates (b. 1949)",
        "José Pinheiro", "David A. Harville",
    ],
}
COURSE_TEXT = Path("/work/shared/lesson/lesson10_course_text.txt")


def test_glossary_has_every_course_term_once():
    entries = load_glossary()
    assert len(entries) == 26
    terms = [e["term"] for e in entries]
    assert len(set(terms)) == 26
    for cat, want in COURSE_TERMS.items():
        assert [e["term"] for e in entries if e["category"] == cat] == want
    assert all(len(e["text"].split()) >= 12 for e in entries)


def test_facts_kept():
    text = {e["term"]: e["text"] for e in load_glossary()}
    assert "y = Xβ + Zu + ε" in text["Linear mixed model (LMM)"]
    assert "(50:50)" in text["Likelihood-ratio test for variance components"]
    assert "1982" in text["Nan Laird & James Ware"]
    assert "2000" in text["José Pinheiro"]
    assert "1950s" in text["Charles R. Henderson (1911–1989)"]
    assert "N(0, σ²u)" in text["Random intercept"]


@pytest.mark.skipif(not COURSE_TEXT.exists(), reason="course text not available")
def test_definitions_are_not_copied():
    """No run of 8 words is shared with the course text (a book title is a name, not prose)."""
    title = "mixed effects models in s and s plus"
    src = " ".join(re.findall(r"\w+", COURSE_TEXT.read_text(encoding="utf-8").lower()))
    src = src.replace(title, "TITLE")
    for e in load_glossary():
        words = " ".join(re.findall(r"\w+", e["text"].lower())).replace(title, "TITLE").split()
        for i in range(len(words) - 7):
            chunk = " ".join(words[i:i + 8])
            assert chunk not in src, (e["term"], chunk)


def _naive_search(q):
    """Independent reference: every word of q occurs in term + text (case-insensitive)."""
    words = q.lower().split()
    return {e["term"] for e in load_glossary()
            if all(w in (e["term"] + " " + e["text"]).lower() for w in words)}


@pytest.mark.parametrize("query", ["reml", "REML", "shrink", "random slope", "Bates", "icc"])
def test_search_matches_naive_reference(query):
    assert {e["term"] for e in search_glossary(query)} == _naive_search(query)


def test_search_specifics():
    hits = search_glossary("reml")
    assert hits[0]["term"] == "Restricted Maximum Likelihood (REML)"  # term matches come first
    assert search_glossary("qwxzy") == []
    assert len(search_glossary("")) == len(search_glossary("   ")) == 26
    assert [e["term"] for e in search_glossary("jose")] == ["José Pinheiro"]  # accents ignored
    assert "Kenward–Roger / Satterthwaite degrees of freedom" in {
        e["term"] for e in search_glossary("kenward-roger")}  # any dash


def test_glossary_entry_lookup():
    assert "Restricted Maximum Likelihood (REML)" in glossary_entry("REML").data
    assert "Restricted Maximum Likelihood (REML)" in glossary_entry("restricted maximum "
                                                                    "likelihood").data
    assert "David A. Harville" in glossary_entry("Harville").data
    assert "Caterpillar plot" in glossary_entry("caterpillar PLOT").data
    with pytest.raises(KeyError, match="Shrinkage"):
        glossary_entry("shrinkge")
    with pytest.raises(KeyError, match="no close match"):
        glossary_entry("qqqqqqqqqq")


def test_glossary_widget_filters_as_you_type():
    g = glossary()
    assert g.search.continuous_update is True
    assert g.search.description and g.search.description_allow_html is False
    assert "lmm-glossary-search" in g.search._dom_classes
    assert "lmm-glossary-results" in g.results._dom_classes
    assert g.count.value == "Showing 26 of 26 entries"
    g.search.value = "reml"
    n = len(_naive_search("reml"))
    assert g.count.value == f"Showing {n} of 26 entries"
    assert "Restricted Maximum Likelihood (REML)" in g.results.value
    assert "Random slope" not in g.results.value
    g.search.value = "zzz<b>"
    assert g.matches == []
    assert "No entry matches “zzz&lt;b&gt;”" in g.results.value  # escaped, not injected
    assert g.count.value == "Showing 0 of 26 entries"
    g.search.value = ""
    assert len(g.matches) == 26


def test_glossary_static_fallback_is_full_html():
    bundle = glossary()._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    for terms in COURSE_TERMS.values():
        for t in terms:
            assert t.replace("&", "&amp;") in bundle["text/html"]


def test_glossary_skipped_under_nbgrader(monkeypatch):
    monkeypatch.setenv(widgets.GRADING_ENV_VAR, "autograde")
    g = glossary()
    assert isinstance(g, widgets.SkippedWidget)
    assert "skipped during grading" in g._repr_mimebundle_()["text/plain"]

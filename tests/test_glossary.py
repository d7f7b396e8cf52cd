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
# The lesson's own key terms that the course text's glossary lacks (issue 11).
LESSON_TERMS = {
    "concept": ["Intraclass correlation coefficient (ICC)", "Contextual effect", "Design effect",
                "Shrinkage factor"],
    "method": ["Satterthwaite approximation", "Box–Cox transformation",
               "Hausman test / Mundlak approach"],
    "person": [],
}
N_ENTRIES = sum(map(len, COURSE_TERMS.values())) + sum(map(len, LESSON_TERMS.values()))  # 33
COURSE_TEXT = Path("/work/shared/lesson/lesson10_course_text.txt")


def test_glossary_has_every_course_and_lesson_term_once():
    entries = load_glossary()
    assert len(entries) == N_ENTRIES == 33
    terms = [e["term"] for e in entries]
    assert len(set(terms)) == N_ENTRIES
    for cat in COURSE_TERMS:
        got = [e["term"] for e in entries if e["category"] == cat]
        assert sorted(got) == sorted(COURSE_TERMS[cat] + LESSON_TERMS[cat])
        # the course text's terms keep their course order
        assert [t for t in got if t in COURSE_TERMS[cat]] == COURSE_TERMS[cat]
    assert all(len(e["text"].split()) >= 12 for e in entries)
    assert all(isinstance(e["aliases"], list) for e in entries)


# ------------------------------------------------------------- statements that were wrong (issue 12)
def _compact(s):
    return re.sub(r"\s+", "", s)


def test_variance_components_gives_the_icc_formula_not_the_ratio():
    text = {e["term"]: e["text"] for e in load_glossary()}["Variance components"]
    # ICC = between / (between + within) (course text: sigma2_g / (sigma2_g + sigma2)); the
    # ratio sigma2_u / sigma2_e is the wrong option of Question 1.2
    assert "σ²u/(σ²u+σ²e)" in _compact(text)
    assert not re.search(r"ratio (gives|is|defines) the ICC", text)
    assert not re.search(r"ICC\s*=\s*σ²u\s*/\s*σ²e", text)


def test_lrt_mixture_depends_on_what_is_tested():
    text = {e["term"]: e["text"] for e in load_glossary()}[
        "Likelihood-ratio test for variance components"]
    # 50:50 chi2_0:chi2_1 only for one variance (Self & Liang 1987); a random slope with its
    # covariance is a 50:50 chi2_1:chi2_2 mixture (Stram & Lee 1994)
    assert "χ²0 and χ²1" in text and "χ²1 and χ²2" in text
    first = text.index("χ²0 and χ²1")
    assert "single variance" in text[:first]
    assert "covariance" in text[text.index("χ²1 and χ²2") - 200:]


def test_harville_reviewed_reml_patterson_thompson_developed_it():
    text = {e["term"]: e["text"] for e in load_glossary()}["David A. Harville"]
    # REML: Patterson & Thompson (1971, Biometrika); Harville (1977, JASA 72:320-338) review
    assert "Patterson" in text and "Thompson" in text and "1971" in text
    assert "1977" in text and "Journal of the American Statistical Association" in text
    assert not re.search(r"(developed|invented|introduced|created) (the )?(REML|restricted)", text)


def test_new_terms_state_their_formulas():
    text = {e["term"]: _compact(e["text"]) for e in load_glossary()}
    assert "ICC=σ²u/(σ²u+σ²e)" in text["Intraclass correlation coefficient (ICC)"]
    assert "1+(m−1)·ICC" in text["Design effect"]
    assert "R=σ²u/(σ²u+σ²e/m)" in text["Shrinkage factor"]
    assert "βB−βW" in text["Contextual effect"]
    assert "(y^λ−1)/λ" in text["Box–Cox transformation"]
    # chi2_1 0.95 quantile 3.841459 (table) / 2
    assert "1.92" in text["Box–Cox transformation"]


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


def _naive_search(q, aliases=True):
    """Independent reference: every word of q occurs in term + aliases + text (any case)."""
    words = q.lower().split()
    return {e["term"] for e in load_glossary()
            if all(w in " ".join([e["term"], *(e["aliases"] if aliases else []), e["text"]]).lower()
                   for w in words)}


@pytest.mark.parametrize("query", ["reml", "REML", "shrink", "random slope", "Bates", "icc",
                                   "kr", "eb", "multilevel model"])
def test_search_matches_naive_reference(query):
    assert {e["term"] for e in search_glossary(query)} == _naive_search(query)


def test_browser_reference_for_reml_unchanged_by_aliases():
    # tests/browser counts "reml" in term + text only; aliases must not change that count
    assert {e["term"] for e in search_glossary("REML")} == _naive_search("reml", aliases=False)


@pytest.mark.parametrize("query, term", [
    ("ICC", "Intraclass correlation coefficient (ICC)"),
    ("intraclass correlation", "Intraclass correlation coefficient (ICC)"),
    ("BLUP", "Best Linear Unbiased Predictor (BLUP)"),
    ("REML", "Restricted Maximum Likelihood (REML)"),
    ("ML", "Maximum Likelihood (ML)"),
    ("LRT", "Likelihood-ratio test for variance components"),
    ("KR", "Kenward–Roger / Satterthwaite degrees of freedom"),
    ("LMM", "Linear mixed model (LMM)"),
    ("multilevel model", "Linear mixed model (LMM)"),
    ("EB", "Empirical Bayes"),
    ("DEFF", "Design effect"),
    ("Satterthwaite", "Satterthwaite approximation"),
    ("box-cox", "Box–Cox transformation"),
    ("Mundlak", "Hausman test / Mundlak approach"),
    ("Hausman", "Hausman test / Mundlak approach"),
    ("contextual effect", "Contextual effect"),
    ("shrinkage factor", "Shrinkage factor"),
])
def test_abbreviations_and_synonyms_find_their_entry_first(query, term):
    hits = search_glossary(query)
    assert hits and hits[0]["term"] == term, [h["term"] for h in hits[:3]]
    assert term in glossary_entry(query).data


def test_search_specifics():
    hits = search_glossary("reml")
    assert hits[0]["term"] == "Restricted Maximum Likelihood (REML)"  # term matches come first
    assert search_glossary("qwxzy") == []
    assert len(search_glossary("")) == len(search_glossary("   ")) == N_ENTRIES
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
    assert g.count.value == f"Showing {N_ENTRIES} of {N_ENTRIES} entries"
    g.search.value = "reml"
    n = len(_naive_search("reml"))
    assert g.count.value == f"Showing {n} of {N_ENTRIES} entries"
    assert "Restricted Maximum Likelihood (REML)" in g.results.value
    assert "Random slope" not in g.results.value
    g.search.value = "zzz<b>"
    assert g.matches == []
    assert "No entry matches “zzz&lt;b&gt;”" in g.results.value  # escaped, not injected
    assert g.count.value == f"Showing 0 of {N_ENTRIES} entries"
    g.search.value = ""
    assert len(g.matches) == N_ENTRIES


def test_glossary_static_fallback_is_full_html():
    bundle = glossary()._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    for terms in [*COURSE_TERMS.values(), *LESSON_TERMS.values()]:
        for t in terms:
            assert t.replace("&", "&amp;") in bundle["text/html"]


def test_glossary_skipped_under_nbgrader(monkeypatch):
    monkeypatch.setenv(widgets.GRADING_ENV_VAR, "autograde")
    g = glossary()
    assert isinstance(g, widgets.SkippedWidget)
    assert "skipped during grading" in g._repr_mimebundle_()["text/plain"]

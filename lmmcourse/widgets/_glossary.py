"""The course glossary: its content (``lmmcourse/glossary.json``), search and widgets.

Each entry has a ``term``, a ``category`` (concept, method, person), a ``text`` written for this
course, and ``aliases``: abbreviations and synonyms (``ICC``, ``BLUP``, ``EB``, ...) that the
search and :func:`glossary_entry` also recognise.
"""

from __future__ import annotations

import difflib
import html
import json
import re
import unicodedata
from functools import lru_cache
from importlib import resources

import ipywidgets as W
from IPython.display import HTML

from ._base import LessonWidget, a11y_helper, skip_when_grading

__all__ = [
    "CATEGORIES",
    "Glossary",
    "glossary",
    "glossary_entry",
    "load_glossary",
    "search_glossary",
]

_DASHES = str.maketrans({c: "-" for c in "‐‑‒–—−"})
CATEGORIES = ("concept", "method", "person")


def _norm(s: str) -> str:
    s = unicodedata.normalize("NFKD", str(s))
    s = "".join(ch for ch in s if not unicodedata.combining(ch))
    return " ".join(s.translate(_DASHES).casefold().split())


_KEYS = {"term", "category", "aliases", "text"}


@lru_cache(maxsize=1)
def _glossary_cached() -> tuple:
    text = resources.files("lmmcourse").joinpath("glossary.json").read_text(encoding="utf-8")
    entries = json.loads(text)
    for i, e in enumerate(entries):
        if (set(e) != _KEYS or e["category"] not in CATEGORIES
                or not isinstance(e["aliases"], list)):
            raise ValueError(
                f"glossary.json entry {i} ({e.get('term')!r}) must have exactly the keys "
                f"{sorted(_KEYS)}, with category one of {CATEGORIES} and aliases a list of "
                "strings (possibly empty); fix the entry in lmmcourse/glossary.json"
            )
    return tuple(entries)


def load_glossary() -> list[dict]:
    """The glossary entries, in course order.

    Returns
    -------
    list of dict
        Each ``{"term", "category", "aliases", "text"}``; category is "concept", "method" or
        "person"; aliases are abbreviations and synonyms (may be empty).
    """
    return [dict(e, aliases=list(e["aliases"])) for e in _glossary_cached()]


def _alias_keys(e: dict) -> set[str]:
    return {_norm(a) for a in e["aliases"]} - {""}


def search_glossary(query: str) -> list[dict]:
    """Entries whose term, aliases or text contain every word of ``query``.

    Matching ignores case, accents and the kind of dash, so ``"ICC"``, ``"BLUP"``, ``"REML"``,
    ``"LRT"``, ``"KR"``, ``"EB"`` or a synonym such as ``"multilevel model"`` find their entry.
    Order: entries named exactly by the query (term, term without its bracket, abbreviation or
    alias) first, then entries whose term or aliases contain every word, then the rest in course
    order. An empty query returns every entry.

    Parameters
    ----------
    query : str

    Returns
    -------
    list of dict
    """
    q = _norm(query)
    words = q.split()
    entries = load_glossary()
    if not words:
        return entries
    exact, in_name, in_text = [], [], []
    for e in entries:
        names = " | ".join([_norm(e["term"]), *sorted(_alias_keys(e))])
        text = _norm(e["text"])
        if q in _entry_keys(e):
            exact.append(e)
        elif all(w in names for w in words):
            in_name.append(e)
        elif all(w in names + " | " + text for w in words):
            in_text.append(e)
    return exact + in_name + in_text


def _entry_keys(e: dict) -> set[str]:
    term = e["term"]
    keys = {_norm(term)}
    bare = re.sub(r"\s*\([^)]*\)", "", term).strip()
    keys.add(_norm(bare))
    keys.update(_norm(a) for a in re.findall(r"\(([A-Z]{2,})\)", term))
    for part in re.split(r"\s+/\s+|\s+&\s+", bare):
        keys.add(_norm(part))
        if e["category"] == "person":
            keys.add(_norm(part.split()[-1]))
    keys |= _alias_keys(e)
    keys.discard("")
    return keys


def _entry_html(e: dict, heading: str = "strong") -> str:
    return (
        f'<div class="lmm-glossary-entry"><{heading}>{html.escape(e["term"])}</{heading}> '
        f'<span style="opacity:0.75">({html.escape(e["category"])})</span>'
        + (f'<div class="lmm-glossary-aliases">Also: {html.escape(", ".join(e["aliases"]))}</div>'
           if e.get("aliases") else "")
        + f'<div>{html.escape(e["text"])}</div></div>'
    )


def glossary_entry(term: str) -> HTML:
    """One glossary definition as HTML, for any notebook cell.

    ``term`` may be the full term, the term without its bracketed part, its abbreviation or an
    alias (``"REML"``, ``"BLUP"``, ``"ICC"``, ``"EB"``) or, for people, a surname; case, accents
    and the kind of dash are ignored.

    Parameters
    ----------
    term : str

    Returns
    -------
    IPython.display.HTML

    Raises
    ------
    KeyError
        If no entry matches; the message lists close matches (difflib).
    """
    want = _norm(term)
    index = {}
    for e in load_glossary():
        for k in _entry_keys(e):
            index.setdefault(k, e)
    if want in index:
        return HTML(_entry_html(index[want]))
    close = difflib.get_close_matches(want, list(index), n=5, cutoff=0.5)
    terms = list(dict.fromkeys(index[c]["term"] for c in close))
    hint = f"close matches: {terms}" if terms else "no close match"
    raise KeyError(
        f"no glossary entry for {term!r} ({hint}); use search_glossary({term!r}) to search the "
        "definitions too"
    )


class Glossary(LessonWidget):
    """Widget behind :func:`glossary` (see the module docstring for its API)."""

    def __init__(self):
        self.entries = load_glossary()
        self.search = W.Text(value="", placeholder="type to filter, e.g. REML",
                             description="Search the glossary:", description_allow_html=False,
                             continuous_update=True, style={"description_width": "initial"},
                             layout=W.Layout(width="460px"))
        self.search.add_class("lmm-glossary-search")
        self.count = W.Label()
        self.count.add_class("lmm-glossary-count")
        self.results = W.HTML()
        self.results.add_class("lmm-glossary-results")
        self.matches: list[dict] = []
        self.search.observe(lambda _c: self.update(), names="value")
        self.update()
        super().__init__([self.search, self.count, self.results, a11y_helper()])
        self.add_class("lmm-glossary")

    def update(self):
        q = self.search.value
        self.matches = search_glossary(q)
        n, total = len(self.matches), len(self.entries)
        self.count.value = f"Showing {n} of {total} entries"
        if n == 0:
            self.results.value = (
                f"<p><em>No entry matches “{html.escape(q.strip())}”. Try a shorter or "
                "different word.</em></p>"
            )
        else:
            self.results.value = _glossary_html(self.matches)

    def alt_text(self) -> str:
        return f"Glossary of {len(self.entries)} terms with a search box."

    def _static_bundle(self) -> dict:
        return {"text/html": "<h4>Glossary</h4>" + _glossary_html(self.entries)}


def _glossary_html(entries) -> str:
    parts = []
    for cat, title in zip(CATEGORIES, ("Concepts", "Methods", "People"), strict=True):
        es = [e for e in entries if e["category"] == cat]
        if es:
            parts.append(f"<h5>{title}</h5>" + "".join(_entry_html(e) for e in es))
    return "".join(parts)


@skip_when_grading
def glossary() -> Glossary:
    """The course glossary with a search box that filters as you type.

    Returns
    -------
    Glossary or SkippedWidget
        A :class:`~lmmcourse.widgets.LessonWidget` whose static fallback is the full glossary
        as HTML; a :class:`~lmmcourse.widgets.SkippedWidget` under nbgrader.
    """
    return Glossary()


"""Leak check: no student-facing file may contain what the masters hide from students.

``python -m lmminstructor.leaks [PATH ...]`` (run by ``make test`` through ``tests/test_leaks.py``, and by
``make student-bundle`` on the bundle it writes) extracts from every master in ``source/``:

* every **solution region** (the lines between ``### BEGIN SOLUTION`` and ``### END SOLUTION``, or a
  whole solution cell without markers; code and markdown);
* every **hidden test** region (``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS``);
* the text of every **manually graded answer** cell (the reflections' model answers and rubrics);
* every **feedback string** of a hidden ``grade_choice(..., feedback={...})``;
* every **answer assignment** in a solution region (``q1_2 = "c"``, ``icc_m0 = stats.icc(m0)[...]``),
  matched whatever the spacing and quotes;
* every hidden **model grading call** of a write-the-model task (``grade_model(m1, data=...,
  formula="y ~ a + b", groups=..., reml=...)``), matched whatever the spacing, line breaks and quotes,
  and its **model formula** (the ``formula=`` argument, written as a string or through a name the hidden
  test assigns it to): any quoted or backticked formula with the same response and the same terms, in
  any order and spacing, counts as that formula;

(markdown also as it reads when rendered, without emphasis marks) and searches each student-facing
file for them: notebooks (cell sources, outputs and metadata: every
string in the JSON), the feedback bank, and any other text file (``.py``, ``.md``, ``.json``, ``.txt``,
...). Whitespace is normalised on both sides. A code line or sentence counts when it has at least
:data:`MIN_CHARS` characters (shorter ones are too generic: ``else:``, ``Right.``), except answer
assignments, which always count. A fragment that also appears in the *visible* part of some master (prose,
setup code, visible tests) is not a secret and is skipped.

The result lists each leak as file, kind (solution, hidden test, model answer, feedback, answer key, model
formula), origin (notebook and cell) and the fragment found.
"""

from __future__ import annotations

import argparse
import ast
import html
import io
import json
import re
import sys
import tokenize
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .conventions import (
    MARKER_LINE,
    SOLUTION_REGION,
    Master,
    find_masters,
    grade_id,
    hidden_regions,
    is_grade,
    is_solution,
    parse_grade_choice,
    solution_regions,
    strip_regions,
)
from .paths import ROOT

__all__ = ["STUDENT_PATHS", "MIN_CHARS", "MIN_SENTENCE", "MODEL_GRADERS", "Secret", "Leak", "normalise",
           "strip_markup", "formula_key", "formulas_in", "model_call_secrets", "master_secrets",
           "collect_secrets", "file_text", "iter_files", "scan", "check", "main"]

#: What students get, relative to the repository root (the student bundle holds the same things).
STUDENT_PATHS = ("release", "notebooks", "lmmcourse", "data")
TEXT_SUFFIXES = {".ipynb", ".json", ".py", ".md", ".txt", ".yml", ".yaml", ".toml", ".cfg", ".ini",
                 ".html", ".htm", ".js", ".css", ".csv", ".tex", ".rst", ".in", ""}
SKIP_DIRS = {"__pycache__", ".ipynb_checkpoints", ".git", ".venv", "node_modules"}
MIN_CHARS = 25
MIN_SENTENCE = 25
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+(?=[^a-z])|\n\s*\n|\n[-*] ")
#: Hidden-test functions that grade a fitted model; their calls and formulas are secrets.
MODEL_GRADERS = ("grade_model",)
#: A formula written as a string or in backticks: ``"y ~ a + b"``, ``'y~a'``, `` `y ~ a` ``.
QUOTED_FORMULA = re.compile(r"""(["'`])([^"'`\n]{0,300}?~[^"'`\n]{0,300}?)\1""")


@dataclass(frozen=True)
class Secret:
    """A fragment of hidden content.

    ``fragment`` is whitespace-normalised text searched as a substring; ``pattern`` (for answer
    assignments and model grading calls) a regular expression searched instead; ``formula`` marks a
    model formula, found as any quoted formula with the same :func:`formula_key`; ``rendered`` marks
    text as it reads when shown (markdown without emphasis marks, a feedback string split over source
    lines, printed whole), which the master's source itself need not contain verbatim.
    """

    kind: str
    origin: str
    fragment: str
    pattern: str | None = None
    rendered: bool = False
    formula: bool = False


@dataclass(frozen=True)
class Leak:
    """A secret found in a student-facing file."""

    path: str
    kind: str
    origin: str
    fragment: str

    def __str__(self) -> str:
        shown = self.fragment if len(self.fragment) <= 100 else self.fragment[:97] + "..."
        return f"{self.path}: {self.kind} from {self.origin}: {shown!r}"


def normalise(text: str) -> str:
    """Collapse every run of whitespace to one space; drop terminal colour codes; unescape HTML entities."""
    text = html.unescape(ANSI.sub("", text))
    return re.sub(r"\s+", " ", text).strip()


def strip_markup(text: str) -> str:
    """Markdown text as it reads when rendered: no emphasis marks, code ticks or heading hashes."""
    text = re.sub(r"(\*\*|__|`)", "", text)
    text = re.sub(r"(?<![\w*])\*(?=\S)|(?<=\S)\*(?![\w*])", "", text)
    return re.sub(r"^#+\s*", "", text, flags=re.M)


def _lines(text: str, min_chars=MIN_CHARS) -> list[str]:
    out = []
    for line in text.splitlines():
        line = normalise(line)
        if len(line) >= min_chars:
            out.append(line)
    return out


def _sentences(text: str, min_chars=MIN_SENTENCE) -> list[str]:
    out = []
    for part in SENTENCE_END.split(text):
        part = normalise(part)
        if len(part) >= min_chars:
            out.append(part)
    return out


def _feedback_strings(code: str) -> list[str]:
    """The feedback strings of the ``grade_choice`` call in ``code`` (long strings if it is not Python)."""
    try:
        ast.parse(code)
    except SyntaxError:
        return re.findall(r'"([^"\n]{25,})"', code)
    parsed = parse_grade_choice(code)
    return [] if parsed is None else list(parsed.feedback.values())


def _assignment_pattern(line: str) -> str | None:
    """A spacing- and quote-insensitive pattern for ``name = value`` (None if not an assignment)."""
    m = re.match(r"^\s*([A-Za-z_]\w*)\s*=\s*(.+?)\s*(#.*)?$", line)
    if not m or m.group(2) == "None":
        return None
    name, value = m.group(1), m.group(2)
    lit = re.fullmatch(r"""(["'])(.*)\1""", value)
    if lit:
        rhs = r"""[rRuU]?["']""" + re.escape(lit.group(2)) + r"""["']"""
    else:
        rhs = r"\s*".join(re.escape(tok) for tok in re.findall(r"\w+|[^\w\s]", value))
    return rf"(?<![\w.]){re.escape(name)}\s*=\s*{rhs}"


def _split_terms(rhs: str) -> list[str]:
    """The ``+``-separated terms of a formula side, ignoring ``+`` inside brackets."""
    terms, depth, current = [], 0, []
    for ch in rhs:
        depth += (ch in "([{") - (ch in ")]}")
        if ch == "+" and depth == 0:
            terms.append("".join(current))
            current = []
        else:
            current.append(ch)
    terms.append("".join(current))
    return terms


def formula_key(formula: str) -> tuple[str, frozenset[str]] | None:
    """What a model formula says, whatever the spacing and the order of the terms.

    ``"sbp ~ age + bmi"``, ``"sbp~bmi+age"`` and ``"sbp ~ 1 + bmi + age"`` all give
    ``("sbp", frozenset({"age", "bmi"}))``. None when ``formula`` is not ``response ~ terms``.
    """
    if formula.count("~") != 1:
        return None
    lhs, rhs = (re.sub(r"\s+", "", side) for side in formula.split("~"))
    terms = frozenset(t for t in _split_terms(rhs) if t not in ("", "1"))
    if not lhs or not terms:
        return None
    return lhs, terms


def formulas_in(text: str) -> dict[tuple[str, frozenset[str]], str]:
    """Every quoted or backticked model formula in ``text``: its :func:`formula_key` -> the text found."""
    found: dict[tuple[str, frozenset[str]], str] = {}
    for m in QUOTED_FORMULA.finditer(text):
        key = formula_key(m.group(2))
        if key is not None:
            found.setdefault(key, m.group(0))
    return found


def _code_pattern(code: str) -> str:
    """A pattern for ``code`` that ignores spacing and line breaks between tokens and the quote style."""
    parts = []
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, SyntaxError):
        return r"\s*".join(re.escape(t) for t in re.findall(r"\w+|[^\w\s]", code))
    for tok in tokens:
        if tok.type in (tokenize.NEWLINE, tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT,
                        tokenize.ENDMARKER) or not tok.string.strip():
            continue
        if tok.type == tokenize.STRING:
            try:
                value = ast.literal_eval(tok.string)
            except (ValueError, SyntaxError):
                value = None
            if isinstance(value, str):
                parts.append(r"""[rRuU]?["']""" + re.escape(value) + r"""["']""")
                continue
        parts.append(re.escape(tok.string))
    return r"\s*".join(parts)


def _string_names(tree: ast.AST) -> dict[str, str]:
    """Names bound to a string literal in ``tree`` (``_f = "y ~ a + b"``)."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) \
                and isinstance(node.value.value, str):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    names[target.id] = node.value.value
    return names


def model_call_secrets(code: str, origin: str) -> list[Secret]:
    """The secrets of every model grading call (:data:`MODEL_GRADERS`) in a hidden-test region.

    The whole call, matched whatever the spacing, line breaks and quotes (kind ``"hidden test"``), and
    its ``formula=`` argument (kind ``"model formula"``, matched by :func:`formula_key`), given as a
    string or as a name the region binds to a string.
    """
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    names = _string_names(tree)
    out = []
    for node in ast.walk(tree):
        func = getattr(node, "func", None)
        called = getattr(func, "id", None) or getattr(func, "attr", None)
        if not isinstance(node, ast.Call) or called not in MODEL_GRADERS:
            continue
        segment = ast.get_source_segment(code, node) or ""
        out.append(Secret("hidden test", origin, normalise(segment), _code_pattern(segment)))
        for kw in node.keywords:
            if kw.arg != "formula":
                continue
            value = kw.value
            text = (value.value if isinstance(value, ast.Constant) and isinstance(value.value, str)
                    else names.get(value.id) if isinstance(value, ast.Name) else None)
            if text is not None and formula_key(text) is not None:
                out.append(Secret("model formula", origin, normalise(text), formula=True))
    return out


def master_secrets(master: Master) -> tuple[list[Secret], str]:
    """The hidden content of one master, and its visible text (normalised), for the exclusion rule."""
    secrets: list[Secret] = []
    visible: list[str] = []
    for cell in master.nb.cells:
        origin = f"{master.name}:{grade_id(cell) or cell.get('id', '?')}"
        src = cell.source
        if is_solution(cell) and cell.cell_type == "markdown":
            kind = "model answer" if is_grade(cell) else "solution"
            text = MARKER_LINE.sub("", src)
            rendered = strip_markup(text)
            raw = dict.fromkeys(_lines(text) + _sentences(text))
            secrets += [Secret(kind, origin, s) for s in raw]
            secrets += [Secret(kind, origin, s, rendered=True)
                        for s in dict.fromkeys(_lines(rendered) + _sentences(rendered)) if s not in raw]
            continue
        if is_solution(cell) and cell.cell_type == "code":
            regions = solution_regions(src) or [src]
            for region in regions:
                secrets += [Secret("solution", origin, s) for s in _lines(region)]
                for line in region.splitlines():
                    pattern = _assignment_pattern(normalise(line))
                    if pattern:
                        secrets.append(Secret("answer key", origin, normalise(line), pattern))
            src = strip_regions(src, hidden=False) if SOLUTION_REGION.search(src) else ""
        for region in hidden_regions(src):
            secrets += [Secret("hidden test", origin, s) for s in _lines(region)]
            secrets += model_call_secrets(region, origin)
            verbatim = normalise(region)
            for text in _feedback_strings(region):
                # a string split over several source lines reads whole only when printed
                fragments = dict.fromkeys(_sentences(text) + ([normalise(text)] if len(normalise(text))
                                                              >= MIN_SENTENCE else []))
                secrets += [Secret("feedback", origin, s, rendered=s not in verbatim) for s in fragments]
        visible.append(strip_regions(src, solutions=False))
    return secrets, normalise("\n".join(visible))


def collect_secrets(source: Path = ROOT / "source") -> list[Secret]:
    """Secrets of every master under ``source/<assignment>/``, minus fragments that are visible anyway."""
    found, visible = [], []
    paths = [p for _, p in find_masters(source)]
    if not paths:
        raise FileNotFoundError(f"no master notebooks in {source}/<assignment>/")
    for path in paths:
        secrets, text = master_secrets(Master.load(path))
        found += secrets
        visible.append(text)
    public = "\n".join(visible)
    public_formulas = formulas_in(public)
    unique: dict[tuple, Secret] = {}
    for s in found:
        if s.formula:
            if formula_key(s.fragment) in public_formulas:
                continue
            unique.setdefault(("formula", formula_key(s.fragment)), s)
            continue
        if s.pattern is None and s.fragment in public:
            continue
        if s.pattern is not None and re.search(s.pattern, public):
            continue
        unique.setdefault((s.fragment, s.pattern), s)
    return list(unique.values())


# ----------------------------------------------------------------------------- scanning
def _strings(obj) -> Iterator[str]:
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v)


def file_text(path: Path) -> str | None:
    """Everything a student could read in ``path``, normalised (None for binary files)."""
    try:
        raw = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return None
    parts = [raw]
    if path.suffix in (".ipynb", ".json"):
        try:
            # every string in the JSON (cell sources are lists of lines in some writers: join them too)
            data = json.loads(raw)
            parts = list(_strings(data))
            if path.suffix == ".ipynb":
                for cell in data.get("cells", []):
                    for value in (cell.get("source"), *[o.get("text") for o in cell.get("outputs", [])]):
                        if isinstance(value, list):
                            parts.append("".join(value))
                    for out in cell.get("outputs", []):
                        for v in out.get("data", {}).values():
                            if isinstance(v, list):
                                parts.append("".join(v))
                        if isinstance(out.get("traceback"), list):
                            parts.append("\n".join(out["traceback"]))
        except json.JSONDecodeError:
            parts = [raw]
    return "\n\x00\n".join(normalise(p) for p in parts)


def iter_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Every text file under ``paths`` (files or folders) that a student could open."""
    for base in paths:
        base = Path(base)
        candidates = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file())
        for p in candidates:
            if SKIP_DIRS & set(p.parts) or p.suffix not in TEXT_SUFFIXES:
                continue
            yield p


def scan(paths: Iterable[Path], secrets: list[Secret], relative_to: Path | None = None) -> list[Leak]:
    """Search every student-facing file under ``paths`` for every secret.

    Parameters
    ----------
    paths : iterable of Path
        Files or folders to scan.
    secrets : list of Secret
        From :func:`collect_secrets`.
    relative_to : Path, optional
        Report paths relative to this folder.

    Returns
    -------
    list of Leak
        Empty when nothing leaks.
    """
    patterns = [(s, re.compile(s.pattern)) for s in secrets if s.pattern]
    formulas = [(s, formula_key(s.fragment)) for s in secrets if s.formula]
    plain = [s for s in secrets if not s.pattern and not s.formula]
    leaks = []
    for path in iter_files(paths):
        text = file_text(path)
        if not text:
            continue
        shown = str(path.relative_to(relative_to)) if relative_to else str(path)
        for s in plain:
            if s.fragment in text:
                leaks.append(Leak(shown, s.kind, s.origin, s.fragment))
        for s, rx in patterns:
            m = rx.search(text)
            if m:
                leaks.append(Leak(shown, s.kind, s.origin, m.group(0)))
        if formulas:
            quoted = formulas_in(text)
            for s, key in formulas:
                if key in quoted:
                    leaks.append(Leak(shown, s.kind, s.origin, quoted[key]))
    return leaks


def check(root: Path = ROOT, paths: Iterable[Path] | None = None, source: Path | None = None) -> list[Leak]:
    """Scan the student-facing files of ``root`` (or ``paths``) against the masters in ``source``."""
    root = Path(root)
    secrets = collect_secrets(source or root / "source")
    targets = list(paths) if paths is not None else [root / p for p in STUDENT_PATHS if (root / p).exists()]
    return scan(targets, secrets, relative_to=root if paths is None else None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="*", type=Path,
                        help=f"files or folders to scan (default: {', '.join(STUDENT_PATHS)})")
    parser.add_argument("--source", type=Path, default=ROOT / "source", help="folder of the masters")
    args = parser.parse_args(argv)
    try:
        leaks = check(ROOT, args.paths or None, args.source)
    except FileNotFoundError as exc:
        print(f"leak check failed: {exc}", file=sys.stderr)
        return 2
    for leak in leaks:
        print(f"LEAK: {leak}")
    if leaks:
        print(f"{len(leaks)} leak(s): remove them (edit the master or the build, then `make build`).")
        return 1
    print("no leaks: no solution, hidden test, model answer, feedback, answer key or model formula in "
          "student files")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Answer checks for the lesson: nbgrader tests in the masters, instant feedback in the self-study edition.

Three audiences use this module:

* **Masters and nbgrader** (``source/``, ``release/``, autograding): a visible
  :func:`check_format` tells a student whether an answer has the right form; hidden tests call
  :func:`grade_choice` (multiple choice) or :func:`assert_close` (numbers recomputed from the data).
* **Self-study edition** (``notebooks/``): ``make build`` replaces every test cell by
  ``check("q1_2", q1_2)``. :func:`check` looks the question up in ``feedback_bank.json`` (written by the
  build), where keys are stored only as salted hashes and each option's feedback, the hidden test code
  and the reflection model answers are encoded with a salted key stream: nothing is in clear text, and an
  option's feedback is decoded only when that option is chosen. :func:`reflect` shows a text box whose
  "Show model answer" button appears once the student has written something.
* **Final assessment**: :func:`completion_message` counts correct answers and congratulates 15 of 15.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import numbers
import os
import re
import sys
from pathlib import Path

CHOICES = ("a", "b", "c", "d")
BANK_PATH = Path(__file__).with_name("feedback_bank.json")

_QUOTES = "\"'`\u2018\u2019\u201c\u201d"
_RESULTS: dict[str, bool] = {}


# ----------------------------------------------------------------------------- answer normalisation
def normalise_choice(value, options=CHOICES):
    """Normalise a multiple-choice answer: ``" (B) "``, ``"b)"``, ``"'b'"``, ``"B."`` all become ``"b"``.

    Parameters
    ----------
    value : object
        The student's answer.
    options : sequence of str
        The admissible answers, lower case.

    Returns
    -------
    str or None
        The normalised answer if it is one of ``options``, else ``None``.
    """
    if not isinstance(value, str):
        return None
    text = value.strip().strip(_QUOTES).strip().lower()
    text = re.sub(r"^(option|answer)\s*[:=]?\s*", "", text)
    text = text.strip("()[] ").rstrip(".:)").strip()
    return text if text in options else None


def _as_number(value):
    """Return ``value`` as a float if it is a real, finite number (numpy scalars and 0-d arrays too)."""
    if isinstance(value, bool):
        return None
    if hasattr(value, "shape") and getattr(value, "shape", None) == () and hasattr(value, "item"):
        value = value.item()
    if isinstance(value, numbers.Real):
        value = float(value)
        return value if math.isfinite(value) else None
    return None


class AnswerFormatError(AssertionError):
    """An answer is missing or of the wrong form (an ``AssertionError``, so nbgrader fails the test)."""


def check_format(value, kind="choice", options=CHOICES):
    """Visible test: is the answer of the right form? Raises ``AssertionError`` with a friendly message.

    Parameters
    ----------
    value : object
        The student's answer.
    kind : {"choice", "number", "text"}
        ``"choice"``: one of ``options`` (normalised by :func:`normalise_choice`); ``"number"``: a finite
        real number; ``"text"``: a non-empty string.
    options : sequence of str
        Admissible answers for ``kind="choice"``.

    Returns
    -------
    object
        The normalised answer.
    """
    shown = ", ".join(f'"{o}"' for o in options)
    if value is None:
        hint = {"choice": f"one of {shown}", "number": "a number", "text": "some text"}[kind]
        raise AnswerFormatError(f"No answer yet: replace None with {hint}.")
    if kind == "choice":
        chosen = normalise_choice(value, options)
        if chosen is None:
            raise AnswerFormatError(f"Your answer {value!r} is not one of {shown}. Give it as text, e.g. "
                                 f'"{options[0]}".')
        return chosen
    if kind == "number":
        number = _as_number(value)
        if number is None:
            raise AnswerFormatError(f"Expected a single finite number, got {type(value).__name__} "
                                 f"{value!r}. Compute it in code or type it, e.g. 0.25.")
        return number
    if kind == "text":
        if not isinstance(value, str) or not value.strip():
            raise AnswerFormatError("Expected some text in quotes.")
        return value.strip()
    raise ValueError(f"unknown kind {kind!r}: use 'choice', 'number' or 'text'")


# ----------------------------------------------------------------------------- hidden tests
def grade_choice(qid, value, key, feedback, options=CHOICES):
    """Hidden test for a multiple-choice question: passes silently-with-praise or fails with feedback.

    Parameters
    ----------
    qid : str
        Question id (the answer variable's name, e.g. ``"q1_2"``).
    value : object
        The student's answer.
    key : str
        The correct option.
    feedback : dict of str to str
        Feedback for every option: why it is right, or which misconception it reflects.
    options : sequence of str
        Admissible answers.
    """
    missing = set(options) - set(feedback)
    if missing or key not in options:
        raise ValueError(f"{qid}: feedback needed for every option and key among {options}")
    chosen = check_format(value, "choice", options)
    if chosen != key:
        raise AssertionError(f"{qid}: ({chosen}) is not the best answer. {feedback[chosen]}")
    print(f"{qid}: correct. {feedback[key]}")


def assert_close(value, expected, tol, what="your answer", relative=False):
    """Hidden test for a numeric answer: ``|value - expected| <= tol`` (or ``tol * |expected|``).

    The message says whether the answer is too high or too low but never shows the expected value, so
    the same test can give instant feedback in the self-study edition.

    Parameters
    ----------
    value : object
        The student's answer.
    expected : float
        The reference, recomputed from the data by the test.
    tol : float
        Absolute tolerance, or relative when ``relative=True``.
    what : str
        What the number is, for the message.
    relative : bool
        Interpret ``tol`` relative to ``|expected|``.
    """
    number = check_format(value, "number")
    limit = tol * abs(expected) if relative else tol
    if not abs(number - expected) <= limit:
        direction = "too high" if number > expected else "too low"
        shown = f"{tol:.0%}" if relative else f"±{tol:g}"
        raise AssertionError(f"{what}: {number:.6g} is {direction} (tolerance {shown}). "
                             "Check which model and which quantity you used.")


# ----------------------------------------------------------------------------- encoded bank
def _keystream(salt: str, label: str, length: int) -> bytes:
    out = bytearray()
    counter = 0
    while len(out) < length:
        out += hashlib.sha256(f"{salt}|{label}|{counter}".encode()).digest()
        counter += 1
    return bytes(out[:length])


def encode_text(text: str, salt: str, label: str) -> str:
    """XOR ``text`` with a salted SHA-256 key stream and return base64 (obfuscation, not security)."""
    raw = text.encode("utf-8")
    return base64.b64encode(bytes(a ^ b for a, b in zip(raw, _keystream(salt, label, len(raw)), strict=True))
                            ).decode("ascii")


def decode_text(blob: str, salt: str, label: str) -> str:
    """Inverse of :func:`encode_text`."""
    raw = base64.b64decode(blob)
    return bytes(a ^ b for a, b in zip(raw, _keystream(salt, label, len(raw)), strict=True)).decode("utf-8")


def hash_answer(salt: str, qid: str, answer: str) -> str:
    """Salted SHA-256 of a normalised answer, as stored in the bank."""
    return hashlib.sha256(f"{salt}|{qid}|{answer}".encode()).hexdigest()


def load_bank(path=None) -> dict:
    """Read the feedback bank written by ``make build``."""
    path = Path(path) if path else BANK_PATH
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} is missing: run `make build` to generate the feedback bank."
                                ) from None


def _caller_namespace(depth=2):
    return sys._getframe(depth).f_globals


def _evaluate(qid, value, entry, namespace):
    """Return (correct: bool | None, message: str); None means not answered or wrong form."""
    if entry["kind"] == "choice":
        options = tuple(entry["options"])
        try:
            chosen = check_format(value, "choice", options)
        except AnswerFormatError as exc:
            return None, str(exc)
        salt = entry["salt"]
        correct = hash_answer(salt, qid, chosen) == entry["key"]
        text = decode_text(entry["feedback"][chosen], salt, f"{qid}:{chosen}")
        return correct, text
    namespace = dict(namespace)
    namespace[qid] = value
    for helper in (check_format, grade_choice, assert_close):
        namespace.setdefault(helper.__name__, helper)
    code = decode_text(entry["code"], entry["salt"], f"{qid}:code")
    try:
        exec(compile(code, f"<check {qid}>", "exec"), namespace)
    except AnswerFormatError as exc:
        return None, str(exc)
    except AssertionError as exc:
        return False, str(exc)
    except Exception as exc:  # a broken answer must not stop the notebook
        return False, f"Could not check your answer: {type(exc).__name__}: {exc}"
    return True, "Correct."


def check(qid, value, bank=None):
    """Instant feedback in the self-study edition: ``check("q1_2", q1_2)``.

    Prints a tick and the feedback for the chosen option, a cross and the reason, or a reminder when no
    answer has been given yet. Never raises for a student's answer, so the notebook runs top to bottom.
    """
    bank = bank or load_bank()
    entry = bank["questions"].get(qid)
    if entry is None:
        raise KeyError(f"No question {qid!r} in the feedback bank; run `make build`.")
    correct, message = _evaluate(qid, value, entry, _caller_namespace())
    if correct is None:
        print(f"{qid}: {message}")
        return None
    _RESULTS[qid] = correct
    mark = "✓ Correct" if correct else "✗ Not yet"
    print(f"{mark} ({qid}). {message}" if message != "Correct." else f"{mark} ({qid}).")
    return correct


def _ids(prefix, bank=None):
    return [q for q in (bank or load_bank())["questions"] if q.startswith(prefix)]


def score(namespace, prefix="qf_", bank=None):
    """Number of correct answers among the questions whose id starts with ``prefix``, and their count."""
    bank = bank or load_bank()
    ids = _ids(prefix, bank)
    right = sum(bool(_evaluate(q, namespace.get(q), bank["questions"][q], namespace)[0]) for q in ids)
    return right, len(ids)


def completion_message(namespace=None, prefix="qf_", bank=None):
    """Print how many final-assessment answers in ``namespace`` are right; congratulate 15 of 15.

    Works in every edition; an unanswered question counts as not correct and nothing is raised.
    """
    namespace = namespace if namespace is not None else _caller_namespace()
    right, total = score(namespace, prefix, bank)
    if total and right == total:
        print(f"{right} of {total} correct. Congratulations: you have completed the lesson "
              "'Mixed Models for Continuous Data'!")
    elif not any(namespace.get(q) is not None for q in _ids(prefix, bank)):
        print(f"No answers yet: answer the {total} questions above, then run this cell again.")
    else:
        print(f"{right} of {total} correct so far. Revisit the questions marked ✗ above; "
              "all of them right completes the lesson.")


# ----------------------------------------------------------------------------- reflections
def _reflection_file(rid: str) -> Path:
    folder = Path(os.environ.get("LMMCOURSE_REFLECTIONS", "my_reflections"))
    return folder / f"{rid}.md"


def reflect(rid, bank=None, min_chars=20):
    """A reflection box for the self-study edition.

    The text is saved to ``my_reflections/<rid>.md`` as you type and reloaded when the cell is run again,
    so nothing written is lost. A "Show model answer" button appears once you have written at least
    ``min_chars`` characters.
    """
    import ipywidgets as w

    bank = bank or load_bank()
    entry = bank["reflections"][rid]
    path = _reflection_file(rid)
    saved = path.read_text(encoding="utf-8") if path.exists() else ""
    box = w.Textarea(value=saved, placeholder="Write your answer here (it is saved as you type).",
                     description="Your answer", layout=w.Layout(width="100%", height="140px"))
    button = w.Button(description="Show model answer", tooltip="Compare with a model answer",
                      layout=w.Layout(display="flex" if len(saved.strip()) >= min_chars else "none"))
    answer = w.HTML()
    box.add_class("lmm-reflection-text")
    button.add_class("lmm-reflection-show")

    def _on_text(change):
        text = change["new"]
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError:  # a read-only folder must not break the box
            pass
        button.layout.display = "flex" if len(text.strip()) >= min_chars else "none"

    def _on_click(_):
        import html

        text = decode_text(entry["text"], entry["salt"], f"{rid}:answer")
        paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n\n") if p.strip())
        answer.value = f"<div class='lmm-model-answer'>{paragraphs}</div>"

    box.observe(_on_text, names="value")
    button.on_click(_on_click)
    return w.VBox([box, button, answer])

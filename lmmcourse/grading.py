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

__all__ = [
    "MODEL_WEIGHTS",
    "AnswerFormatError",
    "Score",
    "assert_close",
    "check",
    "check_format",
    "completion_message",
    "decode_text",
    "encode_text",
    "grade_choice",
    "grade_model",
    "hash_answer",
    "last_results",
    "load_bank",
    "normalise_choice",
    "reflect",
    "score",
]

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
    kind : {"choice", "number", "text", "model"}
        ``"choice"``: one of ``options`` (normalised by :func:`normalise_choice`); ``"number"``: a finite
        real number; ``"text"``: a non-empty string; ``"model"``: a fitted statsmodels mixed model
        (``smf.mixedlm(...).fit(...)``).
    options : sequence of str
        Admissible answers for ``kind="choice"``.

    Returns
    -------
    object
        The normalised answer (``None`` for ``kind="model"``, so that a visible test cell shows no
        output).
    """
    if kind == "model":
        _fitted_mixed_model(value, "your answer")
        return None
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
    raise ValueError(f"unknown kind {kind!r}: use 'choice', 'number', 'text' or 'model'")


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


# ----------------------------------------------------------------------------- fitted-model tasks
class Score(float):
    """Points earned on a task, as a plain number that remembers its maximum and the feedback.

    nbgrader reads the number (the last expression of a test cell) as partial credit; the
    self-study :func:`check` reads ``out_of`` and ``messages`` to say "partly right (x of y points)".
    """

    out_of: float
    messages: tuple[str, ...]

    def __new__(cls, value: float, out_of: float, messages=()):
        obj = super().__new__(cls, value)
        obj.out_of = float(out_of)
        obj.messages = tuple(messages)
        return obj

    def __repr__(self) -> str:  # nbgrader parses the text/plain output as a float
        return repr(float(self))


#: Share of a task's points for each part of a "write the model" answer (they sum to 1).
MODEL_WEIGHTS = {"terms": 2 / 6, "grouping": 1 / 6, "random": 1 / 6, "method": 1 / 6,
                 "estimates": 1 / 6}


def _fitted_mixed_model(value, name):
    """Return the bare ``MixedLMResults`` behind ``value`` or raise :class:`AnswerFormatError`."""
    from statsmodels.regression.mixed_linear_model import MixedLM, MixedLMResults

    inner = getattr(value, "_results", value)
    if isinstance(inner, MixedLMResults):
        return inner
    if value is None:
        raise AnswerFormatError("No answer yet: fit the model and store the fitted result (what "
                                "smf.mixedlm(...).fit(...) returns) in the answer variable.")
    if isinstance(value, str):
        raise AnswerFormatError(f"{name} is text (a formula?), not a fitted model: pass the formula to "
                                "smf.mixedlm(formula, data, groups=...) and call .fit(...) on it.")
    if isinstance(value, MixedLM):
        raise AnswerFormatError(f"{name} is a mixed model that has not been fitted yet: call .fit(...) "
                                "on it and keep the result.")
    model = getattr(inner, "model", None)
    if model is not None and hasattr(inner, "params"):
        kind = type(model).__name__
        hint = (" It has no random effects: use smf.mixedlm(formula, data, groups=...) instead of "
                f"{'smf.ols' if kind == 'OLS' else 'that function'}.")
        article = "an" if kind[:1].upper() in "AEIOU" else "a"
        raise AnswerFormatError(f"{name} is {article} {kind} fit, not a linear mixed model.{hint}")
    raise AnswerFormatError(f"{name} is of type {type(value).__name__}, not a fitted mixed model: "
                            "assign the result of smf.mixedlm(...).fit(...) to it.")


def _term(column: str) -> str:
    """Model term of a design column: ``smoker[T.Yes]`` -> ``smoker``, ``a[T.x]:b`` -> ``a:b``."""
    return ":".join(re.sub(r"\[.*\]$", "", part) for part in column.split(":"))


def _outside_span(columns, basis, rtol=1e-7):
    """Indices of the columns of ``columns`` that do not lie in the column space of ``basis``."""
    import numpy as np

    columns = np.asarray(columns, dtype=float)
    if columns.shape[1] == 0:
        return []
    if basis.shape[1] == 0:
        return [j for j in range(columns.shape[1]) if np.any(columns[:, j] != 0)]
    scale = np.linalg.norm(basis, axis=0)
    q, r = np.linalg.qr(basis / np.where(scale > 0, scale, 1.0))
    q = q[:, np.abs(np.diag(r)) > 1e-10]
    residual = columns - q @ (q.T @ columns)
    norms = np.linalg.norm(columns, axis=0)
    return [j for j in range(columns.shape[1])
            if np.linalg.norm(residual[:, j]) > rtol * max(norms[j], 1e-300)]


class _Design:
    """Everything the grader compares, taken from a fitted ``MixedLMResults``."""

    def __init__(self, inner):
        import numpy as np

        model = inner.model
        self.inner = inner
        self.y = np.asarray(model.endog, dtype=float)
        self.X = np.asarray(model.exog, dtype=float)
        self.x_names = list(model.exog_names or [f"x{j}" for j in range(self.X.shape[1])])
        self.y_name = str(model.endog_names)
        self.groups = np.asarray(model.groups)
        self.labels = list(model.group_labels)
        self.rows = [np.asarray(model.row_indices[g]) for g in self.labels]
        labels = getattr(model.data, "row_labels", None)
        self.row_labels = None if labels is None else list(labels)
        n = self.y.size
        cols, names, corr_block = [], [], 0
        if model.k_re and model.exog_re is not None:
            Z = np.asarray(model.exog_re, dtype=float)
            re_names = list(getattr(model.data, "exog_re_names", None) or range(Z.shape[1]))
            for j in range(Z.shape[1]):
                const = np.allclose(Z[:, j], Z[0, j]) and Z[0, j] != 0
                names.append("intercept" if const else str(re_names[j]))
                cols.append(Z[:, j])
            corr_block = Z.shape[1]
        self.other_vc = []  # variance components that are not one column per cluster
        vc_index = []
        if getattr(model, "k_vc", 0):
            for i, vname in enumerate(model.exog_vc.names):
                mats = model.exog_vc.mats[i]
                if all(np.asarray(m).shape[1] == 1 for m in mats):
                    col = np.zeros(n)
                    for rows, mat in zip(self.rows, mats, strict=True):
                        col[rows] = np.asarray(mat, dtype=float)[:, 0]
                    const = np.allclose(col, col[0]) and col[0] != 0
                    names.append("intercept" if const else _term(str(model.exog_vc.colnames[i][0][0])))
                    cols.append(col)
                    vc_index.append(i)
                else:
                    self.other_vc.append(vname)
        self.Z = np.column_stack(cols) if cols else np.zeros((n, 0))
        self.z_names = names
        k = self.Z.shape[1]
        # relative covariance of the random effects (G / sigma2), and which pairs are free
        scale = float(inner.scale)
        rel = np.zeros((k, k))
        free = np.zeros((k, k), dtype=bool)
        if corr_block:
            rel[:corr_block, :corr_block] = np.asarray(inner.cov_re, dtype=float) / scale
            pattern = getattr(inner, "freepat", None)
            if pattern is None:
                free[:corr_block, :corr_block] = True
            else:
                free[:corr_block, :corr_block] = np.asarray(pattern.cov_re) != 0
        for j, i in enumerate(vc_index):
            rel[corr_block + j, corr_block + j] = float(np.asarray(inner.vcomp)[i]) / scale
            free[corr_block + j, corr_block + j] = True
        self.rel = rel
        self.free = free
        self.reml = bool(inner.reml)
        self.converged = bool(getattr(inner, "converged", False))

    def reorder(self, order) -> None:
        """Put the rows in ``order`` (row ``i`` becomes old row ``order[i]``)."""
        import numpy as np

        order = np.asarray(order)
        inverse = np.empty_like(order)
        inverse[order] = np.arange(order.size)
        self.y, self.X, self.Z, self.groups = (self.y[order], self.X[order], self.Z[order],
                                               self.groups[order])
        self.rows = [np.sort(inverse[rows]) for rows in self.rows]
        if self.row_labels is not None:
            self.row_labels = [self.row_labels[i] for i in order]

    def profiled(self):
        """GLS fixed effects, variance and fitted fixed part at this fit's relative covariance.

        statsmodels profiles beta and sigma2 out of the likelihood in the same way; redoing it
        here sidesteps statsmodels issue 10239 (fixed effects returned as 0 at a singular fit).
        """
        import numpy as np

        p = self.X.shape[1]
        xtvx, xtvy, solved = np.zeros((p, p)), np.zeros(p), []
        for rows in self.rows:
            Zg = self.Z[rows]
            V = np.eye(rows.size) + Zg @ self.rel @ Zg.T
            Xg, yg = self.X[rows], self.y[rows]
            a = np.linalg.solve(V, np.column_stack([Xg, yg]))
            xtvx += Xg.T @ a[:, :p]
            xtvy += Xg.T @ a[:, p]
            solved.append((rows, V))
        beta = np.linalg.lstsq(xtvx, xtvy, rcond=None)[0]
        rss = 0.0
        for rows, V in solved:
            r = self.y[rows] - self.X[rows] @ beta
            rss += float(r @ np.linalg.solve(V, r))
        n = self.y.size
        sigma2 = rss / (n - np.linalg.matrix_rank(self.X)) if self.reml else rss / n
        return self.X @ beta, sigma2


def _same_partition(a, b) -> bool:
    import pandas as pd

    pairs = pd.DataFrame({"a": pd.factorize(a)[0], "b": pd.factorize(b)[0]}).drop_duplicates()
    return len(pairs) == pairs["a"].nunique() == pairs["b"].nunique()


def _fit_reference(data, formula, groups, re_formula, reml, correlated, fit_kwargs):
    import warnings

    import numpy as np
    import statsmodels.formula.api as smf

    model = smf.mixedlm(formula, data, groups=groups, re_formula=re_formula)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if not correlated and model.k_re > 1:
            from statsmodels.regression.mixed_linear_model import MixedLMParams

            free = MixedLMParams.from_components(np.ones(model.k_fe), np.eye(model.k_re))
            return model.fit(reml=reml, free=free, **(fit_kwargs or {}))
        if fit_kwargs:
            return model.fit(reml=reml, **fit_kwargs)
        try:
            from .stats import fit_tight
        except ImportError:  # pragma: no cover - the statistics package is part of lmmcourse
            return model.fit(reml=reml)
        return fit_tight(model, reml=reml)


def _random_name(name: str) -> str:
    return "random intercept" if name == "intercept" else f"random slope for {name}"


def grade_model(result, *, data=None, formula=None, groups=None, re_formula=None, reml=True,
                correlated=True, reference=None, points=3.0, tol=0.02, name="your model",
                fit_kwargs=None, weights=None) -> Score:
    r"""Hidden test for a "write the model" task: grade a fitted mixed model against the task's model.

    The reference model is fitted here from the data (never typed in), by
    :func:`lmmcourse.stats.fit_tight` unless ``fit_kwargs`` are given. The student's fit is then
    compared with it on what the model *is*, not on how it was spelled:

    * **response**: the outcome vector must be the same (otherwise no points); a fit to the same
      data frame in another row order is matched row by row through its index;
    * **fixed terms** (``terms``): the column space of the fixed-effects design matrix
      :math:`\mathbf X` must be the same, so ``age + bmi``, ``bmi+age``, ``C(female)`` for a 0/1
      ``female`` and a centred or rescaled copy of a covariate all count as the same model;
      missing and extra terms are named;
    * **grouping** (``grouping``): the ``groups`` vector must split the rows into the same clusters,
      whatever the labels;
    * **random part** (``random``): the random-effects design :math:`\mathbf Z` must span the same
      columns (random intercept, random slope for each covariate), with the intercept-slope
      covariance estimated (``correlated=True``) or fixed at 0;
    * **method** (``method``): REML or ML as asked;
    * **estimates** (``estimates``), credited only when all of the above are right and the fit
      converged: with :math:`\hat\beta` and :math:`\hat\sigma^2_e` profiled at the student's
      relative covariance :math:`\hat{\mathbf G}/\hat\sigma^2_e` (as statsmodels does),

      .. math:: \max_i |\hat\mu^s_i - \hat\mu^r_i| \le \text{tol}\cdot\mathrm{SD}(y), \qquad
                |\hat\sigma^{2,s}_e - \hat\sigma^{2,r}_e| \le \text{tol}\cdot\hat\sigma^{2,r}_e,

      and, in every cluster, the implied covariance of the random part
      :math:`\mathbf Z_g\hat{\mathbf G}\mathbf Z_g'` within :math:`\text{tol}\cdot(\hat\sigma^{2,r}_e
      + \bar v^r)` of the reference, where :math:`\bar v^r` is the mean of the diagonal of
      :math:`\mathbf Z\hat{\mathbf G}^r\mathbf Z'`; these quantities do not depend on how the
      covariates were coded.

    Each part earns its share of ``points`` (``weights``, default :data:`MODEL_WEIGHTS`: 2/6 for the
    fixed terms, 1/6 for each other part). The feedback names each mistake ("your model has no
    random slope for age", "fitted by ML but the task asks for REML") and never shows the answer.

    Parameters
    ----------
    result : object
        The student's answer; should be ``smf.mixedlm(...).fit(...)``.
    data : pandas.DataFrame
        Data of the reference model (reload it in the test, e.g. ``data.load_clinics()``).
    formula, groups, re_formula : str
        The reference model, as for ``smf.mixedlm``.
    reml : bool, default True
        The estimation method the task asks for.
    correlated : bool, default True
        Whether the task asks for the covariance of the random effects to be estimated.
    reference : MixedLMResults, optional
        A fitted reference instead of ``data``/``formula``/``groups`` (its ``reml`` is what is asked).
    points : float
        The test cell's points (nbgrader metadata); the return value is at most this.
    tol : float, default 0.02
        Relative tolerance of the estimates (see above); state it in the task.
    name : str
        The answer variable, for messages (``"m1"``).
    fit_kwargs : dict, optional
        Passed to ``MixedLM.fit`` for the reference instead of using ``fit_tight``.
    weights : dict, optional
        Shares of the points per part, keys as in :data:`MODEL_WEIGHTS`.

    Returns
    -------
    Score
        Points earned, a ``float``: the last expression of an nbgrader test cell, so nbgrader gives
        that many points (nbgrader 0.9.6, ``nbgrader.utils.determine_grade``: an ``execute_result``
        that parses as a number is partial credit). Feedback is printed.

    Raises
    ------
    AnswerFormatError
        If ``result`` is not a fitted mixed model (``None``, a formula string, an unfitted model,
        an OLS fit ...).
    AssertionError
        If the answer earns no points (e.g. the wrong response), with the reasons.

    References
    ----------
    Laird, N. M. & Ware, J. H. (1982). Random-effects models for longitudinal data. *Biometrics*
    38, 963-974 (the model :math:`y = X\beta + Zu + \varepsilon` whose parts are compared).

    Examples
    --------
    The test cell of an invented task (not one of the lesson's): "fit ``fit_yield``, a random
    intercept for each farm, yield on fertiliser and rainfall, by REML", worth 3 points in the
    cell's nbgrader metadata. The reference data are reloaded in the test and the call to
    ``grade_model`` is the cell's last expression, so its value is the score::

        check_format(fit_yield, kind="model")
        ### BEGIN HIDDEN TESTS
        _farms = pd.read_csv("farms.csv")
        grade_model(fit_yield, data=_farms, formula="harvest ~ fertiliser + rainfall",
                    groups="farm", reml=True, points=3, name="fit_yield")
        ### END HIDDEN TESTS
    """
    import warnings


    weights = dict(MODEL_WEIGHTS if weights is None else weights)
    if set(weights) != set(MODEL_WEIGHTS) or not math.isclose(sum(weights.values()), 1.0):
        raise ValueError(f"weights needs the keys {sorted(MODEL_WEIGHTS)} and must sum to 1")
    if not points > 0:
        raise ValueError("points must be positive (the test cell's points)")
    inner = _fitted_mixed_model(result, name)
    with warnings.catch_warnings():  # any stderr output makes nbgrader give 0 points
        warnings.simplefilter("ignore")
        if reference is None:
            if data is None or formula is None or groups is None:
                raise ValueError("grade_model needs data, formula and groups, or a fitted reference")
            reference = _fit_reference(data, formula, groups, re_formula, reml, correlated,
                                       fit_kwargs)
        else:
            reml = bool(getattr(reference, "_results", reference).reml)
        ref = _Design(_fitted_mixed_model(reference, "reference"))
        try:
            mine = _Design(inner)
        except Exception as exc:  # an exotic fit the grader cannot read
            raise AssertionError(f"{name}: the grader could not read this fit "
                                 f"({type(exc).__name__}: {exc}).") from None
        return _grade(mine, ref, reml, correlated, float(points), tol, name, weights)


def _grade(mine, ref, reml, correlated, points, tol, name, weights):
    import numpy as np

    problems: list[str] = []
    n_ref = ref.y.size
    if mine.y.size != n_ref:
        raise AssertionError(f"{name}: your model was fitted to {mine.y.size} rows, but the task uses all "
                             f"{n_ref} rows of the data. Fit it to the whole data frame.")
    if (not np.allclose(mine.y, ref.y, rtol=1e-9, atol=1e-9) and mine.row_labels is not None
            and ref.row_labels is not None and set(mine.row_labels) == set(ref.row_labels)
            and len(set(ref.row_labels)) == n_ref):
        # the same rows in another order (e.g. the data frame sorted first): align them
        position = {label: i for i, label in enumerate(mine.row_labels)}
        mine.reorder([position[label] for label in ref.row_labels])
    if not np.allclose(mine.y, ref.y, rtol=1e-9, atol=1e-9):
        same_values = np.allclose(np.sort(mine.y), np.sort(ref.y))
        why = (" The rows are in a different order from the data frame; fit the model to the data "
               "frame as it is." if same_values else
               f" Its response (left of ~) is `{mine.y_name}`, not the outcome the task asks for.")
        raise AssertionError(f"{name}: your model does not model the right outcome.{why}")
    earned = {}
    # fixed terms
    missing = sorted({_term(ref.x_names[j]) for j in _outside_span(ref.X, mine.X)})
    extra = sorted({_term(mine.x_names[j]) for j in _outside_span(mine.X, ref.X)})
    if missing:
        shown = ", ".join("an intercept" if t == "Intercept" else t for t in missing)
        problems.append(f"your model has no fixed effect for {shown}.")
    if extra:
        problems.append(f"your model has fixed effect(s) the task does not ask for: {', '.join(extra)}.")
    earned["terms"] = not (missing or extra)
    # grouping
    same_groups = _same_partition(mine.groups, ref.groups)
    if not same_groups:
        problems.append(f"your groups= does not split the rows into the clusters the task asks for "
                        f"(your grouping has {len(mine.labels)} clusters, the task's "
                        f"{len(ref.labels)}).")
    earned["grouping"] = same_groups
    # random part
    r_missing = [ref.z_names[j] for j in _outside_span(ref.Z, mine.Z)]
    r_extra = [mine.z_names[j] for j in _outside_span(mine.Z, ref.Z)]
    for term in r_missing:
        problems.append(f"your model has no {_random_name(term)}.")
    for term in r_extra:
        problems.append(f"your model has a {_random_name(term)}, which the task does not ask for.")
    for vname in mine.other_vc:
        problems.append(f"your model has a variance component `{vname}` (vc_formula), which the task "
                        "does not ask for.")
    random_ok = not (r_missing or r_extra or mine.other_vc)
    if random_ok and mine.Z.shape[1] > 1:
        pairs_free = bool(np.any(mine.free[~np.eye(mine.free.shape[0], dtype=bool)]))
        if correlated and not pairs_free:
            problems.append("your random effects are uncorrelated (their covariance is fixed at 0); "
                            "the task asks for the covariance to be estimated (one block in "
                            "re_formula).")
            random_ok = False
        elif not correlated and pairs_free:
            problems.append("your random effects have an estimated covariance; the task asks for "
                            "uncorrelated random effects (covariance fixed at 0).")
            random_ok = False
    earned["random"] = random_ok
    # method
    if mine.reml != reml:
        problems.append(f"your model was fitted by {'REML' if mine.reml else 'ML'} "
                        f"(reml={mine.reml}), but the task asks for {'REML' if reml else 'ML'}.")
    earned["method"] = mine.reml == reml
    # estimates
    structure_ok = all(earned.values())
    if structure_ok and not mine.converged:
        problems.append("the model is right, but statsmodels reports that the fit did not converge "
                        "(converged is False), so its estimates cannot be trusted. Refit with another "
                        "optimiser, e.g. .fit(..., method='powell').")
        earned["estimates"] = False
    elif structure_ok:
        try:
            ok, what = _estimates_close(mine, ref, tol)
        except (np.linalg.LinAlgError, ValueError, FloatingPointError):
            ok, what = False, "invalid values in the fit"
        if not ok:
            problems.append(f"the model is right, but its estimates ({what}) are further from a "
                            f"careful fit of the same model than the tolerance ({tol:.0%}). Did the "
                            "optimiser stop early (a convergence warning)? Refit with "
                            "method='powell'.")
        earned["estimates"] = ok
    else:
        earned["estimates"] = False
    share = sum(weights[k] for k, v in earned.items() if v)
    value = round(points * share, 2)
    problems = [p[:1].upper() + p[1:] for p in problems]
    if value <= 0:
        raise AssertionError(f"{name}: " + " ".join(problems))
    if not problems:
        print(f"{name}: correct. Response, fixed effects, grouping, random part, estimation method "
              "and estimates all match the task.")
        return Score(points, points)
    print(f"{name}: partly right ({value:g} of {points:g} points). " + " ".join(problems))
    return Score(value, points, problems)


def _estimates_close(mine, ref, tol):
    import numpy as np

    mu_s, s2_s = mine.profiled()
    mu_r, s2_r = ref.profiled()
    wrong = []
    if np.max(np.abs(mu_s - mu_r)) > tol * np.std(ref.y):
        wrong.append("fixed effects")
    if abs(s2_s - s2_r) > tol * s2_r:
        wrong.append("residual variance")
    # implied covariance of the random part, cluster by cluster (mine.rows and ref.rows may be
    # listed in a different order, so compare row by row through the row indices)
    diag = np.einsum("ij,jk,ik->i", ref.Z, ref.rel * s2_r, ref.Z)
    limit = tol * (s2_r + float(np.mean(diag)))
    worst = 0.0
    for rows in ref.rows:
        Cr = ref.Z[rows] @ (ref.rel * s2_r) @ ref.Z[rows].T
        Cs = mine.Z[rows] @ (mine.rel * s2_s) @ mine.Z[rows].T
        worst = max(worst, float(np.max(np.abs(Cs - Cr))))
    if worst > limit:
        wrong.append("random-effect variances")
    return not wrong, " and ".join(wrong)


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


def _run_test_code(code: str, qid: str, namespace: dict):
    """Execute hidden-test code; return the value of its last expression (like a notebook cell)."""
    import ast

    tree = ast.parse(code, f"<check {qid}>")
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    exec(compile(tree, f"<check {qid}>", "exec"), namespace)
    if last is None:
        return None
    return eval(compile(last, f"<check {qid}>", "eval"), namespace)


def _verdict(qid, value, entry, namespace):
    """Return ``(status, message)``; status is "right", "partial", "wrong" or "unanswered"."""
    if entry["kind"] == "choice":
        options = tuple(entry["options"])
        try:
            chosen = check_format(value, "choice", options)
        except AnswerFormatError as exc:
            return "unanswered", str(exc)
        salt = entry["salt"]
        correct = hash_answer(salt, qid, chosen) == entry["key"]
        text = decode_text(entry["feedback"][chosen], salt, f"{qid}:{chosen}")
        return ("right" if correct else "wrong"), text
    import contextlib
    import io
    import warnings

    namespace = dict(namespace)
    namespace[qid] = value
    for helper in (check_format, grade_choice, assert_close, grade_model):
        namespace.setdefault(helper.__name__, helper)
    code = decode_text(entry["code"], entry["salt"], f"{qid}:code")
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outcome = _run_test_code(code, qid, namespace)
    except AnswerFormatError as exc:
        return "unanswered", _strip(str(exc), f"{qid}: ")
    except AssertionError as exc:
        return "wrong", _strip(str(exc), f"{qid}: ")
    except Exception as exc:  # a broken answer must not stop the notebook
        return "wrong", f"Could not check your answer: {type(exc).__name__}: {exc}"
    if isinstance(outcome, Score) and float(outcome) < outcome.out_of:
        return "partial", (f"Partly right ({float(outcome):g} of {outcome.out_of:g} points). "
                           + " ".join(outcome.messages))
    if isinstance(outcome, Score):
        return "right", "Correct."
    text = _strip(_strip(printed.getvalue().strip(), f"{qid}: "), "correct. ")
    return "right", text or "Correct."


def _strip(text: str, prefix: str) -> str:
    """``text`` without a leading ``prefix`` (case-insensitive), first letter capitalised."""
    text = text[len(prefix):] if text.lower().startswith(prefix.lower()) else text
    return text[:1].upper() + text[1:]


def _evaluate(qid, value, entry, namespace):
    """Return (correct: bool | None, message: str); None means not answered or wrong form."""
    status, message = _verdict(qid, value, entry, namespace)
    return {"right": True, "partial": False, "wrong": False, "unanswered": None}[status], message


def check(qid, value, bank=None) -> None:
    """Instant feedback in the self-study edition: ``check("q1_2", q1_2)``.

    Runs the same hidden test as nbgrader (decoded from the key bank) and prints a tick and the
    feedback, "partly right (x of y points)" and what is missing, a cross and the reason, or a
    reminder when no answer has been given yet. Returns nothing (so a notebook shows no ``True`` or
    ``False`` under the feedback) and never raises for a student's answer, so the notebook runs
    top to bottom. The latest verdict per question is kept for :func:`last_results`.
    """
    bank = bank or load_bank()
    entry = bank["questions"].get(qid)
    if entry is None:
        raise KeyError(f"No question {qid!r} in the feedback bank; run `make build`.")
    status, message = _verdict(qid, value, entry, _caller_namespace())
    if status == "unanswered":
        print(f"{qid}: {message}")
        return
    _RESULTS[qid] = status == "right"
    if status == "partial":
        print(f"◐ ({qid}) {message}")
        return
    mark = "✓ Correct" if status == "right" else "✗ Not yet"
    print(f"{mark} ({qid}). {message}" if message != "Correct." else f"{mark} ({qid}).")


def last_results() -> dict[str, bool]:
    """The latest :func:`check` verdict per question in this session (True = fully right)."""
    return dict(_RESULTS)


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
    from .widgets._base import a11y_helper  # the lesson widgets' visible keyboard-focus style

    container = w.VBox([box, button, answer, a11y_helper()])
    container.add_class("lmm-widget")
    container.add_class("lmm-reflection")
    return container

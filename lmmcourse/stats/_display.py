r"""Print statistics tables the way R's lmerTest and lme4 print them.

The functions of :mod:`lmmcourse.stats` return ordinary pandas objects, so that code can index
them (``tab.loc["Days", "p_value"]``, ``out["chisq"]``). Their *display*, in a terminal and in
Jupyter, follows R instead of printing raw floats:

* coefficient tables as ``printCoefmat`` (lmerTest's ``summary``): estimates, standard errors
  and df rounded together to 4 significant digits of the smallest, test statistics to 3
  decimals, p-values by ``format.pval`` (``< 2e-16``, ``3.26e-06``, ``0.0123``) and
  significance stars;
* likelihood-ratio tables as ``print.anova`` (5 significant digits per column);
* confidence intervals as R prints a matrix (7 significant digits per column).

:class:`LmerTable` is a ``pandas.DataFrame`` subclass (values unchanged, only ``repr``,
``to_string()`` without arguments and ``_repr_html_`` differ) and :class:`LmerResult` a ``dict``
subclass for the results that are a handful of named numbers. :func:`lmer_table` wraps a
function so that it returns them.

References
----------
R Core Team, ``?format.pval``, ``?printCoefmat``, ``?print.anova`` (package stats).
"""

from __future__ import annotations

import functools
import html
import math
import warnings
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "LmerResult",
    "LmerTable",
    "format_pval",
    "format_r",
    "lmer_frame",
    "lmer_table",
    "signif_stars",
]

_EPS = float(np.finfo(float).eps)
_LEGEND = "Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1"


# --------------------------------------------------------------------------------------------
# R's number formatting
# --------------------------------------------------------------------------------------------
def _sig_needed(x: float, digits: int) -> int:
    """Fewest significant digits (<= digits) that show ``x`` as well as ``digits`` do (R's
    formatReal drops trailing zeros this way)."""
    if x == 0 or not math.isfinite(x):
        return 1
    target = float(f"{x:.{digits - 1}e}")
    for s in range(1, digits + 1):
        if float(f"{x:.{s - 1}e}") == target:
            return s
    return digits


def format_r(values: Sequence[float], digits: int = 7, na: str = "NA") -> list[str]:
    """Format numbers together as R's ``format(x, digits = digits)`` does.

    Every element gets at least ``digits`` significant digits where it needs them (fewer when
    the rest would be trailing zeros), all with the same number of decimals; scientific
    notation is used when it is narrower than fixed notation (R's rule with ``scipen = 0``).
    Strings are right-aligned to a common width.

    Parameters
    ----------
    values : sequence of float
    digits : int, default 7
    na : str, default "NA"
        What to print for NaN.

    Returns
    -------
    list of str
    """
    x = np.asarray(values, dtype=float)
    fin = np.isfinite(x)
    out = [na] * len(x)
    if fin.any():
        v = x[fin]
        sig = [_sig_needed(float(a), digits) for a in v]
        mags = [math.floor(math.log10(abs(a))) if a != 0 else 0 for a in v]
        # R: avoid rounding up across a power of ten (e.g. 9.9996 with 4 digits -> 10.00)
        mags = [m + (1 if a != 0 and abs(float(f"{a:.{digits - 1}e}")) >= 10.0 ** (m + 1) else 0)
                for a, m in zip(v, mags, strict=True)]
        rgt = max(max(0, s - 1 - m) for s, m in zip(sig, mags, strict=True))
        rgt = min(rgt, 15)
        fixed = [f"{a:.{rgt}f}" for a in v]
        mant = max(sig) - 1
        sci = [_sci(a, mant) for a in v]
        chosen = fixed if max(map(len, fixed)) <= max(map(len, sci)) else sci
        for i, s in zip(np.flatnonzero(fin), chosen, strict=True):
            out[i] = s
    for i in np.flatnonzero(~fin & ~np.isnan(x)):
        out[i] = "Inf" if x[i] > 0 else "-Inf"
    width = max((len(s) for s in out), default=0)
    return [s.rjust(width) for s in out]


def _sci(a: float, mant: int) -> str:
    s = f"{a:.{mant}e}"
    base, exp = s.split("e")
    sign = exp[0]
    digits_ = exp[1:].lstrip("0").rjust(2, "0")
    return f"{base}e{sign}{digits_}"


def format_pval(pv: Sequence[float] | float, digits: int = 3, eps: float = _EPS,
                na: str = "NA") -> list[str] | str:
    """R's ``format.pval``: p-values below ``eps`` as ``< 2e-16``, the others formatted together.

    Values with a decimal exponent of -3 or more (and exact zeros above ``eps``... none) are
    formatted together in fixed notation, smaller ones together in scientific notation, each with
    ``digits`` significant digits; values below ``eps`` become ``"<"`` and ``eps`` with
    ``max(1, digits - 2)`` digits, separated by a space (no space for a lone value).

    Parameters
    ----------
    pv : float or sequence of float
    digits : int, default 3
        lmerTest's coefficient table uses 3, ``print.anova`` 4.
    eps : float, default machine epsilon (2.2e-16)
    na : str, default "NA"

    Returns
    -------
    str or list of str
        A string for a scalar input, else a list of the same length (not padded).

    Examples
    --------
    >>> format_pval([1e-17, 3.264e-06])
    ['< 2e-16', '3.26e-06']
    >>> format_pval(0.0123456)
    '0.0123'
    """
    scalar = np.ndim(pv) == 0
    p = np.atleast_1d(np.asarray(pv, dtype=float))
    out = [na] * len(p)
    ok = ~np.isnan(p)
    is0 = ok & (p < eps)
    rest = ok & ~is0
    rv_all = []
    if rest.any():
        expo = np.floor(np.log10(np.where(p > 0, p, 1e-50)))
        fixp = rest & ((expo >= -3) | (p == 0))
        scip = rest & ~fixp
        for mask in (fixp, scip):
            if mask.any():
                strs = [s.strip() for s in format_r(p[mask], digits)]
                for i, s in zip(np.flatnonzero(mask), strs, strict=True):
                    out[i] = s
                    rv_all.append(s)
    if is0.any():
        d = max(1, digits - 2)
        if rest.any():
            nc = max(len(s) for s in rv_all)
            if d > 1 and d + 6 > nc:
                d = max(1, nc - 7)
            sep = "" if (d == 1 and nc <= 6) else " "
        else:
            sep = "" if d == 1 else " "
        text = "<" + sep + format_r([eps], d)[0].strip()
        for i in np.flatnonzero(is0):
            out[i] = text
    return out[0] if scalar else out


def signif_stars(p: float) -> str:
    """R's significance codes: ``***`` < 0.001 <= ``**`` < 0.01 <= ``*`` < 0.05 <= ``.`` < 0.1."""
    if p is None or not np.isfinite(p):
        return ""
    for cut, star in ((0.001, "***"), (0.01, "**"), (0.05, "*"), (0.1, ".")):
        if p < cut:
            return star
    return " "


# --------------------------------------------------------------------------------------------
# table layouts
# --------------------------------------------------------------------------------------------
_P_COLUMNS = ("p_value", "p_value_boundary", "p_value_bootstrap")
_TEST_COLUMNS = ("t", "F", "lrt", "chisq", "statistic", "z")


def _column_strings(frame: pd.DataFrame, kind: str) -> tuple[pd.DataFrame, bool]:
    """Formatted string columns for ``frame``; second value: whether stars were added."""
    cols = {}
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])
               and not pd.api.types.is_bool_dtype(frame[c])]
    if kind == "coef":
        digits, dig_tst, p_digits = 4, 3, 3
        cs = [c for c in numeric if c not in _P_COLUMNS and c not in _TEST_COLUMNS]
        vals = frame[cs].to_numpy(dtype=float)
        acs = np.abs(vals[np.isfinite(vals) & (vals != 0)])
        if acs.size:
            digmin = 1 + np.floor(np.log10([acs.min(), acs.max()]))
            dec = int(max(1, digits - digmin.min()))
        else:
            dec = digits
        joint = format_r(np.round(vals, dec).ravel(), digits, na="")
        width = max(len(s) for s in joint) if joint else 0
        joint = np.asarray([s.rjust(width) for s in joint], dtype=object).reshape(vals.shape)
        for j, c in enumerate(cs):
            cols[c] = list(joint[:, j])
    elif kind == "confint":
        digits, dig_tst, p_digits = 7, 4, 4
    else:  # anova-style
        digits, dig_tst, p_digits = 5, 4, 4
    na = "NA" if kind in ("confint", "estimates") else ""
    stars = False
    for c in frame.columns:
        if c in cols:
            continue
        s = frame[c]
        if c in _P_COLUMNS and c in numeric:
            cols[c] = format_pval(s.to_numpy(dtype=float), p_digits, na="")
        elif c in _TEST_COLUMNS and c in numeric:
            cols[c] = format_r(np.round(s.to_numpy(dtype=float), dig_tst), digits, na="")
        elif c in numeric:
            v = s.to_numpy(dtype=float)
            if pd.api.types.is_integer_dtype(s) or (np.all(np.isfinite(v[~np.isnan(v)]))
                                                    and np.all(v[~np.isnan(v)] % 1 == 0)
                                                    and kind != "confint"
                                                    and c not in ("estimate", "loglik")):
                cols[c] = ["" if np.isnan(a) else str(int(a)) for a in v]
            else:
                cols[c] = format_r(v, digits, na=na)
        else:
            cols[c] = ["" if (x is None or (isinstance(x, float) and np.isnan(x))) else str(x)
                       for x in s]
    out = pd.DataFrame(cols, index=frame.index, columns=list(frame.columns))
    text_cols = [c for c in frame.columns if c not in numeric]
    width = {c: max((len(v) for v in out[c]), default=0) for c in text_cols}
    for c in text_cols:   # words read better left-aligned
        out[c] = [v.ljust(width[c]) for v in out[c]]
    out.attrs["text_columns"] = text_cols
    if "p_value" in frame.columns and "p_value" in numeric and kind != "confint":
        pv = frame["p_value"].to_numpy(dtype=float)
        stars = bool(np.any(pv[np.isfinite(pv)] < 0.1))   # R adds the legend only then
        if stars:
            out[""] = [signif_stars(p) for p in pv]
    return out, stars


def _infer_kind(frame: pd.DataFrame) -> str:
    cols = set(frame.columns)
    if {"estimate", "std_error"} <= cols and ("t" in cols or "z" in cols):
        return "coef"
    if any(str(c).endswith(" %") for c in cols):
        return "confint"
    return "anova"


def _text(strings: pd.DataFrame, header: str | None, footer: Sequence[str]) -> str:
    index = [str(i) for i in strings.index]
    show_index = not isinstance(strings.index, pd.RangeIndex)
    iw = max((len(i) for i in index), default=0) if show_index else 0
    widths = [max(len(str(c)), *(len(v) for v in strings[c])) if len(strings) else len(str(c))
              for c in strings.columns]
    lines = []
    if header:
        lines.append(header)
    left = set(strings.attrs.get("text_columns", []))
    head = " " * iw + "".join(" " + (str(c).ljust(w) if c in left else str(c).rjust(w))
                              for c, w in zip(strings.columns, widths, strict=True))
    lines.append(head.rstrip())
    for k, name in enumerate(index):
        row = (name.ljust(iw) if show_index else "") + "".join(
            " " + strings.iloc[k, j].rjust(w) for j, w in enumerate(widths))
        lines.append(row.rstrip())
    lines.extend(footer)
    return "\n".join(lines)


def _html(strings: pd.DataFrame, header: str | None, footer: Sequence[str]) -> str:
    show_index = not isinstance(strings.index, pd.RangeIndex)
    parts = ['<div class="lmm-table">']
    if header:
        parts.append(f"<p><b>{html.escape(header)}</b></p>")
    parts.append('<table class="dataframe" style="font-family: monospace">')
    parts.append("<thead><tr>" + ("<th></th>" if show_index else "") + "".join(
        f'<th style="text-align: right">{html.escape(str(c))}</th>' for c in strings.columns)
        + "</tr></thead><tbody>")
    for k, name in enumerate(strings.index):
        cells = "".join(
            f'<td style="text-align: right; white-space: pre">{html.escape(strings.iloc[k, j])}'
            "</td>" for j in range(strings.shape[1]))
        th = f'<th style="text-align: left">{html.escape(str(name))}</th>' if show_index else ""
        parts.append(f"<tr>{th}{cells}</tr>")
    parts.append("</tbody></table>")
    for f in footer:
        parts.append(f'<p style="font-size: smaller">{html.escape(f)}</p>')
    parts.append("</div>")
    return "\n".join(parts)


def _footer(frame: pd.DataFrame, stars: bool) -> list[str]:
    foot = []
    if stars:
        foot.append("---")
        foot.append(_LEGEND)
    note = frame.attrs.get("note")
    if note:
        foot.append(f"Note: {note}")
    return foot


class LmerTable(pd.DataFrame):
    """A ``DataFrame`` that prints like lmerTest/lme4; its values are not changed.

    ``repr``, ``str``, ``to_string()`` (called without arguments) and Jupyter's HTML view
    format the numbers as R does (see the module docstring); everything else, including
    ``to_string(...)`` with arguments, indexing and arithmetic, is plain pandas. Use
    ``pandas.DataFrame(table)`` to get the raw display back.
    """

    _metadata = ["_lmer_kind", "_lmer_header"]

    @property
    def _constructor(self):
        return LmerTable

    def _lmer_strings(self):
        kind = getattr(self, "_lmer_kind", None) or _infer_kind(self)
        frame = pd.DataFrame(self)
        if ("term" in frame.columns and isinstance(frame.index, pd.RangeIndex)
                and frame["term"].map(lambda t: isinstance(t, str)).all()):
            frame = frame.set_index("term")   # R prints the terms as row names
            frame.index.name = None
        return _column_strings(frame, kind)

    def _parts(self):
        strings, stars = self._lmer_strings()
        header = getattr(self, "_lmer_header", None) or self.attrs.get("header")
        return strings, header, _footer(self, stars)

    def __repr__(self) -> str:
        try:
            return _text(*self._parts())
        except Exception:  # display must never hide the data
            return pd.DataFrame(self).__repr__()

    def to_string(self, *args, **kwargs) -> str:
        if args or kwargs:
            return pd.DataFrame(self).to_string(*args, **kwargs)
        return self.__repr__()

    def _repr_html_(self) -> str:
        try:
            return _html(*self._parts())
        except Exception:
            return pd.DataFrame(self)._repr_html_()


def lmer_frame(frame: pd.DataFrame, kind: str | None = None,
               header: str | None = None) -> LmerTable:
    """Return ``frame`` as an :class:`LmerTable` (same data, index, columns and ``attrs``).

    Parameters
    ----------
    frame : pandas.DataFrame
    kind : {"coef", "anova", "confint", "estimates"}, optional
        Layout; inferred from the column names when omitted.
    header : str, optional
        A title line printed above the table (as lmerTest's "Type III Analysis of ...").
    """
    out = LmerTable(frame)
    out.attrs = dict(frame.attrs)
    out._lmer_kind = kind
    out._lmer_header = header
    return out


class LmerResult(dict):
    """A ``dict`` of named results that prints as a small R-style table.

    Keys and values are exactly those of the plain dict; only ``repr`` and Jupyter's HTML view
    differ. Values that are not numbers (notes, tuples, tables) are printed under the table.
    """

    _lmer_kind = "anova"

    def _table(self) -> tuple[LmerTable | None, list[str]]:
        scalars = {k: v for k, v in self.items() if isinstance(v, (int, float, np.floating,
                                                                     np.integer))
                   and not isinstance(v, bool)}
        extra = []
        for k, v in self.items():
            if k in scalars:
                continue
            if isinstance(v, pd.DataFrame):
                extra.append(f"{k}: DataFrame with {len(v)} rows (result[{k!r}])")
            elif isinstance(v, tuple) and all(isinstance(x, (int, float, np.floating))
                                              for x in v):
                extra.append(f"{k}: (" + ", ".join(s.strip() for s in format_r(v, 5)) + ")")
            elif v is None:
                extra.append(f"{k}: None")
            else:
                extra.append(f"{k}: {v}")
        if not scalars:
            return None, extra
        frame = pd.DataFrame([scalars], index=[""])
        return lmer_frame(frame, kind=self._lmer_kind), extra

    def __repr__(self) -> str:
        try:
            table, extra = self._table()
            text = "" if table is None else repr(table)
            return "\n".join([text, *extra]).strip("\n")
        except Exception:
            return dict.__repr__(self)

    def _repr_html_(self) -> str:
        try:
            table, extra = self._table()
            body = "" if table is None else table._repr_html_()
            return body + "".join(f"<p>{html.escape(e)}</p>" for e in extra)
        except Exception:
            return html.escape(dict.__repr__(self))

    def _repr_pretty_(self, p, cycle):  # IPython's text view of a dict subclass
        p.text(self.__repr__())


class _CompareResult(LmerResult):
    """``compare()``: printed as lme4's ``anova(reduced, full)`` two-row table."""

    def _table(self):
        try:
            rows = pd.DataFrame(
                {
                    "n_params": list(self["n_params"]),
                    "aic": list(self["aic"]),
                    "bic": list(self["bic"]),
                    "loglik": list(self["loglik"]),
                    "deviance": [-2 * x for x in self["loglik"]],
                    "chisq": [np.nan, self["chisq"]],
                    "df": [np.nan, self["df"]],
                    "p_value": [np.nan, self["p_value"]],
                    "p_value_boundary": [np.nan, np.nan if self.get("p_value_boundary") is None
                                         else self["p_value_boundary"]],
                },
                index=["reduced", "full"],
            )
        except (KeyError, TypeError):
            return super()._table()
        if self.get("p_value_boundary") is None:
            rows = rows.drop(columns="p_value_boundary")
        extra = [f"note: {self['note']}"] if self.get("note") else []
        return lmer_frame(rows, kind="anova"), extra


class _BoxCoxResult(LmerResult):
    """``boxcox()``: the best lambda and its interval, then how to get the profile."""

    def _table(self):
        try:
            lo, hi = self["ci"]
            frame = pd.DataFrame({"best_lambda": [self["best_lambda"]], "2.5 %": [lo],
                                  "97.5 %": [hi]}, index=["lambda"])
        except (KeyError, TypeError, ValueError):
            return super()._table()
        n = len(self["profile"]) if isinstance(self.get("profile"), pd.DataFrame) else 0
        return lmer_frame(frame, kind="confint"), [
            f"profile: log-likelihood at {n} values of lambda (result['profile'])"]


_RESULT_CLASSES = {"compare": _CompareResult, "boxcox": _BoxCoxResult}


def _wrap_value(value, kind):
    if isinstance(value, LmerTable):
        return value
    if isinstance(value, pd.DataFrame):
        return lmer_frame(value, kind=None if kind in (None, "compare", "boxcox") else kind)
    if isinstance(value, dict) and not isinstance(value, LmerResult):
        return _RESULT_CLASSES.get(kind, LmerResult)(value)
    return value


def lmer_table(func: Callable | None = None, *, kind: str | None = None) -> Callable:
    """Decorate ``func`` so that its DataFrame or dict result prints like R.

    ``satterthwaite = lmer_table(_ddf.satterthwaite)`` returns the same data as before, as an
    :class:`LmerTable` (DataFrame) or :class:`LmerResult` (dict); docstring and signature are
    kept. ``kind="compare"`` or ``"boxcox"`` picks the layout of those results.
    """
    if func is None:
        return functools.partial(lmer_table, kind=kind)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        # re-issue warnings at the caller's line (the wrapper adds a stack frame); the current
        # filters still apply inside, so "error" filters raise where they always did
        with warnings.catch_warnings(record=True) as caught:
            value = func(*args, **kwargs)
        for w in caught:
            warnings.warn(w.message, w.category, stacklevel=2)
        return _wrap_value(value, kind)

    return wrapper

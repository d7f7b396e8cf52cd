r"""Parametric-bootstrap likelihood-ratio test of nested mixed models (``pbkrtest::PBmodcomp``)."""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np
import pandas as pd

from ._compare import _ml_fit, _nesting
from ._core import _chol_psd, _cov_mask, model_arrays, validate_result
from ._fit import _Profiled

__all__ = ["bootstrap_lrt"]


class _Progress:
    """A progress bar: ipywidgets in a notebook kernel, else a text line on stderr."""

    def __init__(self, total, enabled):
        self.total = total
        self.enabled = enabled
        self.widget = None
        self.last = 0.0
        if not enabled:
            return
        try:
            from IPython import get_ipython

            shell = get_ipython()
            in_kernel = shell is not None and "IPKernelApp" in getattr(shell, "config", {})
        except ImportError:  # pragma: no cover - IPython ships with jupyterlab
            in_kernel = False
        if in_kernel:
            try:
                import ipywidgets
                from IPython.display import display

                self.widget = ipywidgets.IntProgress(
                    value=0, min=0, max=total, description="bootstrap",
                )
                display(self.widget)
            except ImportError:  # pragma: no cover
                self.widget = None

    def update(self, done, failed):
        if not self.enabled:
            return
        if self.widget is not None:
            self.widget.value = done
            self.widget.description = f"{done}/{self.total}"
            return
        now = time.monotonic()
        if done == self.total or now - self.last > 0.5:
            self.last = now
            end = "\n" if done == self.total else ""
            sys.stderr.write(
                f"\rbootstrap_lrt: {done}/{self.total} simulations ({failed} failed){end}"
            )
            sys.stderr.flush()


def bootstrap_lrt(reduced, full, n_sim=1000, seed=None, progress=None):
    r"""Parametric-bootstrap likelihood-ratio test of nested mixed models (``PBmodcomp``).

    Both models are fitted by ML (REML fits are refitted) and the observed statistic is
    :math:`\text{LRT} = 2(\ell_\text{full} - \ell_\text{reduced})`. Then ``n_sim`` times a new
    response is drawn from the fitted reduced model,

    .. math:: y^*_g = X_g\hat\beta + Z_g b^*_g + \varepsilon^*_g, \quad
              b^*_g \sim N(0, \hat G), \quad \varepsilon^*_g \sim N(0, \hat\sigma^2 I),

    both models are refitted to it by ML and :math:`\text{LRT}^*` is recorded. The p-value is

    .. math:: p = \frac{1 + \#\{\text{LRT}^* \ge \text{LRT}\}}{1 + n_\text{ok}},

    where :math:`n_\text{ok}` counts the simulations in which both refits converged. The
    reference distribution is simulated, so boundary problems (a variance tested at zero) and
    small numbers of clusters are handled without asymptotic mixtures.

    Parameters
    ----------
    reduced, full : MixedLMResults
        Nested fits to the same data (see :func:`compare`).
    n_sim : int, default 1000
        Number of simulated data sets. The Monte Carlo standard error of ``p`` is about
        :math:`\sqrt{p(1-p)/n_\text{sim}}`.
    seed : int or None
        Seed for ``numpy.random.default_rng``; pass one for reproducible results.
    progress : bool or None
        Show progress (an ipywidgets bar in a notebook, else a line on stderr). ``None``: only
        when ``n_sim >= 100``.

    Returns
    -------
    dict
        ``lrt`` (observed statistic), ``p_value``, ``n_sim`` (simulations used, i.e. that
        converged), ``n_failed`` (simulations dropped because a refit failed).

    Notes
    -----
    pbkrtest evaluates the observed statistic of REML fits at the REML estimates; here both
    models are refitted by ML first, so ``lrt`` equals ``compare(reduced, full)["chisq"]``
    (unclamped). Each simulation costs two model fits; start with a few hundred simulations.

    References
    ----------
    Halekoh, U. & Højsgaard, S. (2014). A Kenward-Roger approximation and parametric bootstrap
    methods for tests in linear mixed models: the R package pbkrtest. *Journal of Statistical
    Software* 59(9).
    """
    r_in = validate_result(reduced)
    f_in = validate_result(full)
    n_sim = int(n_sim)
    if n_sim < 1:
        raise ValueError(f"n_sim must be a positive integer, got {n_sim}")
    _nesting(r_in, f_in)
    r_ml, _ = _ml_fit(r_in)
    f_ml, _ = _ml_fit(f_in)
    lrt = 2 * (float(f_ml.llf) - float(r_ml.llf))

    arr = model_arrays(r_ml)
    model = r_ml.model
    X = np.asarray(model.exog, dtype=float)
    Z = np.asarray(model.exog_re, dtype=float)
    labels = np.asarray(model.groups)
    codes = pd.Index(arr.groups).get_indexer(labels)
    mean = X @ arr.beta
    factor = _chol_psd(arr.G)
    sigma = np.sqrt(arr.sigma2)
    rng = np.random.default_rng(seed)

    # the same covariance pattern as the fits (uncorrelated random effects stay uncorrelated)
    p_red, p_full = _Profiled(r_ml.model, _cov_mask(r_ml)), _Profiled(f_ml.model, _cov_mask(f_ml))
    t_red, t_full = p_red.theta_from(r_ml), p_full.theta_from(f_ml)
    bar = _Progress(n_sim, n_sim >= 100 if progress is None else bool(progress))
    stats_ok = []
    failed = 0
    for i in range(n_sim):
        b = rng.standard_normal((len(arr.groups), Z.shape[1])) @ factor.T
        y = mean + np.einsum("ij,ij->i", Z, b[codes]) + sigma * rng.standard_normal(len(mean))
        try:
            p_red.set_y(y)
            p_full.set_y(y)
            _, ll_red = p_red.fit(False, starts=[t_red])
            _, ll_full = p_full.fit(False, starts=[t_full])
            ok = np.isfinite(ll_red) and np.isfinite(ll_full)
        except (np.linalg.LinAlgError, RuntimeError, ValueError):
            ok = False
        if ok:
            stats_ok.append(2 * (ll_full - ll_red))
        else:
            failed += 1
        bar.update(i + 1, failed)
    sims = np.asarray(stats_ok)
    if sims.size == 0:
        raise RuntimeError(
            f"all {n_sim} bootstrap refits failed; check that both models converge reliably "
            "(try fit_tight) before bootstrapping."
        )
    if failed:
        warnings.warn(
            f"bootstrap_lrt: {failed} of {n_sim} simulations were dropped because a refit did "
            "not converge; the p-value uses the remaining ones.",
            RuntimeWarning,
            stacklevel=2,
        )
    # a small tolerance so that ties (e.g. both statistics at 0 for boundary fits) count
    tol = 1e-8 * max(1.0, abs(lrt))
    exceed = int(np.sum(sims >= lrt - tol))
    return {
        "lrt": lrt,
        "p_value": (1 + exceed) / (1 + sims.size),
        "n_sim": int(sims.size),
        "n_failed": int(failed),
    }

"""PPML gravity with high-dimensional fixed effects (``ppmlhdfe`` in numpy).

Model (Santos Silva and Tenreyro 2006)::

    E[y_i | x_i, fe] = exp(x_i' b + a_{fe1(i)} + a_{fe2(i)} + ...)

fitted by iteratively reweighted least squares (IRLS) where each weighted
least-squares step partials the fixed effects out of the working dependent
variable and the regressors by weighted alternating projections, as in
``ppmlhdfe`` (Correia, Guimarães and Zylkin 2020, Stata Journal 20(1)). The
projections are warm-started from the previous IRLS step (exact: the residual
of a projection depends only on the class of the vector modulo the fixed-effect
span) and accelerated by Irons and Tuck (1969) extrapolation, as in ``fixest``.

Separation: observations in a fixed-effect group whose outcomes are all zero
have a fixed effect that diverges to minus infinity; they are dropped before
fitting, repeatedly until no such group is left, with a :class:`SeparationWarning`.
Singleton groups (one observation) are dropped too, as ``ppmlhdfe`` does: they
are fitted exactly and carry no information on ``b``. Separation that involves
the regressors is found with the iterated ReLU least-squares method of Correia,
Guimarães and Zylkin (2021, "Verifying the existence of maximum likelihood estimates
for generalized linear models", arXiv:1903.01633, section 4; ``ppmlhdfe``'s
``separation(relu)``): observation ``i`` is separated when some combination
``z = X g + fixed effects`` is ``>= 0`` everywhere, ``0`` wherever ``y > 0`` and ``> 0`` at
``i`` (then ``y_i = 0`` and its fitted mean goes to zero as the coefficients diverge).
Starting from ``u = 1[y = 0]``, each step regresses ``u`` on the regressors and fixed
effects by least squares with weight ``K`` (large) on the ``y > 0`` rows, which forces
the fit to zero there, and replaces ``u`` by ``max(fit, 0)`` on the ``y = 0`` rows; it
stops when the fit is non-negative on the zero rows, and the rows where it is positive
are the separated ones. They are dropped with a :class:`SeparationWarning`; a regressor
left with no variation (it was what separated them) is dropped from the model and
reported with a missing estimate.

Standard errors: the sandwich ``V = B^{-1} M B^{-1}`` with
``B = X~' diag(mu) X~`` (``X~`` the regressors demeaned within fixed effects with
weights ``mu``) and ``M`` the outer product of the scores ``X~' (y - mu)`` summed
within clusters. The small-sample factor follows ``ppmlhdfe``: it calls
``reghdfe_solve_ols(..., "vce_asymptotic")`` (``src/ppmlhdfe.mata``,
``GLM::solve``), and in that mode ``reghdfe_vce_cluster`` multiplies by
``G / (G - 1)`` only and ``reghdfe_vce_robust`` by ``N / (N - 1)`` only (no
``(N - 1) / (N - K)`` term, so the count of absorbed fixed effects does not enter).
In small panels this sandwich is biased down (Weidner and Zylkin 2021, "Bias and
consistency in three-way gravity models", J. International Economics 132): in our
simulations (``tests/test_gravity_ppml.py``) nominal 95 % intervals covered about 0.83-0.90
of the time with 10 x 10 x 4 flows and about 0.92 with 30 x 30 x 4.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from research.errors import EstimationError, FewClustersWarning, ParameterError, SeparationWarning
from research.estimate.result import Result, tidy_row

FEW_CLUSTERS = 30  # below this, cluster-robust SEs are known to be too small (Cameron & Miller 2015)
METHOD = "ppml"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


@dataclass
class PPMLResult(Result):
    """PPML estimate with absorbed fixed effects.

    Attributes
    ----------
    coef : coefficients by regressor name (log points).
    vcov : their covariance matrix.
    n_obs : observations used (after dropping separated observations and singletons).
    n_separated : observations dropped as separated (all-zero fixed-effect groups and
        those separated by the regressors).
    n_separated_by_regressors : the part of ``n_separated`` found by the ReLU check.
    omitted : regressors dropped because separation left them without variation.
    n_singletons : observations dropped as singletons of a fixed-effect group.
    n_clusters : clusters in the variance (0 for heteroskedasticity-robust).
    iterations : IRLS iterations; ``deviance`` the Poisson deviance at the estimate.
    """

    formula: str = ""
    coef: pd.Series = field(default_factory=pd.Series)
    vcov: pd.DataFrame = field(default_factory=pd.DataFrame)
    n_obs: int = 0
    n_separated: int = 0
    n_separated_by_regressors: int = 0
    omitted: list = field(default_factory=list)
    n_singletons: int = 0
    n_clusters: int = 0
    iterations: int = 0
    deviance: float = float("nan")
    converged: bool = True


@dataclass(frozen=True)
class Formula:
    """A parsed ``lhs ~ x1 + x2 | fe1 + fe2^fe3`` formula."""

    outcome: str
    regressors: tuple[str, ...]
    fixed_effects: tuple[tuple[str, ...], ...]  # each FE term: the columns it interacts

    @property
    def columns(self) -> list[str]:
        cols = [self.outcome, *self.regressors]
        cols += [c for term in self.fixed_effects for c in term]
        return list(dict.fromkeys(cols))


def parse_formula(formula: str) -> Formula:
    """Parse ``"y ~ x1 + x2 | fe1 + fe2^fe3"``; ``a^b`` is the combined group of a and b."""
    if not isinstance(formula, str) or formula.count("~") != 1:
        raise ParameterError(f"formula={formula!r} must look like 'y ~ x1 + x2 | fe1 + fe2'")
    lhs, rhs = (part.strip() for part in formula.split("~"))
    if rhs.count("|") > 1:
        raise ParameterError(f"formula={formula!r} has more than one '|'")
    regressor_part, _, fe_part = rhs.partition("|")

    def names(text: str, what: str) -> list[str]:
        items = [t.strip() for t in text.split("+") if t.strip()]
        for item in items:
            for name in item.split("^"):
                if not _NAME.match(name.strip()):
                    raise ParameterError(f"formula={formula!r}: {what} term {item!r} is not a "
                                         "column name (interactions only as a^b in the fixed "
                                         "effects)")
        return items

    if not _NAME.match(lhs):
        raise ParameterError(f"formula={formula!r}: outcome {lhs!r} is not a column name")
    regressors = names(regressor_part, "regressor")
    if any("^" in r for r in regressors):
        raise ParameterError(f"formula={formula!r}: '^' is only allowed after '|'")
    if not regressors:
        raise ParameterError(f"formula={formula!r} has no regressor")
    fixed = tuple(tuple(n.strip() for n in t.split("^")) for t in names(fe_part, "fixed-effect"))
    return Formula(lhs, tuple(dict.fromkeys(regressors)), fixed)


def _group_codes(data: pd.DataFrame, columns: tuple[str, ...] | list[str]) -> np.ndarray:
    """Integer codes 0..G-1 of the combined groups of ``columns``."""
    codes = None
    for column in columns:
        c = pd.factorize(data[column], use_na_sentinel=False)[0].astype(np.int64)
        codes = c if codes is None else pd.factorize(codes * (c.max() + 1) + c)[0]
    return np.asarray(codes, dtype=np.int64)


def _drop_separated(y: np.ndarray, groups: list[np.ndarray],
                    drop_singletons: bool) -> tuple[np.ndarray, int, int]:
    """Mask of kept rows: drop rows of all-zero-outcome groups (and singletons) until stable.

    Returns the mask, the count dropped as separated and the count dropped as singletons.
    """
    keep = np.ones(len(y), dtype=bool)
    n_separated = n_singletons = 0
    changed = True
    while changed:
        changed = False
        for g in groups:
            rows = np.flatnonzero(keep)
            sub = g[rows]
            n_levels = int(sub.max()) + 1 if len(sub) else 0
            zero = np.bincount(sub, weights=y[rows], minlength=n_levels)[sub] <= 0
            single = (np.bincount(sub, minlength=n_levels)[sub] == 1 if drop_singletons
                      else np.zeros(len(sub), dtype=bool))
            drop = zero | single
            if drop.any():
                n_separated += int(zero.sum())
                n_singletons += int((single & ~zero).sum())
                keep[rows[drop]] = False
                changed = True
    return keep, n_separated, n_singletons


class _Demeaner:
    """Weighted within-group demeaning over several fixed effects (alternating projections)."""

    def __init__(self, groups: list[np.ndarray]) -> None:
        self.groups = [np.ascontiguousarray(g) for g in groups]
        self.sizes = [int(g.max()) + 1 for g in self.groups]
        self.weights = None
        self.iterations = 0

    def set_weights(self, w: np.ndarray) -> None:
        self.w = w
        self.inv_wsum = []
        for g, n in zip(self.groups, self.sizes, strict=True):
            wsum = np.bincount(g, weights=w, minlength=n)
            self.inv_wsum.append(np.divide(1.0, wsum, out=np.zeros_like(wsum), where=wsum > 0))

    def _sweep(self, v: np.ndarray) -> np.ndarray:
        """One pass of projections: subtract weighted group means for each FE in turn."""
        v = v.copy()
        wv = None
        for g, n, inv in zip(self.groups, self.sizes, self.inv_wsum, strict=True):
            wv = self.w * v
            v -= (np.bincount(g, weights=wv, minlength=n) * inv)[g]
        return v

    def demean(self, v: np.ndarray, tol: float, max_iter: int = 10_000) -> np.ndarray:
        """Residual of ``v`` (1-D) after projecting out all fixed effects with weights ``w``.

        Alternating projections with Irons-Tuck acceleration every third sweep; stops when
        the largest change is below ``tol`` times the scale of ``v``.
        """
        if len(self.groups) == 1:  # one projection is exact
            self.iterations += 1
            return self._sweep(v)
        scale = max(float(np.abs(v).max()), 1e-300)
        x = self._sweep(v)
        for it in range(max_iter):
            gx = self._sweep(x)
            if np.abs(gx - x).max() <= tol * scale:
                self.iterations += it + 1
                return gx
            ggx = self._sweep(gx)
            delta_g = ggx - gx
            delta2 = delta_g - (gx - x)
            denom = float(delta2 @ delta2)
            if denom > 0:
                x = ggx - (float(delta_g @ delta2) / denom) * delta_g
            else:
                x = ggx
            if np.abs(delta_g).max() <= tol * scale:
                self.iterations += it + 1
                return ggx
        raise EstimationError(f"fixed-effect demeaning did not converge in {max_iter} sweeps")


def _deviance(y: np.ndarray, mu: np.ndarray, eta: np.ndarray) -> float:
    positive = y > 0
    return float(2 * (np.sum(mu - y) + np.sum(y[positive] * (np.log(y[positive])
                                                              - eta[positive]))))


def _relu_separated(y: np.ndarray, x: np.ndarray, groups: list[np.ndarray],
                    weight: float = 1e8, tol: float = 1e-5, max_iter: int = 200) -> np.ndarray:
    """Mask of observations separated by the regressors and fixed effects (ReLU method).

    See the module docstring (Correia, Guimarães and Zylkin 2021, section 4). With the
    weighting method the fit on the ``y > 0`` rows is zero only up to an error ``eps`` of
    order ``1 / weight``; fits on the ``y = 0`` rows within ``[-0.1 d, d]``, ``d = eps + tol``,
    count as zero (stricter below zero, against false positives, as ``ppmlhdfe`` does).
    ``u`` is rescaled to a maximum of one each step, so ``tol`` is relative.
    """
    zero = y <= 0
    if not zero.any() or zero.all():
        return np.zeros(len(y), dtype=bool)
    w = np.where(zero, 1.0, weight)
    if groups:
        demeaner = _Demeaner(groups)
        demeaner.set_weights(w)
        x_tilde = np.column_stack([demeaner.demean(x[:, j], 1e-13) for j in range(x.shape[1])])
    else:
        demeaner = None
        x_tilde = np.column_stack([np.ones(len(y)), x])
    scale = np.sqrt(w)
    u = zero.astype(float)
    for _ in range(max_iter):
        u_tilde = demeaner.demean(u, 1e-13) if demeaner is not None else u
        beta = np.linalg.lstsq(x_tilde * scale[:, None], u_tilde * scale, rcond=None)[0]
        resid = u_tilde - x_tilde @ beta
        fit = u - resid
        delta = float(np.abs(fit[~zero]).max()) + tol
        fit[~zero] = 0.0
        fit[zero & (fit >= -0.1 * delta) & (fit <= delta)] = 0.0
        if (fit[zero] >= 0).all():
            return zero & (fit > 0)
        if resid[zero].min() >= -1e-12:
            # no negative residual left: by the normal equations no further separated
            # observation can be uncovered (ppmlhdfe's second stopping rule)
            return zero & (fit > 0)
        u = np.where(zero, np.maximum(fit, 0.0), 0.0)
        top = u.max()
        if top <= 0:
            return np.zeros(len(y), dtype=bool)
        u /= top
    warnings.warn(f"separation check (ReLU) did not converge in {max_iter} iterations; "
                  "no observation dropped by it", SeparationWarning, stacklevel=3)
    return np.zeros(len(y), dtype=bool)


def _absorbed(x: np.ndarray, groups: list[np.ndarray]) -> np.ndarray:
    """Regressors with no variation left within the fixed effects (or constant)."""
    if groups:
        demeaner = _Demeaner(groups)
        demeaner.set_weights(np.ones(len(x)))
        resid = np.column_stack([demeaner.demean(x[:, j], 1e-12) for j in range(x.shape[1])])
    else:
        resid = x - x.mean(axis=0)
    size = np.maximum(np.abs(x).max(axis=0), 1e-300)
    return np.abs(resid).max(axis=0) <= 1e-9 * size


def ppml(data: pd.DataFrame, formula: str = "y ~ x1 + x2 | fe1 + fe2 + fe3", *,
         cluster: str | None = None, tol: float = 1e-8, max_iter: int = 1000,
         drop_singletons: bool = True, separation: Literal["fe", "relu"] = "relu",
         level: float = 0.95) -> PPMLResult:
    """Poisson pseudo-maximum likelihood with absorbed high-dimensional fixed effects.

    Parameters
    ----------
    data : one row per observation; the outcome non-negative (flows in any unit).
    formula : ``"y ~ x1 + x2 | fe1 + fe2"``; a fixed-effect term ``a^b`` is the combined
        group of ``a`` and ``b`` (e.g. ``exporter^year``). Without ``|`` a constant is fitted.
    cluster : column (or ``a^b``) to cluster standard errors by; default
        heteroskedasticity-robust.
    tol : convergence tolerance on the relative change of the deviance (``ppmlhdfe``'s
        criterion); the demeaning tolerance is tightened along to ``min(1e-9, tol/10)``.
    max_iter : most IRLS iterations.
    drop_singletons : drop observations alone in a fixed-effect group (as ``ppmlhdfe``).
    separation : ``"relu"`` (default) also drops observations separated by the
        regressors (ReLU method); ``"fe"`` only those in all-zero fixed-effect groups.
    level : confidence level of the intervals.

    Returns
    -------
    PPMLResult
        Coefficients in log points; ``100 * (exp(b) - 1)`` is the percentage change of the
        flow for a unit change of the regressor. Rows with missing values are dropped.
    """
    parsed = parse_formula(formula)
    cluster_cols = tuple(c.strip() for c in cluster.split("^")) if cluster else ()
    needed = list(dict.fromkeys([*parsed.columns, *cluster_cols]))
    missing = [c for c in needed if c not in data.columns]
    if missing:
        raise ParameterError(f"column(s) {missing} not in the data; columns: {list(data.columns)}")
    if not 0 < tol < 1:
        raise ParameterError(f"tol={tol!r} must be in (0, 1)")
    if max_iter < 1:
        raise ParameterError(f"max_iter={max_iter!r} must be a positive integer")
    if separation not in ("fe", "relu"):
        raise ParameterError(f"separation={separation!r} is not one of ['fe', 'relu']")
    for column in (parsed.outcome, *parsed.regressors):
        if not pd.api.types.is_numeric_dtype(data[column]):
            raise ParameterError(f"column {column!r} must be numeric, not {data[column].dtype}")

    frame = data[needed]
    complete = frame.notna().all(axis=1).to_numpy()
    n_missing = int((~complete).sum())
    if n_missing:
        frame = frame[complete]
    y = frame[parsed.outcome].to_numpy(dtype=float)
    if (y < 0).any():
        raise ParameterError(f"outcome {parsed.outcome!r} has {(y < 0).sum()} negative values; "
                             "PPML needs a non-negative outcome")
    if not np.isfinite(y).all():
        raise ParameterError(f"outcome {parsed.outcome!r} has infinite values")
    x = frame[list(parsed.regressors)].to_numpy(dtype=float)
    if not np.isfinite(x).all():
        raise ParameterError("regressors have infinite values")
    groups = [_group_codes(frame, term) for term in parsed.fixed_effects]
    cluster_codes = _group_codes(frame, cluster_cols) if cluster_cols else None

    n_separated = n_singletons = n_relu = 0
    absorbed_before = _absorbed(x, groups) if len(y) else np.zeros(x.shape[1], dtype=bool)
    while True:
        if groups:
            keep, n_fe, n_single = _drop_separated(y, groups, drop_singletons)
            n_separated += n_fe
            n_singletons += n_single
            if not keep.all():
                y, x = y[keep], x[keep]
                groups = [pd.factorize(g[keep])[0] for g in groups]
                if cluster_codes is not None:
                    cluster_codes = cluster_codes[keep]
        if separation != "relu" or len(y) == 0:
            break
        separated = _relu_separated(y, x, groups)
        if not separated.any():
            break
        n_relu += int(separated.sum())
        keep = ~separated
        y, x = y[keep], x[keep]
        groups = [pd.factorize(g[keep])[0] for g in groups]
        if cluster_codes is not None:
            cluster_codes = cluster_codes[keep]
    n_separated += n_relu
    if n_separated:
        warnings.warn(f"{n_separated} separated observations dropped ("
                      f"{n_separated - n_relu} in fixed-effect groups whose outcomes are all "
                      f"zero, {n_relu} separated by the regressors)", SeparationWarning,
                      stacklevel=2)
    if len(y) == 0 or not (y > 0).any():
        raise EstimationError("no observation with a positive outcome is left to fit")

    names = list(parsed.regressors)
    omitted: list[str] = []
    if n_relu:
        # a regressor that only varied on the separated rows has nothing left to estimate
        dropped = _absorbed(x, groups) & ~absorbed_before
        if dropped.all():
            raise EstimationError(f"every regressor {names} was absorbed after dropping the "
                                  "separated observations")
        if dropped.any():
            omitted = [n for n, d in zip(names, dropped, strict=True) if d]
            warnings.warn(f"regressor(s) {omitted} omitted: no variation left after dropping "
                          "the separated observations (their coefficients diverge)",
                          SeparationWarning, stacklevel=2)
            x = x[:, ~dropped]
            names = [n for n in names if n not in omitted]
    if not groups:
        x = np.column_stack([np.ones(len(y)), x])
        names = ["Intercept", *names]
    fit = _irls(y, x, groups, tol=tol, max_iter=max_iter)
    beta, x_tilde, mu = fit["beta"], fit["x_tilde"], fit["mu"]
    if not groups:  # the fit was on y / mean(y): shift the intercept back
        beta[0] += np.log(fit["y_scale"])

    n = len(y)
    score = x_tilde * (y - mu)[:, None]
    bread = np.linalg.inv(x_tilde.T @ (x_tilde * mu[:, None]))
    if cluster_codes is not None:
        cluster_codes = pd.factorize(cluster_codes)[0]
        n_clusters = int(cluster_codes.max()) + 1
        meat_scores = np.column_stack([np.bincount(cluster_codes, weights=score[:, j],
                                                   minlength=n_clusters)
                                       for j in range(score.shape[1])])
        factor = n_clusters / (n_clusters - 1) if n_clusters > 1 else np.nan
        if n_clusters < FEW_CLUSTERS:
            warnings.warn(f"{n_clusters} clusters in {cluster!r}: cluster-robust standard errors "
                          "are unreliable with fewer than about 30", FewClustersWarning,
                          stacklevel=2)
        vce_label = f"clustered by {cluster} ({n_clusters} clusters)"
    else:
        n_clusters = 0
        meat_scores = score
        factor = n / (n - 1)
        vce_label = "heteroskedasticity-robust"
    meat = meat_scores.T @ meat_scores
    vcov = factor * bread @ meat @ bread
    vcov = (vcov + vcov.T) / 2

    coef = pd.Series(beta, index=names)
    vcov_frame = pd.DataFrame(vcov, index=names, columns=names)
    rows = [tidy_row(name, beta[j], np.sqrt(vcov[j, j]), n, METHOD, level)
            for j, name in enumerate(names)]
    if omitted:  # keep the formula's order; omitted regressors get missing estimates
        full = [n for n in (["Intercept"] if "Intercept" in names else [])
                + list(parsed.regressors)]
        coef = coef.reindex(full)
        vcov_frame = vcov_frame.reindex(index=full, columns=full)
        by_name = {r["term"]: r for r in rows}
        rows = [by_name.get(name, {"term": name, "estimate": np.nan, "std_error": np.nan,
                                   "conf_low": np.nan, "conf_high": np.nan,
                                   "p_value": np.nan, "n_obs": n, "method": METHOD})
                for name in full]
    table = pd.DataFrame(rows)
    head = table[(table["term"] != "Intercept") & table["estimate"].notna()].iloc[0]
    headline = {"term": head["term"], "label": f"{head['term']}: % change in {parsed.outcome}",
                "estimate": 100 * np.expm1(head["estimate"]),
                "conf_low": 100 * np.expm1(head["conf_low"]),
                "conf_high": 100 * np.expm1(head["conf_high"]), "p_value": head["p_value"]}
    fe_text = " + ".join("^".join(t) for t in parsed.fixed_effects) or "none"
    notes = [f"Fixed effects: {fe_text}; standard errors {vce_label}."]
    if n_separated:
        notes.append(f"{n_separated} observations dropped as separated ("
                     f"{n_separated - n_relu} in all-zero fixed-effect groups, {n_relu} by "
                     "the regressors, ReLU check).")
    if omitted:
        notes.append(f"Regressor(s) {omitted} omitted after dropping separated observations.")
    if n_singletons:
        notes.append(f"{n_singletons} singleton observations dropped.")
    if n_missing:
        notes.append(f"{n_missing} rows with missing values dropped.")
    if not fit["converged"]:
        notes.append(f"IRLS did not converge in {max_iter} iterations.")
        warnings.warn(f"PPML did not converge in {max_iter} iterations", RuntimeWarning,
                      stacklevel=2)
    return PPMLResult(method=f"PPML with fixed effects ({fe_text})", table=table,
                      headline=headline, notes=notes, formula=formula, coef=coef,
                      vcov=vcov_frame, n_obs=n, n_separated=n_separated,
                      n_separated_by_regressors=n_relu, omitted=omitted,
                      n_singletons=n_singletons, n_clusters=n_clusters,
                      iterations=fit["iterations"], deviance=fit["deviance"],
                      converged=fit["converged"])


def _irls(y: np.ndarray, x: np.ndarray, groups: list[np.ndarray], *, tol: float,
          max_iter: int) -> dict:
    """IRLS for Poisson with the fixed effects partialled out of each weighted LS step.

    Works on ``y / mean(y)`` and standardised regressors (slopes are invariant to the first
    and rescaled back for the second), following ``ppmlhdfe``'s ``GLM::solve``.
    """
    y_scale = float(y.mean())
    ys = y / y_scale
    x_scale = x.std(axis=0)
    x_scale[x_scale == 0] = 1.0
    xs = x / x_scale
    demeaner = _Demeaner(groups) if groups else None
    target_inner = min(1e-9, tol / 10)
    inner_tol = 1e-4 if demeaner else target_inner

    mu = 0.5 * (ys + ys.mean())  # ppmlhdfe's "simple" initial guess
    eta = np.log(mu)
    x_tilde = xs.copy()
    z_tilde = None
    z_last = None
    deviance = np.inf
    converged = False
    iteration = 0
    beta = np.zeros(xs.shape[1])
    for iteration in range(1, max_iter + 1):
        z = eta - 1 + ys / mu
        if demeaner is not None:
            demeaner.set_weights(mu)
            # warm start: z_tilde + (z - z_last) differs from z by an element of the FE span
            start_z = z if z_tilde is None else z_tilde + (z - z_last)
            z_tilde = demeaner.demean(start_z, inner_tol)
            x_tilde = np.column_stack([demeaner.demean(x_tilde[:, j], inner_tol)
                                       for j in range(xs.shape[1])])
        else:
            z_tilde = z
            x_tilde = xs
        xw = x_tilde * mu[:, None]
        gram = x_tilde.T @ xw
        if iteration == 1:
            absorbed = np.diag(gram) <= 1e-9 * (xs**2 * mu[:, None]).sum(axis=0)
            if absorbed.any():
                raise EstimationError("regressor(s) collinear with the fixed effects (no "
                                      f"variation left after absorbing them): column indices "
                                      f"{np.flatnonzero(absorbed).tolist()}")
        beta = np.linalg.solve(gram, xw.T @ z_tilde)
        resid = z_tilde - x_tilde @ beta
        z_last = z
        eta = z - resid
        mu = np.exp(eta)
        np.maximum(mu, np.finfo(float).eps * 100, out=mu)
        old_deviance = deviance
        deviance = _deviance(ys, mu, eta)
        if not np.isfinite(deviance):
            raise EstimationError(f"deviance is not finite at IRLS iteration {iteration}")
        if iteration > 1:
            eps = abs(old_deviance - deviance) / max(min(deviance, old_deviance), 0.1)
            if eps < tol:
                if inner_tol <= target_inner:
                    converged = True
                    break
                inner_tol = target_inner  # one more step with exact demeaning
            else:
                inner_tol = max(target_inner, min(inner_tol, eps / 10))
    # final scores use X demeaned with the final weights
    if demeaner is not None:
        demeaner.set_weights(mu)
        x_tilde = np.column_stack([demeaner.demean(x_tilde[:, j], target_inner)
                                   for j in range(xs.shape[1])])
    return {"beta": beta / x_scale, "x_tilde": x_tilde * x_scale, "mu": mu * y_scale,
            "iterations": iteration, "deviance": deviance * y_scale, "converged": converged,
            "y_scale": y_scale}

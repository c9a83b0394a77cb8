"""PPML gravity with high-dimensional fixed effects (``ppmlhdfe`` in numpy).

Model (Santos Silva and Tenreyro 2006)::

    E[y_i | x_i, fe] = exp(x_i' b + a_{fe1(i)} + a_{fe2(i)} + ...)

fitted by iteratively reweighted least squares (IRLS) where each weighted
least-squares step partials the fixed effects out of the working dependent
variable and the regressors by weighted alternating projections, as in
``ppmlhdfe`` (Correia, Guimarães and Zylkin 2020, Stata Journal 20(1)). The
projections are warm-started from the previous IRLS step (exact: the residual
of a projection depends only on the class of the vector modulo the fixed-effect
span) and accelerated by Irons and Tuck (1969) extrapolation, as in ``fixest``;
all regressors are projected together, as one matrix. A step that raises the
deviance is halved (as ``glm2``), so explosive outcomes do not send IRLS astray.

Formulas follow ``fixest``/``pyfixest``: ``"y ~ x1 + x2 | fe1 + fe2^fe3"``; a
fixed-effect term ``a^b`` is the combined group of ``a`` and ``b``. ``"y ~ 1 | fe1 +
fe2"`` is a model with fixed effects only (no regressor); ``0`` (or ``-1``) removes the
constant of a model without fixed effects (with fixed effects it is absorbed anyway).

Separation (Correia, Guimarães and Zylkin 2021, "Verifying the existence of maximum
likelihood estimates for generalized linear models", arXiv:1903.01633). Observation
``i`` is separated when some combination ``z = X g + fixed effects`` is ``>= 0``
everywhere, ``0`` wherever ``y > 0`` and ``> 0`` at ``i``: then ``y_i = 0`` and its
fitted mean goes to zero as the coefficients diverge, so no finite estimate exists
until it is dropped; dropping it leaves the estimates of the other coefficients
unchanged. Two checks run in turn until neither finds anything:

1. fixed-effect groups whose outcomes are all zero (the cheap, common case), and
   singleton groups (one observation; fitted exactly, no information on ``b``; dropped
   as ``ppmlhdfe`` does, counted apart from the separated ones);
2. the iterated ReLU least-squares method (section 4 of the paper; ``ppmlhdfe``'s
   ``separation(relu)``), which finds separation by the regressors, by the fixed
   effects jointly (in unbalanced panels no group need be all zero) or by both.
   Starting from ``u = 1[y = 0]``, each step regresses ``u`` on the regressors and
   fixed effects by least squares with weight ``K = 1e8`` on the ``y > 0`` rows
   (which forces the fit to zero there) and replaces ``u`` by ``max(fit, 0)`` on the
   ``y = 0`` rows; it stops when the fit is non-negative on the zero rows (or no
   residual there is negative), and the rows where it is positive are separated.

Both run on FE-only models too. Each ReLU least-squares step is solved jointly on the
fixed-effect dummies and the regressors by LSMR (alternating projections crawl under
these weights when separation splits the fixed-effect graph). Dropped rows are reported
with a :class:`~research.errors.SeparationWarning`; ``PPMLResult.sample`` marks the rows
used. Tests check the dropped set against an independent linear program.

Collinearity: on the sample left after separation, the regressors are partialled out
of the fixed effects and, in formula order, a regressor whose remaining part is
(numerically) a combination of the earlier ones and the fixed effects (norm below
``1e-6`` of the regressor's own) is dropped: with a
:class:`~research.errors.SeparationWarning` when it became collinear only because
separated rows were dropped (it was what separated them), with a
:class:`~research.errors.CollinearityWarning` otherwise. Dropped regressors are reported
with a missing estimate; only a model left with no regressor at all, that asked for
some, is an error.

Convergence: IRLS stops when the relative change of the deviance is below ``tol``
(``ppmlhdfe``'s criterion) after a step with exact demeaning; otherwise, and when the
demeaning does not converge (alternating projections, then LSMR), a
:class:`~research.errors.ConvergenceError` says how far it got. When the Poisson weights
at the fit leave a regressor less than ``1e-6`` of its weighted variation beyond the fixed
effects (an explosive outcome such as ``exp(50 x)``, whose information sits in one or two
observations), the coefficient is not numerically identified and an
:class:`~research.errors.EstimationError` says so instead of returning a number.

Standard errors: the sandwich ``V = B^{-1} M B^{-1}`` with
``B = X~' diag(mu) X~`` (``X~`` the regressors demeaned within fixed effects with
weights ``mu``) and ``M`` the outer product of the scores ``X~' (y - mu)`` summed
within clusters. The small-sample factor follows ``ppmlhdfe``: it calls
``reghdfe_solve_ols(..., "vce_asymptotic")`` (``src/ppmlhdfe.mata``,
``GLM::solve``), and in that mode ``reghdfe_vce_cluster`` multiplies by
``G / (G - 1)`` only and ``reghdfe_vce_robust`` by ``N / (N - 1)`` only (no
``(N - 1) / (N - K)`` term, so the count of absorbed fixed effects does not enter).
``G`` is the number of clusters left after dropping separated and singleton rows, and
intervals and p-values use the normal distribution (not ``t(G - 1)``). Clusters need
not nest the fixed effects. With fewer than 30 clusters a
:class:`~research.errors.FewClustersWarning` is issued: the sandwich is then too small
(Cameron and Miller 2015). In small panels it is biased down as well (Weidner and Zylkin
2021, "Bias and consistency in three-way gravity models", J. International Economics
132): in our simulations (``tests/test_gravity_ppml.py``) nominal 95 % intervals covered
about 0.83-0.90 of the time with 10 x 10 x 4 flows and about 0.92 with 30 x 30 x 4.

Pseudo R-squared: McFadden's ``1 - ll / ll0``, ``ll0`` the Poisson log-likelihood of a
constant-only model on the same sample (as ``ppmlhdfe`` and ``fixest`` report it).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.linalg import lsmr
from scipy.special import gammaln

from research.errors import (
    CollinearityWarning,
    ConvergenceError,
    EstimationError,
    FewClustersWarning,
    ParameterError,
    SeparationWarning,
)
from research.estimate.result import Result, tidy_row

FEW_CLUSTERS = 30  # below this, cluster-robust SEs are known to be too small (Cameron & Miller 2015)
MAX_BLOCK_REGRESSORS = 60  # keep each cluster's information block up to this many regressors
MAX_BLOCK_CLUSTERS = 5_000  # ... and clusters (effective degrees of freedom need few clusters)
METHOD = "ppml"
RELU_WEIGHT = 1e8  # weight of the y > 0 rows in the ReLU least squares (ppmlhdfe: eps^-1/2)
COLLINEAR_TOL = 1e-6  # a regressor whose partialled-out norm is below this share is dropped
AP_SWEEPS = 1_000  # alternating-projection sweeps before LSMR takes over
MIN_INFORMATION_SHARE = 1e-6  # below: the fixed effects leave the coefficient unidentified
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


@dataclass
class PPMLResult(Result):
    """PPML estimate with absorbed fixed effects.

    Attributes
    ----------
    formula : the formula as given.
    coef : coefficients by regressor name (log points), in formula order; regressors
        dropped as collinear have a missing value.
    vcov : covariance matrix of the estimated coefficients (rows and columns named;
        dropped regressors are not in it).
    n_obs : observations used (after dropping missing, separated and singleton rows).
    n_separated : observations dropped as separated (all-zero fixed-effect groups and
        those found by the ReLU check).
    n_separated_by_regressors : the part of ``n_separated`` found by the ReLU check
        (separation by the regressors, by the fixed effects jointly or by both).
    omitted : regressors not estimated (collinear, or left collinear by separation).
    dropped_collinear : the same regressors (``omitted`` is the older name).
    n_singletons : observations dropped as singletons of a fixed-effect group.
    n_missing : rows dropped for missing values.
    n_clusters : clusters in the variance (0 for heteroskedasticity-robust).
    fixed_effects : the fixed-effect terms (``"exporter^year"``, ...).
    cluster : the cluster variable (``None`` for heteroskedasticity-robust).
    pseudo_r2 : McFadden's pseudo R-squared (module docstring).
    iterations : IRLS iterations; ``deviance`` the Poisson deviance at the estimate.
    converged : always ``True`` for a returned result (otherwise ConvergenceError).
    sample : boolean Series on the index of ``data``: the rows used.
    information : ``B = X~' diag(mu) X~``, the information of the partialled-out
        regressors at the estimate (rows and columns named).
    cluster_information : each cluster's part ``B_g`` of it, shape (G, k, k), when
        clustered with at most ``MAX_BLOCK_REGRESSORS`` regressors and
        ``MAX_BLOCK_CLUSTERS`` clusters (for effective degrees of freedom, e.g.
        :func:`effective_df`), else ``None``.
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
    dropped_collinear: list = field(default_factory=list)
    n_missing: int = 0
    fixed_effects: tuple = ()
    cluster: str | None = None
    pseudo_r2: float = float("nan")
    sample: pd.Series = field(default_factory=lambda: pd.Series(dtype=bool))
    information: pd.DataFrame = field(default_factory=pd.DataFrame)
    cluster_information: np.ndarray | None = None


@dataclass(frozen=True)
class Formula:
    """A parsed ``lhs ~ x1 + x2 | fe1 + fe2^fe3`` formula.

    ``intercept`` is whether a model without fixed effects gets a constant (``0`` or
    ``-1`` in the formula removes it); with fixed effects the constant is absorbed.
    """

    outcome: str
    regressors: tuple[str, ...]
    fixed_effects: tuple[tuple[str, ...], ...]  # each FE term: the columns it interacts
    intercept: bool = True

    @property
    def columns(self) -> list[str]:
        cols = [self.outcome, *self.regressors]
        cols += [c for term in self.fixed_effects for c in term]
        return list(dict.fromkeys(cols))


def parse_formula(formula: str) -> Formula:
    """Parse ``"y ~ x1 + x2 | fe1 + fe2^fe3"``; ``a^b`` is the combined group of a and b.

    ``"y ~ 1 | fe1 + fe2"`` has fixed effects only; ``0`` or ``-1`` among the regressors
    drops the constant of a model without fixed effects.
    """
    if not isinstance(formula, str) or formula.count("~") != 1:
        raise ParameterError(f"formula={formula!r} must look like 'y ~ x1 + x2 | fe1 + fe2'")
    lhs, rhs = (part.strip() for part in formula.split("~"))
    if rhs.count("|") > 1:
        raise ParameterError(f"formula={formula!r} has more than one '|'")
    regressor_part, _, fe_part = rhs.partition("|")
    regressor_part = re.sub(r"-\s*1(?![0-9.])", "+ 0", regressor_part)

    def names(text: str, what: str, constants: tuple[str, ...] = ()) -> list[str]:
        items = [t.strip() for t in text.split("+") if t.strip()]
        for item in items:
            if item in constants:
                continue
            for name in item.split("^"):
                if not _NAME.match(name.strip()):
                    raise ParameterError(f"formula={formula!r}: {what} term {item!r} is not a "
                                         "column name (interactions only as a^b in the fixed "
                                         "effects)")
        return items

    if not _NAME.match(lhs):
        raise ParameterError(f"formula={formula!r}: outcome {lhs!r} is not a column name")
    items = names(regressor_part, "regressor", constants=("0", "1"))
    if not items:
        raise ParameterError(f"formula={formula!r} has no regressor (write 'y ~ 1 | fe' for "
                             "a model with fixed effects only)")
    regressors = [item for item in items if item not in ("0", "1")]
    if any("^" in r for r in regressors):
        raise ParameterError(f"formula={formula!r}: '^' is only allowed after '|'")
    fixed = tuple(tuple(n.strip() for n in t.split("^")) for t in names(fe_part, "fixed-effect"))
    intercept = "0" not in items
    if not regressors and not fixed and not intercept:
        raise ParameterError(f"formula={formula!r} has no regressor, constant or fixed effect")
    return Formula(lhs, tuple(dict.fromkeys(regressors)), fixed, intercept)


def _group_codes(data: pd.DataFrame, columns: tuple[str, ...] | list[str]) -> np.ndarray:
    """Integer codes ``0..G-1`` of the combined groups of ``columns``.

    Each column is factorized (never cast), so any values work: floats such as ``1e30``,
    strings, categories. Two columns combine as ``code_a * G_b + code_b`` with both
    codes below the number of rows ``n``, which stays below ``n ** 2`` (no overflow
    for ``n`` up to 3e9), and is factorized again before the next column.
    """
    codes = None
    for column in columns:
        c = pd.factorize(data[column], use_na_sentinel=False)[0].astype(np.int64)
        if codes is None:
            codes = c
        else:
            codes = pd.factorize(codes * (int(c.max()) + 1) + c)[0].astype(np.int64)
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
            if not len(rows):
                break
            sub = g[rows]
            n_levels = int(sub.max()) + 1
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
    """Weighted within-group demeaning over several fixed effects.

    ``demean`` takes a vector or a matrix (one column per variable, projected together)
    and runs alternating projections with Irons-Tuck acceleration; columns still moving
    after ``AP_SWEEPS`` sweeps (extreme weights, weakly connected groups) are finished by
    LSMR (Fong and Saunders 2011) on the column-scaled weighted dummy design, a Krylov
    method that does not stall where the projections crawl.
    """

    def __init__(self, groups: list[np.ndarray], names: list[str] | None = None) -> None:
        self.groups = [np.ascontiguousarray(g) for g in groups]
        self.sizes = [int(g.max()) + 1 if len(g) else 0 for g in self.groups]
        self.names = names or [f"fixed effect {i + 1}" for i in range(len(groups))]
        self.n = len(self.groups[0]) if self.groups else 0
        # group-by-row indicator matrices: group sums of a matrix in one sparse product
        self.indicators = [sparse.csr_matrix((np.ones(self.n), (g, np.arange(self.n))),
                                             shape=(s, self.n))
                           for g, s in zip(self.groups, self.sizes, strict=True)]
        self.iterations = 0
        self.last_corrections = [0.0] * len(self.groups)

    def set_weights(self, w: np.ndarray) -> None:
        self.w = w
        self.inv_wsum = []
        for g, n in zip(self.groups, self.sizes, strict=True):
            wsum = np.bincount(g, weights=w, minlength=n)
            self.inv_wsum.append(np.divide(1.0, wsum, out=np.zeros_like(wsum), where=wsum > 0))

    def _sweep(self, v: np.ndarray) -> np.ndarray:
        """One pass of projections on a matrix: subtract weighted group means per FE."""
        v = v.copy()
        for k, (g, inv, ind) in enumerate(zip(self.groups, self.inv_wsum, self.indicators,
                                              strict=True)):
            means = (ind @ (self.w[:, None] * v)) * inv[:, None]
            v -= means[g]
            self.last_corrections[k] = float(np.abs(means).max()) if means.size else 0.0
        return v

    def demean(self, v: np.ndarray, tol: float, max_sweeps: int = AP_SWEEPS,
               what: str = "fixed-effect demeaning") -> np.ndarray:
        """Residual of ``v`` after projecting out all fixed effects with weights ``w``.

        A column is done when its largest change in a sweep is below ``tol`` times its
        largest absolute value; after ``max_sweeps`` sweeps the columns left go to LSMR,
        and :class:`ConvergenceError` is raised if LSMR does not converge either.
        """
        one_d = v.ndim == 1
        matrix = v[:, None] if one_d else v
        if matrix.shape[1] == 0:
            return v.copy()
        if len(self.groups) == 1:  # one projection is exact
            self.iterations += 1
            out = self._sweep(matrix)
            return out[:, 0] if one_d else out
        scale = np.maximum(np.abs(matrix).max(axis=0), 1e-300)
        out = np.empty(matrix.shape)
        active = np.arange(matrix.shape[1])
        x = self._sweep(matrix)
        sweeps = 1

        def finish(candidate: np.ndarray, change: np.ndarray) -> np.ndarray:
            nonlocal active
            done = change <= tol * scale[active]
            if done.any():
                out[:, active[done]] = candidate[:, done]
                active = active[~done]
            return ~done

        while True:
            gx = self._sweep(x)
            sweeps += 1
            left = finish(gx, np.abs(gx - x).max(axis=0))
            if not len(active):
                break
            x, gx = x[:, left], gx[:, left]
            if sweeps >= max_sweeps:
                # x differs from the input by an element of the fixed-effect span: its
                # residual is the one sought
                out[:, active] = self.lsmr_residual(gx, tol, what=what, sweeps=sweeps)
                break
            ggx = self._sweep(gx)
            sweeps += 1
            delta_g = ggx - gx
            delta2 = delta_g - (gx - x)
            denom = np.einsum("ij,ij->j", delta2, delta2)
            num = np.einsum("ij,ij->j", delta_g, delta2)
            coef = np.divide(num, denom, out=np.zeros_like(num), where=denom > 0)
            x = ggx - coef * delta_g
            left = finish(ggx, np.abs(delta_g).max(axis=0))
            if not len(active):
                break
            x = x[:, left]
        self.iterations += sweeps
        return out[:, 0] if one_d else out

    def design(self, x: np.ndarray | None = None) -> sparse.csr_matrix:
        """The dummy matrix of all fixed effects (n x sum of levels), then ``x``."""
        blocks = [ind.T for ind in self.indicators]
        if x is not None and x.shape[1]:
            blocks.append(sparse.csr_matrix(x))
        return sparse.hstack(blocks, format="csr")

    def lsmr_residual(self, v: np.ndarray, tol: float, *, x: np.ndarray | None = None,
                      what: str = "fixed-effect demeaning", sweeps: int = 0,
                      start: list | None = None) -> np.ndarray:
        """Residuals of the weighted least squares of each column of ``v`` on the fixed
        effects (and ``x``), by LSMR with unit-norm weighted columns.

        ``start`` (optional) holds one LSMR starting point per column and is updated in
        place with the solutions (warm starts for a sequence of nearby problems).
        """
        design = self.design(x)
        root_w = np.sqrt(self.w)
        weighted = sparse.diags(root_w) @ design
        norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=0)).ravel())
        col_scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
        weighted = weighted @ sparse.diags(col_scale)
        limit = max(10_000, 10 * design.shape[1])
        out = np.empty(v.shape)
        for j in range(v.shape[1]):
            x0 = start[j] if start is not None and start[j] is not None else None
            solution, istop, iterations, *_ = lsmr(weighted, root_w * v[:, j], atol=tol,
                                                   btol=tol, maxiter=limit, x0=x0)
            if istop == 7:
                self._fail(what, sweeps + iterations, float("nan"), tol, lsmr_used=True)
            if start is not None:
                start[j] = solution
            out[:, j] = v[:, j] - design @ (col_scale * solution)
            self.iterations += iterations
        return out

    def _fail(self, what: str, sweeps: int, reached: float, tol: float,
              lsmr_used: bool = False) -> None:
        slowest = self.names[int(np.argmax(self.last_corrections))]
        how = " (alternating projections, then LSMR)" if lsmr_used else ""
        raise ConvergenceError(
            f"{what} did not converge in {sweeps} sweeps{how}: the largest change in the "
            f"last sweep was {reached:.1e} of the variable's scale, against a tolerance of "
            f"{tol:.0e}; the slowest fixed effect is {slowest!r} (its group means still "
            "move); the fixed effects may be nearly collinear or the weights extreme",
            what=what, iterations=sweeps, reached=reached, tolerance=tol,
            fixed_effect=slowest)


def _deviance(y: np.ndarray, mu: np.ndarray, eta: np.ndarray) -> float:
    positive = y > 0
    return float(2 * (np.sum(mu - y) + np.sum(y[positive] * (np.log(y[positive])
                                                              - eta[positive]))))


def _partial_out(x: np.ndarray, groups: list[np.ndarray], names: list[str],
                 w: np.ndarray | None = None, tol: float = 1e-12,
                 what: str = "fixed-effect demeaning") -> np.ndarray:
    """``x`` (n x k) with the fixed effects partialled out (weights ``w``, default 1)."""
    if not groups or x.shape[1] == 0:
        return x.copy()
    demeaner = _Demeaner(groups, names)
    demeaner.set_weights(np.ones(len(x)) if w is None else w)
    return demeaner.demean(x, tol, what=what)


def _independent_columns(x: np.ndarray, groups: list[np.ndarray], names: list[str],
                         tol: float = COLLINEAR_TOL) -> np.ndarray:
    """Mask of regressors kept: in order, each one not a combination of the fixed effects
    and the regressors kept before it (Gram-Schmidt, twice, on the partialled-out x)."""
    k = x.shape[1]
    keep = np.zeros(k, dtype=bool)
    if k == 0 or len(x) == 0:
        return keep
    resid = _partial_out(x, groups, names, what="partialling out the fixed effects "
                                                "(collinearity check)")
    basis = np.empty((len(x), 0))
    for j in range(k):
        column = resid[:, j]
        for _ in range(2):
            column = column - basis @ (basis.T @ column)
        size = float(np.linalg.norm(column))
        if size > tol * float(np.linalg.norm(x[:, j])):
            keep[j] = True
            basis = np.column_stack([basis, column / size])
    return keep


def _relu_separated(y: np.ndarray, x: np.ndarray, groups: list[np.ndarray],
                    names: list[str] | None = None, weight: float = RELU_WEIGHT,
                    tol: float = 1e-5, max_iter: int = 1000) -> np.ndarray:
    """Mask of observations separated by the regressors and fixed effects (ReLU method).

    See the module docstring (Correia, Guimarães and Zylkin 2021, section 4). Without
    fixed effects ``x`` must include the constant. Each least-squares step is solved
    jointly on ``[fixed-effect dummies, x]`` by LSMR, warm-started from the previous
    step (alternating projections crawl with these weights when separation splits the
    fixed-effect graph); without fixed effects by a dense least squares. With the
    weighting method the fit on the ``y > 0`` rows is zero only up to an error ``eps``
    of order ``1 / weight``; fits on the ``y = 0`` rows within ``[-0.1 d, d]``,
    ``d = eps + tol``, count as zero (stricter below zero, against false positives, as
    ``ppmlhdfe`` does). ``u`` is rescaled to a maximum of one each step, so ``tol`` is
    relative.
    """
    zero = y <= 0
    if not zero.any() or zero.all():
        return np.zeros(len(y), dtype=bool)
    w = np.where(zero, 1.0, weight)
    if groups:
        demeaner = _Demeaner(groups, names)
        demeaner.set_weights(w)
        start: list = [None]
    else:
        root_w = np.sqrt(w)
        xw = x * root_w[:, None]
    u = zero.astype(float)
    for _ in range(max_iter):
        if groups:
            resid = demeaner.lsmr_residual(u[:, None], 1e-12, x=x, start=start,
                                           what="separation check (ReLU): least squares")
            resid = resid[:, 0]
        else:
            beta = np.linalg.lstsq(xw, u * root_w, rcond=1e-12)[0]
            resid = u - x @ beta
        fit = u - resid
        delta = float(np.abs(fit[~zero]).max()) + tol
        fit[~zero] = 0.0
        fit[zero & (fit >= -0.1 * delta) & (fit <= delta)] = 0.0
        if (fit[zero] >= 0).all():
            return zero & (fit > 0)
        if resid[zero].min() >= -1e-12:
            # no negative residual left: by the normal equations no further separated
            # observation can be uncovered (ppmlhdfe's second stopping rule)
            fit[zero & (resid > delta)] = 0.0
            return zero & (fit > 0)
        u = np.where(zero, np.maximum(fit, 0.0), 0.0)
        top = u.max()
        if top <= 0:
            return np.zeros(len(y), dtype=bool)
        u /= top
        if groups and start[0] is not None:
            start[0] = start[0] / top
    raise ConvergenceError(f"separation check (ReLU) did not converge in {max_iter} "
                           "iterations", what="separation check (ReLU)",
                           iterations=max_iter, tolerance=tol)


def _find_separation(y: np.ndarray, x: np.ndarray, groups: list[np.ndarray],
                     fe_names: list[str], *, drop_singletons: bool,
                     relu: bool) -> tuple[np.ndarray, int, int, int]:
    """Rows kept after dropping separated and singleton rows, until no check finds more.

    Returns the kept positions (into ``y``) and the counts dropped in all-zero
    fixed-effect groups, by the ReLU check and as singletons.
    """
    index = np.arange(len(y))
    n_fe = n_relu = n_single = 0
    while len(index):
        if groups:
            keep, dropped_fe, dropped_single = _drop_separated(y, groups, drop_singletons)
            n_fe += dropped_fe
            n_single += dropped_single
            if not keep.all():
                index, y, x = index[keep], y[keep], x[keep]
                groups = [pd.factorize(g[keep])[0] for g in groups]
        if not relu or not len(index):
            break
        separated = _relu_separated(y, x, groups, fe_names)
        if not separated.any():
            break
        n_relu += int(separated.sum())
        keep = ~separated
        index, y, x = index[keep], y[keep], x[keep]
        groups = [pd.factorize(g[keep])[0] for g in groups]
    return index, n_fe, n_relu, n_single


def ppml(data: pd.DataFrame, formula: str = "y ~ x1 + x2 | fe1 + fe2 + fe3", *,
         cluster: str | None = None, tol: float = 1e-8, max_iter: int = 1000,
         drop_singletons: bool = True, separation: Literal["fe", "relu"] = "relu",
         level: float = 0.95, vcov: Literal["CV1", "CV3"] = "CV1") -> PPMLResult:
    """Poisson pseudo-maximum likelihood with absorbed high-dimensional fixed effects.

    Parameters
    ----------
    data : one row per observation; the outcome non-negative (flows in any unit).
    formula : ``"y ~ x1 + x2 | fe1 + fe2"``; a fixed-effect term ``a^b`` is the combined
        group of ``a`` and ``b`` (e.g. ``exporter^year``). ``"y ~ 1 | fe1 + fe2"`` fits
        the fixed effects only. Without ``|`` a constant is fitted (unless ``0`` or ``-1``
        is among the regressors).
    cluster : column (or ``a^b``) to cluster standard errors by; default
        heteroskedasticity-robust.
    tol : convergence tolerance on the relative change of the deviance (``ppmlhdfe``'s
        criterion); the demeaning tolerance is tightened along to ``min(1e-9, tol/10)``.
    max_iter : most IRLS iterations.
    drop_singletons : drop observations alone in a fixed-effect group (as ``ppmlhdfe``).
    separation : ``"relu"`` (default) drops every separated observation (module
        docstring); ``"fe"`` only those in all-zero fixed-effect groups.
    level : confidence level of the intervals.
    vcov : with ``cluster``, ``"CV1"`` (the sandwich with ``G / (G - 1)``, ppmlhdfe's
        default) or ``"CV3"``, the cluster jackknife ``(G - 1) / G * sum_g d_g d_g'``
        with ``d_g = (B - B_g)^{-1} s_g`` the one-step (Newton) change of the
        coefficients when cluster ``g`` is left out (``B`` the information of the
        partialled-out regressors, ``B_g`` and ``s_g`` cluster ``g``'s part of it and of
        the score). For OLS this step is exact; for PPML it is the linearized jackknife.
        CV3 is the more reliable choice with few or very unequal clusters (MacKinnon,
        Nielsen and Webb 2023, J. Econometrics 232(2)).

    Returns
    -------
    PPMLResult
        Coefficients in log points; ``100 * (exp(b) - 1)`` is the percentage change of the
        flow for a unit change of the regressor. Rows with missing values are dropped.

    Raises
    ------
    ParameterError
        Bad formula, columns or options.
    EstimationError
        No positive outcome left, every regressor dropped, or one cluster only;
        :class:`~research.errors.ConvergenceError` (a subclass) when IRLS or the
        demeaning does not converge, with the count, the criterion reached and the
        slowest fixed effect.

    Examples
    --------
    A simulated panel where a measure cuts the flows of 4 of 12 destinations by 0.5 log
    points from January 2019, with destination and month fixed effects absorbed:

    >>> from research.simulate import simulate_ban_panel
    >>> panel = simulate_ban_panel(n_units=12, n_treated=4, n_periods=24, event_index=12,
    ...                            effect=-0.5, seed=1)
    >>> panel["post"] = (panel["treated"] & (panel["period"] >= "2019-01-01")).astype(float)
    >>> fit = ppml(panel, "flow ~ post | unit + period", cluster="unit")
    >>> round(float(fit.tidy().loc[0, "estimate"]), 2)
    -0.51
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
    vcov_type = vcov
    if vcov_type not in ("CV1", "CV3"):
        raise ParameterError(f"vcov={vcov_type!r} is not one of ['CV1', 'CV3']")
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
    x = frame[list(parsed.regressors)].to_numpy(dtype=float).reshape(len(frame), -1)
    if not np.isfinite(x).all():
        raise ParameterError("regressors have infinite values")
    names = list(parsed.regressors)
    if not parsed.fixed_effects and parsed.intercept:
        x = np.column_stack([np.ones(len(y)), x])
        names = ["Intercept", *names]
    fe_names = ["^".join(t) for t in parsed.fixed_effects]
    groups = [_group_codes(frame, term) for term in parsed.fixed_effects]
    cluster_codes = _group_codes(frame, cluster_cols) if cluster_cols else None

    # 1. separation and singletons, until stable
    index, n_fe_sep, n_relu, n_singletons = _find_separation(
        y, x, groups, fe_names, drop_singletons=drop_singletons, relu=separation == "relu")
    n_separated = n_fe_sep + n_relu
    if n_separated:
        warnings.warn(f"{n_separated} separated observations dropped ({n_fe_sep} in "
                      f"fixed-effect groups whose outcomes are all zero, {n_relu} found by "
                      "the ReLU check: separated by the regressors and fixed effects)",
                      SeparationWarning, stacklevel=2)
    if len(index) < len(y):
        full_x, full_groups = x, groups
        y, x = y[index], x[index]
        groups = [pd.factorize(g[index])[0] for g in groups]
        if cluster_codes is not None:
            cluster_codes = cluster_codes[index]
    else:
        full_x = full_groups = None
    if len(y) == 0 or not (y > 0).any():
        raise EstimationError("no observation with a positive outcome is left to fit "
                              f"({n_separated} separated, {n_singletons} singleton and "
                              f"{n_missing} incomplete rows dropped)")

    # 2. collinear regressors, on the sample left
    independent = _independent_columns(x, groups, fe_names)
    dropped = [n for n, keep in zip(names, independent, strict=True) if not keep]
    notes_collinear = []
    if dropped:
        before = (_independent_columns(full_x, full_groups, fe_names) if full_x is not None
                  else independent)
        by_separation = [n for n, now, then in zip(names, independent, before, strict=True)
                         if then and not now]
        collinear = [n for n in dropped if n not in by_separation]
        if collinear:
            warnings.warn(f"regressor(s) {collinear} omitted: collinear with the fixed effects "
                          "or with the regressors before them", CollinearityWarning,
                          stacklevel=2)
            notes_collinear.append(f"Regressor(s) {collinear} omitted: collinear with the "
                                   "fixed effects or earlier regressors.")
        if by_separation:
            warnings.warn(f"regressor(s) {by_separation} omitted: no variation left after "
                          "dropping the separated observations (their coefficients diverge)",
                          SeparationWarning, stacklevel=2)
            notes_collinear.append(f"Regressor(s) {by_separation} omitted after dropping "
                                   "separated observations.")
        if independent.sum() == 0 and names:
            raise EstimationError(f"every regressor {names} was dropped as collinear with the "
                                  "fixed effects (after dropping separated observations); "
                                  "write 'y ~ 1 | fe' for a model with fixed effects only")
        x = x[:, independent]
    estimated = [n for n, keep in zip(names, independent, strict=True) if keep]

    # 3. IRLS on the sample left
    fit = _irls(y, x, groups, fe_names, tol=tol, max_iter=max_iter,
                has_intercept="Intercept" in estimated and not groups)
    beta, x_tilde, mu = fit["beta"], fit["x_tilde"], fit["mu"]
    weak = fit["information_share"] < MIN_INFORMATION_SHARE
    if weak.any():
        shares = ", ".join(f"{n}: {v:.1e}" for n, v, bad in
                           zip(estimated, fit["information_share"], weak, strict=True) if bad)
        raise EstimationError(
            "coefficient(s) not numerically identified: at the fitted means the fixed "
            f"effects absorb all but a share below {MIN_INFORMATION_SHARE:.0e} of the "
            f"weighted variation of the regressor(s) ({shares}); the Poisson weights sit on "
            f"a few observations (the outcome spans {_orders_of_magnitude(y):.0f} orders of "
            "magnitude), so no digit of the estimate can be trusted")

    # 4. sandwich variance
    n = len(y)
    k = len(estimated)
    if cluster_codes is not None:
        cluster_codes = pd.factorize(cluster_codes)[0]
        n_clusters = int(cluster_codes.max()) + 1
        if n_clusters < 2:
            raise EstimationError(f"one cluster in {cluster!r} is left after dropping "
                                  "separated and singleton rows: cluster-robust standard "
                                  "errors need at least two")
        if n_clusters < FEW_CLUSTERS:
            warnings.warn(f"{n_clusters} clusters in {cluster!r}: cluster-robust standard errors "
                          "are unreliable with fewer than about 30", FewClustersWarning,
                          stacklevel=2)
        vce_label = f"clustered by {cluster} ({n_clusters} clusters)"
    else:
        n_clusters = 0
        vce_label = "heteroskedasticity-robust"
    blocks = None
    information = np.empty((0, 0))
    if k:
        score = x_tilde * (y - mu)[:, None]
        if cluster_codes is not None:
            indicator = sparse.csr_matrix((np.ones(n), (cluster_codes, np.arange(n))),
                                          shape=(n_clusters, n))
            meat_scores = indicator @ score
            factor = n_clusters / (n_clusters - 1)
        else:
            meat_scores = score
            factor = n / (n - 1) if n > 1 else np.nan
        information = x_tilde.T @ (x_tilde * mu[:, None])
        bread = _inverse(information, estimated)
        if cluster_codes is not None and k <= MAX_BLOCK_REGRESSORS \
                and n_clusters <= MAX_BLOCK_CLUSTERS:
            blocks = _cluster_blocks(x_tilde, mu, cluster_codes, n_clusters)
        if vcov_type == "CV3" and cluster_codes is not None:
            if blocks is None:
                blocks = _cluster_blocks(x_tilde, mu, cluster_codes, n_clusters)
            vcov = _jackknife_cv3(information, blocks, score, cluster_codes, n_clusters)
            vce_label = (f"cluster jackknife CV3 by {cluster} ({n_clusters} clusters, "
                         "one-step)")
        else:
            meat = meat_scores.T @ meat_scores
            vcov = factor * bread @ meat @ bread
        vcov = (vcov + vcov.T) / 2
        std_errors = np.sqrt(np.clip(np.diag(vcov), 0, None))
        if not (np.isfinite(std_errors).all() and np.isfinite(beta).all()):
            raise EstimationError(f"standard errors of {estimated} are not finite: "
                                  f"{std_errors.tolist()}")
    else:
        vcov = np.empty((0, 0))
        std_errors = np.empty(0)

    coef = pd.Series(beta, index=estimated, dtype=float).reindex(names)
    vcov_frame = pd.DataFrame(vcov, index=estimated, columns=estimated)
    se_by_name = dict(zip(estimated, std_errors, strict=True))
    rows = [tidy_row(name, coef[name], se_by_name[name], n, METHOD, level)
            if name in se_by_name else
            {"term": name, "estimate": np.nan, "std_error": np.nan, "conf_low": np.nan,
             "conf_high": np.nan, "p_value": np.nan, "n_obs": n, "method": METHOD}
            for name in names]
    table = pd.DataFrame(rows, columns=["term", "estimate", "std_error", "conf_low",
                                        "conf_high", "p_value", "n_obs", "method"])
    shown = table[(table["term"] != "Intercept") & table["estimate"].notna()]
    headline: dict = {}
    if len(shown):
        head = shown.iloc[0]
        headline = {"term": head["term"],
                    "label": f"{head['term']}: % change in {parsed.outcome}",
                    "estimate": 100 * np.expm1(head["estimate"]),
                    "conf_low": 100 * np.expm1(head["conf_low"]),
                    "conf_high": 100 * np.expm1(head["conf_high"]),
                    "p_value": head["p_value"]}
    fe_text = " + ".join(fe_names) or "none"
    notes = [f"Fixed effects: {fe_text}; standard errors {vce_label}."]
    if n_separated:
        notes.append(f"{n_separated} observations dropped as separated ({n_fe_sep} in "
                     f"all-zero fixed-effect groups, {n_relu} by the ReLU check).")
    notes += notes_collinear
    if n_singletons:
        notes.append(f"{n_singletons} singleton observations dropped.")
    if n_missing:
        notes.append(f"{n_missing} rows with missing values dropped.")
    sample = np.zeros(len(data), dtype=bool)
    sample[np.flatnonzero(complete)[index]] = True
    return PPMLResult(method=f"PPML with fixed effects ({fe_text})", table=table,
                      headline=headline, notes=notes, formula=formula, coef=coef,
                      vcov=vcov_frame, n_obs=n, n_separated=n_separated,
                      n_separated_by_regressors=n_relu, omitted=list(dropped),
                      n_singletons=n_singletons, n_clusters=n_clusters,
                      iterations=fit["iterations"], deviance=fit["deviance"],
                      converged=True, dropped_collinear=list(dropped), n_missing=n_missing,
                      fixed_effects=tuple(fe_names), cluster=cluster,
                      pseudo_r2=_pseudo_r2(y, mu), sample=pd.Series(sample, index=data.index),
                      information=pd.DataFrame(information, index=estimated,
                                               columns=estimated),
                      cluster_information=blocks)


def _cluster_blocks(x_tilde: np.ndarray, mu: np.ndarray, codes: np.ndarray,
                    n_clusters: int) -> np.ndarray:
    """Each cluster's part ``B_g = X~_g' diag(mu_g) X~_g`` of the information, (G, k, k)."""
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(n_clusters + 1))
    k = x_tilde.shape[1]
    blocks = np.zeros((n_clusters, k, k))
    for g in range(n_clusters):
        rows = order[bounds[g]:bounds[g + 1]]
        xg = x_tilde[rows]
        blocks[g] = xg.T @ (xg * mu[rows, None])
    return blocks


def effective_df(information: np.ndarray, blocks: np.ndarray, weights: np.ndarray) -> float:
    """Effective degrees of freedom of a linear combination ``w'b`` with clustered errors.

    Under the Poisson reference model (variance equal to the mean, independent
    clusters) cluster ``g`` contributes ``a_g = w' B^{-1} B_g B^{-1} w`` to the variance
    of ``w'b``. The Satterthwaite approximation of a weighted sum of ``G`` chi-squares
    gives ``(sum a_g)^2 / sum a_g^2`` degrees of freedom: ``G`` for equal clusters, fewer
    when a few clusters carry the weight (the design-based effective degrees of freedom of
    Imbens and Kolesár 2016, and the effective number of clusters of Carter, Schnepel
    and Steigerwald 2017).

    Parameters
    ----------
    information : ``B``, (k, k).
    blocks : ``B_g``, (G, k, k).
    weights : ``w``, (k,).

    Returns
    -------
    float

    Examples
    --------
    Four equal clusters give 4 degrees of freedom; one cluster holding nearly all the
    information gives about 1.

    >>> import numpy as np
    >>> blocks = np.ones((4, 1, 1))
    >>> round(effective_df(blocks.sum(axis=0), blocks, np.ones(1)), 6)
    4.0
    >>> blocks = np.array([[[97.0]], [[1.0]], [[1.0]], [[1.0]]])
    >>> round(effective_df(blocks.sum(axis=0), blocks, np.ones(1)), 3)
    1.062
    """
    direction = np.linalg.solve(information, weights)
    contributions = np.einsum("i,gij,j->g", direction, blocks, direction)
    total = contributions.sum()
    return float(total**2 / np.sum(contributions**2)) if total > 0 else float("nan")


def _jackknife_cv3(information: np.ndarray, blocks: np.ndarray, score: np.ndarray,
                   codes: np.ndarray, n_clusters: int) -> np.ndarray:
    """One-step cluster jackknife: ``(G - 1) / G * sum_g d_g d_g'`` with
    ``d_g = (B - B_g)^{-1} s_g`` (see :func:`ppml`, ``vcov="CV3"``)."""
    k = information.shape[0]
    sums = np.zeros((n_clusters, k))
    np.add.at(sums, codes, score)
    total = np.zeros((k, k))
    for g in range(n_clusters):
        b_g, s_g = blocks[g], sums[g]
        try:
            d_g = np.linalg.solve(information - b_g, s_g)
        except np.linalg.LinAlgError as error:
            raise EstimationError(f"the cluster jackknife cannot leave out cluster {g}: "
                                  "the other clusters do not identify every coefficient"
                                  ) from error
        total += np.outer(d_g, d_g)
    return (n_clusters - 1) / n_clusters * total


def _inverse(gram: np.ndarray, names: list[str]) -> np.ndarray:
    """Inverse of the weighted Gram matrix of the partialled-out regressors."""
    scale = np.sqrt(np.diag(gram))
    if not (np.isfinite(gram).all() and (scale > 0).all()):
        raise EstimationError(f"the information matrix of {names} is singular at the estimate")
    scaled = gram / np.outer(scale, scale)
    if np.linalg.cond(scaled) > 1e12:
        raise EstimationError(f"the information matrix of {names} is numerically singular at "
                              "the estimate (the fitted weights leave the regressors nearly "
                              "collinear)")
    return np.linalg.inv(scaled) / np.outer(scale, scale)


def _orders_of_magnitude(y: np.ndarray) -> float:
    """log10 of the ratio of the largest to the smallest positive outcome."""
    positive = y[y > 0]
    return float(np.log10(positive.max() / positive.min())) if len(positive) else 0.0


def _pseudo_r2(y: np.ndarray, mu: np.ndarray) -> float:
    """McFadden's pseudo R-squared ``1 - ll / ll0`` of a Poisson fit."""
    positive = y > 0
    constant = -gammaln(y + 1).sum()
    ll = float(np.sum(y[positive] * np.log(mu[positive])) - mu.sum() + constant)
    mean = float(y.mean())
    ll0 = float(y.sum() * np.log(mean) - mean * len(y) + constant)
    return 1 - ll / ll0 if ll0 != 0 else float("nan")


def _irls(y: np.ndarray, x: np.ndarray, groups: list[np.ndarray], fe_names: list[str], *,
          tol: float, max_iter: int, has_intercept: bool = False) -> dict:
    """IRLS for Poisson with the fixed effects partialled out of each weighted LS step.

    Works on ``y / mean(y)`` and standardised regressors (slopes are invariant to the first
    and rescaled back for the second), following ``ppmlhdfe``'s ``GLM::solve``. A step
    that raises the deviance (or makes it infinite) is halved, up to 30 times (``glm2``).
    Raises :class:`ConvergenceError` after ``max_iter`` iterations.
    """
    # without fixed effects or a constant, scaling y would change the slopes
    y_scale = float(y.mean()) if (groups or has_intercept) else 1.0
    ys = y / y_scale
    k = x.shape[1]
    x_scale = x.std(axis=0) if k else np.ones(0)
    x_scale[x_scale == 0] = 1.0
    xs = x / x_scale
    demeaner = _Demeaner(groups, fe_names) if groups else None
    target_inner = min(1e-9, tol / 10)
    inner_tol = 1e-4 if demeaner else target_inner

    mu = 0.5 * (ys + ys.mean())  # ppmlhdfe's "simple" initial guess
    eta = np.log(mu)
    x_tilde = xs.copy()
    z_tilde = z_last = None
    deviance = np.inf  # the initial guess is not a fit of the model: no halving back to it
    converged = False
    eps = np.inf
    iteration = 0
    beta = np.zeros(k)
    for iteration in range(1, max_iter + 1):
        z = eta - 1 + ys / mu
        if demeaner is not None:
            demeaner.set_weights(mu)
            # warm start: z_tilde + (z - z_last) differs from z by an element of the FE span
            start_z = z if z_tilde is None else z_tilde + (z - z_last)
            z_tilde = demeaner.demean(start_z, inner_tol, what="IRLS demeaning")
            if k:
                x_tilde = demeaner.demean(x_tilde, inner_tol, what="IRLS demeaning")
        else:
            z_tilde = z
            x_tilde = xs
        if k:
            xw = x_tilde * mu[:, None]
            beta = _solve(x_tilde.T @ xw, xw.T @ z_tilde)
            resid = z_tilde - x_tilde @ beta
        else:
            resid = z_tilde
        z_last = z
        new_eta = np.clip(z - resid, -700.0, 700.0)
        old_deviance = deviance
        for _ in range(31):  # step halving
            mu_new = np.exp(new_eta)
            new_deviance = _deviance(ys, mu_new, new_eta)
            if np.isfinite(new_deviance) and new_deviance <= old_deviance * (1 + 1e-6) + 1e-12:
                break
            new_eta = 0.5 * (new_eta + eta)
        if not np.isfinite(new_deviance):
            raise ConvergenceError(f"PPML deviance is not finite at IRLS iteration "
                                   f"{iteration} even after halving the step",
                                   what="IRLS", iterations=iteration, tolerance=tol)
        eta, mu, deviance = new_eta, mu_new, new_deviance
        eps = abs(old_deviance - deviance) / max(min(deviance, old_deviance), 0.1)
        if iteration > 1 and eps < tol:
            if inner_tol <= target_inner:
                converged = True
                break
            inner_tol = target_inner  # one more step with exact demeaning
        elif iteration > 1:
            inner_tol = max(target_inner, min(inner_tol, eps / 10))
    if not converged:
        raise ConvergenceError(f"PPML (IRLS) did not converge in {max_iter} iterations: the "
                               f"relative change of the deviance was {eps:.1e}, against a "
                               f"tolerance of {tol:.0e}", what="IRLS", iterations=max_iter,
                               reached=eps, tolerance=tol)
    # final scores use X demeaned with the final weights
    if demeaner is not None and k:
        demeaner.set_weights(mu)
        x_tilde = demeaner.demean(x_tilde, target_inner, what="IRLS demeaning")
    # share of each regressor's weighted variation left after partialling out the fixed
    # effects with the final weights: near zero, the information on its coefficient sits in
    # a few observations that the fixed effects fit alone (explosive outcomes)
    if demeaner is not None and k:
        centred = xs - (mu @ xs) / mu.sum()
        information_share = (mu @ x_tilde**2) / np.maximum(mu @ centred**2, 1e-300)
    else:
        information_share = np.ones(k)
    beta = beta / x_scale
    if has_intercept:  # the fit was on y / mean(y): shift the intercept back
        beta[0] += np.log(y_scale)
    return {"beta": beta, "x_tilde": x_tilde * x_scale, "mu": mu * y_scale,
            "iterations": iteration, "deviance": deviance * y_scale, "converged": converged,
            "information_share": information_share}


def _solve(gram: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve the weighted normal equations; least squares when they are (nearly) singular."""
    try:
        solution = np.linalg.solve(gram, rhs)
        if np.isfinite(solution).all():
            return solution
    except np.linalg.LinAlgError:
        pass
    return np.linalg.lstsq(gram, rhs, rcond=1e-13)[0]

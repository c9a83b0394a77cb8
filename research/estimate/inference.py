"""Inference with one (or few) treated units: placebos in space and the wild cluster bootstrap.

A ban on Japan treats one destination. Cluster-robust standard errors then rest on a
single treated cluster and are unreliable (MacKinnon and Webb 2017, "Wild bootstrap
inference for wildly different cluster sizes", J. Applied Econometrics 32(2); 2018,
"The wild bootstrap for few (treated) clusters", Econometrics Journal 21(2)). Two
alternatives:

**Placebo in space** (randomisation inference; Abadie, Diamond and Hainmueller 2010,
section 2.4; Conley and Taber 2011). Re-estimate the same design with the treatment
assigned to control units instead of the treated ones (the truly treated units are left
out of these runs), ``J`` times, and rank the actual effect among the placebo effects::

    two-sided:  p = (1 + #{j : |b_j| >= |b|}) / (1 + J)
    less:       p = (1 + #{j : b_j <= b}) / (1 + J)       (H1: the measure cut flows)
    greater:    p = (1 + #{j : b_j >= b}) / (1 + J)

Ties count against the treated effect, so the smallest attainable p is ``1 / (1 + J)``.
With ``k`` treated units the placebos are all (or, when too many, a random sample of)
sets of ``k`` controls. The test is exact under exchangeability of units (the treated
unit's effect would be like a control's in the absence of the measure); it gives no
standard error or interval.

**Wild cluster bootstrap, restricted (WCR)** (Cameron, Gelbach and Miller 2008, "Bootstrap-
based improvements for inference with clustered errors", Review of Economics and Statistics
90(3)): for a linear regression ``y = X b + u`` and the hypothesis ``R'b = r``, impose the
null (restricted least squares), and draw bootstrap samples
``y* = X b_r + u_r * v_g`` with one weight ``v_g`` per cluster, Rademacher (+-1) or Webb's
six-point distribution (+-sqrt(1/2), +-1, +-sqrt(3/2)). The statistic is the cluster-robust
(CRV1) t of ``R'b``; the p-value is the share of bootstrap ``|t*|`` at least ``|t|``
(symmetric). All bootstrap quantities reduce to ``G``-dimensional algebra (Roodman,
MacKinnon, Nielsen and Webb 2019, "Fast and wild", Stata Journal 19(1)), so thousands of
draws are cheap. With Rademacher weights and ``2**G <= n_boot`` every sign vector is
enumerated (exact). The interval is the set of ``r`` not rejected (test inversion).

Few clusters: :class:`~research.errors.FewClustersWarning` when ``G < 10`` with Rademacher
weights (only ``2**G`` distinct draws; the wildmeta documentation, following Webb 2023,
"Reworking wild bootstrap-based inference for clustered errors", Canadian J. Economics,
recommends Webb's weights below 10 clusters), and when only one cluster is treated
(the WCR test then under-rejects severely, MacKinnon and Webb 2017, 2018: prefer the
placebo test).
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from research.errors import EstimationError, FewClustersWarning, ParameterError
from research.estimate.result import TIDY_COLUMNS, Result

Alternative = Literal["two-sided", "less", "greater"]
ALTERNATIVES = ("two-sided", "less", "greater")
Weights = Literal["rademacher", "webb"]
WEIGHTS = ("rademacher", "webb")
FEW_CLUSTERS_RADEMACHER = 10  # below this, use Webb weights (Webb 2023; wildmeta docs)
_MAX_SE = 128  # interval bounds beyond this many standard errors are reported as infinite
_WEBB = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])


def _check_choice(name: str, value, allowed: tuple) -> None:
    if value not in allowed:
        raise ParameterError(f"{name}={value!r} is not one of {list(allowed)}")


def permutation_p_value(actual: float, placebos: Sequence[float] | np.ndarray,
                        alternative: Alternative = "two-sided") -> float:
    """Rank p-value of ``actual`` among ``placebos`` (ties count against ``actual``).

    ``two-sided`` compares absolute values, ``less`` asks how many placebos are at least
    as negative, ``greater`` at least as positive; ``(1 + count) / (1 + J)``.
    """
    _check_choice("alternative", alternative, ALTERNATIVES)
    values = np.asarray(placebos, dtype=float)
    values = values[np.isfinite(values)]
    if not np.isfinite(actual):
        raise EstimationError("the actual estimate is not finite")
    if alternative == "two-sided":
        count = np.sum(np.abs(values) >= abs(actual))
    elif alternative == "less":
        count = np.sum(values <= actual)
    else:
        count = np.sum(values >= actual)
    return float((1 + count) / (1 + len(values)))


@dataclass
class PlaceboResult(Result):
    """Placebo-in-space test of one estimate.

    Attributes
    ----------
    actual : the estimate with the true treatment (log points for event studies).
    placebos : one row per placebo assignment: ``assigned`` (the units given the
        treatment) and ``estimate`` (NaN when the placebo could not be estimated).
    p_value, alternative : the permutation p-value and its alternative hypothesis.
    assign_by : the column at which treatment was reassigned.
    """

    actual: float = np.nan
    placebos: pd.DataFrame = field(default_factory=pd.DataFrame)
    p_value: float = np.nan
    alternative: str = "two-sided"
    assign_by: str = ""
    treated_units: list = field(default_factory=list)

    def plot(self, ax=None, title: str | None = None):
        """Placebo effects (% change) as a strip with the actual effect marked."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(8, 3.5))
        pct = 100 * np.expm1(self.placebos["estimate"].dropna())
        ax.scatter(pct, np.zeros(len(pct)), color="0.5", alpha=0.7,
                   label=f"placebos ({len(pct)})")
        ax.axvline(100 * np.expm1(self.actual), color="C3", lw=2,
                   label=f"actual: {', '.join(map(str, self.treated_units))}")
        ax.axvline(0, color="black", lw=0.6)
        ax.set_yticks([])
        ax.set_xlabel("average post-event effect, % change")
        ax.set_title(title or f"Placebo in space ({self.assign_by}): permutation p = "
                     f"{self.p_value:.3f} ({self.alternative})", fontsize=11)
        ax.legend(loc="best", fontsize=8)
        return ax.figure


def _assignments(controls: list, size: int, max_placebos: int,
                 seed: int | None) -> list[tuple]:
    n_sets = math.comb(len(controls), size)
    if n_sets <= max_placebos:
        return list(itertools.combinations(controls, size))
    rng = np.random.default_rng(seed)
    chosen: set[tuple] = set()
    while len(chosen) < max_placebos:
        chosen.add(tuple(sorted(rng.choice(controls, size=size, replace=False))))
    return sorted(chosen)


def placebo_in_space_panel(panel: pd.DataFrame, estimator: Callable[[pd.DataFrame], float], *,
                           assign_by: str, treated: str = "treated",
                           alternative: Alternative = "two-sided", max_placebos: int = 500,
                           seed: int | None = None) -> PlaceboResult:
    """Placebo-in-space test of any estimator on a panel with a boolean treated column.

    Parameters
    ----------
    panel : estimation panel.
    estimator : function of a panel (with ``treated`` set) returning the effect.
    assign_by : column at which treatment is assigned (constant treatment within its
        values), e.g. ``"partner_iso3"`` (destinations) or ``"product"``.
    treated : boolean treatment column.
    alternative : ``"two-sided"``, ``"less"`` or ``"greater"``.
    max_placebos : enumerate all control sets when there are at most this many, else
        draw this many at random (``seed``).
    """
    _check_choice("alternative", alternative, ALTERNATIVES)
    for column in (assign_by, treated):
        if column not in panel.columns:
            raise ParameterError(f"column {column!r} not in the panel; columns: "
                                 f"{list(panel.columns)}")
    status = panel.groupby(assign_by)[treated].agg(["min", "max"])
    mixed = status.index[status["min"] != status["max"]].tolist()
    if mixed:
        raise ParameterError(f"treatment varies within {assign_by!r} values {mixed[:5]}; "
                             "placebos reassign whole values")
    treated_units = sorted(status.index[status["max"].astype(bool)])
    controls = sorted(status.index[~status["max"].astype(bool)])
    if not treated_units or not controls:
        raise EstimationError("placebos need both treated and control units")
    if len(controls) < len(treated_units) + 1:
        raise EstimationError(f"{len(controls)} control unit(s) for {len(treated_units)} "
                              "treated: a placebo needs controls left over")
    actual = float(estimator(panel))
    base = panel[~panel[treated].astype(bool)]
    rows = []
    for assigned in _assignments(controls, len(treated_units), max_placebos, seed):
        placebo = base.assign(**{treated: base[assign_by].isin(assigned)})
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                estimate = float(estimator(placebo))
        except (EstimationError, ParameterError, np.linalg.LinAlgError):
            estimate = np.nan
        rows.append({"assigned": ", ".join(map(str, assigned)), "estimate": estimate})
    placebos = pd.DataFrame(rows)
    n_failed = int(placebos["estimate"].isna().sum())
    p_value = permutation_p_value(actual, placebos["estimate"], alternative)
    n_ok = len(placebos) - n_failed
    notes = [f"Permutation p-value ({alternative}) from {n_ok} placebo assignments of the "
             f"treatment to {len(treated_units)} of {len(controls)} control "
             f"{assign_by} value(s), the treated left out; smallest attainable "
             f"p = {1 / (1 + n_ok):.3f}. No standard error or interval."]
    if n_failed:
        notes.append(f"{n_failed} placebo(s) could not be estimated and are left out.")
    table = pd.DataFrame([{"term": "effect", "estimate": actual, "std_error": np.nan,
                           "conf_low": np.nan, "conf_high": np.nan, "p_value": p_value,
                           "n_obs": len(panel), "method": "placebo in space"}])[TIDY_COLUMNS]
    headline = {"term": "effect", "label": "effect, permutation test", "estimate": actual,
                "conf_low": np.nan, "conf_high": np.nan, "p_value": p_value}
    return PlaceboResult(method="placebo in space", table=table, headline=headline,
                         notes=notes, actual=actual, placebos=placebos, p_value=p_value,
                         alternative=alternative, assign_by=assign_by,
                         treated_units=treated_units)


def _assign_column(design) -> str:
    return "product" if str(design.design).startswith("products") else "partner_iso3"


def placebo_in_space(design, method: str = "ppml", window: tuple[int, int] = (-24, 12),
                     anticipation: int = 0, alternative: Alternative = "two-sided",
                     assign_by: str | None = None, max_placebos: int = 500,
                     seed: int | None = None) -> PlaceboResult:
    """Placebo-in-space test of the average post effect of a ban design.

    Parameters
    ----------
    design : a :class:`~research.estimate.ban_impact.BanDesign` (``ban_design``,
        ``diversion_design``, ``unit_value_design``).
    method, window, anticipation : as for :func:`~research.estimate.ban_impact.estimate_design`.
    alternative : ``"two-sided"`` (default), ``"less"`` (the measure cut flows) or
        ``"greater"``.
    assign_by : column the treatment is reassigned at; default ``"product"`` for the
        products design (treated product group vs control groups) and
        ``"partner_iso3"`` otherwise (destinations).
    max_placebos, seed : see :func:`placebo_in_space_panel`.

    Returns
    -------
    PlaceboResult with the actual and placebo average post effects in log points.

    Examples
    --------
    B2 (graphite) has two control groups, so two placebo assignments and a smallest
    attainable p-value of 1/3 (skipped here: three PPML fits take several seconds):

    >>> from research.estimate.ban_impact import ban_design
    >>> placebo = placebo_in_space(ban_design("B2", "graphite"), anticipation=1)  # doctest: +SKIP
    >>> placebo.headline["p_value"]  # doctest: +SKIP
    1.0
    """
    from research.estimate.ban_impact import BanDesign, estimate_design

    if not isinstance(design, BanDesign):
        raise ParameterError("design must be a BanDesign (see research.estimate.ban_impact)")
    column = assign_by or _assign_column(design)

    def estimator(panel: pd.DataFrame) -> float:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FewClustersWarning)
            result = estimate_design(_replace_panel(design, panel), method, window,
                                     anticipation)
        return float(result.post_effect["estimate"])

    result = placebo_in_space_panel(design.panel, estimator, assign_by=column,
                                    treated="treated", alternative=alternative,
                                    max_placebos=max_placebos, seed=seed)
    result.method = f"placebo in space ({method} event study, post average)"
    result.table["term"] = "post_average"
    result.table["method"] = "placebo in space"
    pct = 100 * np.expm1(result.actual)
    result.headline = {"term": "post_average",
                       "label": "average post-event effect, % change (permutation p)",
                       "estimate": pct, "conf_low": np.nan, "conf_high": np.nan,
                       "p_value": result.p_value}
    result.notes = design.notes + result.notes
    return result


def _replace_panel(design, panel: pd.DataFrame):
    from dataclasses import replace

    return replace(design, panel=panel)


@dataclass
class WildBootstrapResult(Result):
    """Wild cluster bootstrap (WCR) test of one linear combination of coefficients.

    Attributes
    ----------
    estimate, std_error : ``R'b`` and its CRV1 cluster-robust standard error.
    t_stat : CRV1 t statistic for ``R'b = null``.
    p_value : bootstrap p-value; ``conf_low``, ``conf_high`` the interval by test inversion.
    t_boot : the bootstrap t statistics under the null.
    n_clusters, weights, n_boot, enumerated : bootstrap settings.
    """

    estimate: float = np.nan
    std_error: float = np.nan
    t_stat: float = np.nan
    p_value: float = np.nan
    conf_low: float = np.nan
    conf_high: float = np.nan
    null: float = 0.0
    t_boot: np.ndarray = field(default_factory=lambda: np.zeros(0))
    n_clusters: int = 0
    weights: str = "rademacher"
    n_boot: int = 0
    enumerated: bool = False

    def plot(self, ax=None, title: str | None = None):
        """Histogram of the bootstrap t statistics with the observed t."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4))
        ax.hist(self.t_boot, bins=50, color="0.7", label="bootstrap t (null imposed)")
        ax.axvline(self.t_stat, color="C3", lw=2, label=f"observed t = {self.t_stat:.2f}")
        ax.set_xlabel("cluster-robust t statistic")
        ax.set_ylabel("draws")
        ax.set_title(title or f"Wild cluster bootstrap ({self.weights}, {self.n_clusters} "
                     f"clusters): p = {self.p_value:.3f}", fontsize=11)
        ax.legend(loc="best", fontsize=8)
        return ax.figure


def _draws(weights: str, n_clusters: int, n_boot: int, seed: int | None,
           full_enumeration: bool | None) -> tuple[np.ndarray, bool]:
    enumerate_all = (weights == "rademacher" and 2**n_clusters <= n_boot
                     if full_enumeration is None else full_enumeration)
    if enumerate_all:
        if weights != "rademacher":
            raise ParameterError("full enumeration is only available with Rademacher weights")
        if n_clusters > 20:
            raise ParameterError(f"2**{n_clusters} sign vectors are too many to enumerate")
        signs = np.array(list(itertools.product([1.0, -1.0], repeat=n_clusters)))
        return signs, True
    rng = np.random.default_rng(seed)
    values = np.array([-1.0, 1.0]) if weights == "rademacher" else _WEBB
    return rng.choice(values, size=(n_boot, n_clusters)), False


def wild_cluster_bootstrap(y, x, clusters, restriction, *, null: float = 0.0,
                           weights: Weights = "rademacher", n_boot: int = 9999,
                           seed: int | None = None, alternative: Alternative = "two-sided",
                           level: float = 0.95, full_enumeration: bool | None = None,
                           treated_clusters: int | None = None) -> WildBootstrapResult:
    """Wild cluster restricted bootstrap (WCR) for ``R'b = null`` in ``y = X b + u``.

    Parameters
    ----------
    y : outcome (n,).
    x : regressors (n, K), array or DataFrame (include the constant and any fixed-effect
        dummies; rank-deficient columns are handled by a pseudo-inverse).
    clusters : cluster labels (n,).
    restriction : column name or index of the coefficient, or a length-K vector ``R``
        (e.g. averaging several coefficients), or a dict ``{column: weight}``.
    null : hypothesised value ``r``.
    weights : ``"rademacher"`` or ``"webb"`` (six-point).
    n_boot : bootstrap draws (ignored under full enumeration).
    seed : random seed.
    alternative : ``"two-sided"`` (symmetric, ``|t*| >= |t|``), ``"less"`` or ``"greater"``.
    level : level of the interval from inverting the test.
    full_enumeration : enumerate all ``2**G`` Rademacher sign vectors; default when
        ``2**G <= n_boot``.
    treated_clusters : number of treated clusters, if known (warns when it is one).

    Returns
    -------
    WildBootstrapResult
    """
    _check_choice("weights", weights, WEIGHTS)
    _check_choice("alternative", alternative, ALTERNATIVES)
    names = list(x.columns) if isinstance(x, pd.DataFrame) else None
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.ndim != 2 or len(x) != len(y):
        raise ParameterError(f"x must be (n, K) with n = len(y) = {len(y)}, got {x.shape}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ParameterError("y and x must be finite")
    codes = pd.factorize(np.asarray(clusters))[0]
    if len(codes) != len(y):
        raise ParameterError("clusters must have one label per observation")
    n, k = x.shape
    n_clusters = int(codes.max()) + 1
    if n_clusters < 2:
        raise EstimationError("the wild cluster bootstrap needs at least 2 clusters")
    r_vec = _restriction_vector(restriction, k, names)
    if weights == "rademacher" and n_clusters < FEW_CLUSTERS_RADEMACHER:
        warnings.warn(f"{n_clusters} clusters: Rademacher weights give only 2**{n_clusters} = "
                      f"{2**n_clusters} distinct draws; use weights='webb' below "
                      f"{FEW_CLUSTERS_RADEMACHER} clusters (Webb 2023)", FewClustersWarning,
                      stacklevel=2)
    if treated_clusters is not None and treated_clusters < 2:
        warnings.warn(f"{treated_clusters} treated cluster(s): the wild cluster bootstrap is "
                      "unreliable with one treated cluster (MacKinnon and Webb 2017, 2018); "
                      "use the placebo-in-space test", FewClustersWarning, stacklevel=2)

    xtx_inv = np.linalg.pinv(x.T @ x)
    rank = int(np.linalg.matrix_rank(x))
    beta = xtx_inv @ x.T @ y
    resid = y - x @ beta
    a = x @ (xtx_inv @ r_vec)  # R'(X'X)^-1 X' as an n-vector: R'b = a . y
    denom = float(r_vec @ xtx_inv @ r_vec)
    if denom <= 0:
        raise EstimationError("the restriction is not identified (R'(X'X)^-1 R = 0)")
    q = x @ (xtx_inv @ r_vec) / denom  # u_r(r) = resid + q * (R'b - r)
    factor = n_clusters / (n_clusters - 1) * (n - 1) / max(n - rank, 1)
    estimate = float(r_vec @ beta)

    def cluster_sum(v: np.ndarray) -> np.ndarray:
        return np.bincount(codes, weights=v, minlength=n_clusters)

    std_error = float(np.sqrt(factor * np.sum(cluster_sum(a * resid) ** 2)))
    if not std_error > 0:
        raise EstimationError("the cluster-robust standard error is zero")
    draws, enumerated = _draws(weights, n_clusters, n_boot, seed, full_enumeration)

    # G-dimensional pieces: for a null r, delta = R'b - r and u_r = resid + delta * q.
    # Bootstrap numerator R'b* - r = sum_g v_g d_g with d_g = sum_{i in g} a_i u_r,i; the
    # bootstrap residuals' cluster scores are s*_g = d_g v_g - E_g . (sum_h c_h v_h) with
    # E_g = sum_{i in g} a_i x_i and c_h = sum_{i in h} (X'X)^-1 x_i u_r,i.
    e_mat = np.column_stack([cluster_sum(a * x[:, j]) for j in range(k)])  # G x K
    ax_resid = (xtx_inv @ (x * resid[:, None]).T)  # K x n
    ax_q = (xtx_inv @ (x * q[:, None]).T)
    c0 = np.column_stack([ax_resid[:, codes == g].sum(axis=1) for g in range(n_clusters)])
    c1 = np.column_stack([ax_q[:, codes == g].sum(axis=1) for g in range(n_clusters)])
    d0, d1 = cluster_sum(a * resid), cluster_sum(a * q)
    f0 = np.diag(d0) - e_mat @ c0
    f1 = np.diag(d1) - e_mat @ c1

    def boot_t(r: float) -> np.ndarray:
        delta = estimate - r
        numer = draws @ (d0 + delta * d1)
        scores = draws @ (f0 + delta * f1).T
        var = factor * np.sum(scores**2, axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(var > 0, numer / np.sqrt(var), 0.0)

    def p_of(r: float) -> float:
        t_obs = (estimate - r) / std_error
        t_star = boot_t(r)
        if alternative == "two-sided":
            return float(np.mean(np.abs(t_star) >= abs(t_obs) - 1e-12))
        if alternative == "less":
            return float(np.mean(t_star <= t_obs + 1e-12))
        return float(np.mean(t_star >= t_obs - 1e-12))

    t_stat = (estimate - null) / std_error
    p_value = p_of(null)
    alpha = 1 - level
    conf_low = _invert(p_of, estimate, std_error, alpha, -1) if alternative != "less" \
        else -np.inf
    conf_high = _invert(p_of, estimate, std_error, alpha, +1) if alternative != "greater" \
        else np.inf
    term = (names[int(np.flatnonzero(r_vec)[0])] if names is not None
            and np.count_nonzero(r_vec) == 1 else "R'b")
    label = f"wild cluster bootstrap (WCR, {weights}{', enumerated' if enumerated else ''})"
    table = pd.DataFrame([{"term": term, "estimate": estimate, "std_error": std_error,
                           "conf_low": conf_low, "conf_high": conf_high, "p_value": p_value,
                           "n_obs": n, "method": label}])[TIDY_COLUMNS]
    notes = [f"H0: {term} = {null}; {n_clusters} clusters, "
             + (f"all {len(draws)} Rademacher sign vectors enumerated" if enumerated
                else f"{len(draws)} draws")
             + f"; p-value {alternative}; interval by inverting the bootstrap test.",
             "Standard error: CRV1 cluster-robust, G/(G-1) (N-1)/(N-K)."]
    if not (np.isfinite(conf_low) and np.isfinite(conf_high)) and alternative == "two-sided":
        notes.append(f"The interval is unbounded: nulls more than {_MAX_SE} standard errors "
                     "from the estimate are still not rejected (typical with one treated "
                     "cluster).")
    headline = {"term": term, "label": f"{term} (wild cluster bootstrap)", "estimate": estimate,
                "conf_low": conf_low, "conf_high": conf_high, "p_value": p_value}
    return WildBootstrapResult(method=label, table=table, headline=headline, notes=notes,
                               estimate=estimate, std_error=std_error, t_stat=t_stat,
                               p_value=p_value, conf_low=conf_low, conf_high=conf_high,
                               null=null, t_boot=boot_t(null), n_clusters=n_clusters,
                               weights=weights, n_boot=len(draws), enumerated=enumerated)


def _restriction_vector(restriction, k: int, names: list[str] | None) -> np.ndarray:
    if isinstance(restriction, str):
        if names is None or restriction not in names:
            raise ParameterError(f"restriction {restriction!r} is not a column of x")
        vec = np.zeros(k)
        vec[names.index(restriction)] = 1.0
        return vec
    if isinstance(restriction, dict):
        vec = np.zeros(k)
        for name, weight in restriction.items():
            if names is None or name not in names:
                raise ParameterError(f"restriction column {name!r} is not a column of x")
            vec[names.index(name)] = float(weight)
        return vec
    if isinstance(restriction, int | np.integer):
        if not 0 <= restriction < k:
            raise ParameterError(f"restriction index {restriction} outside 0..{k - 1}")
        vec = np.zeros(k)
        vec[int(restriction)] = 1.0
        return vec
    vec = np.asarray(restriction, dtype=float)
    if vec.shape != (k,) or not np.any(vec):
        raise ParameterError(f"restriction must be a column, an index or a non-zero vector of "
                             f"length {k}")
    return vec


def _invert(p_of: Callable[[float], float], estimate: float, se: float, alpha: float,
            side: int) -> float:
    """Bound of {r : p(r) > alpha} on one side of the estimate, by bracketing and bisection.

    Values more than ``_MAX_SE`` standard errors away that are still not rejected make the
    interval unbounded on that side (``+-inf``), as happens with one treated cluster.
    """
    inside = estimate
    step = se
    outside = estimate + side * step
    while True:
        if p_of(outside) <= alpha:
            break
        if step >= _MAX_SE * se:
            return side * np.inf  # not rejected this far out: unbounded in practice
        inside, step = outside, step * 2
        outside = estimate + side * step
    for _ in range(60):
        middle = (inside + outside) / 2
        if p_of(middle) > alpha:
            inside = middle
        else:
            outside = middle
        if abs(outside - inside) <= 1e-8 * max(se, abs(estimate), 1e-12):
            break
    return float((inside + outside) / 2)


def wild_bootstrap_event_study(design, window: tuple[int, int] = (-24, 12),
                               anticipation: int = 0, weights: Weights = "webb",
                               n_boot: int = 9999, seed: int | None = None,
                               alternative: Alternative = "two-sided",
                               level: float = 0.95) -> WildBootstrapResult:
    """WCR test of the average post-event effect of the log-linear event study of a design.

    The regression is the ``ols_log`` event study of
    :func:`~research.estimate.ban_impact.estimate_design` (log outcome on event-time
    dummies of the treated units and unit and period dummies), clustered by destination;
    the restriction is the mean of the post-event coefficients (``post_average``).
    Webb weights by default: ban designs have 8 to 40 destinations.

    Parameters
    ----------
    design : a :class:`~research.estimate.ban_impact.BanDesign`.
    window, anticipation : as for :func:`~research.estimate.ban_impact.estimate_design`
        (annual designs use every year and no anticipation).
    weights : bootstrap weights per cluster: ``"webb"`` (six-point, default) or
        ``"rademacher"`` (see :func:`wild_cluster_bootstrap`).
    n_boot, seed : bootstrap draws and random seed.
    alternative : ``"two-sided"`` (default), ``"less"`` or ``"greater"``.
    level : confidence level of the interval (by test inversion).

    Returns
    -------
    WildBootstrapResult with the estimate, its CRV1 standard error, the bootstrap p-value
    and interval, in log points (the headline in %).

    Examples
    --------
    >>> from research.estimate.ban_impact import ban_design
    >>> boot = wild_bootstrap_event_study(ban_design("B2", "graphite"), anticipation=1,
    ...                                   n_boot=999, seed=1)
    >>> boot.n_clusters, round(boot.headline["p_value"], 3)
    (14, 0.006)
    """
    from research.estimate.ban_impact import BanDesign
    from research.estimate.event_study import event_study_matrix

    if not isinstance(design, BanDesign):
        raise ParameterError("design must be a BanDesign (see research.estimate.ban_impact)")
    if design.freq == "A":
        years = design.panel["period"].dt.year
        window = (min(-1, years.min() - design.event.year), years.max() - design.event.year)
        anticipation = 0
    matrix = event_study_matrix(design.panel, outcome=design.outcome, unit="unit",
                                time="period", treated="treated", event=design.event,
                                freq=design.freq, window=window, anticipation=anticipation,
                                cluster="partner_iso3", method="ols_log")
    post = [f"event_time[{k}]" for k in matrix.terms if k >= 0]
    if not post:
        raise EstimationError("no post-event coefficient in the window")
    restriction = {name: 1 / len(post) for name in post}
    result = wild_cluster_bootstrap(np.log(matrix.y), matrix.design, matrix.groups,
                                    restriction, weights=weights, n_boot=n_boot, seed=seed,
                                    alternative=alternative, level=level,
                                    treated_clusters=matrix.n_treated_clusters)
    result.table["term"] = "post_average"
    pct = [100 * np.expm1(v) for v in (result.estimate, result.conf_low, result.conf_high)]
    result.headline = {"term": "post_average",
                       "label": "average post-event effect, % change (wild bootstrap)",
                       "estimate": pct[0], "conf_low": pct[1], "conf_high": pct[2],
                       "p_value": result.p_value}
    result.notes = design.notes + [f"Log-linear event study, average of {len(post)} post-event "
                                   f"coefficients; {matrix.n_treated_clusters} treated of "
                                   f"{matrix.n_clusters} destination clusters."] + result.notes
    return result

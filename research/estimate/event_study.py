"""Event study of a trade measure: PPML (or log-linear OLS) with unit and period fixed effects.

Model (PPML, Santos Silva and Tenreyro 2006; event-study form as in
Freyaldenhoven et al. 2021)::

    E[y_it] = exp(a_i + g_t + sum_{k != r} b_k * 1[treated_i] * 1[t - T = k])

with ``r = -(anticipation + 1)`` the reference period, so months in the
anticipation window (front-loading before a licence requirement bites) get
their own coefficients. Standard errors are clustered (by destination in the
ban designs). ``exp(b) - 1`` is the proportional change of treated flows
relative to controls, against the reference period.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from research.errors import (
    EstimationError,
    FewClustersWarning,
    IdentificationWarning,
    ParameterError,
    SeparationWarning,
)
from research.estimate.panel import (
    constant_within,
    date_column,
    numeric_column,
    require_columns,
    timestamp,
    treated_flags,
    unique_rows,
)
from research.estimate.result import Result, tidy_row

Method = Literal["ppml", "ols_log"]
METHODS = ("ppml", "ols_log")
FEW_CLUSTERS = 30  # below this, cluster-robust SEs are known to be too small (Cameron & Miller 2015)


@dataclass
class EventStudyResult(Result):
    """Event-study estimate with event-time coefficients and summary effects.

    Attributes
    ----------
    event_time : DataFrame with event_time, estimate, std_error, conf_low, conf_high,
        p_value, and ``pct``/``pct_low``/``pct_high`` (100 * (exp(b) - 1)).
    pretrend : dict with ``statistic``, ``df`` and ``p_value`` of the joint Wald test
        that the pre-period coefficients (before any anticipation window) are zero.
    post_effect : dict with the average post-event effect (log points and percent).
    anticipation_effect : the same for the anticipation window, or ``None``.
    """

    event_time: pd.DataFrame = field(default_factory=pd.DataFrame)
    pretrend: dict = field(default_factory=dict)
    post_effect: dict = field(default_factory=dict)
    anticipation_effect: dict | None = None
    n_clusters: int = 0
    reference: int = -1
    anticipation: int = 0
    freq: str = "M"

    def plot(self, ax=None, title: str | None = None, source: str | None = None):
        """Event-study coefficient plot in percent with 95% intervals."""
        from research.plots import event_study_plot

        return event_study_plot(self, ax=ax, title=title, source=source)


def _check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ParameterError(f"{name}={value!r} is not one of {list(allowed)}")


def event_periods(periods: pd.Series, event: pd.Timestamp, freq: str) -> pd.Series:
    """Whole months (``freq='M'``) or years (``'A'``) from ``event`` to each period."""
    periods = pd.to_datetime(periods)
    if freq == "M":
        return (periods.dt.year - event.year) * 12 + (periods.dt.month - event.month)
    return periods.dt.year - event.year


def _percent(estimate: float, low: float, high: float) -> tuple[float, float, float]:
    return tuple(100 * np.expm1(v) for v in (estimate, low, high))  # type: ignore[return-value]


@dataclass
class EventStudyMatrix:
    """The estimation sample and regressor matrix of an event study.

    ``design`` holds a constant, one dummy per estimated event time (``event_time[k]``,
    treated units only), and unit and period dummies (first level dropped). ``y`` is the
    outcome in levels (``ols_log`` takes logs); ``groups`` are cluster codes 0..G-1.
    """

    data: pd.DataFrame
    y: np.ndarray
    design: pd.DataFrame
    terms: list[int]
    reference: int
    groups: np.ndarray
    n_clusters: int
    n_treated_clusters: int

    @property
    def names(self) -> list[str]:
        return [f"event_time[{k}]" for k in self.terms]


def event_study_matrix(panel: pd.DataFrame, *, outcome: str, unit: str, time: str,
                       treated: str, event: pd.Timestamp | str, freq: Literal["M", "A"] = "M",
                       window: tuple[int, int] = (-12, 12), anticipation: int = 0,
                       cluster: str | None = None, method: Method = "ppml") -> EventStudyMatrix:
    """Sample and design matrix of :func:`event_study` (same arguments), for other
    inference (e.g. the wild cluster bootstrap in :mod:`research.estimate.inference`)."""
    _check_choice("method", method, METHODS)
    _check_choice("freq", freq, ("M", "A"))
    require_columns(panel, (outcome, unit, time, treated, cluster))
    cluster = cluster or unit
    low, high = window
    reference = -(anticipation + 1)
    if not low <= reference < 0 <= high:
        raise ParameterError(f"window={window} must contain the reference period {reference} "
                             "and event time 0")
    event = timestamp(event, "event")
    data = panel[list(dict.fromkeys([outcome, unit, time, treated, cluster]))].copy()
    # the panel's own checks, before any row is dropped: one row per unit and period, a
    # treated flag fixed within each unit, a numeric outcome
    data[time] = date_column(data, time)
    unique_rows(data, [unit, time])
    data[treated] = treated_flags(data, treated)
    constant_within(data, treated, unit, meaning="a unit is either treated or a control")
    data[outcome] = numeric_column(data, outcome)
    data = data.dropna(subset=[outcome])
    if (data[outcome] < 0).any():
        raise EstimationError(f"outcome {outcome!r} has negative values")
    data["event_time"] = event_periods(data[time], event, freq)
    data = data[data["event_time"].between(low, high)]
    if not data[treated].any() or data[treated].all():
        raise EstimationError("the sample needs both treated and control units inside the window")
    if method == "ols_log":
        zeros = int((data[outcome] <= 0).sum())
        if zeros:
            warnings.warn(f"ols_log drops {zeros} zero flows; PPML keeps them",
                          IdentificationWarning, stacklevel=3)
        data = data[data[outcome] > 0]
    data = _drop_separated(data, outcome, unit, time, treated)
    observed_k = sorted(data.loc[data[treated], "event_time"].unique())
    if reference not in observed_k:
        raise EstimationError(f"no treated observation at the reference period {reference}")
    terms = [k for k in observed_k if k != reference]
    design = pd.DataFrame(index=data.index)
    for k in terms:
        design[f"event_time[{k}]"] = ((data["event_time"] == k) & data[treated]).astype(float)
    design = pd.concat([
        design,
        pd.get_dummies(data[unit].astype(str), prefix="unit", drop_first=True, dtype=float),
        pd.get_dummies(data[time].astype(str), prefix="time", drop_first=True, dtype=float),
    ], axis=1)
    design.insert(0, "const", 1.0)
    groups = pd.factorize(data[cluster])[0]
    treated_groups = np.unique(groups[data[treated].to_numpy(dtype=bool)])
    return EventStudyMatrix(data=data, y=data[outcome].to_numpy(dtype=float), design=design,
                            terms=terms, reference=reference, groups=groups,
                            n_clusters=int(groups.max() + 1),
                            n_treated_clusters=int(len(treated_groups)))


def event_study(panel: pd.DataFrame, *, outcome: str, unit: str, time: str, treated: str,
                event: pd.Timestamp | str, freq: Literal["M", "A"] = "M",
                window: tuple[int, int] = (-12, 12), anticipation: int = 0,
                cluster: str | None = None, method: Method = "ppml",
                level: float = 0.95) -> EventStudyResult:
    """Estimate an event study of a measure that hits the treated units at ``event``.

    Parameters
    ----------
    panel : one row per unit and period; ``outcome`` non-negative (NaN rows are dropped,
        zeros kept for PPML).
    outcome, unit, time : column names; ``time`` holds dates (first of month or year).
    treated : boolean column, constant within unit.
    event : first treated period (the measure's effective month or year).
    freq : ``"M"`` monthly or ``"A"`` annual event time.
    window : first and last event time kept (periods outside are dropped).
    anticipation : periods before ``event`` allowed to respond (front-loading); the
        reference period is ``-(anticipation + 1)``.
    cluster : column to cluster standard errors by (default ``unit``).
    method : ``"ppml"`` (Poisson pseudo-ML, statsmodels GLM) or ``"ols_log"`` (OLS on
        log outcome; zeros dropped).
    level : confidence level of the intervals.

    Returns
    -------
    EventStudyResult
        Event-time coefficients in log points (and in % in ``event_time``), the average
        post-event effect ``post_effect`` and the joint pre-trend test ``pretrend``.

    Examples
    --------
    A simulated panel of 12 destinations, 4 of them hit in January 2019 by a measure
    that cuts their flows by 0.5 log points (-39%):

    >>> from research.simulate import simulate_ban_panel
    >>> panel = simulate_ban_panel(n_units=12, n_treated=4, n_periods=24, event_index=12,
    ...                            effect=-0.5, seed=1)
    >>> result = event_study(panel, outcome="flow", unit="unit", time="period",
    ...                      treated="treated", event="2019-01-01", window=(-6, 6))
    >>> round(float(result.post_effect["estimate"]), 2), round(result.pretrend["p_value"], 2)
    (-0.47, 0.41)
    """
    matrix = event_study_matrix(panel, outcome=outcome, unit=unit, time=time, treated=treated,
                                event=event, freq=freq, window=window,
                                anticipation=anticipation, cluster=cluster, method=method)
    cluster = cluster or unit
    reference, terms, design = matrix.reference, matrix.terms, matrix.design
    groups, n_clusters = matrix.groups, matrix.n_clusters
    if n_clusters < FEW_CLUSTERS:
        warnings.warn(f"{n_clusters} clusters in {cluster!r}: cluster-robust standard errors "
                      "are unreliable with fewer than about 30; see the permutation and "
                      "wild-bootstrap inference", FewClustersWarning, stacklevel=2)
    y = matrix.y
    if method == "ppml":
        scale = y.mean() if y.mean() > 0 else 1.0  # rescaling leaves slopes unchanged
        model = sm.GLM(y / scale, design, family=sm.families.Poisson())
        fit = model.fit(cov_type="cluster", cov_kwds={"groups": groups}, maxiter=200,
                        tol=1e-10)
        label = "PPML event study (unit and period fixed effects)"
    else:
        model = sm.OLS(np.log(y), design)
        fit = model.fit(cov_type="cluster", cov_kwds={"groups": groups})
        label = "log-linear OLS event study (unit and period fixed effects)"
    names = [f"event_time[{k}]" for k in terms]
    coefs = fit.params[names]
    cov = fit.cov_params().loc[names, names]
    n_obs = int(fit.nobs)
    z = stats.norm.ppf(0.5 + level / 2)
    rows = [tidy_row(n, coefs[n], np.sqrt(cov.loc[n, n]), n_obs, method, level) for n in names]
    event_table = pd.DataFrame(rows)
    event_table.insert(0, "event_time", terms)
    ref_row = {"event_time": reference, "term": f"event_time[{reference}]", "estimate": 0.0,
               "std_error": 0.0, "conf_low": 0.0, "conf_high": 0.0, "p_value": np.nan,
               "n_obs": n_obs, "method": method}
    event_table = pd.concat([event_table, pd.DataFrame([ref_row])]).sort_values("event_time")
    event_table = event_table.reset_index(drop=True)
    for column, source in (("pct", "estimate"), ("pct_low", "conf_low"),
                           ("pct_high", "conf_high")):
        event_table[column] = 100 * np.expm1(event_table[source])

    def average(ks: list[int], term: str) -> dict | None:
        chosen = [f"event_time[{k}]" for k in ks if k in terms]
        if not chosen:
            return None
        weights = np.full(len(chosen), 1 / len(chosen))
        estimate = float(weights @ coefs[chosen].to_numpy())
        std_error = float(np.sqrt(weights @ cov.loc[chosen, chosen].to_numpy() @ weights))
        row = tidy_row(term, estimate, std_error, n_obs, method, level)
        pct, pct_low, pct_high = _percent(estimate, estimate - z * std_error,
                                          estimate + z * std_error)
        return {**row, "pct": pct, "pct_low": pct_low, "pct_high": pct_high,
                "periods": [int(k) for k in ks if k in terms]}

    post = average([k for k in terms if k >= 0], "post_average")
    if post is None:
        raise EstimationError("no treated observation at or after the event inside the window")
    antic = average(list(range(-anticipation, 0)), "anticipation_average") if anticipation \
        else None
    pretrend = pretrend_test(coefs, cov, [k for k in terms if k < reference], n_clusters)
    tidy_rows = [r for r in (post, antic) if r] + rows
    table = pd.DataFrame(tidy_rows)[["term", "estimate", "std_error", "conf_low", "conf_high",
                                     "p_value", "n_obs", "method"]]
    notes = []
    if pretrend["test"] == "mean and slope":
        notes.append(f"Pre-trend test on the mean and linear slope of the {pretrend['n_pre']} "
                     f"pre-period coefficients: a joint test of all of them needs more "
                     f"clusters than the {n_clusters} available.")
    if not pretrend["n_pre"]:
        notes.append("No pre-period coefficients: parallel pre-trends cannot be tested.")
    headline = {"term": "post_average", "label": "average post-event effect, % change",
                "estimate": post["pct"], "conf_low": post["pct_low"],
                "conf_high": post["pct_high"], "p_value": post["p_value"]}
    return EventStudyResult(method=label, table=table, headline=headline, notes=notes,
                            event_time=event_table, pretrend=pretrend, post_effect=post,
                            anticipation_effect=antic, n_clusters=n_clusters,
                            reference=reference, anticipation=anticipation, freq=freq)


def pretrend_test(coefs: pd.Series, cov: pd.DataFrame, pre_periods: list[int],
                  n_clusters: int) -> dict:
    """Wald test that pre-period coefficients are zero.

    A joint test of all ``m`` coefficients needs a cluster-robust covariance of rank
    ``m``, which requires more than ``m`` clusters; with fewer, the test is on two
    contrasts instead: the mean of the pre-period coefficients and their linear slope in
    event time (df 2; df 1 when there is a single pre-period coefficient).
    """
    names = [f"event_time[{k}]" for k in pre_periods]
    if not names:
        return {"statistic": np.nan, "df": 0, "p_value": np.nan, "test": "none", "n_pre": 0}
    b = coefs[names].to_numpy()
    v = cov.loc[names, names].to_numpy()
    if len(names) < n_clusters - 1:
        restriction, test = np.eye(len(names)), "joint"
    else:
        ks = np.asarray(pre_periods, dtype=float)
        centred = ks - ks.mean()
        rows = [np.full(len(ks), 1 / len(ks))]
        if len(ks) > 1:
            rows.append(centred / (centred**2).sum())
        restriction, test = np.vstack(rows), "mean and slope"
    rb = restriction @ b
    statistic = float(rb @ np.linalg.pinv(restriction @ v @ restriction.T) @ rb)
    df = restriction.shape[0]
    return {"statistic": statistic, "df": df, "p_value": float(stats.chi2.sf(statistic, df)),
            "test": test, "n_pre": len(names)}


def _drop_separated(data: pd.DataFrame, outcome: str, unit: str, time: str,
                    treated: str) -> pd.DataFrame:
    """Drop units and periods whose outcomes are all zero (their fixed effects diverge),
    and treated event times with all-zero treated outcomes; warn with the counts."""
    dropped = []
    while True:
        before = len(data)
        for key in (unit, time):
            positive = data.groupby(key)[outcome].transform("sum") > 0
            if not positive.all():
                dropped.append(f"{(~positive).sum()} rows of all-zero {key}")
            data = data[positive]
        treated_rows = data[data[treated]]
        zero_k = treated_rows.groupby("event_time")[outcome].sum()
        zero_k = zero_k[zero_k <= 0].index
        if len(zero_k):
            mask = data[treated] & data["event_time"].isin(zero_k)
            dropped.append(f"{mask.sum()} treated rows at event times {list(zero_k)} with "
                           "all-zero flows")
            data = data[~mask]
        if len(data) == before:
            break
    if dropped:
        warnings.warn("separated observations dropped: " + "; ".join(dropped),
                      SeparationWarning, stacklevel=3)
    return data

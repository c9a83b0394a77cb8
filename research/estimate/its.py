"""Interrupted time series of one monthly flow: SARIMAX with intervention terms.

Model (Box and Tiao 1975; intervention analysis as in Box, Jenkins, Reinsel and
Ljung 2015, ch. 13)::

    y_t = b_step * S_t + b_pulse * P_t + b_ramp * R_t + u_t,   u_t ~ SARIMA(p,d,q)(P,D,Q,s)

with ``y_t = log(flow_t)`` (``log=True``), ``S_t = 1[t >= T]`` (step), ``P_t = 1[t = T]``
(pulse) and ``R_t = max(t - T, 0)`` (ramp, months since the intervention). On the log
scale ``exp(b_step) - 1`` is the proportional level shift.

The counterfactual comes from a second fit on the pre-intervention months only
(same SARIMA, no intervention terms; with ``anticipation`` it stops that many months
earlier, leaving out front-loading after the announcement), forecast over the post
period with prediction intervals. The effect in the series' units is the *shortfall*::

    shortfall = sum_{t >= T} (actual_t - counterfactual_t)

negative when the flow fell below its counterfactual.

Interval of the shortfall (an approximation, stated here once): the forecast gives a
pointwise interval per month; we add the pointwise quantiles over the post period.
The sum of quantiles is the quantile of the sum when the forecast errors are
perfectly (comonotonically) correlated across horizons. Forecast errors of a
persistent (AR, seasonally integrated) process are strongly positively correlated,
so this is close; with less than perfect correlation it is too wide (conservative).
It ignores the uncertainty of the estimated SARIMA parameters, which makes it too
narrow; with a few years of pre-period the first effect usually dominates at short
horizons. The point counterfactual on the log scale is ``exp(forecast mean)``, the
forecast median, so that point and interval are quantiles of the same (comonotone)
distribution of the counterfactual total. The p-value of the shortfall is the
two-sided tail probability of the actual total under that distribution.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import optimize, stats

from research.errors import EstimationError, PanelError, ParameterError, ResearchWarning
from research.estimate.panel import numeric_column, timestamp
from research.estimate.result import TIDY_COLUMNS, Result, tidy_row

Kind = Literal["step", "pulse", "ramp"]
KINDS = ("step", "pulse", "ramp")
TRENDS = ("n", "c", "t", "ct")
UNITS = {"value_usd": "USD", "quantity": "tonnes"}
KG_PER_TONNE = 1000.0


@dataclass
class ITSResult(Result):
    """Interrupted-time-series estimate: intervention terms and a counterfactual.

    Attributes
    ----------
    series : the monthly series used (original units, before any log).
    counterfactual : DataFrame indexed by period (post period) with ``actual``,
        ``counterfactual``, ``conf_low``, ``conf_high`` (pointwise forecast interval of the
        counterfactual) and ``gap`` (actual - counterfactual), in the series' units.
    shortfall : dict with ``estimate``, ``conf_low``, ``conf_high``, ``p_value``,
        ``actual_total``, ``counterfactual_total``, ``pct`` (shortfall in % of the
        counterfactual total), ``pct_low`` and ``pct_high`` (its interval: the actual total
        against the counterfactual total's upper and lower bound, never below -100%) and
        ``months``.
    intervention : first post-intervention month.
    unit : units of the series and of the shortfall (e.g. ``"USD"``, ``"tonnes"``).
    log : whether the model is on the log scale (terms are then in log points).
    """

    series: pd.Series = field(default_factory=pd.Series)
    counterfactual: pd.DataFrame = field(default_factory=pd.DataFrame)
    shortfall: dict = field(default_factory=dict)
    intervention: pd.Timestamp | None = None
    unit: str = ""
    log: bool = True
    level: float = 0.95

    def plot(self, ax=None, title: str | None = None, source: str | None = None):
        """Actual series, counterfactual with its forecast band, and the intervention line."""
        import matplotlib.pyplot as plt

        from research.plots import SOURCE_TRADE, add_source

        if ax is None:
            _, ax = plt.subplots(figsize=(9, 4.5))
        fig = ax.figure
        cf = self.counterfactual
        ax.plot(self.series.index, self.series.to_numpy(), color="black", lw=1.4,
                label="actual")
        ax.plot(cf.index, cf["counterfactual"], color="C0", ls="--", lw=1.4,
                label="counterfactual (pre-period forecast)")
        ax.fill_between(cf.index, cf["conf_low"], cf["conf_high"], color="C0", alpha=0.2,
                        label=f"{100 * self.level:.0f}% forecast interval")
        ax.axvline(self.intervention, color="C3", lw=1, label="intervention")
        ax.set_xlabel("month")
        ax.set_ylabel(f"{self.series.name or 'flow'} ({self.unit})")
        s = self.shortfall
        ax.set_title(title or f"{self.method}\npost-period shortfall {s['estimate']:,.4g} "
                     f"{self.unit} [{s['conf_low']:,.4g}, {s['conf_high']:,.4g}]",
                     fontsize=11)
        ax.legend(loc="best", fontsize=8)
        add_source(fig, source or SOURCE_TRADE)
        return fig


def flow_series(flows: pd.DataFrame, partner: str, product: str,
                column: Literal["value_usd", "quantity"] = "value_usd",
                reporter: str = "CHN") -> pd.Series:
    """One monthly flow from the tidy trade table as a Series on a month-start index.

    Parameters
    ----------
    flows : tidy monthly trade flows (``research.datasets.load("china_exports_monthly")``).
    partner : partner ISO3 code (``"WLD"`` for the world).
    product : product or basket name (``product`` column), e.g. ``"graphite"``.
    column : ``"value_usd"`` (returned in USD) or ``"quantity"`` (kg in the table,
        returned in tonnes).
    reporter : reporter ISO3 code.

    Returns
    -------
    Series indexed by month start (frequency ``MS``; missing months are NaN), named
    ``"<product> to <partner>"``, with the unit in ``attrs["unit"]``.
    """
    if column not in UNITS:
        raise ParameterError(f"column={column!r} is not one of {list(UNITS)}")
    rows = flows[(flows["reporter_iso3"] == reporter) & (flows["partner_iso3"] == partner)
                 & (flows["product"] == product)]
    if rows.empty:
        raise ParameterError(f"no flows for reporter {reporter!r}, partner {partner!r}, "
                             f"product {product!r}")
    if "freq" in rows.columns and not (rows["freq"] == "M").all():
        raise ParameterError(f"flows for {product!r} to {partner!r} are not all monthly")
    if rows["period"].duplicated().any():
        raise ParameterError(f"several rows per month for {product!r} to {partner!r}; "
                             "filter the flow direction or product level first")
    series = rows.set_index(pd.DatetimeIndex(rows["period"]))[column].astype(float).sort_index()
    series = series.asfreq("MS")
    if column == "quantity":
        series = series / KG_PER_TONNE
    series.name = f"{product} to {partner}"
    series.index.name = "period"
    series.attrs["unit"] = UNITS[column]
    return series


def _check_series(series: pd.Series, log: bool) -> pd.Series:
    if not isinstance(series.index, pd.DatetimeIndex):
        raise ParameterError("series needs a DatetimeIndex of months")
    frame = series.rename("value").to_frame()
    y = numeric_column(frame, "value", source=f"series {series.name or ''}".strip())
    y = y.rename(series.name).sort_index()
    if y.index.duplicated().any():
        month = y.index[y.index.duplicated()][0]
        raise PanelError(f"series {series.name or ''}".strip(), "repeated month; give one "
                         "value per month", field="index", value=f"{month:%Y-%m}")
    starts = y.index.to_period("M").to_timestamp()
    y.index = starts
    y = y.asfreq("MS")
    if log:
        bad = y <= 0
        if bad.any():
            warnings.warn(f"{int(bad.sum())} non-positive values treated as missing on the log "
                          "scale", ResearchWarning, stacklevel=3)
            y = y.where(~bad)
    return y


def intervention_terms(index: pd.DatetimeIndex, intervention: pd.Timestamp,
                       kinds: Sequence[str]) -> pd.DataFrame:
    """Step ``1[t >= T]``, pulse ``1[t = T]`` and ramp ``max(t - T, 0)`` (months)."""
    months = (index.year - intervention.year) * 12 + (index.month - intervention.month)
    months = np.asarray(months, dtype=float)
    terms = {"step": (months >= 0).astype(float), "pulse": (months == 0).astype(float),
             "ramp": np.maximum(months, 0.0)}
    return pd.DataFrame({k: terms[k] for k in kinds}, index=index)


def _fit(y: pd.Series, exog: pd.DataFrame | None, order, seasonal_order, trend: str,
         cov_type: str = "oim"):
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    model = SARIMAX(y, exog=exog, order=order, seasonal_order=seasonal_order, trend=trend,
                    concentrate_scale=True)
    with warnings.catch_warnings():
        # statsmodels warns about its own starting values; convergence is checked below
        warnings.simplefilter("ignore")
        # observed information (Harvey 1989): the default outer product of gradients is
        # unreliable for a pulse, which only one observation informs
        try:
            fit = model.fit(disp=False, maxiter=200, cov_type=cov_type)
        except (np.linalg.LinAlgError, ValueError) as error:
            # a series without variance after differencing (constant, or exactly seasonal)
            raise EstimationError(f"series {y.name or ''}: the SARIMAX{tuple(order)}"
                                  f"{tuple(seasonal_order)} fit is singular ({error}); the "
                                  "series may be constant or exactly periodic") from error
    if not fit.mle_retvals.get("converged", True):
        warnings.warn("SARIMAX likelihood optimisation did not converge; treat the "
                      "estimates with caution", ResearchWarning, stacklevel=3)
    return fit


def _comonotone_p_value(actual_total: float, mean: np.ndarray, se: np.ndarray,
                        log: bool) -> float:
    """Two-sided p of ``actual_total`` when the counterfactual total's quantile at
    ``Phi(z)`` is ``sum_t g(mean_t + z * se_t)`` (g = exp on the log scale)."""
    def total(z: float) -> float:
        path = mean + z * se
        return float(np.exp(path).sum() if log else path.sum())

    low, high = -40.0, 40.0
    if actual_total <= total(low):
        return 0.0
    if actual_total >= total(high):
        return 0.0
    z = optimize.brentq(lambda v: total(v) - actual_total, low, high)
    return float(2 * stats.norm.sf(abs(z)))


def _pct(actual_total: float, counterfactual_total: float) -> float:
    """``actual`` against ``counterfactual`` in % (NaN without a positive counterfactual)."""
    if not counterfactual_total > 0:
        return np.nan
    return 100 * (actual_total / counterfactual_total - 1)


def interrupted_time_series(series: pd.Series, intervention: pd.Timestamp | str,
                            kinds: Sequence[Kind] = KINDS,
                            order: tuple[int, int, int] = (1, 0, 0),
                            seasonal_order: tuple[int, int, int, int] | None = (0, 1, 1, 12),
                            trend: Literal["n", "c", "t", "ct"] = "n", log: bool = True,
                            level: float = 0.95, unit: str | None = None,
                            anticipation: int = 0) -> ITSResult:
    """Interrupted time series of a monthly flow with a pre-period counterfactual.

    Parameters
    ----------
    series : monthly values on a DatetimeIndex (e.g. from :func:`flow_series`);
        missing months are NaN and handled by the Kalman filter.
    intervention : first month under the measure (e.g. the effective date).
    kinds : intervention terms in the full-sample model: ``"step"``, ``"pulse"``, ``"ramp"``.
    order, seasonal_order : SARIMA orders of the noise; the default
        ``(1,0,0)(0,1,1,12)`` is an AR(1) with seasonal differencing and a seasonal MA
        (the "airline"-type seasonal part, which absorbs a stable seasonal pattern).
        ``None`` for no seasonal part.
    trend : SARIMAX trend: ``"n"`` none, ``"c"`` constant, ``"t"`` / ``"ct"`` linear.
        With seasonal differencing a constant is a drift in the annual change.
    log : model ``log(y)`` (terms in log points); the counterfactual and the shortfall
        are transformed back to the series' units.
    level : confidence level of all intervals.
    unit : units of the series for labels (default ``series.attrs["unit"]``).
    anticipation : months before ``intervention`` left out of the counterfactual fit
        (e.g. front-loading between announcement and effective date); the forecast
        starts there, the shortfall still sums from ``intervention`` on.

    Returns
    -------
    ITSResult whose tidy table has one row per intervention term (normal intervals from
    the SARIMAX observed-information standard errors) and a ``post_shortfall`` row (sum
    of actual - counterfactual over the post period, in the series' units; interval and
    p-value from the comonotone approximation described in the module docstring;
    ``std_error`` NaN).

    Examples
    --------
    China's graphite exports to Japan around the December 2023 licensing (B2), with
    November, the front-loading month, left out of the counterfactual fit:

    >>> from research import datasets
    >>> flows = datasets.load("china_exports_monthly")
    >>> series = flow_series(flows, "JPN", "graphite")
    >>> result = interrupted_time_series(series, "2023-12-01", anticipation=1)
    >>> result.tidy()["term"].tolist()
    ['step', 'pulse', 'ramp', 'post_shortfall']
    >>> result.headline["label"]
    'post-period shortfall (actual - counterfactual), USD'
    """
    kinds = tuple(kinds)
    for kind in kinds:
        if kind not in KINDS:
            raise ParameterError(f"kind {kind!r} is not one of {list(KINDS)}")
    if len(set(kinds)) != len(kinds):
        raise ParameterError(f"kinds={kinds} repeats a term")
    if trend not in TRENDS:
        raise ParameterError(f"trend={trend!r} is not one of {list(TRENDS)}")
    if anticipation < 0:
        raise ParameterError(f"anticipation={anticipation} must be >= 0")
    if not 0 < level < 1:
        raise ParameterError(f"level={level} must be between 0 and 1")
    seasonal_order = tuple(seasonal_order) if seasonal_order else (0, 0, 0, 0)
    unit = unit or series.attrs.get("unit", "series units")
    raw = _check_series(series, log)
    intervention = timestamp(intervention, "intervention").to_period("M").to_timestamp()
    fit_end = intervention - pd.DateOffset(months=anticipation)
    pre, post = raw[raw.index < fit_end], raw[raw.index >= intervention]
    # enough pre-period to estimate the seasonal part: two seasonal cycles plus the orders
    min_pre = 2 * max(seasonal_order[3], 1) * max(seasonal_order[1] + 1, 1) + sum(order)
    if pre.notna().sum() < min_pre:
        raise EstimationError(f"{int(pre.notna().sum())} pre-intervention months before "
                              f"{fit_end:%Y-%m}; this model needs at least {min_pre}")
    if post.notna().sum() == 0:
        raise EstimationError(f"no observed month at or after {intervention:%Y-%m}")
    y = np.log(raw) if log else raw
    fitted_pre = y[y.index < fit_end].dropna()
    if fitted_pre.nunique() <= 1:
        value = float(raw[raw.index < fit_end].dropna().iloc[0])
        raise EstimationError(f"series {series.name or ''}: constant at {value:g} over "
                              f"the {len(fitted_pre)} pre-intervention months: a constant "
                              "series has no variance to model (the SARIMAX fit is singular)")
    # centre at the pre-period mean (a fixed offset, added back to the forecast): keeps the
    # SARIMAX intercept near zero, which the optimiser needs to converge quickly; with
    # trend "n" and no differencing it fixes the noise mean at the pre-period mean
    offset = float(y[y.index < fit_end].mean())
    y = y - offset
    method = (f"interrupted time series, SARIMAX{tuple(order)}{seasonal_order}"
              f"{' on log' if log else ''}")

    rows = []
    n_obs = int(y.notna().sum())
    if kinds:
        exog = intervention_terms(y.index, intervention, kinds)
        full = _fit(y, exog, order, seasonal_order, trend)
        for kind in kinds:
            rows.append(tidy_row(kind, full.params[kind], full.bse[kind], n_obs, "its",
                                 level))

    # the counterfactual fit stops ``anticipation`` months early, so front-loading between
    # announcement and effect does not enter the counterfactual's level
    pre_fit = _fit(y[y.index < fit_end], None, order, seasonal_order, trend,
                   cov_type="none")  # only the forecast is used
    forecast = pre_fit.get_forecast(steps=anticipation + len(post))
    mean = np.asarray(forecast.predicted_mean, dtype=float)[anticipation:] + offset
    se = np.sqrt(np.asarray(forecast.var_pred_mean, dtype=float))[anticipation:]
    z = stats.norm.ppf(0.5 + level / 2)
    back = np.exp if log else (lambda v: v)
    cf = pd.DataFrame({"actual": post.to_numpy(), "counterfactual": back(mean),
                       "conf_low": back(mean - z * se), "conf_high": back(mean + z * se)},
                      index=post.index)
    cf["gap"] = cf["actual"] - cf["counterfactual"]
    observed = cf["actual"].notna().to_numpy()
    if not observed.all():
        warnings.warn(f"{int((~observed).sum())} missing post-period months left out of "
                      "the shortfall", ResearchWarning, stacklevel=2)
    used = cf[observed]
    actual_total = float(used["actual"].sum())
    cf_total = float(used["counterfactual"].sum())
    estimate = actual_total - cf_total
    conf_low = actual_total - float(used["conf_high"].sum())
    conf_high = actual_total - float(used["conf_low"].sum())
    p_value = _comonotone_p_value(actual_total, mean[observed], se[observed], log)
    shortfall = {"estimate": estimate, "conf_low": conf_low, "conf_high": conf_high,
                 "p_value": p_value, "actual_total": actual_total,
                 "counterfactual_total": cf_total,
                 "pct": 100 * estimate / cf_total if cf_total else np.nan,
                 # the % interval divides by the counterfactual total at the same quantile
                 # (actual / counterfactual - 1), so it never falls below -100%
                 "pct_low": _pct(actual_total, float(used["conf_high"].sum())),
                 "pct_high": _pct(actual_total, float(used["conf_low"].sum())),
                 "months": int(observed.sum())}
    rows.append({"term": "post_shortfall", "estimate": estimate, "std_error": np.nan,
                 "conf_low": conf_low, "conf_high": conf_high, "p_value": p_value,
                 "n_obs": int(pre.notna().sum()), "method": "its counterfactual"})
    table = pd.DataFrame(rows)[TIDY_COLUMNS]
    notes = [
        "Shortfall = actual - counterfactual summed over the post period "
        f"({shortfall['months']} months, {unit}); negative means below the counterfactual.",
        "Shortfall interval adds pointwise forecast quantiles (exact if forecast errors are "
        "perfectly correlated across months, otherwise conservative) and ignores "
        "parameter uncertainty.",
        "The counterfactual assumes the pre-period dynamics would have continued; other "
        "shocks in the post period (prices, demand, other measures) load onto the gap.",
    ]
    if log:
        notes.append("Intervention terms are in log points: 100 * (exp(b) - 1) is the % "
                     "change.")
    if trend == "n" and order[1] == 0 and seasonal_order[1] == 0:
        notes.append("No differencing and trend 'n': the noise mean is fixed at the "
                     "pre-period mean, whose sampling error the intervals leave out (too "
                     "narrow); use trend='c' to estimate it.")
    headline = {"term": "post_shortfall",
                "label": f"post-period shortfall (actual - counterfactual), {unit}",
                "estimate": estimate, "conf_low": conf_low, "conf_high": conf_high,
                "p_value": p_value}
    actual_series = raw.copy()
    actual_series.name = series.name
    return ITSResult(method=method, table=table, headline=headline, notes=notes,
                     series=actual_series, counterfactual=cf, shortfall=shortfall,
                     intervention=intervention, unit=unit, log=log, level=level)

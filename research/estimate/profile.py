"""The event-time profile of a measure: anticipation, impact, persistence, cumulative.

An event study gives one coefficient per event time ``k`` (log points, relative to the
pre-period). Readers want four numbers, each with a 95% interval:

- **anticipation**: the months from announcement to effect (``k = -a .. -1``), where
  exporters front-load before a licence requirement bites;
- **impact**: the first three months in force (``k = 0, 1, 2``);
- **persistence**: months 4 to 12 (``k = 3 .. 11``);
- **cumulative**: anticipation plus the first 12 months (``k = -a .. 11``): front-loading
  and a later shortfall offset each other here, so retimed trade is not counted as lost.

Each is the mean of its log-point coefficients ``m = w'b`` with equal weights, its
standard error ``sqrt(w'Vw)`` (delta method for a linear combination), reported as
``100 * (exp(m) - 1)`` with the interval ``100 * (exp(m +/- c * se) - 1)``; ``c`` is the
normal quantile, or the Student t quantile with ``G - 1`` degrees of freedom when the
covariance is clustered in ``G`` clusters (the usual small-sample reference
distribution for cluster-robust Wald statistics; Cameron and Miller 2015, section VI).

"Months to recovery" is the first month ``k >= 0`` from which ``run`` consecutive
point estimates all lie above ``-threshold`` (a shortfall smaller than the threshold);
it has no interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

IMPACT = (0, 2)
PERSISTENCE = (3, 11)
RECOVERY_THRESHOLD = 0.10
RECOVERY_RUN = 3


@dataclass(frozen=True)
class Effect:
    """One aggregate of event-time coefficients.

    Attributes
    ----------
    term : ``"anticipation"``, ``"impact"``, ``"persistence"`` or ``"cumulative"``.
    label : what it averages, in words.
    periods : the event times averaged (missing ones are left out and listed in
        ``missing``).
    estimate, std_error : mean log-point coefficient and its delta-method standard error.
    pct, pct_low, pct_high : ``100 * (exp(.) - 1)`` of the estimate and interval bounds.
    p_value : two-sided, against no effect.
    missing : event times of the aggregate that the data do not reach.
    """

    term: str
    label: str
    periods: tuple[int, ...]
    estimate: float
    std_error: float
    pct: float
    pct_low: float
    pct_high: float
    p_value: float
    missing: tuple[int, ...] = ()
    df: float | None = None

    def record(self) -> dict:
        """A JSON-ready dict (numbers rounded to 6 decimals)."""
        return {"term": self.term, "label": self.label, "periods": list(self.periods),
                "estimate": _round(self.estimate), "std_error": _round(self.std_error),
                "pct": _round(self.pct), "pct_low": _round(self.pct_low),
                "pct_high": _round(self.pct_high), "p_value": _round(self.p_value),
                "missing": list(self.missing),
                "df": None if self.df is None else _round(self.df)}


def _round(value: float) -> float | None:
    value = float(value)
    return round(value, 6) if np.isfinite(value) else None


def critical_value(level: float = 0.95, n_clusters: int | None = None,
                   df: float | None = None) -> float:
    """Two-sided critical value: Student t with ``df`` degrees of freedom when given, else
    with ``G - 1`` when clustered, else normal."""
    if df is not None and np.isfinite(df) and df > 0:
        return float(stats.t.ppf(0.5 + level / 2, df))
    if n_clusters and n_clusters > 1:
        return float(stats.t.ppf(0.5 + level / 2, n_clusters - 1))
    return float(stats.norm.ppf(0.5 + level / 2))


def aggregate(coef: pd.Series, vcov: pd.DataFrame, periods: list[int] | tuple[int, ...],
              term: str, label: str, *, level: float = 0.95,
              n_clusters: int | None = None, df_of=None) -> Effect | None:
    """Mean of the event-time coefficients ``coef[k]`` over ``periods`` (delta method).

    Parameters
    ----------
    coef : log-point coefficients indexed by integer event time.
    vcov : their covariance, indexed likewise.
    periods : event times to average; those absent from ``coef`` are skipped.
    term, label : names of the aggregate.
    level : confidence level.
    n_clusters : clusters of ``vcov`` (t reference with ``G - 1`` df), or ``None``.
    df_of : optional function of the event times averaged and their weights returning
        the degrees of freedom of the t reference (e.g. effective degrees of freedom);
        overrides ``G - 1``.

    Returns
    -------
    Effect or None
        ``None`` when no period of the aggregate is estimated.

    Examples
    --------
    Two months at -0.2 and -0.4 log points, independent, each with variance 0.01: the mean
    is -0.3 and its variance (0.01 + 0.01) / 4 = 0.005.

    >>> coef = pd.Series({0: -0.2, 1: -0.4})
    >>> vcov = pd.DataFrame([[0.01, 0.0], [0.0, 0.01]], index=[0, 1], columns=[0, 1])
    >>> effect = aggregate(coef, vcov, [0, 1], "impact", "months 0-1")
    >>> round(effect.estimate, 3), round(effect.std_error ** 2, 4), round(effect.pct, 1)
    (-0.3, 0.005, -25.9)
    """
    chosen = [k for k in periods if k in coef.index and np.isfinite(coef[k])]
    if not chosen:
        return None
    weights = np.full(len(chosen), 1 / len(chosen))
    estimate = float(weights @ coef[chosen].to_numpy(dtype=float))
    variance = float(weights @ vcov.loc[chosen, chosen].to_numpy(dtype=float) @ weights)
    std_error = float(np.sqrt(max(variance, 0.0)))
    df = df_of(chosen, weights) if df_of is not None else None
    if df is None or not np.isfinite(df) or df <= 0:
        df = n_clusters - 1 if n_clusters and n_clusters > 1 else None
    c = critical_value(level, df=df)
    if std_error > 0:
        statistic = abs(estimate) / std_error
        p_value = float(2 * (stats.t.sf(statistic, df) if df else stats.norm.sf(statistic)))
    else:
        p_value = float("nan")
    return Effect(term=term, label=label, periods=tuple(int(k) for k in chosen),
                  estimate=estimate, std_error=std_error, pct=100 * float(np.expm1(estimate)),
                  pct_low=100 * float(np.expm1(estimate - c * std_error)),
                  pct_high=100 * float(np.expm1(estimate + c * std_error)), p_value=p_value,
                  missing=tuple(int(k) for k in periods if k not in chosen),
                  df=float(df) if df else None)


def event_profile(coef: pd.Series, vcov: pd.DataFrame, anticipation: int, *,
                  level: float = 0.95, n_clusters: int | None = None,
                  df_of=None) -> tuple[Effect, ...]:
    """Anticipation (if any), impact, persistence and cumulative effects of an event study.

    Parameters
    ----------
    coef, vcov : log-point coefficients and covariance indexed by integer event time.
    anticipation : months from announcement to effect (``k = -anticipation .. -1``).
    level, n_clusters, df_of : see :func:`aggregate`.

    Returns
    -------
    tuple of Effect
        In the order anticipation, impact, persistence, cumulative; an aggregate with no
        estimated month is left out.
    """
    spans = []
    if anticipation > 0:
        spans.append(("anticipation", list(range(-anticipation, 0)),
                      f"anticipation, the {anticipation} month(s) from announcement to effect"))
    spans += [("impact", list(range(IMPACT[0], IMPACT[1] + 1)), "impact, months 1-3"),
              ("persistence", list(range(PERSISTENCE[0], PERSISTENCE[1] + 1)),
               "persistence, months 4-12"),
              ("cumulative", list(range(-anticipation, PERSISTENCE[1] + 1)),
               "cumulative net effect, anticipation plus months 1-12")]
    effects = (aggregate(coef, vcov, periods, term, label, level=level, n_clusters=n_clusters,
                         df_of=df_of)
               for term, periods, label in spans)
    return tuple(e for e in effects if e is not None)


def months_to_recovery(coef: pd.Series, threshold: float = RECOVERY_THRESHOLD,
                       run: int = RECOVERY_RUN) -> int | None:
    """First month (1-based) from which ``run`` consecutive estimates exceed ``-threshold``.

    Parameters
    ----------
    coef : log-point coefficients indexed by integer event time.
    threshold : the shortfall (a fraction, 0.10 = 10%) below which flows count as
        recovered.
    run : how many consecutive months must stay recovered.

    Returns
    -------
    int or None
        ``k + 1`` for the first such event time ``k >= 0`` (month 1 is the effective
        month), or ``None`` when the data end before a recovery.

    Examples
    --------
    >>> coef = pd.Series({0: -2.0, 1: -1.0, 2: -0.05, 3: 0.0, 4: 0.02, 5: -0.5})
    >>> months_to_recovery(coef)
    3
    """
    floor = np.log1p(-threshold)
    post = coef[[k for k in coef.index if k >= 0]].sort_index()
    ks = list(post.index)
    for i in range(len(ks) - run + 1):
        window = ks[i:i + run]
        if window[-1] - window[0] == run - 1 and (post[window] > floor).all():
            return int(window[0]) + 1
    return None

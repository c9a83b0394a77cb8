"""The Result every estimator returns: ``.tidy()``, ``.summary()``, ``.plot()``.

A student's own estimator fits the report index and the plots by returning a
:class:`Result` (or a subclass) whose ``table`` has the tidy columns below and
whose ``headline`` names the term the index should show.

The contract, all of it:

- ``method``: a short name of the estimator; plot titles and manifests show it.
- ``table``: a DataFrame with at least :data:`TIDY_COLUMNS` (``term, estimate,
  std_error, conf_low, conf_high, p_value, n_obs, method``), one row per reported
  term; extra columns are kept but :meth:`Result.tidy` returns only these.
  :func:`tidy_row` makes a row with a normal-approximation interval.
- ``headline``: the one number a report run shows on ``reports/index.html``, as a dict
  with ``term``, ``label`` (what the number is, in its units), ``estimate``,
  ``conf_low`` and ``conf_high``. :func:`research.report.outputs.record_result`
  writes it to the run's ``headline.json``; the index prints
  ``label: estimate [conf_low, conf_high]``.
- ``notes``: plain-language caveats; :meth:`Result.summary` prints them.
- ``plot(ax=None)`` returns a matplotlib Figure (a coefficient plot by default);
  subclasses override it (``EventStudyResult`` plots event time) and may add
  keyword arguments such as ``title`` and ``source``.

Examples
--------
A difference in mean log exports after minus before a measure, as a Result:

>>> import pandas as pd
>>> row = tidy_row("post_minus_pre", -0.25, 0.1, n_obs=48, method="difference in means")
>>> round(row["conf_low"], 3), round(row["conf_high"], 3), round(row["p_value"], 4)
(-0.446, -0.054, 0.0124)
>>> result = Result(method="difference in means", table=pd.DataFrame([row]),
...                 headline={"term": "post_minus_pre", "label": "post - pre, log points",
...                           "estimate": row["estimate"], "conf_low": row["conf_low"],
...                           "conf_high": row["conf_high"]})
>>> result.tidy().columns.tolist() == TIDY_COLUMNS
True
>>> result.headline_record()["method"]
'difference in means'
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

TIDY_COLUMNS = ["term", "estimate", "std_error", "conf_low", "conf_high", "p_value", "n_obs",
                "method"]


def tidy_row(term: str, estimate: float, std_error: float, n_obs: int, method: str,
             level: float = 0.95) -> dict[str, Any]:
    """One tidy row with a normal-approximation interval and two-sided p-value.

    Parameters
    ----------
    term : the coefficient's name, e.g. ``"post_average"``.
    estimate, std_error : the point estimate and its standard error (same units).
    n_obs : observations used.
    method : short name of the estimator.
    level : confidence level of the interval ``estimate -/+ z * std_error``.

    Returns
    -------
    A dict with the :data:`TIDY_COLUMNS` keys; ``p_value`` is NaN when ``std_error`` is
    not a positive number.

    Examples
    --------
    >>> row = tidy_row("post_average", -0.5, 0.25, n_obs=120, method="ppml")
    >>> round(row["conf_low"], 3), round(row["conf_high"], 3), round(row["p_value"], 4)
    (-0.99, -0.01, 0.0455)
    """
    z = stats.norm.ppf(0.5 + level / 2)
    if np.isfinite(std_error) and std_error > 0:
        p_value = float(2 * stats.norm.sf(abs(estimate / std_error)))
    else:
        p_value = np.nan
    return {"term": term, "estimate": float(estimate), "std_error": float(std_error),
            "conf_low": float(estimate - z * std_error),
            "conf_high": float(estimate + z * std_error),
            "p_value": p_value, "n_obs": int(n_obs), "method": method}


VERDICTS = ("supported", "fragile", "not identified")


@dataclass(frozen=True)
class Headline(Mapping):
    """The one number a result leads with, and what a reader needs to quote it.

    It reads like the dict older code expects (``headline["estimate"]``), so estimators
    that still build a dict and those that build a ``Headline`` meet one contract.

    Attributes
    ----------
    term : the tidy term the number comes from.
    label : what the number is, in its units (e.g. "impact, months 1-3, % change").
    estimate, conf_low, conf_high : the number and its interval, in ``scale`` units;
        ``None`` where the data identify nothing.
    p_value : two-sided, against no effect, or ``None``.
    scale : ``"percent"`` or ``"log points"`` or another unit.
    estimand : what is estimated, in words (the comparison and the sample).
    interval_method : how the interval was made (e.g. "cluster-robust, t(37)").
    n_placebo : placebo assignments of the randomization test, or ``None``.
    profile : the event-time profile (``research.estimate.profile.Effect`` records as
        dicts): anticipation, impact, persistence, cumulative.
    months_to_recovery : first month from which flows stay within the recovery
        threshold, or ``None``.
    verdict : ``"supported"``, ``"fragile"`` or ``"not identified"`` (ban studies), or
        ``None``.
    verdict_reasons : the reasons, in words.
    """

    term: str
    label: str
    estimate: float | None
    conf_low: float | None = None
    conf_high: float | None = None
    p_value: float | None = None
    scale: str = "percent"
    estimand: str = ""
    interval_method: str = ""
    n_placebo: int | None = None
    profile: tuple[dict, ...] = ()
    months_to_recovery: int | None = None
    verdict: str | None = None
    verdict_reasons: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.verdict is not None and self.verdict not in VERDICTS:
            raise ValueError(f"verdict={self.verdict!r} is not one of {list(VERDICTS)}")

    def __getitem__(self, key: str) -> Any:
        if key not in self.__dataclass_fields__:
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(self.__dataclass_fields__)

    def __len__(self) -> int:
        return len(self.__dataclass_fields__)

    def record(self) -> dict[str, Any]:
        """A JSON-ready dict: numbers as floats (``None`` for missing), tuples as lists."""
        record: dict[str, Any] = {}
        for key in self.__dataclass_fields__:
            value = getattr(self, key)
            if isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, (float, np.floating)):
                value = float(value) if np.isfinite(value) else None
            record[key] = value
        return record


@dataclass
class Result:
    """An estimate: a tidy table, a headline term and notes on what it can identify.

    Attributes
    ----------
    method : short name of the estimator, e.g. ``"ppml event study"``.
    table : tidy DataFrame with columns ``TIDY_COLUMNS``.
    headline : the term the report index shows, as a dict with ``term``,
        ``label``, ``estimate``, ``conf_low``, ``conf_high`` (in the units of ``label``).
    notes : plain-language caveats (identification, sample, data limits).

    Examples
    --------
    >>> import pandas as pd
    >>> row = tidy_row("post_minus_pre", -0.25, 0.1, n_obs=48, method="difference in means")
    >>> result = Result(method="difference in means", table=pd.DataFrame([row]),
    ...                 headline={"term": "post_minus_pre", "label": "post - pre, log points",
    ...                           "estimate": -0.25, "conf_low": row["conf_low"],
    ...                           "conf_high": row["conf_high"]},
    ...                 notes=["No control group."])
    >>> print(result.summary())
    Method: difference in means
    post - pre, log points: -0.25 [-0.446, -0.054]
              term  estimate  std_error  conf_low  conf_high  p_value  n_obs              method
    post_minus_pre     -0.25        0.1    -0.446     -0.054  0.01242     48 difference in means
    Note: No control group.
    >>> result.tidy()[["term", "estimate", "n_obs"]]
                 term  estimate  n_obs
    0  post_minus_pre     -0.25     48
    """

    method: str
    table: pd.DataFrame
    headline: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def tidy(self) -> pd.DataFrame:
        """The tidy coefficient table (term, estimate, std_error, conf_low, conf_high,
        p_value, n_obs, method)."""
        return self.table[TIDY_COLUMNS].reset_index(drop=True).copy()

    def summary(self) -> str:
        """A readable text summary: headline, table and notes."""
        lines = [f"Method: {self.method}"]
        if self.headline:
            h = self.headline
            lines.append(f"{h['label']}: {h['estimate']:.4g} "
                         f"[{h['conf_low']:.4g}, {h['conf_high']:.4g}]")
        lines.append(self.tidy().to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)

    def plot(self, ax=None):
        """A coefficient plot with 95% intervals; returns the matplotlib Figure.

        Parameters
        ----------
        ax : matplotlib Axes to draw on (default: a new figure).
        """
        import matplotlib.pyplot as plt

        table = self.tidy()
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 0.4 * len(table) + 1.5))
        y = np.arange(len(table))
        ax.errorbar(table["estimate"], y,
                    xerr=[table["estimate"] - table["conf_low"],
                          table["conf_high"] - table["estimate"]], fmt="o")
        ax.set_yticks(y, table["term"])
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_xlabel("estimate (95% CI)")
        ax.set_title(self.method)
        return ax.figure

    def etable(self, **options) -> Any:
        """This result as a regression table (Markdown by default).

        Keyword arguments are those of :func:`research.report.etable.etable` (``type``,
        ``stats``, ``stars``, ``digits``, ``scale``, ...); to put several results side by
        side, call ``research.etable([first, second])``.
        """
        from research.report.etable import etable

        return etable([self], **options)

    def headline_record(self) -> dict[str, Any]:
        """The headline as a JSON-ready dict (for manifests and the index)."""
        items = self.headline.record() if isinstance(self.headline, Headline) \
            else self.headline
        record = {k: (float(v) if isinstance(v, np.floating) else v)
                  for k, v in items.items()}
        record["method"] = self.method
        return record

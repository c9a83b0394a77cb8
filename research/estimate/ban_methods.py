"""One registry ban, three estimators: event study, interrupted time series, synthetic control.

Each answers "how far below its counterfactual was the treated flow after the measure?"
with a different counterfactual, on the same :class:`~research.estimate.ban_impact.BanDesign`:

* event study (:func:`research.estimate.ban_impact.ban_event_study`): treated units
  against control units with unit and period fixed effects; the headline is the average
  post-event effect, ``100 * (exp(mean_k b_k) - 1)`` %.
* interrupted time series (:mod:`research.estimate.its`): the treated flow alone
  against its own pre-period SARIMA forecast; China's world exports of the treated group
  (``products`` design) or exports to the target (``destinations`` design), post months up
  to the design's window end. Headline: the post-period shortfall in % of the
  counterfactual total (interval from the ITS shortfall interval divided by that total).
* synthetic control (:mod:`research.estimate.synth`): the treated flow against a
  weighted mix of control flows that tracks its pre-period path (each indexed to its
  pre-period mean); treated = China's world exports of the treated group, donors = the
  design's control destination x group series (``products``), or the target against the
  other destinations (``destinations``), inside the design's window and without the
  anticipation months. Headline: the
  average post gap in % of the synthetic; permutation p-value, no interval.

The annual design (the 2010 halt to Japan) has a single, partly treated pre-period
year (2010): neither a SARIMA nor a synthetic control can be fitted on it, and the
functions below raise :class:`~research.errors.EstimationError` saying so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from research import datasets
from research.errors import EstimationError
from research.estimate.ban_impact import BanDesign
from research.estimate.its import ITSResult, flow_series, interrupted_time_series
from research.estimate.synth import SynthResult, synthetic_control

COMPARISON_COLUMNS = ["method", "effect_pct", "conf_low", "conf_high", "p_value",
                      "quantity", "counterfactual", "note"]


def _annual(design: BanDesign, method: str) -> None:
    if design.freq == "A":
        first = design.panel["period"].min().year
        raise EstimationError(f"{method} needs several pre-event periods; the annual design's "
                              f"data start in {first}, the partly treated reference year, so "
                              "there is no clean pre-period")


def _monthly(flows: pd.DataFrame | None) -> pd.DataFrame:
    monthly = flows if flows is not None else datasets.load("china_exports_monthly")
    return monthly[(monthly["product_level"] == "group") & (monthly["freq"] == "M")]


def _treated_flow(design: BanDesign, flows: pd.DataFrame | None) -> pd.Series:
    """The treated flow as one monthly series (world total for the products design)."""
    monthly = _monthly(flows)
    if design.design == "products":
        return flow_series(monthly, "WLD", design.treated_label, design.outcome)
    targets = design.treated_label.split(", ")
    if len(targets) != 1:
        raise EstimationError(f"{len(targets)} target destinations ({design.treated_label}); "
                              "these methods follow one treated flow")
    group = design.panel["product"].iloc[0]
    return flow_series(monthly, targets[0], group, design.outcome)


def ban_its(design: BanDesign, anticipation: int = 0, window_post: int = 12,
            flows: pd.DataFrame | None = None, **kwargs) -> ITSResult:
    """Interrupted time series of the design's treated flow (module docstring).

    ``kwargs`` go to :func:`research.estimate.its.interrupted_time_series` (orders, kinds).
    """
    _annual(design, "an interrupted time series")
    series = _treated_flow(design, flows)
    last = design.event + pd.DateOffset(months=window_post)
    series = series[series.index <= last]
    return interrupted_time_series(series, design.event, anticipation=anticipation, **kwargs)


def ban_synth(design: BanDesign, window: tuple[int, int] = (-24, 12), anticipation: int = 0,
              flows: pd.DataFrame | None = None, placebo: bool = True) -> SynthResult:
    """Synthetic control of the design's treated flow from its control series.

    The ``anticipation`` months before the effective month (front-loading after the
    announcement) are left out: in the pre-period they would pull the weights towards
    the spike, in the post period they would offset the drop.
    """
    _annual(design, "a synthetic control")
    start = design.event + pd.DateOffset(months=window[0])
    end = design.event + pd.DateOffset(months=window[1])
    skipped = design.event - pd.DateOffset(months=anticipation)
    treated = _treated_flow(design, flows)
    treated_name = f"treated: {design.treated_label}"
    outcome = design.outcome
    treated_rows = pd.DataFrame({"unit": treated_name, "period": treated.index,
                                 outcome: treated.to_numpy()})
    controls = design.panel[~design.panel["treated"]]
    scale = 1000.0 if outcome == "quantity" else 1.0  # flow_series gives tonnes
    control_rows = pd.DataFrame({"unit": controls["unit"].to_numpy(),
                                 "period": controls["period"].to_numpy(),
                                 outcome: controls[outcome].to_numpy() / scale})
    panel = pd.concat([treated_rows, control_rows], ignore_index=True)
    periods = panel["period"]
    panel = panel[periods.between(start, end) & ~((periods >= skipped)
                                                   & (periods < design.event))]
    return synthetic_control(panel, unit="unit", time="period", outcome=outcome,
                             treated_unit=treated_name, intervention=design.event,
                             placebo=placebo)


def compare_methods(results: dict[str, object]) -> pd.DataFrame:
    """The headline effect of each method in % of its counterfactual, side by side.

    Parameters
    ----------
    results : method name -> an EventStudyResult, ITSResult or SynthResult, or a string
        saying why the method could not be run (shown in ``note``).

    Returns
    -------
    DataFrame with ``COMPARISON_COLUMNS``: effect and interval in %, p-value, what the
    effect measures and against which counterfactual.
    """
    rows = []
    for name, result in results.items():
        if isinstance(result, str):
            rows.append({"method": name, "effect_pct": np.nan, "conf_low": np.nan,
                         "conf_high": np.nan, "p_value": np.nan, "quantity": "",
                         "counterfactual": "", "note": f"not run: {result}"})
        elif isinstance(result, ITSResult):
            s = result.shortfall
            rows.append({"method": name, "effect_pct": s["pct"],
                         "conf_low": s["pct_low"], "conf_high": s["pct_high"],
                         "p_value": s["p_value"],
                         "quantity": f"post-period shortfall over {s['months']} months, % of "
                                     "the counterfactual total",
                         "counterfactual": "the flow's own pre-period SARIMA forecast",
                         "note": "interval: forecast quantiles added (conservative), SARIMA "
                                 "parameters taken as known"})
        elif isinstance(result, SynthResult):
            rows.append({"method": name, "effect_pct": result.average_post_gap_pct,
                         "conf_low": np.nan, "conf_high": np.nan, "p_value": result.p_value,
                         "quantity": "average post gap, % of the synthetic",
                         "counterfactual": "weighted control series matching the pre-period "
                                           "path",
                         "note": f"permutation p-value over {len(result.placebos)} units; no "
                                 "interval"})
        elif hasattr(result, "post_effect"):
            post = result.post_effect
            rows.append({"method": name, "effect_pct": post["pct"],
                         "conf_low": post["pct_low"], "conf_high": post["pct_high"],
                         "p_value": post["p_value"],
                         "quantity": f"average post-event effect over {len(post['periods'])} "
                                     "periods, % change",
                         "counterfactual": "control units with unit and period fixed "
                                           "effects",
                         "note": f"clustered by destination ({result.n_clusters} clusters)"})
        else:
            raise TypeError(f"{name}: cannot compare a {type(result).__name__}")
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def other_methods(design: BanDesign, anticipation: int = 0, window: tuple[int, int] = (-24, 12),
                  flows: pd.DataFrame | None = None) -> dict[str, object]:
    """ITS and synthetic control of the design; a method the data cannot support gives
    the reason as a string instead of a result (for :func:`compare_methods`)."""
    runs = {"interrupted time series": lambda: ban_its(design, anticipation, window[1], flows),
            "synthetic control": lambda: ban_synth(design, window, anticipation, flows)}
    out: dict[str, object] = {}
    for name, run in runs.items():
        try:
            out[name] = run()
        except EstimationError as error:
            out[name] = str(error)
    return out


INFERENCE_COLUMNS = ["inference", "effect_pct", "conf_low", "conf_high", "p_value", "note"]


def few_cluster_inference(result, design: BanDesign, anticipation: int = 0,
                          window: tuple[int, int] = (-24, 12), max_placebos: int = 40,
                          n_boot: int = 9999, seed: int = 2024
                          ) -> tuple[pd.DataFrame, dict[str, object]]:
    """The event study's average post effect under three kinds of inference.

    Cluster-robust (the event study's own, unreliable with few or one treated cluster),
    placebo in space and the wild cluster bootstrap
    (:func:`research.estimate.inference.placebo_in_space` and
    :func:`~research.estimate.inference.wild_bootstrap_event_study`; the bootstrap tests
    the log-linear OLS event study, so its point differs from the PPML one).

    Returns
    -------
    (table with ``INFERENCE_COLUMNS``, dict of the placebo and bootstrap results or the
    reason each could not be run)
    """
    from research.estimate.inference import placebo_in_space, wild_bootstrap_event_study

    post = result.post_effect
    rows = [{"inference": f"cluster-robust ({result.method})", "effect_pct": post["pct"],
             "conf_low": post["pct_low"], "conf_high": post["pct_high"],
             "p_value": post["p_value"],
             "note": f"{result.n_clusters} destination clusters"}]
    runs: dict[str, object] = {}
    try:
        placebo = placebo_in_space(design, "ppml", window, anticipation,
                                   max_placebos=max_placebos, seed=seed)
        runs["placebo in space"] = placebo
        n_ok = int(placebo.placebos["estimate"].notna().sum())
        rows.append({"inference": "placebo in space (same PPML estimate)",
                     "effect_pct": 100 * np.expm1(placebo.actual), "conf_low": np.nan,
                     "conf_high": np.nan, "p_value": placebo.p_value,
                     "note": f"{n_ok} placebo assignments by {placebo.assign_by}; smallest "
                             f"attainable p {1 / (1 + n_ok):.3f}; no interval"})
    except EstimationError as error:
        runs["placebo in space"] = str(error)
        rows.append({"inference": "placebo in space", "note": f"not run: {error}"})
    try:
        wild = wild_bootstrap_event_study(design, window, anticipation, n_boot=n_boot,
                                          seed=seed)
        runs["wild cluster bootstrap"] = wild
        h = wild.headline
        rows.append({"inference": "wild cluster bootstrap (log-linear OLS event study)",
                     "effect_pct": h["estimate"], "conf_low": h["conf_low"],
                     "conf_high": h["conf_high"], "p_value": wild.p_value,
                     "note": f"{wild.weights} weights, {wild.n_clusters} clusters, "
                             f"{wild.n_boot} draws; interval by test inversion"})
    except EstimationError as error:
        runs["wild cluster bootstrap"] = str(error)
        rows.append({"inference": "wild cluster bootstrap", "note": f"not run: {error}"})
    return pd.DataFrame(rows).reindex(columns=INFERENCE_COLUMNS), runs

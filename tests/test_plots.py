"""Figures: labelled axes with units, a source line, and what each figure promises to show."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from research import plots  # noqa: E402
from research.estimate.its import interrupted_time_series  # noqa: E402
from research.estimate.scenario import Profile, apply_profile  # noqa: E402
from research.estimate.synth import synthetic_control  # noqa: E402


def monthly(seed: int = 1, level: float = 4e7) -> pd.Series:
    rng = np.random.default_rng(seed)
    index = pd.date_range("2017-01-01", "2024-12-01", freq="MS")
    values = level * np.exp(0.2 * np.sin(2 * np.pi * index.month / 12)
                            + 0.03 * rng.standard_normal(len(index)))
    series = pd.Series(values, index=index, name="graphite to WLD")
    series.attrs["unit"] = "USD"
    return series


def sources(fig) -> list[str]:
    return [t.get_text() for t in fig.texts if t.get_text().startswith("Source")]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_scenario_fan_and_profile_plots():
    profile = Profile("B2", "B2 test profile", "M", np.arange(6), np.log([0.4, 0.5, 0.7, 0.8,
                                                                         0.9, 1.0]),
                      np.full(6, 0.15))
    result = apply_profile(monthly(), "2026-01-06", profile, horizon=6, target="flow X")
    fig = plots.scenario_fan_plot(result, history=24)
    ax = fig.axes[0]
    assert ax.get_title().startswith("SCENARIO, not an estimate: flow X")
    assert ax.get_ylabel() == "USD million per month" and ax.get_xlabel() == "month"
    assert sources(fig) and "scenario profile: B2 test profile" in sources(fig)[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "no data yet (projection only)" in labels  # 2025 lies between data and ban
    # the scenario line is drawn in USD million: its first point is scenario / 1e6
    line = next(li for li in ax.get_lines() if li.get_label().startswith("SCENARIO"))
    first = result.tidy().query("event_time == 0")["scenario"].iloc[0]
    assert line.get_ydata()[0] == pytest.approx(first / 1e6)
    fig = plots.scenario_profile_plot(result)
    ax = fig.axes[0]
    assert "SCENARIO input" in ax.get_title()
    assert ax.get_ylabel() == "change against the projection, %"
    assert "2026-01" in ax.get_xlabel() and sources(fig)


def test_its_plot_scales_usd_to_millions():
    series = monthly()
    series[series.index >= "2023-12-01"] *= 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = interrupted_time_series(series, "2023-12-01", kinds=("step",))
    fig = plots.its_plot(result, history=24)
    ax = fig.axes[0]
    assert ax.get_ylabel() == "graphite to WLD, USD million per month"
    assert ax.get_xlabel() == "month" and sources(fig)
    assert f"{result.shortfall['pct']:+.1f}%" in ax.get_title()
    actual = next(li for li in ax.get_lines() if li.get_label() == "actual")
    assert actual.get_ydata().max() == pytest.approx(series[-25:].max() / 1e6)


def test_synth_gap_plot_leaves_out_badly_fitted_placebos():
    rng = np.random.default_rng(5)
    periods = pd.date_range("2020-01-01", periods=36, freq="MS")
    donors = {f"D{i}": 100 + np.cumsum(rng.standard_normal(36)) for i in range(5)}
    donors["NOISY"] = 100 + 40 * rng.standard_normal(36)  # no convex mix can fit it
    treated = 0.5 * donors["D0"] + 0.5 * donors["D1"]
    treated[24:] *= 0.7
    panel = pd.concat([pd.DataFrame({"unit": u, "period": periods, "y": v})
                       for u, v in {"T": treated, **donors}.items()])
    result = synthetic_control(panel, unit="unit", time="period", outcome="y",
                               treated_unit="T", intervention=periods[24], normalize="none")
    fig = plots.synth_gap_plot(result, max_pre_ratio=5)
    ax = fig.axes[0]
    grey = [li for li in ax.get_lines() if li.get_color() == "0.7" and len(li.get_xdata())]
    kept = result.placebos.query("not treated and pre_rmspe <= 5 * @result.pre_rmspe")
    assert len(grey) == len(kept) < 6  # NOISY is left out
    assert "gap, treated - synthetic" in ax.get_ylabel() and "y" in ax.get_ylabel()
    assert ax.get_xlabel() == "month" and sources(fig)


def test_effect_comparison_plot_rows_and_missing_values():
    frame = pd.DataFrame({"label": ["published", "ours", "not run"],
                          "estimate": [0.557, 0.5572, np.nan],
                          "conf_low": [0.357, 0.357, np.nan],
                          "conf_high": [0.757, 0.757, np.nan]})
    fig = plots.effect_comparison_plot(frame, xlabel="RTA coefficient, log points (95% CI)",
                                       title="t", source="Source: test.")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["published", "ours", "not run"]
    assert "not available" in [t.get_text() for t in ax.texts]
    assert ax.get_xlabel() == "RTA coefficient, log points (95% CI)"
    assert sources(fig) == ["Source: test."]
    # the x label keeps clear of the source line: at least 0.85 inch below the axes
    assert fig.subplotpars.bottom * fig.get_figheight() >= 0.85 - 1e-9


def test_time_series_and_bar_plots_have_units_and_sources():
    frame = pd.DataFrame({"period": pd.date_range("2020-01-01", periods=6, freq="MS"),
                          "value_usd": np.arange(6) * 1e6, "partner_iso3": "JPN"})
    fig = plots.time_series_plot(frame, scale=1e6, ylabel="USD million",
                                 events=[("2020-03-01", "B1")])
    assert fig.axes[0].get_ylabel() == "USD million" and sources(fig)
    fig = plots.bar_plot(pd.DataFrame({"share": [10.0, 5.0], "product": ["a", "b"]}),
                         x="share", y="product", xlabel="% of exports")
    assert fig.axes[0].get_xlabel() == "% of exports" and sources(fig)

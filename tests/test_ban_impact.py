"""Ban-impact designs on the bundled data: which comparison each event gets."""

import warnings

import numpy as np
import pytest

from research.errors import FewClustersWarning, IdentificationWarning, ParameterError
from research.estimate.ban_impact import (
    THIRD_COUNTRIES,
    ban_design,
    ban_event_study,
    design_series,
    diversion_design,
    diversion_event_study,
    estimate_design,
    unit_value_design,
    unit_value_event_study,
)


def test_graphite_licensing_compares_products_without_other_treated_groups():
    # B2 takes effect 2023-12-01; window -24..12 months spans 2021-12..2024-12. B1 (Ga/Ge,
    # effective 2023-08-01) falls inside, so gallium_germanium cannot be a control.
    design = ban_design("B2", "graphite")
    assert design.design == "products"
    assert design.controls == ["polysilicon", "rare_earths"]
    assert set(design.panel.loc[design.panel["treated"], "product"]) == {"graphite"}
    assert "WLD" not in set(design.panel["partner_iso3"])


def test_2010_embargo_uses_annual_quantities_with_2010_as_reference():
    with pytest.warns(IdentificationWarning, match="partly treated"):
        design = ban_design("A2", "rare_earths")
    assert design.design == "annual" and design.outcome == "quantity"
    assert design.event.year == 2011
    assert set(design.panel.loc[design.panel["treated"], "partner_iso3"]) == {"JPN"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result, _ = ban_event_study("A2", "rare_earths")
    assert result.pretrend["n_pre"] == 0  # no pre-period: cannot be tested
    assert any("nor pre-trends can be identified" in note for note in result.notes)


def test_event_after_the_data_points_to_the_scenario():
    with pytest.raises(ParameterError, match="after the last month"):
        ban_design("C6", "rare_earths")


def test_unknown_basket_and_outcome_are_named():
    with pytest.raises(ParameterError, match="'cobalt'"):
        ban_design("B2", "cobalt")
    with pytest.raises(ParameterError, match="outcome='tonnes'"):
        ban_design("B2", "graphite", outcome="tonnes")


def test_series_are_indexed_to_their_pre_event_mean():
    design = ban_design("B1", "gallium")
    series = design_series(design)
    pre = series[series["period"] < design.event]
    assert pre.groupby("group")["index_pre_mean_100"].mean().round(6).eq(100).all()


def test_graphite_estimate_reports_clusters_and_anticipation():
    with pytest.warns(FewClustersWarning):
        result, design = ban_event_study("B2", "graphite", anticipation=1)
    # 14 destinations appear across the graphite, polysilicon and rare-earth panels
    assert result.n_clusters == design.panel["partner_iso3"].nunique()
    assert result.anticipation_effect["periods"] == [-1]
    assert result.reference == -2
    assert result.post_effect["conf_low"] < result.post_effect["estimate"]


def test_graphite_diversion_design_compares_third_countries_with_other_destinations():
    # B2 (graphite licensing, Dec 2023, all destinations): the HS6 lines 250410 and 380110
    # of the monthly table reach about 38 destinations; the third countries are treated.
    design = diversion_design("B2", "graphite")
    assert design.design == "diversion" and design.freq == "M"
    treated = set(design.panel.loc[design.panel["treated"], "partner_iso3"])
    assert treated <= set(THIRD_COUNTRIES) and len(treated) >= 3
    assert not treated & set(design.controls)
    assert set(design.panel["product"]) == {"250410", "380110"}
    assert design.panel["unit"].str.contains(":").all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FewClustersWarning)
        result, same = diversion_event_study("B2", "graphite", window=(-12, 12))
    assert 20 <= result.n_clusters <= same.panel["partner_iso3"].nunique()
    assert np.isfinite(result.post_effect["estimate"])
    assert result.tidy().loc[0, "term"] == "post_average"


def test_diversion_leaves_out_the_measure_targets_and_checks_inputs():
    # A2 (2010 halt to Japan): annual WITS lines; Japan, the target, is neither treated
    # nor a control, and a target cannot be a third country.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        design = diversion_design("A2", "rare_earths", third_countries=["KOR", "THA"])
    assert design.freq == "A" and "JPN" not in set(design.panel["partner_iso3"])
    with pytest.raises(ParameterError, match="targets of event A2"):
        diversion_design("A2", "rare_earths", third_countries=["JPN", "KOR"])
    with pytest.raises(ParameterError, match="none of the third countries"):
        diversion_design("B2", "graphite", third_countries=["ATA"])


def test_gallium_unit_values_are_value_over_quantity():
    design = unit_value_design("B1", "gallium")
    panel = design.panel
    assert design.outcome == "unit_value"
    defined = (panel["quantity"] > 0) & (panel["value_usd"] > 0)
    ratio = panel.loc[defined, "value_usd"] / panel.loc[defined, "quantity"]
    np.testing.assert_allclose(panel.loc[defined, "unit_value"], ratio)
    # missing or zero quantities leave the unit value missing, not zero or infinite
    assert panel.loc[~defined, "unit_value"].isna().all()
    assert panel["quantity"].isna().any()  # the gallium panels do have missing quantities
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FewClustersWarning)
        result, _ = unit_value_event_study("B1", "gallium", window=(-12, 12))
    assert result.method.startswith("log-linear")
    assert result.headline["label"].endswith("% change")
    assert np.isfinite(result.post_effect["pct"])


def test_estimate_design_supports_ppml_and_log_linear():
    design = ban_design("B2", "graphite")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FewClustersWarning)
        ppml_result = estimate_design(design, method="ppml", window=(-12, 12))
        ols_result = estimate_design(design, method="ols_log", window=(-12, 12))
        same, _ = ban_event_study("B2", "graphite", window=(-12, 12))
    assert ppml_result.method.startswith("PPML") and ols_result.method.startswith("log-linear")
    assert ppml_result.post_effect["estimate"] == pytest.approx(same.post_effect["estimate"])

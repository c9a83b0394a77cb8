"""Ban-impact designs on the bundled data: which comparison each event gets."""

import warnings

import pytest

from research.errors import FewClustersWarning, IdentificationWarning, ParameterError
from research.estimate.ban_impact import ban_design, ban_event_study, design_series


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

"""Scope labels of the monthly product groups: magnets named, mixed-scope lines listed."""

from __future__ import annotations

import pandas as pd
import pytest

from research import datasets
from research.errors import ParameterError
from research.reference import baskets


@pytest.fixture(scope="module")
def lines() -> pd.DataFrame:
    return baskets.group_lines(["rare_earths", "graphite", "polysilicon"],
                               datasets.load("hs_baskets", user=False))


def test_group_lines(lines: pd.DataFrame) -> None:
    # the monthly groups as the raw strategic_premium_hs6.csv defines them (PROVENANCE):
    # rare earths = 280530, 284690, 850511; graphite = 250410, 380110; polysilicon = 280461
    assert lines.groupby("product_group")["hs6"].agg(list).to_dict() == {
        "graphite": ["250410", "380110"], "polysilicon": ["280461"],
        "rare_earths": ["280530", "284690", "850511"]}
    assert lines.loc[lines["magnets"], "hs6"].tolist() == ["850511"]
    magnets = lines.set_index("hs6").loc["850511"]
    assert magnets["note"].startswith("All metal permanent magnets")  # the chosen note
    assert lines.set_index("hs6")["mixed_scope"].to_dict() == {
        "250410": True, "380110": True, "280461": False, "280530": True, "284690": True,
        "850511": True}
    with pytest.raises(ParameterError, match="tungsten"):
        baskets.group_lines(["tungsten"])


def test_label_products(lines: pd.DataFrame) -> None:
    table = pd.DataFrame({"product": ["rare_earths", "polysilicon", "850511", "250410", "x"],
                          "value": [1.0, 2, 3, 4, 5]})
    labelled = baskets.label_products(table, lines).set_index("product")
    assert list(labelled.columns)[:2] == ["product_label", "product_group"]
    assert labelled.at["rare_earths", "product_label"] == (
        "rare_earths incl. 850511 magnets (all metal permanent magnets)")
    assert labelled.at["rare_earths", "mixed_scope_lines"] == "280530;284690;850511"
    assert labelled.at["polysilicon", "product_label"] == "polysilicon"
    assert labelled.at["polysilicon", "mixed_scope_lines"] == ""
    assert not labelled.at["polysilicon", "mixed_scope"]
    assert labelled.at["850511", "product_label"] == "850511 magnets (all metal permanent magnets)"
    assert labelled.at["850511", "product_group"] == "rare_earths"
    assert labelled.at["250410", "product_label"] == "250410"
    assert pd.isna(labelled.at["x", "product_label"])
    assert labelled["value"].tolist() == [1.0, 2, 3, 4, 5]  # the table itself is unchanged

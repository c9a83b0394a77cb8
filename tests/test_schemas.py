"""Schema checks name the table, column, row and value."""

import numpy as np
import pandas as pd
import pytest

from research.errors import SchemaError
from research.schemas import TRADE_FLOWS


def _flows():
    return pd.DataFrame({
        "reporter_iso3": ["CHN", "CHN"], "partner_iso3": ["JPN", "USA"],
        "flow": ["export", "export"], "product": ["250410", "250410"],
        "product_level": ["hs6", "hs6"], "period": pd.to_datetime(["2023-12-01"] * 2),
        "freq": ["M", "M"], "value_usd": [1.0, np.nan], "quantity": [2.0, 3.0],
        "quantity_unit": ["kg", "kg"], "source": ["test", "test"]})


def test_valid_table_passes():
    frame = _flows()
    assert TRADE_FLOWS.validate(frame) is frame


def test_bad_iso3_is_named():
    frame = _flows()
    frame.loc[1, "partner_iso3"] = "Japan"
    with pytest.raises(SchemaError, match=r"flows.csv: row 1: field 'partner_iso3': value 'Japan'"):
        TRADE_FLOWS.validate(frame, source="flows.csv")


def test_negative_value_and_duplicates_and_missing_column():
    frame = _flows()
    frame.loc[0, "value_usd"] = -5.0
    with pytest.raises(SchemaError, match="value_usd.*minimum"):
        TRADE_FLOWS.validate(frame)
    duplicated = pd.concat([_flows().iloc[[0]], _flows().iloc[[0]]], ignore_index=True)
    with pytest.raises(SchemaError, match="duplicate key"):
        TRADE_FLOWS.validate(duplicated)
    with pytest.raises(SchemaError, match="'quantity'"):
        TRADE_FLOWS.validate(_flows().drop(columns="quantity"))


def test_empty_and_infinite():
    with pytest.raises(SchemaError, match="empty"):
        TRADE_FLOWS.validate(_flows().iloc[0:0])
    frame = _flows()
    frame.loc[0, "quantity"] = np.inf
    with pytest.raises(SchemaError, match="infinite"):
        TRADE_FLOWS.validate(frame)

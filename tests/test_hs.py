"""HS revision conversion with the UN HS2022 correlation tables.

Expected relationships are rows of the "Correlations" sheets of the UN workbooks in
raw/trade/hs_nomenclature (HS2022toHS2017/2012/2007ConversionAndCorrelationTables.xlsx),
quoted in the comments as "HS2022 code, older code, relationship".
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

from research import hs
from research.errors import HSConversionWarning, ParameterError, SourceFormatError


@pytest.fixture(scope="module")
def raw(raw_dir: Path) -> Path:
    return raw_dir


def _no_warning(call, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error", HSConversionWarning)
        return call(*args, **kwargs)


@pytest.mark.parametrize(("name", "expected"), [
    ("HS2017", "HS2017"), ("hs2012", "HS2012"), (2007, "HS2007"), ("2022", "HS2022"),
    ("H5", "HS2017"), ("h6", "HS2022"),  # UN Comtrade classification codes
])
def test_revision_names(name, expected):
    assert hs.revision(name) == expected


def test_unknown_revision():
    with pytest.raises(ParameterError, match="HS2002"):
        hs.revision("HS2002")


@pytest.mark.parametrize("older", ["HS2017", "HS2012", "HS2007"])
def test_degree_rule_reproduces_un_labels(raw, older):
    table = hs.correlation("HS2022", older, raw)  # the UN labels, as read
    assert len(table) > 15000
    labels = hs.relationship_labels(table, "from_code", "to_code")
    assert (labels == table["relationship"]).all()


def test_hafnium_and_rhenium_break_811292_811299(raw):
    table = hs.correlation("HS2022", "HS2017", raw)
    pairs = set(map(tuple, table[table["to_code"].isin(["811292", "811299"])].to_numpy()))
    # Correlations HS2022-HS2017: 811231 811292 n:1, 811241 811292 n:1, 811292 811292 n:1,
    # 811239 811299 n:1, 811249 811299 n:1, 811299 811299 n:1 (Hf, Re split out in 2022)
    assert pairs == {("811231", "811292", "n:1"), ("811241", "811292", "n:1"),
                     ("811292", "811292", "n:1"), ("811239", "811299", "n:1"),
                     ("811249", "811299", "n:1"), ("811299", "811299", "n:1")}


def test_magnets_and_e_waste(raw):
    table = hs.correlation("HS2022", "HS2017", raw)
    into = table[table["to_code"].eq("850511")].set_index("from_code")["relationship"]
    # 850511 850511 n:1; 854921/854929/854931/854939/854991/854999 850511 n:n
    assert into.to_dict() == {"850511": "n:1", "854921": "n:n", "854929": "n:n",
                              "854931": "n:n", "854939": "n:n", "854991": "n:n",
                              "854999": "n:n"}


@pytest.mark.parametrize("older", ["HS2017", "HS2012", "HS2007"])
def test_one_to_one_lines(raw, older):
    # PROVENANCE (hs_nomenclature): 280530, 284610, 284690, 250410, 810520, 811010 and
    # 811020 are 1:1 HS2022 <-> HS2007/2012/2017
    codes = ["280530", "284610", "284690", "250410", "810520", "811010", "811020"]
    rows = _no_warning(hs.convert_codes, codes, "HS2022", older, raw)
    assert rows["from_code"].tolist() == codes and rows["to_code"].tolist() == codes
    assert set(rows["relationship"]) == {"1:1"} and set(rows["share"]) == {1.0}


def test_convert_codes_warns_on_n_to_1(raw):
    with pytest.warns(HSConversionWarning) as record:
        rows = hs.convert_codes(["811292", "280530"], "HS2022", "HS2017", raw)
    message = str(record[0].message)
    assert "811292 -> 811292 (n:1" in message and "811231, 811241" in message
    assert rows["from_code"].tolist() == ["811292", "280530"]  # input order kept


def test_reverse_direction_splits(raw):
    # the same three rows read HS2017 -> HS2022: 811292 goes to 811231, 811241, 811292
    rows = hs.convert_codes(["811292"], "HS2017", "HS2022", raw)
    assert rows["to_code"].tolist() == ["811231", "811241", "811292"]
    assert set(rows["relationship"]) == {"1:n"}
    assert rows["share"].tolist() == pytest.approx([1 / 3] * 3)


def test_leading_zero_restored_and_unknown_codes_named(raw):
    # 010121 (pure-bred horses) is "010121 010121 1:1" in the HS2017 table
    rows = hs.convert_codes([10121], "HS2022", "HS2017", raw)
    assert rows["to_code"].tolist() == ["010121"]
    # 811230 is the HS2002 germanium code (PROVENANCE): not in HS2022
    with pytest.raises(ParameterError, match="811230"):
        hs.convert_codes(["811230", "280530"], "HS2022", "HS2017", raw)
    with pytest.raises(SourceFormatError, match="81x292"):
        hs.convert_codes(["81x292"], "HS2022", "HS2017", raw)


def test_same_revision_is_identity(raw):
    rows = _no_warning(hs.convert_codes, ["280530"], "HS2017", "HS2017", raw)
    assert rows[["to_code", "relationship"]].to_numpy().tolist() == [["280530", "1:1"]]


def test_older_to_older_goes_through_hs2022(raw):
    # 280530 is 1:1 in both tables, so the composed line is 1:1 and nothing warns
    rows = _no_warning(hs.convert_codes, ["280530"], "HS2012", "HS2007", raw)
    assert rows["to_code"].tolist() == ["280530"]
    # HS2012 811292 -> HS2022 811231, 811241, 811292 -> HS2007 811292 (all three rows
    # "... 811292 n:1" in the HS2007 table): one target, and only 811292 reaches it
    rows = _no_warning(hs.convert_codes, ["811292"], "HS2012", "HS2007", raw)
    assert rows[["to_code", "relationship"]].to_numpy().tolist() == [["811292", "1:1"]]
    # 850511 reaches HS2022 8549 (e-waste), which links to hundreds of older codes
    with pytest.warns(HSConversionWarning, match="through HS2022") as record:
        rows = hs.convert_codes(["850511"], "HS2012", "HS2007", raw)
    assert "850511" in rows["to_code"].tolist() and len(rows) > 100
    assert "850511 -> " in str(record[0].message)
    assert hs.correlation("HS2012", "HS2007", raw).attrs["via"] == "HS2022"


def _flows() -> pd.DataFrame:
    return pd.DataFrame({"reporter_iso3": ["CHN", "CHN", "CHN"],
                         "product": ["811292", "811231", "280530"],
                         "value_usd": [90.0, 10.0, 5.0], "quantity": [9.0, 1.0, 0.5]})


def test_convert_flows_n_to_1_sums(raw):
    with pytest.warns(HSConversionWarning):
        out = hs.convert_flows(_flows(), "HS2022", "HS2017", aggregate=True, raw_dir=raw)
    # 811292 (90) and 811231 (10) both map to HS2017 811292: 100; 280530 unchanged
    got = out.set_index("product")
    assert got.loc["811292", "value_usd"] == 100.0 and got.loc["811292", "quantity"] == 10.0
    assert got.loc["811292", "relationship"] == "n:1"
    assert got.loc["280530", "value_usd"] == 5.0 and got.loc["280530", "relationship"] == "1:1"


def test_convert_flows_split_equal_and_keep(raw):
    flows = _flows().iloc[[0]]  # HS2017 811292, 90 USD -> three HS2022 codes
    with pytest.warns(HSConversionWarning, match="split equally over 3"):
        equal = hs.convert_flows(flows, "HS2017", "HS2022", raw_dir=raw)
    assert equal["product"].tolist() == ["811231", "811241", "811292"]
    assert equal["value_usd"].tolist() == pytest.approx([30.0, 30.0, 30.0])  # 90 / 3
    assert equal["product_hs2017"].eq("811292").all()
    kept = hs.convert_flows(flows, "HS2017", "HS2022", allocation="keep", raw_dir=raw)
    assert kept["value_usd"].tolist() == [90.0, 90.0, 90.0]
    assert set(kept["relationship"]) == {"1:n"}


def test_convert_flows_bad_input(raw):
    # 811230 (HS2002 germanium) and 811291 are not HS2022 subheadings
    flows = _flows().assign(product=["811292", "811230", "811291"])
    with pytest.raises(SourceFormatError) as error:
        hs.convert_flows(flows, "HS2022", "HS2017", raw_dir=raw)
    assert error.value.field == "product" and error.value.value == ["811230", "811291"]
    with pytest.raises(ParameterError, match="allocation"):
        hs.convert_flows(_flows(), "HS2022", "HS2017", allocation="first", raw_dir=raw)
    with pytest.raises(ParameterError, match="value column"):
        hs.convert_flows(_flows()[["product"]], "HS2022", "HS2017", raw_dir=raw)


def test_unreadable_workbook(tmp_path):
    path = tmp_path / "HS2022toHS2017ConversionAndCorrelationTables.xlsx"
    path.write_text("not a workbook")
    with pytest.raises(SourceFormatError, match="cannot read the workbook"):
        hs.read_correlations(path)

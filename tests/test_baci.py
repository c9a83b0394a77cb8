"""CEPII BACI files: sample writer, Parquet conversion, basket panels, named errors."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from research import readers
from research.countries import from_comtrade_code
from research.errors import (
    DataNotFoundError,
    ParameterError,
    SchemaError,
    SkippedDataWarning,
    SourceFormatError,
    UnknownCountryError,
)
from research.schemas import TRADE_FLOWS
from research.sources import baci

# Real HS2022 subheadings (harmonized-system.csv): horses, rare-earth metals and
# compounds, unwrought Ga/Ge..., permanent magnets.
PRODUCTS = ["010121", "280530", "284690", "811292", "850511"]
# Comtrade codes: China 156, Japan 392, Korea 410, USA 842, France 251, Taiwan 490,
# Germany 276, plus the first 50 countries by code (Afghanistan 4, Albania 8, ...)
COUNTRIES = sorted({156, 251, 276, 392, 410, 490, 842, *baci.sample_country_codes()[:50]})

HAND = """t,i,j,k,v,q
2022,156,392,280530,1234.5,10.25
2022,842,251,10121,2,NA
2023,490,156,280530,0.5,0.001
2023,697,156,280530,3,1
2023,156,392,280530,7,          NA
"""
# country_codes layout (country_code,country_name,country_iso2,country_iso3); 697 is
# BACI's "Europe EFTA, nes" (ISO3 field R20): an area, not a country.
CODES = """country_code,country_name,country_iso2,country_iso3
156,China,CN,CHN
251,France,FR,FRA
392,Japan,JP,JPN
490,"Other Asia, nes",,S19
697,"Europe EFTA, nes",,R20
842,USA,US,USA
"""


@pytest.fixture()
def hand(tmp_path: Path) -> Path:
    path = tmp_path / "BACI_HS22_Y2022_V202401.csv"
    path.write_text(HAND)
    (tmp_path / "country_codes_V202401.csv").write_text(CODES)
    return path


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("baci")
    path = baci.write_baci_layout_sample(folder / "BACI_HS22_Y2021_V202401.csv", 20_000,
                                         seed=7, years=(2021, 2022), hs6_codes=PRODUCTS,
                                         countries=COUNTRIES)
    baci.write_country_codes_sample(folder / "country_codes_V202401.csv", COUNTRIES)
    return path


def _pandas_panel(path: Path, codes: list[str]) -> pd.DataFrame:
    """The same panel computed with plain pandas, independently of DuckDB."""
    raw = pd.read_csv(path, dtype={"k": str, "q": str})
    raw["k"] = raw["k"].str.zfill(6)
    raw = raw[raw["k"].isin(codes)]
    q = pd.to_numeric(raw["q"].str.strip().replace("NA", np.nan))
    return pd.DataFrame({
        "reporter_iso3": raw["i"].map(from_comtrade_code).to_numpy(),
        "partner_iso3": raw["j"].map(from_comtrade_code).to_numpy(),
        "product": raw["k"].to_numpy(),
        "year": raw["t"].to_numpy(),
        "value_usd": raw["v"].to_numpy() * 1000, "quantity": q.to_numpy() * 1000,
    }).sort_values(["product", "reporter_iso3", "partner_iso3", "year"], ignore_index=True)


# --- the sample writer -----------------------------------------------------------------
def test_sample_has_baci_layout(sample: Path):
    lines = sample.read_text().splitlines()
    assert lines[0] == "t,i,j,k,v,q" and len(lines) == 20_001
    frame = pd.read_csv(sample, dtype=str, keep_default_na=False)
    assert frame.groupby("t").size().to_dict() == {"2021": 10_000, "2022": 10_000}
    assert not frame.duplicated(["t", "i", "j", "k"]).any()
    assert set(frame["i"].astype(int)) <= set(COUNTRIES) and (frame["i"] != frame["j"]).all()
    assert "10121" in set(frame["k"])  # 010121 loses its leading zero, as in BACI
    assert set(frame["k"].str.zfill(6)) <= set(PRODUCTS)
    assert 0.01 < frame["q"].eq("NA").mean() < 0.06  # missing_quantity_share 0.03
    keys = frame[["t", "i", "j", "k"]].astype(int)
    assert keys.equals(keys.sort_values(["t", "i", "j", "k"]))  # sorted like BACI


def test_sample_is_reproducible(tmp_path: Path):
    args = dict(n_rows=500, seed=3, years=(2022,), hs6_codes=PRODUCTS, countries=COUNTRIES)
    first = baci.write_baci_layout_sample(tmp_path / "a.csv", **args).read_bytes()
    assert first == baci.write_baci_layout_sample(tmp_path / "b.csv", **args).read_bytes()


# --- conversion and panel --------------------------------------------------------------
def test_convert_and_panel_match_pandas(sample: Path, tmp_path: Path):
    out = baci.convert_to_parquet(sample, tmp_path / "pq")
    assert sorted(p.name for p in out.glob("t=*")) == ["t=2021", "t=2022"]
    assert not list(tmp_path.glob(".pq.tmp-*"))
    panel = baci.basket_panel(out, ["280530", "850511", 10121])
    TRADE_FLOWS.validate(panel)
    expected = _pandas_panel(sample, ["010121", "280530", "850511"])
    assert len(panel) == len(expected) > 1000
    for column in ("reporter_iso3", "partner_iso3", "product"):
        assert panel[column].tolist() == expected[column].tolist()
    assert panel["period"].dt.year.tolist() == expected["year"].tolist()
    np.testing.assert_allclose(panel["value_usd"], expected["value_usd"], rtol=1e-12)
    np.testing.assert_allclose(panel["quantity"], expected["quantity"], rtol=1e-12)
    assert set(panel["source"]) == {"CEPII BACI (HS22 V202401)"}


def test_panel_filters(sample: Path, tmp_path: Path):
    out = baci.convert_to_parquet(sample, tmp_path / "pq")
    panel = baci.basket_panel(out, ["280530", "850511"], exporters=["China", "Japan", "USA"],
                              importers=["KOR", "DEU", "FRA", "TWN"], years=[2022])
    expected = _pandas_panel(sample, ["280530", "850511"])
    expected = expected[expected["reporter_iso3"].isin(["CHN", "JPN", "USA"])
                        & expected["partner_iso3"].isin(["KOR", "DEU", "FRA", "TWN"])
                        & expected["year"].eq(2022)]
    assert len(panel) == len(expected) > 0
    assert panel["value_usd"].sum() == pytest.approx(expected["value_usd"].sum())
    with pytest.raises(UnknownCountryError, match="Atlantis"):
        baci.basket_panel(out, ["280530"], exporters=["Atlantis"])


def test_hand_file_values_and_skipped_area(hand: Path, tmp_path: Path):
    out = baci.convert_to_parquet(hand, tmp_path / "pq")  # country_codes found beside it
    with pytest.warns(SkippedDataWarning, match="697"):
        panel = baci.basket_panel(out, ["280530", "010121"])
    rows = {(r.reporter_iso3, r.partner_iso3, r.product, r.period.year): r
            for r in panel.itertuples()}
    # 2022,156,392,280530,1234.5,10.25: China -> Japan, 1234.5 thousand USD, 10.25 t
    assert rows[("CHN", "JPN", "280530", 2022)].value_usd == 1_234_500
    assert rows[("CHN", "JPN", "280530", 2022)].quantity == 10_250
    # 2022,842,251,10121,2,NA: USA -> France, HS 010121, 2,000 USD, no quantity
    assert rows[("USA", "FRA", "010121", 2022)].value_usd == 2_000
    assert np.isnan(rows[("USA", "FRA", "010121", 2022)].quantity)
    # 2023,490,156,...,0.5,0.001: Taiwan -> China, 500 USD, 1 kg
    assert rows[("TWN", "CHN", "280530", 2023)].quantity == pytest.approx(1.0)
    # space-padded NA quantity
    assert np.isnan(rows[("CHN", "JPN", "280530", 2023)].quantity)
    assert len(panel) == 4  # the 697 row is left out


def test_reader_registry_reads_one_file(hand: Path):
    with pytest.warns(SkippedDataWarning):
        table = readers.read_file("baci", hand)
    TRADE_FLOWS.validate(table)
    assert len(table) == 4 and table["value_usd"].sum() == 1_234_500 + 2_000 + 500 + 7_000


def test_existing_output_needs_overwrite(hand: Path, tmp_path: Path):
    out = baci.convert_to_parquet(hand, tmp_path / "pq")
    with pytest.raises(ParameterError, match="overwrite"):
        baci.convert_to_parquet(hand, out)
    assert baci.convert_to_parquet(hand, out, overwrite=True) == out
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".pq.")]


def test_country_codes_file(hand: Path):
    codes = baci.read_country_codes(hand.parent / "country_codes_V202401.csv")
    assert codes.loc[codes["code"].eq(490), "iso3"].item() == "S19"
    table = baci.country_table(codes).set_index("code")["iso3"]
    assert table[490] == "TWN" and table[842] == "USA" and table[251] == "FRA"
    assert pd.isna(table[697])  # listed, but an area


# --- bad input -------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "error", "field", "value"), [
    ("t,i,j,k,v\n2022,156,392,280530,1\n", SourceFormatError, "q", None),
    ("t,i,j,k,v,q\n2022,156,392,280530,abc,1\n", SourceFormatError, "v", "abc"),
    ("t,i,j,k,v,q\n2022,156,392,280530,-1,1\n", SourceFormatError, "v", "-1.0"),
    ("t,i,j,k,v,q\n22x,156,392,280530,1,1\n", SourceFormatError, "t", "22x"),
    ("t,i,j,k,v,q\n1850,156,392,280530,1,1\n", SourceFormatError, "t", "1850"),
    ("t,i,j,k,v,q\n2022,156,392,85x511,1,1\n", SourceFormatError, "k", "85x511"),
    ("t,i,j,k,v,q\n2022,156,392,280530,1,-2\n", SourceFormatError, "q", "-2"),
    # NaN and infinities are not values: a NaN would become 0 in a sum
    ("t,i,j,k,v,q\n2022,156,392,280530,nan,1\n", SourceFormatError, "v", "nan"),
    ("t,i,j,k,v,q\n2022,156,392,280530,inf,1\n", SourceFormatError, "v", "inf"),
    ("t,i,j,k,v,q\n2022,156,392,280530,1,NaN\n", SourceFormatError, "q", "NaN"),
    ("t,i,j,k,v,q\n2022,156,392,280530,1,-inf\n", SourceFormatError, "q", "-inf"),
    ("t,i,j,k,v,q\n2022,999,392,280530,1,1\n2022,998,392,280530,1,1\n", UnknownCountryError,
     "i", [998, 999]),  # every unknown code is named
    ("t,i,j,k,v,q\n2022,156,392,280530,1,1\n2022,156,4", SourceFormatError, "(end of file)",
     None),
    ("t,i,j,k,v,q\n2022,156,392,280530,1,1\n2022,156,4\n", SourceFormatError, "line",
     "2022,156,4"),
    ("", SourceFormatError, None, None),
])
def test_bad_files_raise_named_errors(tmp_path: Path, text, error, field, value):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(error) as info:
        baci.convert_to_parquet(path, tmp_path / "pq")
    assert info.value.field == field
    if value is not None:
        assert info.value.value == value
    assert "bad.csv" in str(info.value)
    assert not (tmp_path / "pq").exists()
    assert not list(tmp_path.glob(".pq.*"))  # the temporary folder is removed


def test_bad_value_names_the_line(tmp_path: Path):
    path = tmp_path / "bad.csv"
    path.write_text("t,i,j,k,v,q\n2022,156,392,280530,1,1\n2022,156,392,280530,1.2.3,1\n")
    with pytest.raises(SourceFormatError) as info:
        baci.read_baci(path)
    assert (info.value.field, info.value.value, info.value.row) == ("v", "1.2.3", 3)


def test_legacy_pseudo_code_is_kept(tmp_path: Path):
    # BACI's HS92 product list holds non-WCO codes such as 9999AA; they are not padded
    path = tmp_path / "BACI_HS92_Y1995_V202401.csv"
    path.write_text("t,i,j,k,v,q\n1995,156,392,9999AA,4,\n1995,156,392,10111,1,2\n")
    table = baci.read_baci(path)
    assert table["product"].tolist() == ["010111", "9999AA"]
    assert table["source"].iloc[0] == "CEPII BACI (HS92 V202401)"


def test_missing_inputs(tmp_path: Path):
    with pytest.raises(DataNotFoundError):
        baci.convert_to_parquet(tmp_path / "none.csv", tmp_path / "pq")
    with pytest.raises(DataNotFoundError, match="convert_to_parquet"):
        baci.basket_panel(tmp_path, ["280530"])


def test_product_codes_file(tmp_path: Path):
    path = tmp_path / "product_codes_HS22_V202401.csv"
    path.write_text('code,description\n10121,"Horses: live, pure-bred breeding animals"\n'
                    "9999AA,Commodities not specified\n")
    table = baci.read_product_codes(path)
    assert table["code"].tolist() == ["010121", "9999AA"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path.write_text("code\n10121\n")
        with pytest.raises(SourceFormatError) as info:
            baci.read_product_codes(path)
        assert info.value.field == "description"


def test_repeated_key_is_an_error_not_a_sum(tmp_path: Path):
    # two rows for 2022, China (156) -> Japan (392), 280530: summing would give 3.5
    path = tmp_path / "repeat.csv"
    path.write_text("t,i,j,k,v,q\n2022,156,392,280530,1,1\n2022,156,392,280530,2.5,1\n")
    with pytest.raises(SchemaError) as info:
        baci.read_baci(path)
    assert info.value.field == "t,i,j,k"
    assert info.value.value == {"t": 2022, "i": 156, "j": 392, "k": "280530"}
    assert "repeat.csv" in str(info.value)


def test_quantity_is_kept_and_missing_stays_missing(tmp_path: Path):
    # q in tons -> kg (x 1000); NA stays missing, never 0
    path = tmp_path / "q.csv"
    path.write_text("t,i,j,k,v,q\n2022,156,392,280530,1,2.5\n2022,156,392,284690,1,NA\n")
    table = baci.read_baci(path).set_index("product")
    assert table.loc["280530", "quantity"] == 2500.0
    assert table.loc["280530", "quantity_unit"] == "kg"
    assert pd.isna(table.loc["284690", "quantity"])

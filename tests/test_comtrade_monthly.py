"""China's monthly critical-mineral exports (UN Comtrade via qennis/ChinaCriticalMineralComtrade)."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from research import datasets
from research.errors import SourceFormatError, UnknownCountryError
from research.schemas import TRADE_FLOWS
from research.sources import comtrade_monthly

NAME = "china_exports_monthly"


@pytest.fixture(scope="module")
def folder(raw_dir: Path) -> Path:
    return raw_dir / comtrade_monthly.FOLDER


@pytest.fixture(scope="module")
def flows(folder: Path) -> pd.DataFrame:
    return comtrade_monthly.read_comtrade_tables(folder)


def _row(flows: pd.DataFrame, partner: str, product: str, month: str) -> pd.Series:
    found = flows[flows["partner_iso3"].eq(partner) & flows["product"].eq(product)
                  & flows["period"].eq(pd.Timestamp(month))]
    assert len(found) == 1
    return found.iloc[0]


def test_row_count_is_the_three_tables(flows: pd.DataFrame) -> None:
    # wc -l: country_monthly_stats.csv 2886, overview_monthly.csv 385,
    # deep_dive_hs6_monthly.csv 6443 lines, each with one header: 2885 + 384 + 6442.
    assert len(flows) == 2885 + 384 + 6442
    assert flows["period"].min() == pd.Timestamp("2017-01-01")
    assert flows["period"].max() == pd.Timestamp("2024-12-01")


def test_group_partner_value(flows: pd.DataFrame) -> None:
    # country_monthly_stats.csv line 2: 2017-01-01,9328564.0,3424288.594,...,Graphite,South Korea
    row = _row(flows, "KOR", "graphite", "2017-01-01")
    assert row["value_usd"] == 9328564.0
    assert row["quantity"] == pytest.approx(3424288.594)
    assert row["product_level"] == "group" and row["freq"] == "M"
    assert row["source"] == "UN Comtrade via qennis/ChinaCriticalMineralComtrade (2025-12-15)"


def test_zero_quantity_with_value_is_missing(flows: pd.DataFrame) -> None:
    # country_monthly_stats.csv line 945: 2017-03-01,5927366.0,0.0,inf,...,Gallium/Germanium,Netherlands
    row = _row(flows, "NLD", "gallium_germanium", "2017-03-01")
    assert row["value_usd"] == 5927366.0
    assert math.isnan(row["quantity"])
    # overview_monthly.csv line 4: 2017-01-01,Polysilicon,7525957.0,0.0,inf
    row = _row(flows, "WLD", "polysilicon", "2017-01-01")
    assert row["value_usd"] == 7525957.0 and math.isnan(row["quantity"])


def test_world_rows_from_overview(flows: pd.DataFrame) -> None:
    # overview_monthly.csv line 385: 2024-12-01,Rare Earths,295307229.0,12998905.908,...
    row = _row(flows, "WLD", "rare_earths", "2024-12-01")
    assert row["value_usd"] == 295307229.0
    assert row["quantity"] == pytest.approx(12998905.908)
    # 4 groups x 96 months of world rows (overview_monthly.csv has 384 data rows)
    assert flows["partner_iso3"].eq("WLD").sum() == 384


def test_hs6_rows_from_deep_dive(flows: pd.DataFrame) -> None:
    # deep_dive_hs6_monthly.csv line 4: 2017-01-01,Belgium,250410,501880.0,300948.978,...
    row = _row(flows, "BEL", "250410", "2017-01-01")
    assert row["value_usd"] == 501880.0 and row["product_level"] == "hs6"
    assert row["quantity"] == pytest.approx(300948.978)
    # line 5: 2017-01-01,Belgium,811292,87500.0,0.0,inf -> no weight reported
    assert math.isnan(_row(flows, "BEL", "811292", "2017-01-01")["quantity"])
    # Taiwan is listed as "Taiwan" in these tables
    assert "TWN" in set(flows["partner_iso3"])


def test_group_names(flows: pd.DataFrame) -> None:
    groups = set(flows.loc[flows["product_level"].eq("group"), "product"])
    assert groups == {"rare_earths", "gallium_germanium", "graphite", "polysilicon"}
    assert set(flows.loc[flows["product_level"].eq("hs6"), "product"]) == {
        "250410", "380110", "811292"}


def test_bundled_table_matches_schema() -> None:
    table = datasets.load(NAME)
    TRADE_FLOWS.validate(table)
    assert len(table) == 9711




def _copy_head(folder: Path, name: str, tmp_path: Path, lines: int = 6) -> Path:
    text = (folder / name).read_text(encoding="utf-8").splitlines()[:lines]
    target = tmp_path / name
    target.write_text("\n".join(text) + "\n", encoding="utf-8")
    return target


def test_missing_column_names_file_and_field(folder: Path, tmp_path: Path) -> None:
    path = _copy_head(folder, comtrade_monthly.PARTNER_FILE, tmp_path)
    frame = pd.read_csv(path).drop(columns=["val"])
    frame.to_csv(path, index=False)
    with pytest.raises(SourceFormatError, match="country_monthly_stats.csv") as error:
        comtrade_monthly.read_partner_groups(path)
    assert error.value.field == "val"


def test_non_numeric_cell_names_row(folder: Path, tmp_path: Path) -> None:
    path = _copy_head(folder, comtrade_monthly.HS6_FILE, tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines()
    parts = lines[2].split(",")
    parts[3] = "n/a"  # the val cell of file line 3
    lines[2] = ",".join(parts)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(SourceFormatError, match="deep_dive_hs6_monthly.csv") as error:
        comtrade_monthly.read_partner_hs6(path)
    assert error.value.field == "val" and error.value.row == 3 and error.value.value == "n/a"


def test_unknown_group_and_partner(folder: Path, tmp_path: Path) -> None:
    path = _copy_head(folder, comtrade_monthly.PARTNER_FILE, tmp_path)
    frame = pd.read_csv(path)
    frame.loc[0, "broad_group"] = "Lithium"
    frame.to_csv(path, index=False)
    with pytest.raises(SourceFormatError) as error:
        comtrade_monthly.read_partner_groups(path)
    assert error.value.field == "broad_group"
    frame = pd.read_csv(_copy_head(folder, comtrade_monthly.PARTNER_FILE, tmp_path))
    frame.loc[0, "partner_name"] = "Atlantis"
    frame.to_csv(path, index=False)
    with pytest.raises(UnknownCountryError, match="Atlantis"):
        comtrade_monthly.read_partner_groups(path)


def test_negative_value_rejected(folder: Path, tmp_path: Path) -> None:
    path = _copy_head(folder, comtrade_monthly.WORLD_FILE, tmp_path)
    frame = pd.read_csv(path)
    frame.loc[1, "total_value"] = -5.0
    frame.to_csv(path, index=False)
    with pytest.raises(SourceFormatError) as error:
        comtrade_monthly.read_world_groups(path)
    assert error.value.field == "total_value" and error.value.row == 3

"""The Yotov et al. (2016) structural-gravity panel."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from research import datasets
from research.errors import SourceFormatError
from research.sources import gravity

NAME = "gravity_agtpa"


@pytest.fixture(scope="module")
def csv_path(raw_dir: Path) -> Path:
    return raw_dir / gravity.FOLDER / gravity.CSV_FILE


@pytest.fixture(scope="module")
def panel(csv_path: Path) -> pd.DataFrame:
    return gravity.read_gravity_csv(csv_path)


def _row(panel: pd.DataFrame, exporter: str, importer: str, year: int) -> pd.Series:
    found = panel[panel["exporter"].eq(exporter) & panel["importer"].eq(importer)
                  & panel["year"].eq(year)]
    assert len(found) == 1
    return found.iloc[0]


def test_counts(panel: pd.DataFrame) -> None:
    # PROVENANCE: 99,981 rows, 1,449 internal flows, 8,475 zero flows, 69 countries
    assert len(panel) == 99981
    assert panel["exporter"].eq(panel["importer"]).sum() == 1449
    assert panel["trade"].eq(0).sum() == 8475
    assert panel["exporter"].nunique() == 69


def test_values(panel: pd.DataFrame) -> None:
    # Chapter2Application2.csv line 19770: CHN,JPN,599,1990,5632.716624938965,1974.968...,0,0,0,0.0
    row = _row(panel, "CHN", "JPN", 1990)
    assert row["trade"] == pytest.approx(5632.716624938965)
    assert row["pair_id"] == 599 and row["DIST"] == pytest.approx(1974.9681622097014)
    # line 2: ARG,ARG,12339,1986,61288.59... (PROVENANCE: ARG->ARG 1986 = 61,289 USD million)
    assert _row(panel, "ARG", "ARG", 1986)["trade"] == pytest.approx(61288.59026286057)


def test_romania_mapped_to_rou(panel: pd.DataFrame) -> None:
    # line 99170: ROM,DEU,1216,2006,4654.932519943237,1341.096...,0,0,0,1.0
    row = _row(panel, "ROU", "DEU", 2006)
    assert row["trade"] == pytest.approx(4654.932519943237) and row["RTA"] == 1
    assert "ROM" not in set(panel["exporter"]) | set(panel["importer"])
    # grep -c '^ROM,' = 1449 rows with Romania as exporter
    assert panel["exporter"].eq("ROU").sum() == 1449


def test_dtypes(panel: pd.DataFrame) -> None:
    assert panel["year"].dtype == "int64" and panel["pair_id"].dtype == "int64"
    assert panel["RTA"].dtype == "int64" and panel["trade"].dtype == "float64"


def test_bundled_table_matches_schema() -> None:
    table = datasets.load(NAME)
    gravity.GRAVITY_PANEL.validate(table)
    assert len(table) == 99981




def _small_copy(csv_path: Path, tmp_path: Path) -> tuple[pd.DataFrame, Path]:
    return pd.read_csv(csv_path, nrows=6), tmp_path / gravity.CSV_FILE


def test_missing_column(csv_path: Path, tmp_path: Path) -> None:
    frame, path = _small_copy(csv_path, tmp_path)
    frame.drop(columns=["DIST"]).to_csv(path, index=False)
    with pytest.raises(SourceFormatError, match=gravity.CSV_FILE) as error:
        gravity.read_gravity_csv(path)
    assert error.value.field == "DIST"


def test_non_numeric_trade(csv_path: Path, tmp_path: Path) -> None:
    frame, path = _small_copy(csv_path, tmp_path)
    frame["trade"] = frame["trade"].astype(object)
    frame.loc[0, "trade"] = "x"
    frame.to_csv(path, index=False)
    with pytest.raises(SourceFormatError, match=gravity.CSV_FILE) as error:
        gravity.read_gravity_csv(path)
    assert error.value.field == "trade" and error.value.row == 2


def test_dummy_out_of_range(csv_path: Path, tmp_path: Path) -> None:
    frame, path = _small_copy(csv_path, tmp_path)
    frame.loc[3, "CNTG"] = 2
    frame.to_csv(path, index=False)
    with pytest.raises(SourceFormatError) as error:
        gravity.read_gravity_csv(path)
    assert error.value.field == "CNTG" and error.value.row == 5

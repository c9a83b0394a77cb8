"""The file-reader registry and ``research data read``."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from research import readers
from research.cli import app
from research.errors import DataNotFoundError, ParameterError, SourceFormatError
from research.schemas import MILITARY_EXPENDITURE, TRADE_FLOWS
from research.sources import sipri

BUILT_IN = {"sipri", "wits", "wits_long", "comtrade", "worldbank", "fred", "fred_datahub",
            "gravity"}
WDI_BULK = "defense/worldbank_API_MS.MIL.XPND.GD.ZS_DS2_en_csv_v2_2018-02-22.csv"

# Long CSV lines 2-3 of the WITS extract in WITS's own layout (see test_wits.py).
WITS_EXPORT = ("Reporter,TradeFlow,ProductCode,Product Description,Year,Partner,"
               "Trade Value 1000USD,Quantity,Quantity Unit\n"
               "China,Export,280530,Rare-earth metals,2010,Australia,66.8,7000,Kg\n"
               "China,Export,280530,Rare-earth metals,2010,Austria,336.18,4210,Kg\n")


def test_registry_collects_the_source_modules() -> None:
    found = readers.file_readers()
    assert BUILT_IN <= set(found)
    assert found["sipri"] is sipri.read_sipri_file
    assert "research.sources.baci" in readers.reader_modules()


def test_unknown_source_lists_known_readers(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="unknown file source 'sipry'") as caught:
        readers.read_file("sipry", tmp_path / "x.xlsx")
    assert all(name in str(caught.value) for name in BUILT_IN)
    if "research.sources.baci" in readers.unavailable_modules():  # while it is being written
        assert "research.sources.baci not found" in str(caught.value)


def test_missing_module_tolerated_broken_module_raised(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "broken_reader_source.py").write_text("import no_such_package_for_readers\n")
    (tmp_path / "twin_reader_source.py").write_text(
        "from research.sources.fred import read_fred_csv\nFILE_READERS = {'fred': read_fred_csv}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(readers, "reader_modules",
                        lambda: (*readers.READER_MODULES, "research.sources.not_written_yet"))
    assert "research.sources.not_written_yet" in readers.unavailable_modules()
    assert BUILT_IN <= set(readers.file_readers())
    monkeypatch.setattr(readers, "reader_modules", lambda: ("broken_reader_source",))
    with pytest.raises(ModuleNotFoundError, match="no_such_package_for_readers"):
        readers.file_readers()
    monkeypatch.setattr(readers, "reader_modules",
                        lambda: ("research.sources.fred", "twin_reader_source"))
    with pytest.raises(ValueError, match="'fred' defined by both"):
        readers.file_readers()
    for name in ("broken_reader_source", "twin_reader_source"):
        sys.modules.pop(name, None)


def test_read_file_small_wits_export(tmp_path: Path) -> None:
    path = tmp_path / "WITS.csv"
    path.write_text(WITS_EXPORT)
    table = readers.read_file("wits", path)
    TRADE_FLOWS.validate(table)
    assert table["value_usd"].tolist() == [66800.0, 336180.0]  # 66.8 and 336.18 thousand
    with pytest.raises(DataNotFoundError, match="nothing.csv"):
        readers.read_file("wits", tmp_path / "nothing.csv")


@pytest.mark.shared
@pytest.mark.slow  # reads every sheet of the SIPRI workbook again (test_sipri does too)
def test_read_file_real_files(raw_dir: Path) -> None:
    milex = readers.read_file("sipri", raw_dir / sipri.SIPRI_FILE)
    MILITARY_EXPENDITURE.validate(milex)
    assert milex["measure"].nunique() == 7  # every country sheet of the 2024 release
    wdi = readers.read_file("worldbank", raw_dir / WDI_BULK)
    # PROVENANCE: Japan 2016 = 0.9345 percent of GDP
    japan = wdi[(wdi.country_code == "JPN") & (wdi.year == 2016)].iloc[0]
    assert japan.value == pytest.approx(0.9345, abs=5e-5) and japan.unit == "% of GDP"
    rates = readers.read_file("fred_datahub", raw_dir / "defense/fred_exchange_rates_yearly.csv")
    assert rates[(rates.country == "Japan") & (rates.date == "2024-01-01")].rate.iloc[0] == (
        151.4551)  # PROVENANCE: Japan 2024 = 151.4551 JPY per USD


def test_output_format() -> None:
    assert readers.output_format("a.parquet") == "parquet"
    assert readers.output_format("a.CSV") == "csv"
    with pytest.raises(ParameterError, match=r"'\.xlsx'"):
        readers.output_format("a.xlsx")


# ------------------------------------------------------------------------------ CLI

def run(*args: str):
    return CliRunner().invoke(app, ["data", "read", *args])


def flat(text: str) -> str:
    return " ".join(text.split())  # rich wraps long messages


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_cli_writes_table(tmp_path: Path, suffix: str) -> None:
    source = tmp_path / "WITS.csv"
    source.write_text(WITS_EXPORT)
    out = tmp_path / "out" / f"flows{suffix}"
    result = run("wits", str(source), "--out", str(out))
    assert result.exit_code == 0, result.output
    written = pd.read_parquet(out) if suffix == ".parquet" else pd.read_csv(out, dtype=str)
    assert written["partner_iso3"].tolist() == ["AUS", "AUT"]
    assert [float(v) for v in written["value_usd"]] == [66800.0, 336180.0]
    assert "2 rows" in flat(result.stderr)
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no temporary file left


def test_cli_failures_leave_no_output(tmp_path: Path) -> None:
    source = tmp_path / "WITS.csv"
    source.write_text(WITS_EXPORT[:-25])  # the Austria line cut short
    out = tmp_path / "flows.parquet"
    result = run("wits", str(source), "--out", str(out))
    assert result.exit_code == 1
    assert "WITS.csv: row 3" in flat(result.stderr) and "cut short" in flat(result.stderr)
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["WITS.csv"]
    # an unknown source, an unknown extension, a missing file
    result = run("nope", str(source), "--out", str(out))
    assert result.exit_code == 1 and "unknown file source 'nope'" in flat(result.stderr)
    source.write_text(WITS_EXPORT)
    result = run("wits", str(source), "--out", str(tmp_path / "flows.xlsx"))
    assert result.exit_code == 1 and "unknown output type '.xlsx'" in flat(result.stderr)
    result = run("wits", str(tmp_path / "none.csv"), "--out", str(out))
    assert result.exit_code == 1 and "none.csv: file not found" in flat(result.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["WITS.csv"]


def test_cli_failure_while_writing_leaves_nothing(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "WITS.csv"
    source.write_text(WITS_EXPORT)
    out = tmp_path / "flows.parquet"

    def failing(self: pd.DataFrame, path: Path, **kwargs: object) -> None:
        Path(path).write_bytes(b"PAR1 half")  # a partial file, then the writer fails
        raise SourceFormatError(str(path), "disk full")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", failing)
    result = run("wits", str(source), "--out", str(out))
    assert result.exit_code == 1 and "disk full" in flat(result.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["WITS.csv"]

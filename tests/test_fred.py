"""Federal Reserve (FRED/datahub) exchange-rate readers and the fred_fx_annual extract."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from research.errors import SourceFormatError
from research.sources import fred


@pytest.fixture(scope="module")
def rates(raw_dir: Path) -> pd.DataFrame:
    return fred.build_fred_fx_annual(raw_dir)


def rate(table: pd.DataFrame, country: str, year: int) -> pd.Series:
    return table[(table.country == country) & (table.year == year)].iloc[0]


@pytest.mark.shared
def test_schema_and_coverage(rates: pd.DataFrame) -> None:
    fred.FRED_FX_ANNUAL.validate(rates)
    # 6 series with every year 1990-2025 (36) + Euro from 1999 (27) = 243 rows.
    assert len(rates) == 6 * 36 + 27
    assert set(rates.country) == set(fred.EXTRACT_COUNTRIES)
    assert rate(rates, "Euro", 1999).year == 1999 and rates[rates.country == "Euro"].year.min() == 1999


@pytest.mark.shared
def test_values_and_quote(rates: pd.DataFrame) -> None:
    # PROVENANCE: Japan 2024 = 151.4551 JPY per USD.
    japan = rate(rates, "Japan", 2024)
    assert (japan.rate, japan.currency, japan.quote, japan.iso3) == (151.4551, "JPY", "per USD",
                                                                      "JPN")
    # Raw line "2024-01-01,Euro,0.9242". The euro was worth more than a dollar in 2024
    # (about US$1.08), so a rate below 1 is EUR per USD, not USD per EUR: the README's
    # "USD per unit" does not hold for these files.
    euro = rate(rates, "Euro", 2024)
    assert euro.rate == 0.9242 and euro.rate < 1 and euro.quote == "per USD"
    assert pd.isna(euro.iso3)
    assert set(rates.quote) == {"per USD"}


@pytest.mark.shared
def test_monthly_layout(raw_dir: Path) -> None:
    monthly = fred.read_fred_rates(raw_dir / "defense/fred_exchange_rates_monthly.csv")
    # PROVENANCE: Japan 2026-01 = 156.6505; 17,237 rows; the monthly file has the UK.
    row = monthly[(monthly.country == "Japan") & (monthly.date == "2026-01-01")]
    assert row.rate.iloc[0] == 156.6505
    assert len(monthly) == 17237 and "United Kingdom" in set(monthly.country)




def test_errors_name_file_line_and_value(tmp_path: Path) -> None:
    header = tmp_path / "header.csv"
    header.write_text("Date,Country,Rate\n2024-01-01,Japan,150\n")
    with pytest.raises(SourceFormatError, match="header.csv.*header"):
        fred.read_fred_rates(header)
    bad = tmp_path / "bad.csv"
    bad.write_text("Date,Country,Value\n2023-01-01,Japan,140.5\n2024-01-01,Japan,n/a\n")
    with pytest.raises(SourceFormatError, match=r"bad.csv: row 3: field 'Value': value 'n/a'"):
        fred.read_fred_rates(bad)
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("Date,Country,Value\n2024-01-01,Atlantis,1.0\n")
    with pytest.raises(SourceFormatError, match="Atlantis"):
        fred.read_fred_rates(unknown)


# ------------------------------------------------------------- FRED's own CSV download

# Values from raw fred_exchange_rates_yearly.csv lines 419-421 (Japan 2022-2024) and
# 762-764 (South Korea), laid out as FRED's download of the annual series AEXJPUS and
# AEXKOUS ("observation_date" header; "." for a missing observation in older files).
FREDGRAPH = ("observation_date,AEXJPUS,AEXKOUS\n"
             "2021-01-01,.,\n"
             "2022-01-01,131.4589,1291.7796\n"
             "2023-01-01,140.5001,1306.7637\n"
             "2024-01-01,151.4551,1363.4381\n")


def test_fred_download_layout(tmp_path: Path) -> None:
    path = tmp_path / "fredgraph.csv"
    path.write_text(FREDGRAPH)
    table = fred.read_fred_csv(path)
    # 2 series x 3 years with values; 2021 is '.' and empty: absent rows
    assert len(table) == 6 and table.date.min() == pd.Timestamp("2022-01-01")
    japan = table[table.series_id == "AEXJPUS"].set_index("date")
    assert japan.loc["2024-01-01", "value"] == 151.4551
    assert set(japan["unit"]) == {"JPY per USD"}
    assert set(table.loc[table.series_id == "AEXKOUS", "unit"]) == {"KRW per USD"}
    # the file layout of before 2024 ("DATE") and a series that is not an exchange rate
    old = tmp_path / "old.csv"
    old.write_text("DATE,GDPC1,DEXUSEU\n2024-01-01,23000.5,1.0824\n")
    table = fred.read_fred_csv(old)
    assert table.set_index("series_id")["unit"].isna().to_dict() == {"DEXUSEU": False,
                                                                    "GDPC1": True}
    assert table.set_index("series_id").loc["DEXUSEU", "unit"] == "USD per EUR"


@pytest.mark.parametrize(("text", "message"), [
    (FREDGRAPH[:FREDGRAPH.rindex(",")], r"row 5.*2 fields.*cut short"),  # last line cut
    (FREDGRAPH.replace("2023-01-01", "2023-13-01"), r"row 4: field 'observation_date'"),
    (FREDGRAPH.replace("140.5001", "n/a"), r"row 4: field 'AEXJPUS': value 'n/a'"),
    (FREDGRAPH.replace("2023-01-01", "2022-01-01"), r"same date.*lines \[3, 4\]"),
    ("observation_date,AEXJPUS\n2024-01-01,.\n", "no observation holds a value"),
    ("observation_date\n2024-01-01\n", "no series column"),
    ("Date,Country,Value\n2024-01-01,Japan,151.4551\n", r"field 'Country'.*'Japan'"),
    ("series,value\nAEXJPUS,1\n", "not the FRED date column"),
    # infinities and a negative exchange rate: named file, line, series and value
    (FREDGRAPH.replace("140.5001", "inf"), r"row 4: field 'AEXJPUS': value 'inf': infinite"),
    (FREDGRAPH.replace("140.5001", "-inf"), r"row 4: field 'AEXJPUS': value '-inf'"),
    (FREDGRAPH.replace("140.5001", "1e999"), r"field 'AEXJPUS': value '1e999': infinite"),
    (FREDGRAPH.replace("140.5001", "-140.5"),
     r"row 4: field 'AEXJPUS': value '-140.5': an exchange rate \(JPY per USD\) must be pos"),
    (FREDGRAPH.replace("1306.7637", "0"), r"field 'AEXKOUS': value '0'.*must be positive"),
    (FREDGRAPH.replace("2023-01-01", "1600-01-01"), r"row 4: field 'observation_date'"),
    (FREDGRAPH.replace("2023-01-01", "9999-01-01"), r"row 4: field 'observation_date'"),
])
def test_fred_download_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "fredgraph.csv"
    path.write_text(text)
    with pytest.raises(SourceFormatError, match=message):
        fred.read_fred_csv(path)


def test_datahub_layout_cut_short_and_duplicates(tmp_path: Path) -> None:
    cut = tmp_path / "cut.csv"
    cut.write_text("Date,Country,Value\n2023-01-01,Japan,140.5001\n2024-01-01,Jap")
    with pytest.raises(SourceFormatError, match=r"cut\.csv: row 3.*2 fields"):
        fred.read_fred_rates(cut)
    twice = tmp_path / "twice.csv"
    twice.write_text("Date,Country,Value\n2024-01-01,Japan,151.4551\n2024-01-01,Japan,151\n")
    with pytest.raises(SourceFormatError, match=r"twice\.csv: row 3.*lines \[2, 3\]"):
        fred.read_fred_rates(twice)
    empty = tmp_path / "empty.csv"
    empty.write_text("Date,Country,Value\n")
    with pytest.raises(SourceFormatError, match="no data rows"):
        fred.read_fred_rates(empty)


def test_negative_values_of_other_series_are_kept(tmp_path: Path) -> None:
    # A growth rate may be negative; only exchange-rate series must be positive.
    path = tmp_path / "growth.csv"
    path.write_text("observation_date,A191RL1Q225SBEA\n2020-04-01,-28.0\n")
    assert fred.read_fred_csv(path)["value"].tolist() == [-28.0]


@pytest.mark.parametrize("value", ["inf", "-inf", "-151.4", "0", "nan"])
def test_datahub_rate_must_be_finite_and_positive(tmp_path: Path, value: str) -> None:
    path = tmp_path / "rates.csv"
    path.write_text(f"Date,Country,Value\n2023-01-01,Japan,140.5\n2024-01-01,Japan,{value}\n")
    with pytest.raises(SourceFormatError, match=rf"rates\.csv: row 3: field 'Value': value "
                       rf"'{value}': an exchange rate must be a finite positive number"):
        fred.read_fred_rates(path)

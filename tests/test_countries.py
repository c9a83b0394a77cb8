"""Country normalizer: names and codes from each source map to ISO3."""

import json

import pandas as pd
import pycountry
import pytest

from research.countries import (
    country_name,
    from_comtrade_code,
    is_aggregate,
    normalize,
    to_comtrade_code,
    to_iso3,
)
from research.errors import UnknownCountryError


@pytest.mark.parametrize(("value", "iso3"), [
    ("Korea, Rep.", "KOR"),          # WITS / World Bank
    ("Korea, South", "KOR"),         # SIPRI
    ("Other Asia, nes", "TWN"),      # UN Comtrade / WITS name for Taiwan
    (490, "TWN"),                    # UN Comtrade numeric code of "Other Asia, nes"
    ("392", "JPN"),                  # ISO numeric / Comtrade code of Japan
    (156, "CHN"),
    ("United States of America", "USA"),
    ("Türkiye", "TUR"),
    ("Viet Nam", "VNM"),
    ("Hong Kong", "HKG"),
    ("World", "WLD"),
    ("ROM", "ROU"),                  # old code in the Yotov et al. (2016) panel
    ("jpn", "JPN"),
])
def test_known_names_and_codes(value, iso3):
    assert to_iso3(value) == iso3


def test_natural_earth_missing_marker_is_not_a_code():
    assert to_iso3("-99") is None


def test_unknown_names_are_all_reported():
    with pytest.raises(UnknownCountryError) as info:
        normalize(["Japan", "Atlantis", "Narnia"], source="partners.csv", field="partner")
    message = str(info.value)
    assert "partners.csv" in message and "'partner'" in message
    assert "Atlantis" in message and "Narnia" in message


def test_country_name():
    assert country_name("TWN") == "Taiwan"
    assert country_name("KOR") == "South Korea"  # ISO 3166 common name


# --- UN Comtrade numeric codes -------------------------------------------------------
# Codes and names: UN Comtrade reference file partnerAreas.json (legacy API partner list,
# copy in github.com/sashakrasnov/uncomtrade at 084154f2479cbcb98a26f0963c22daddb16074d0).
# Expected ISO3: ISO 3166-1 alpha-3 of the named country (France FRA = numeric 250, Italy
# ITA = 380, Norway NOR = 578, India IND = 356, Switzerland CHE = 756, USA = 840); 490
# "Other Asia, nes" is Taiwan (TWN, ISO 158) in practice.
COMTRADE_EXCEPTIONS = [(0, "WLD"), (251, "FRA"), (381, "ITA"), (490, "TWN"), (579, "NOR"),
                       (699, "IND"), (757, "CHE"), (842, "USA")]


@pytest.mark.parametrize(("code", "iso3"), COMTRADE_EXCEPTIONS)
def test_comtrade_codes_that_differ_from_iso_numeric(code, iso3):
    assert from_comtrade_code(code) == iso3
    assert from_comtrade_code(str(code)) == iso3
    assert to_comtrade_code(iso3) == code
    assert to_iso3(code) == iso3  # the general normalizer knows them too


@pytest.mark.parametrize(("code", "iso3"), [
    (392, "JPN"), (156, "CHN"), (410, "KOR"), (276, "DEU"), (344, "HKG"), (704, "VNM"),
    ("076", "BRA"),
    (840, "USA"), (250, "FRA"), (356, "IND"),  # ISO numbers, used in some BACI releases
])
def test_iso_numeric_codes(code, iso3):
    # ISO 3166-1 numeric: Japan 392, China 156, Korea 410, Germany 276, Hong Kong 344,
    # Viet Nam 704, Brazil 076, USA 840, France 250, India 356.
    assert from_comtrade_code(code) == iso3


def test_to_comtrade_code_of_plain_iso_country():
    assert to_comtrade_code("JPN") == 392
    assert to_comtrade_code("kor") == 410


def test_comtrade_round_trip_for_every_iso_country():
    for country in pycountry.countries:
        assert from_comtrade_code(to_comtrade_code(country.alpha_3)) == country.alpha_3


@pytest.mark.parametrize("code", [899, 568, "abc", -1, ""])
def test_unknown_comtrade_code_is_named(code):
    # 899 "Areas, nes" and 568 "Other Europe, nes" are residual areas, not countries
    with pytest.raises(UnknownCountryError) as info:
        from_comtrade_code(code)
    assert repr(code) in str(info.value)


def test_unknown_iso3_has_no_comtrade_code():
    with pytest.raises(UnknownCountryError, match="'XYZ'"):
        to_comtrade_code("XYZ")


def test_comtrade_api_records_codes_agree_with_iso_fields(fixtures_dir):
    record = json.loads((fixtures_dir / "comtrade_api" / "data_v1_get_C_A_HS-60a6ad.json")
                        .read_text())["data"]
    assert len(record) == 4
    for row in record:
        assert from_comtrade_code(row["reporterCode"]) == row["reporterISO"]
        assert from_comtrade_code(row["partnerCode"]) == row["partnerISO"]
        assert to_iso3(row["partnerDesc"]) == row["partnerISO"]
        assert from_comtrade_code(row["partner2Code"]) == "WLD"
        assert to_iso3(row["partner2ISO"]) == "WLD"  # Comtrade writes World as "W00"


# --- names from each source ----------------------------------------------------------
@pytest.mark.parametrize(("name", "code", "iso3"), [
    # Comtrade descriptions with their partnerAreas.json codes; ISO3 from ISO 3166-1
    ("Rep. of Korea", 410, "KOR"),
    ("China, Hong Kong SAR", 344, "HKG"),
    ("China, Macao SAR", 446, "MAC"),
    ("Other Asia, nes", 490, "TWN"),
    ("USA", 842, "USA"),
    ("Dem. People's Rep. of Korea", 408, "PRK"),
    ("Dem. Rep. of the Congo", 180, "COD"),
    ("Lao People's Dem. Rep.", 418, "LAO"),
    ("Rep. of Moldova", 498, "MDA"),
    ("United Rep. of Tanzania", 834, "TZA"),
    ("Br. Virgin Isds", 92, "VGB"),
    ("Cayman Isds", 136, "CYM"),
    ("Bosnia Herzegovina", 70, "BIH"),
    ("TFYR of Macedonia", 807, "MKD"),
    ("State of Palestine", 275, "PSE"),
    ("Bolivia (Plurinational State of)", 68, "BOL"),
    ("Saint Maarten", 534, "SXM"),
    ("Bonaire", 535, "BES"),
    ("Côte d'Ivoire", 384, "CIV"),
    ("Curaçao", 531, "CUW"),
    ("Switzerland", 757, "CHE"),
    ("Norway", 579, "NOR"),
])
def test_comtrade_descriptions_agree_with_their_codes(name, code, iso3):
    assert to_iso3(name) == iso3
    assert from_comtrade_code(code) == iso3


@pytest.mark.parametrize(("name", "iso3"), [
    ("Korea, Rep.", "KOR"),             # WITS / World Bank
    ("Iran, Islamic Rep.", "IRN"),      # WITS / World Bank
    ("Hong Kong, China", "HKG"),        # WITS
    ("Macao, China", "MAC"),            # WITS
    ("Korea, Dem. People’s Rep.", "PRK"),  # World Bank 2018 file, curly apostrophe
    ("China, peoples' republic of", "CHN"),  # KOSIS, korea-china-trade-data.csv
    ("Democratic Republic of Congo", "COD"),  # OWID
    ("OWID_KOS", "XKX"),                # OWID code of Kosovo
    ("S19", "TWN"),                     # BACI country_iso3 of 490
])
def test_other_source_spellings(name, iso3):
    assert to_iso3(name) == iso3


@pytest.mark.parametrize(("value", "iso3"), [
    # Natural Earth rows whose ISO_A3 is -99 (raw/geo/PROVENANCE.md): France and Norway
    # have ISO_A3_EH; the other three only ADM0_A3. N. Cyprus and Somaliland have no ISO
    # code: ISO 3166 counts them as part of Cyprus (CYP) and Somalia (SOM).
    ("KOS", "XKX"), ("CYN", "CYP"), ("SOL", "SOM"),
    ("N. Cyprus", "CYP"), ("Somaliland", "SOM"), ("Kosovo", "XKX"),
    ("SAH", "ESH"), ("PSX", "PSE"), ("SDS", "SSD"),
])
def test_natural_earth_codes(value, iso3):
    assert to_iso3(value) == iso3


def test_missing_marker_is_reported_not_dropped():
    with pytest.raises(UnknownCountryError, match="-99"):
        normalize(["FRA", "-99"], source="ne.geojson", field="ISO_A3")


def test_aggregates_are_not_countries():
    for value in ["Unspecified", "Euro", "EUU", "ARB", "Areas, nes"]:
        assert is_aggregate(value)
        assert to_iso3(value) is None
    assert not is_aggregate("Japan")


# --- every country value in the real raw files ---------------------------------------
def _check_all_known(values, source, field, aggregates=frozenset()):
    values = pd.Series(values).dropna().astype(str).unique()
    found = {v for v in values if is_aggregate(v)}
    assert found == set(aggregates), (source, field, found)
    normalize([v for v in values if v not in found], source=source, field=field)


def test_raw_trade_country_names_all_normalize(raw_dir):
    trade = raw_dir / "trade"
    long = pd.read_csv(trade / "china_ree_wits_annual" / "china_ree_exports_wits_2010_2024_long.csv")
    _check_all_known(long["partner"], "wits long", "partner", {"Unspecified"})
    _check_all_known(long["reporter"], "wits long", "reporter")
    folder = trade / "china_critical_minerals_comtrade_monthly"
    for name in ("country_monthly_stats.csv", "deep_dive_hs6_monthly.csv"):
        _check_all_known(pd.read_csv(folder / name)["partner_name"], name, "partner_name")
    korea = pd.read_csv(trade / "china_bilateral_aggregate_monthly" / "korea-china-trade-data.csv")
    assert normalize(korea["Country"].unique(), "korea-china", "Country") == ["CHN"]
    gravity = pd.read_csv(trade / "gravity_agtpa" / "Chapter2Application2.csv",
                          usecols=["exporter", "importer"])
    _check_all_known(gravity["exporter"], "gravity", "exporter")
    _check_all_known(gravity["importer"], "gravity", "importer")


def test_raw_defense_country_names_all_normalize(raw_dir):
    defense = raw_dir / "defense"
    for name in ("fred_exchange_rates_monthly.csv", "fred_exchange_rates_yearly.csv"):
        _check_all_known(pd.read_csv(defense / name)["Country"], name, "Country", {"Euro"})
    owid = pd.read_csv(defense / "owid_military-spending-as-a-share-of-gdp-sipri.csv")
    pairs = owid[["Entity", "Code"]].drop_duplicates()
    _check_all_known(pairs["Entity"], "owid", "Entity")
    coded = pairs.dropna()  # only "European Union (SIPRI)" has no code
    assert len(pairs) - len(coded) == 1
    assert normalize(coded["Entity"], "owid", "Entity") == normalize(coded["Code"], "owid", "Code")


@pytest.mark.parametrize(("name", "skip"), [
    ("worldbank_gdp_current_usd_NY.GDP.MKTP.CD.csv", 0),
    ("worldbank_API_MS.MIL.XPND.GD.ZS_DS2_en_csv_v2_2018-02-22.csv", 4),
])
def test_world_bank_names_map_to_world_bank_codes(raw_dir, name, skip):
    frame = pd.read_csv(raw_dir / "defense" / name, skiprows=skip,
                        usecols=["Country Name", "Country Code"]).drop_duplicates()
    countries = frame[~frame["Country Code"].map(is_aggregate)]
    assert len(countries) > 200
    # the World Bank's own ISO3 codes are the expected values
    assert normalize(countries["Country Name"], name, "Country Name") == \
        countries["Country Code"].tolist()


def test_natural_earth_rows_all_normalize(raw_dir):
    geopandas = pytest.importorskip("geopandas")
    frame = geopandas.read_file(raw_dir / "geo" / "ne_110m_admin_0_countries.geojson")
    code = frame["ISO_A3_EH"].where(frame["ISO_A3_EH"] != "-99", frame["ADM0_A3"])
    iso3 = normalize(code, "ne_110m_admin_0_countries.geojson", "ISO_A3_EH/ADM0_A3")
    by_name = dict(zip(frame["NAME"], iso3, strict=True))
    assert (by_name["France"], by_name["Norway"], by_name["Kosovo"]) == ("FRA", "NOR", "XKX")
    assert (by_name["N. Cyprus"], by_name["Somaliland"]) == ("CYP", "SOM")
    for field in ("NAME", "ADMIN", "NAME_LONG"):
        assert normalize(frame[field], "ne", field) == iso3

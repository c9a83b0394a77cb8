"""One normalizer from country names and codes to ISO 3166-1 alpha-3.

It covers ISO3 codes, UN/Comtrade numeric codes, and the names used by UN
Comtrade, WITS, SIPRI, the World Bank, FRED and Natural Earth. Special cases:
"Other Asia, nes" is Taiwan in UN Comtrade and WITS; "World" is ``WLD``;
Natural Earth's ``-99`` is a missing marker, not a code. Unknown names are
reported in an :class:`~research.errors.UnknownCountryError`, never dropped.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from functools import lru_cache

import pandas as pd
import pycountry

from research.errors import UnknownCountryError

# Names that ISO 3166 (pycountry) does not know under these spellings.
ALIASES: dict[str, str] = {
    "world": "WLD",
    "other asia, nes": "TWN",
    "other asia nes": "TWN",
    "taiwan": "TWN",
    "chinese taipei": "TWN",
    "taiwan, china": "TWN",
    "korea, rep.": "KOR",
    "korea, south": "KOR",
    "south korea": "KOR",
    "republic of korea": "KOR",
    "rep. of korea": "KOR",
    "korea": "KOR",
    "korea, dem. rep.": "PRK",
    "korea, dem. people's rep.": "PRK",
    "korea, north": "PRK",
    "north korea": "PRK",
    "dem. people's rep. of korea": "PRK",
    "usa": "USA",
    "us": "USA",
    "united states": "USA",
    "united states of america": "USA",
    "uk": "GBR",
    "united kingdom": "GBR",
    "russia": "RUS",
    "russian federation": "RUS",
    "iran": "IRN",
    "iran, islamic rep.": "IRN",
    "vietnam": "VNM",
    "viet nam": "VNM",
    "hong kong": "HKG",
    "hong kong, china": "HKG",
    "china, hong kong sar": "HKG",
    "hong kong sar, china": "HKG",
    "macao": "MAC",
    "macao, china": "MAC",
    "macao sar, china": "MAC",
    "china, macao sar": "MAC",
    "uae": "ARE",
    "united arab emirates": "ARE",
    "czech republic": "CZE",
    "czechia": "CZE",
    "turkey": "TUR",
    "türkiye": "TUR",
    "turkiye": "TUR",
    "slovak republic": "SVK",
    "egypt, arab rep.": "EGY",
    "egypt": "EGY",
    "venezuela": "VEN",
    "venezuela, rb": "VEN",
    "bolivia": "BOL",
    "tanzania": "TZA",
    "laos": "LAO",
    "lao pdr": "LAO",
    "syria": "SYR",
    "syrian arab republic": "SYR",
    "moldova": "MDA",
    "congo, dem. rep.": "COD",
    "congo, dr": "COD",
    "dr congo": "COD",
    "democratic republic of the congo": "COD",
    "congo, rep.": "COG",
    "congo, republic": "COG",
    "congo": "COG",
    "republic of the congo": "COG",
    "cote d'ivoire": "CIV",
    "côte d'ivoire": "CIV",
    "ivory coast": "CIV",
    "yemen, rep.": "YEM",
    "yemen": "YEM",
    "kyrgyz republic": "KGZ",
    "gambia, the": "GMB",
    "bahamas, the": "BHS",
    "micronesia, fed. sts.": "FSM",
    "st. lucia": "LCA",
    "st. kitts and nevis": "KNA",
    "st. vincent and the grenadines": "VCT",
    "brunei": "BRN",
    "cape verde": "CPV",
    "cabo verde": "CPV",
    "eswatini": "SWZ",
    "swaziland": "SWZ",
    "north macedonia": "MKD",
    "macedonia, fyr": "MKD",
    "macedonia": "MKD",
    "bosnia-herzegovina": "BIH",
    "bosnia and herzegovina": "BIH",
    "kosovo": "XKX",
    "palestine": "PSE",
    "west bank and gaza": "PSE",
    "myanmar": "MMR",
    "burma": "MMR",
    "timor leste": "TLS",
    "timor-leste": "TLS",
    "east timor": "TLS",
    "central african rep.": "CAF",
    "dominican rep.": "DOM",
    "eq. guinea": "GNQ",
    "equatorial guinea": "GNQ",
    "guinea-bissau": "GNB",
    "s. sudan": "SSD",
    "south sudan": "SSD",
    "w. sahara": "ESH",
    "western sahara": "ESH",
    "solomon is.": "SLB",
    "falkland is.": "FLK",
    "fr. s. antarctic lands": "ATF",
    "n. cyprus": "CYP",
    "somaliland": "SOM",
    "netherlands antilles": "ANT",
    "curacao": "CUW",
    "european union": "EUN",
    "eu": "EUN",
    "rom": "ROU",  # old ISO code used in the Yotov et al. (2016) gravity panel
    "zaire": "COD",
    # WITS partner spellings
    "ethiopia(excludes eritrea)": "ETH",
    "fm sudan": "SDN",  # Sudan before the 2011 split
    "occ.pal.terr": "PSE",
    "serbia, fr(serbia/montenegro)": "SRB",
    "turks and caicos isl.": "TCA",
}

# Codes that are not ISO 3166 countries but are used as partners.
EXTRA_CODES = {"WLD": "World", "EUN": "European Union", "XKX": "Kosovo",
               "ANT": "Netherlands Antilles"}


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", str(text)).strip().lower()
    return " ".join(text.split())


@lru_cache(maxsize=4096)
def _lookup(text: str) -> str | None:
    folded = _fold(text)
    if not folded or folded in {"-99", "nan", "none"}:
        return None
    if folded in ALIASES:
        return ALIASES[folded]
    upper = folded.upper()
    if len(upper) == 3 and upper.isalpha():
        if upper in EXTRA_CODES or pycountry.countries.get(alpha_3=upper):
            return upper
    if folded.isdigit():
        if int(folded) == 490:  # UN Comtrade "Other Asia, nes"
            return "TWN"
        if int(folded) == 0:
            return "WLD"
        country = pycountry.countries.get(numeric=f"{int(folded):03d}")
        return country.alpha_3 if country else None
    try:
        return pycountry.countries.lookup(str(text).strip()).alpha_3
    except LookupError:
        pass
    for country in pycountry.countries:
        names = {getattr(country, a, "") for a in ("name", "official_name", "common_name")}
        if folded in {_fold(n) for n in names if n}:
            return country.alpha_3
    return None


def to_iso3(value: str | int) -> str | None:
    """ISO3 code of one name or code, or ``None`` when unknown."""
    return _lookup(str(value))


def normalize(values: Iterable, source: str, field: str = "country") -> list[str]:
    """Map names or codes to ISO3, raising if any is unknown.

    Parameters
    ----------
    values : names or codes.
    source : file or table name, used in the error message.
    field : column name, used in the error message.

    Raises
    ------
    UnknownCountryError
        Naming every value that could not be mapped.
    """
    values = list(values)
    codes = [to_iso3(v) for v in values]
    unknown = sorted({str(v) for v, c in zip(values, codes, strict=True) if c is None})
    if unknown:
        raise UnknownCountryError(source, "unknown country name(s) or code(s); add them to "
                                  "research.countries.ALIASES", field=field, value=unknown)
    return codes  # type: ignore[return-value]


def country_name(iso3: str) -> str:
    """A short English name for an ISO3 code."""
    if iso3 in EXTRA_CODES:
        return EXTRA_CODES[iso3]
    if iso3 == "TWN":
        return "Taiwan"
    country = pycountry.countries.get(alpha_3=iso3)
    if country is None:
        return iso3
    return getattr(country, "common_name", None) or country.name


def names_frame(codes: Iterable[str]) -> pd.DataFrame:
    """A two-column table (iso3, name) for the given codes."""
    codes = sorted(set(codes))
    return pd.DataFrame({"iso3": codes, "name": [country_name(c) for c in codes]})

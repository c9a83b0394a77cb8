"""One normalizer from country names and codes to ISO 3166-1 alpha-3.

It covers ISO3 codes, UN/Comtrade numeric codes, and the names used by UN
Comtrade, WITS, SIPRI, the World Bank, FRED and Natural Earth. Special cases:
"Other Asia, nes" is Taiwan in UN Comtrade and WITS; "World" is ``WLD``;
Natural Earth's ``-99`` is a missing marker, not a code. Unknown names are
reported in an :class:`~research.errors.UnknownCountryError`, never dropped.

UN Comtrade (and CEPII BACI, which reuses its codes) identifies areas by M49-based
numbers that equal ISO 3166-1 numeric except for the few in :data:`COMTRADE_CODES`;
:func:`to_comtrade_code` and :func:`from_comtrade_code` convert both ways.
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
    # UN Comtrade area names (partnerAreas.json, see COMTRADE_CODES) not in ISO 3166
    # under these spellings; "Isds" is Comtrade's abbreviation of "Islands".
    "bolivia (plurinational state of)": "BOL",
    "bonaire": "BES",  # Comtrade 535 = ISO 535 "Bonaire, Sint Eustatius and Saba"
    "bosnia herzegovina": "BIH",
    "br. indian ocean terr.": "IOT",
    "br. virgin isds": "VGB",
    "cayman isds": "CYM",
    "christmas isds": "CXR",
    "cocos isds": "CCK",
    "cook isds": "COK",
    "dem. rep. of the congo": "COD",
    "faeroe isds": "FRO",
    "falkland isds (malvinas)": "FLK",
    "fmr sudan": "SDN",  # Sudan before the 2011 split, as "fm sudan" below
    "fr. south antarctic terr.": "ATF",
    "fs micronesia": "FSM",
    "lao people's dem. rep.": "LAO",
    "marshall isds": "MHL",
    "n. mariana isds": "MNP",
    "neth. antilles": "ANT",
    "norfolk isds": "NFK",
    "rep. of moldova": "MDA",
    "saint helena": "SHN",
    "saint maarten": "SXM",
    "serbia and montenegro": "SRB",  # as WITS' "Serbia, FR(Serbia/Montenegro)" below
    "solomon isds": "SLB",
    "state of palestine": "PSE",
    "tfyr of macedonia": "MKD",
    "turks and caicos isds": "TCA",
    "united rep. of tanzania": "TZA",
    "us virgin isds": "VIR",
    "wallis and futuna isds": "WLF",
    # ISO-like codes in Comtrade's own ISO fields and in BACI's country_codes file
    "w00": "WLD",  # Comtrade partner2ISO of "World"
    "s19": "TWN",  # BACI country_iso3 of 490 "Other Asia, nes"
    # World Bank, OWID and KOSIS spellings found in raw/defense and raw/trade
    "st. martin (french part)": "MAF",
    "virgin islands (u.s.)": "VIR",
    "china, peoples' republic of": "CHN",  # KOSIS (korea-china-trade-data.csv)
    "democratic republic of congo": "COD",  # OWID
    "european union (sipri)": "EUN",  # OWID's SIPRI EU total
    "owid_kos": "XKX",
    # Natural Earth names (NAME, ADMIN) and ADM0_A3 codes that are not ISO 3166.
    # De-facto states without an ISO code map to the ISO country that contains them.
    "bosnia and herz.": "BIH",
    "dem. rep. congo": "COD",
    "falkland islands": "FLK",
    "french southern and antarctic lands": "ATF",
    "northern cyprus": "CYP",
    "the bahamas": "BHS",
    "the gambia": "GMB",  # NAME_LONG
    "dem. rep. korea": "PRK",  # NAME_LONG
    "falkland islands / malvinas": "FLK",  # NAME_LONG
    "kos": "XKX",
    "cyn": "CYP",
    "sol": "SOM",
    "psx": "PSE",
    "sah": "ESH",
    "sds": "SSD",
    # WITS partner spellings
    "ethiopia(excludes eritrea)": "ETH",
    "fm sudan": "SDN",  # Sudan before the 2011 split
    "occ.pal.terr": "PSE",
    "serbia, fr(serbia/montenegro)": "SRB",
    "turks and caicos isl.": "TCA",
}

# UN Comtrade area codes that differ from ISO 3166-1 numeric. Source of every code
# and name below except 97: UN Comtrade's reference file ``partnerAreas.json`` (the
# legacy API's partner list; copy read in github.com/sashakrasnov/uncomtrade,
# commit 084154f2479cbcb98a26f0963c22daddb16074d0), which lists id 251 "France",
# 381 "Italy", 490 "Other Asia, nes", 579 "Norway", 699 "India" (356 there is
# "India, excl. Sikkim"), 757 "Switzerland", 842 "USA" (841 is "USA (before 1981)")
# and 0 "World". The ISO codes of these countries are 250, 380, 578, 356, 756 and 840
# (ISO 3166-1, via pycountry); 490 is Taiwan (ISO 158) in practice, as the UN does not
# list Taiwan. 97 is the "European Union" group of the current Comtrade API
# (reference file Reporters.json, isGroup = true); it is not in the legacy file and is
# mapped to WITS' code EUN, the one used here. The ISO numbers are accepted as well
# (BACI releases have used both 840 and 842 for the USA).
COMTRADE_CODES: dict[int, str] = {
    0: "WLD",
    97: "EUN",
    251: "FRA",
    381: "ITA",
    490: "TWN",
    579: "NOR",
    699: "IND",
    757: "CHE",
    842: "USA",
}
_TO_COMTRADE = {iso3: code for code, iso3 in COMTRADE_CODES.items()} | {"ANT": 530}

# Names and codes of groups and residual areas that are not countries: they are never
# mapped to ISO3 (so normalize() reports them), and is_aggregate() lets a loader drop
# them on purpose. World Bank aggregate codes (regions, income and lending groups;
# plus CHI "Channel Islands", JEY + GGY together, and INX "Not classified") as found in
# the World Bank CSVs in raw/defense; UN Comtrade residual areas from partnerAreas.json;
# WITS' "Unspecified" partner; FRED's "Euro" (euro-area rate).
AGGREGATES = frozenset({
    "afe", "afw", "arb", "ceb", "chi", "css", "eap", "ear", "eas", "eca", "ecs", "emu",
    "euu", "fcs", "hic", "hpc", "ibd", "ibt", "ida", "idb", "idx", "inx", "lac", "lcn",
    "ldc", "lic", "lmc", "lmy", "lte", "mea", "mic", "mna", "nac", "oed", "oss", "pre",
    "pss", "pst", "sas", "ssa", "ssf", "sst", "tea", "tec", "tla", "tmn", "tsa", "tss",
    "umc",
    "areas, nes", "other europe, nes", "other africa, nes", "oceania, nes",
    "rest of america, nes", "north america and central america, nes", "western asia, nes",
    "northern africa, nes", "caribbean, nes", "eastern europe, nes", "europe efta, nes",
    "europe eu, nes", "africa cameu region, nes", "cacm, nes", "laia, nes", "bunkers",
    "free zones", "special categories", "so. african customs union",
    "unspecified", "euro", "euro area",
})


def is_aggregate(value: str | int) -> bool:
    """True for a group or residual area that is not a country (see :data:`AGGREGATES`).

    Comtrade numeric codes of such areas (e.g. 899 "Areas, nes") are not covered: use
    :func:`from_comtrade_code`, which rejects them.
    """
    return _fold(str(value)) in AGGREGATES


# Codes that are not ISO 3166 countries but are used as partners.
EXTRA_CODES = {"WLD": "World", "EUN": "European Union", "XKX": "Kosovo",
               "ANT": "Netherlands Antilles"}


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", str(text)).strip().lower()
    text = text.replace("\u2019", "'").replace("\u2018", "'")  # curly apostrophes (World Bank)
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
        return _from_number(int(folded))
    try:
        return pycountry.countries.lookup(str(text).strip()).alpha_3
    except LookupError:
        pass
    for country in pycountry.countries:
        names = {getattr(country, a, "") for a in ("name", "official_name", "common_name")}
        if folded in {_fold(n) for n in names if n}:
            return country.alpha_3
    return None


def _from_number(code: int) -> str | None:
    if code in COMTRADE_CODES:
        return COMTRADE_CODES[code]
    country = pycountry.countries.get(numeric=f"{code:03d}")
    if country is not None:
        return country.alpha_3
    if code == 530:  # Netherlands Antilles (ISO 3166-3, dissolved 2010), still in old data
        return "ANT"
    return None


def from_comtrade_code(code: int | str) -> str:
    """ISO3 code of a UN Comtrade / BACI numeric area code.

    ``842`` -> ``"USA"``, ``490`` ("Other Asia, nes") -> ``"TWN"``, ``0`` -> ``"WLD"``;
    plain ISO 3166-1 numeric codes (``840``, ``"076"``) are accepted too.

    Raises
    ------
    UnknownCountryError
        The code is not a number, or names no single country (e.g. 899 "Areas, nes").
    """
    text = str(code).strip()
    if text.endswith(".0"):  # a code read as float from a CSV with missing values
        text = text[:-2]
    iso3 = _from_number(int(text)) if text.isdigit() else None
    if iso3 is None:
        raise UnknownCountryError("UN Comtrade area codes", "unknown area code; see "
                                  "research.countries.COMTRADE_CODES", field="code", value=code)
    return iso3


def to_comtrade_code(iso3: str) -> int:
    """UN Comtrade numeric area code of an ISO3 code (``"USA"`` -> 842, ``"TWN"`` -> 490).

    Raises
    ------
    UnknownCountryError
        ``iso3`` is not an ISO 3166-1 alpha-3 code nor one of ``WLD``, ``EUN``.
    """
    key = str(iso3).strip().upper()
    if key in _TO_COMTRADE:
        return _TO_COMTRADE[key]
    country = pycountry.countries.get(alpha_3=key) if len(key) == 3 else None
    if country is None:
        raise UnknownCountryError("ISO 3166-1 alpha-3 codes", "no UN Comtrade code for this "
                                  "value", field="iso3", value=iso3)
    return int(country.numeric)


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

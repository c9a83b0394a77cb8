"""Country normalizer: names and codes from each source map to ISO3."""

import pytest

from research.countries import country_name, normalize, to_iso3
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

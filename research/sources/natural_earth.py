"""Natural Earth 1:110m country boundaries, keyed by ISO3, for maps.

The key is ``ISO_A3_EH`` (which, unlike ``ISO_A3``, gives France and Norway their
codes). Where it is Natural Earth's missing marker ``-99`` the ``ADM0_A3`` code is
used: Northern Cyprus ``CYN`` and Somaliland ``SOL`` (Natural Earth's own codes,
not ISO), and Kosovo, whose ``KOS`` is replaced by ``XKX``, the code the World Bank
and ``research.countries`` use. Geometry is not simplified: at 1:110m the GeoParquet
file is about 180 kB, and simplifying saves only a few per cent. Sudan's polygon has a
self-intersection in the source and is repaired with ``shapely.make_valid`` (its area
is unchanged), so every geometry is valid.
"""

from __future__ import annotations

from pathlib import Path

import geopandas
import pandas as pd
import shapely

from research.datasets import Dataset
from research.errors import SourceFormatError
from research.schemas import ISO3, Column, Schema

BOUNDARIES_FILE = "geo/ne_110m_admin_0_countries.geojson"
MISSING = "-99"
CODE_FIXES = {"KOS": "XKX"}  # Kosovo: Natural Earth ADM0_A3 -> the code used elsewhere here
REQUIRED = ("ISO_A3_EH", "ADM0_A3", "NAME", "CONTINENT")

WORLD_BOUNDARIES = Schema(
    name="world_boundaries",
    description="Country polygons (Natural Earth 1:110m), EPSG:4326, plus a geometry column.",
    columns={
        "iso3": Column("str", pattern=ISO3),
        "name": Column("str"),
        "continent": Column("str"),
    },
    key=("iso3",),
    extra_columns=True,  # the geometry column, checked in build_world_boundaries
)


def read_boundaries(path: Path | str) -> geopandas.GeoDataFrame:
    """Natural Earth admin-0 countries as iso3, name, continent, geometry (EPSG:4326).

    Raises
    ------
    SourceFormatError
        A required property is missing, or a code is still missing after the fallback.
    """
    path = Path(path)
    frame = geopandas.read_file(path)
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise SourceFormatError(str(path), "Natural Earth property missing", field=missing[0])
    iso3 = frame["ISO_A3_EH"].where(frame["ISO_A3_EH"].ne(MISSING), frame["ADM0_A3"])
    iso3 = iso3.replace(CODE_FIXES)
    bad = ~iso3.str.fullmatch(ISO3)
    if bad.any():
        first = bad[bad].index[0]
        raise SourceFormatError(str(path), "no usable country code", field="ADM0_A3",
                                value=frame.loc[first, "ADM0_A3"], row=int(first))
    geometry = shapely.make_valid(frame.geometry.to_numpy())
    boundaries = geopandas.GeoDataFrame(
        {"iso3": iso3.to_numpy(), "name": frame["NAME"].to_numpy(),
         "continent": frame["CONTINENT"].to_numpy()},
        geometry=geopandas.GeoSeries(geometry), crs=frame.crs or "EPSG:4326")
    boundaries = boundaries.to_crs("EPSG:4326")
    return boundaries.sort_values("iso3").reset_index(drop=True)


def build_world_boundaries(raw_dir: Path) -> pd.DataFrame:
    """The bundled boundaries (177 countries); every geometry valid and non-empty."""
    path = Path(raw_dir) / BOUNDARIES_FILE
    boundaries = read_boundaries(path)
    broken = ~boundaries.geometry.is_valid | boundaries.geometry.is_empty
    if broken.any():
        raise SourceFormatError(str(path), "invalid geometry after repair", field="geometry",
                                value=boundaries.loc[broken, "iso3"].tolist())
    return boundaries


DATASETS = [
    Dataset(
        name="world_boundaries",
        filename="geo/world_boundaries.geo.parquet",
        title="Country boundaries, Natural Earth 1:110m admin-0 (v5.1)",
        publisher="Natural Earth",
        vintage="v5.1.x (1:110m cultural vectors, Admin 0 - Countries)",
        licence="Public domain",
        citation="Made with Natural Earth. Free vector and raster map data @ "
                 "naturalearthdata.com (Admin 0 - Countries, 1:110m, v5.1)",
        raw_inputs=(BOUNDARIES_FILE,),
        build=build_world_boundaries,
        schema=WORLD_BOUNDARIES,
        notes=("iso3 from ISO_A3_EH, else ADM0_A3 where it is -99: Northern Cyprus CYN and "
               "Somaliland SOL (Natural Earth codes, not ISO), Kosovo XKX (Natural Earth KOS). "
               "Taiwan is its own feature (TWN). Small states (Singapore, Malta, Bahrain, Hong "
               "Kong) are absent at this scale. Sudan's self-intersection repaired with "
               "make_valid; geometry otherwise unsimplified. EPSG:4326."),
    ),
]

"""Natural Earth 1:110m boundaries keyed by ISO3."""

from __future__ import annotations

from pathlib import Path

import geopandas
import pytest
from geopandas.testing import assert_geodataframe_equal

from research import config
from research.sources import natural_earth

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def boundaries(raw_dir: Path) -> geopandas.GeoDataFrame:
    return natural_earth.build_world_boundaries(raw_dir)


def test_schema_and_geometry(boundaries: geopandas.GeoDataFrame) -> None:
    natural_earth.WORLD_BOUNDARIES.validate(boundaries)
    # PROVENANCE: 177 features, all MultiPolygon, EPSG:4326.
    assert len(boundaries) == 177
    assert list(boundaries.columns) == ["iso3", "name", "continent", "geometry"]
    assert boundaries.crs.to_epsg() == 4326
    assert boundaries.geometry.is_valid.all()
    assert set(boundaries.geom_type) == {"MultiPolygon"}


def test_codes(boundaries: geopandas.GeoDataFrame) -> None:
    codes = set(boundaries.iso3)
    # ISO_A3 is -99 for France and Norway but ISO_A3_EH gives FRA and NOR; ISO_A3_EH is
    # -99 for N. Cyprus (ADM0_A3 CYN), Somaliland (SOL) and Kosovo (KOS -> XKX).
    assert {"FRA", "NOR", "CYN", "SOL", "XKX", "JPN", "CHN", "KOR", "TWN"} <= codes
    assert "KOS" not in codes and "-99" not in codes
    assert boundaries.iso3.is_unique
    kosovo = boundaries[boundaries.iso3 == "XKX"].iloc[0]
    assert (kosovo["name"], kosovo.continent) == ("Kosovo", "Europe")


def test_committed_file_small_and_rebuilt(raw_dir: Path, tmp_path: Path) -> None:
    dataset = natural_earth.DATASETS[0]
    committed = dataset.path(config.data_dir())
    assert committed.exists(), f"{committed} missing: run the data build"
    assert committed.stat().st_size < 1_000_000
    rebuilt = tmp_path / "world.geo.parquet"
    dataset.build(raw_dir).to_parquet(rebuilt, index=False)
    assert_geodataframe_equal(geopandas.read_parquet(rebuilt), geopandas.read_parquet(committed))

import json

import geopandas as gpd
import matplotlib
import pandas as pd
import pyogrio
import pytest
import shapely

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from helpers import maps  # noqa: E402
from helpers.errors import InputError  # noqa: E402
from helpers.geography import NOT_RECORDED, bcu_table, bcus  # noqa: E402
from helpers.paths import ROOT  # noqa: E402

RAW = ROOT / "data" / "raw"


def raw(name):
    path = RAW / name
    if not path.exists():
        pytest.fail("data/raw is empty: run `make data` first")
    return path


@pytest.fixture(scope="module")
def boroughs():
    return maps.load_boroughs(raw("london-boroughs.topojson"))


def squares(**corners):
    """Unit squares named by their lower-left corner, in the map's metric CRS."""
    return gpd.GeoDataFrame(
        geometry=[shapely.box(x, y, x + 1, y + 1) for x, y in corners.values()],
        index=pd.Index(list(corners), name="name"),
        crs=maps.MAP_CRS,
    )


def drawn_polygons(ax):
    return sum(len(collection.get_paths()) for collection in ax.collections)


def test_gdal_has_a_topojson_reader():
    assert "TopoJSON" in pyogrio.list_drivers()


def test_bcu_table_covers_32_boroughs_in_12_bcus():
    borough_to_bcu, outside = bcu_table()
    assert len(borough_to_bcu) == 32 and len(bcus()) == 12
    assert borough_to_bcu["Hackney"] == "Central East" and borough_to_bcu["Hounslow"] == "West Area"
    assert "Unknown" in outside


def test_boundaries_match_the_bcu_table(boroughs):
    assert len(boroughs) == 33 and boroughs.crs == maps.MAP_CRS
    assert set(boroughs.index) == set(bcu_table()[0]) | {"City of London"}
    assert boroughs.is_valid.all()  # Richmond's self-crossing source ring is repaired


def test_borough_areas_and_centroids_known_answer(boroughs):
    km2 = boroughs.area / 1e6
    # ONS Standard Area Measurements: Westminster 21.5 km², Bromley (the largest) 150.1 km², Greater London 1,572 km².
    assert km2["Westminster"] == pytest.approx(21.5, rel=0.03)
    assert km2["Bromley"] == pytest.approx(150.1, rel=0.03) and km2.idxmax() == "Bromley"
    assert km2.idxmin() == "City of London"
    assert km2.sum() == pytest.approx(1572, rel=0.01)
    # The same package's centroid file, computed independently, agrees within 500 m.
    centroids = json.loads(raw("london-centroids.json").read_text(encoding="utf-8"))
    expected = gpd.GeoSeries.from_xy(
        [c["cx"] for c in centroids],
        [c["cy"] for c in centroids],
        index=[c["name"] for c in centroids],
        crs=maps.SOURCE_CRS,
    ).to_crs(maps.MAP_CRS)
    assert boroughs.centroid.distance(expected.reindex(boroughs.index)).max() < 500


def test_bcu_outlines_are_true_unions_without_internal_borders(boroughs):
    outlines = maps.bcu_outlines(boroughs)
    assert sorted(outlines.index) == sorted(bcus()) and set(outlines.geom_type) == {"Polygon"}  # each BCU in one piece
    borough_to_bcu = bcu_table()[0]
    for bcu, outline in outlines.geometry.items():
        parts = boroughs.geometry[[b for b, c in borough_to_bcu.items() if c == bcu]]
        assert outline.area == pytest.approx(parts.area.sum(), rel=1e-6)  # boroughs tile the BCU, no overlap
        assert shapely.get_num_interior_rings(outline) + 1 < sum(shapely.get_num_geometries(parts))
        assert outline.boundary.length < parts.boundary.length.sum()
        assert shapely.get_num_coordinates(outline) < shapely.get_num_coordinates(parts).sum()
    # The Westminster / Kensington and Chelsea border is inside Central West, not on its outline.
    westminster, kensington = boroughs.geometry[["Westminster", "Kensington and Chelsea"]]
    shared = westminster.boundary.intersection(kensington.boundary)
    middle = shapely.line_merge(shared).interpolate(0.5, normalized=True)
    assert outlines.geometry["Central West"].contains(middle)
    assert outlines.geometry["Central West"].boundary.distance(middle) > 100


def test_choropleth_writes_values_and_rejects_unknown_areas():
    shapes = squares(Left=(0, 0), Right=(1, 0))
    fig, ax = plt.subplots()
    maps.choropleth(ax, shapes, {"Left": 5.0, "Right": 7.0}, label="n")
    labels = {text.get_text(): shapely.Point(text.xy) for text in ax.texts}
    assert labels.keys() == {"5", "7"}  # each value written inside its own area
    assert shapes.geometry["Left"].contains(labels["5"]) and shapes.geometry["Right"].contains(labels["7"])
    with pytest.raises(InputError, match="no boundary for 'Nowhere'"):
        maps.choropleth(ax, shapes, {"Nowhere": 1.0}, label="n")
    plt.close(fig)


def test_choropleth_by_bcu_draws_one_outline_per_bcu(boroughs):
    fig, ax = plt.subplots()
    maps.choropleth(ax, boroughs, {bcu: i for i, bcu in enumerate(bcus())}, by_bcu=True, label="n")
    assert drawn_polygons(ax) == 12 + 1  # 12 BCU outlines and the City, not 33 boroughs
    outlines = maps.bcu_outlines(boroughs)
    for text in ax.texts:  # the value i belongs to the i-th BCU: written inside its outline
        assert outlines.geometry[bcus()[int(text.get_text())]].contains(shapely.Point(text.xy))
    assert len(ax.texts) == 12 and [t.get_text() for t in ax.get_legend().get_texts()] == ["Not policed by the Met"]
    assert "///" in [collection.get_hatch() for collection in ax.collections]
    for name in ("Hackney", NOT_RECORDED):  # a borough is not a BCU; reports with no borough are never drawn
        with pytest.raises(InputError, match=f"no boundary for '{name}'"):
            maps.choropleth(ax, boroughs, {name: 1.0}, by_bcu=True, label="n")
    plt.close(fig)


def test_choropleth_tells_an_area_without_a_value_from_one_outside_the_met():
    # Camden is a Met borough: no value means a suppressed or empty cell; "City" is in no BCU: outside the Met.
    shapes = squares(Camden=(0, 0), City=(1, 0))
    fig, ax = plt.subplots()
    maps.choropleth(ax, shapes, {}, label="n", no_value="Fewer than 100 reports")
    assert len(ax.texts) == 0 and sorted(t.get_text() for t in ax.get_legend().get_texts()) == [
        "Fewer than 100 reports",
        "Not policed by the Met",
    ]
    assert len(fig.axes) == 1  # no values: no colour bar, and nothing raised
    plt.close(fig)
    fig, ax = plt.subplots()
    maps.choropleth(ax, shapes, {"Camden": 3.0}, label="n")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Not policed by the Met"]
    assert len(fig.axes) == 2  # the colour bar
    plt.close(fig)

import json

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from helpers import maps  # noqa: E402
from helpers.errors import InputError  # noqa: E402
from helpers.geography import bcu_table, bcus  # noqa: E402
from helpers.paths import ROOT  # noqa: E402

# Two unit squares sharing the edge x=1, quantized with scale 0.5 and translate (10, 50):
# arc 0 is the shared edge (1,0)->(1,1) in quantized units (2,0)->(2,2).
TOPOLOGY = {
    "type": "Topology",
    "transform": {"scale": [0.5, 0.5], "translate": [10, 50]},
    "arcs": [
        [[2, 0], [0, 2]],                    # shared edge: (2,0) -> (2,2)
        [[2, 2], [-2, 0], [0, -2], [2, 0]],  # left square: (2,2) -> (0,2) -> (0,0) -> (2,0)
        [[2, 0], [2, 0], [0, 2], [-2, 0]],   # right square: (2,0) -> (4,0) -> (4,2) -> (2,2)
    ],
    "objects": {"boroughs": {"type": "GeometryCollection", "geometries": [
        {"type": "Polygon", "arcs": [[0, 1]], "id": "Left"},
        {"type": "MultiPolygon", "arcs": [[[2, ~0]]], "id": "Right"},
    ]}},
}


def test_decode_known_answer():
    shapes = maps.decode(TOPOLOGY, "boroughs")
    left, = shapes["Left"]
    right, = shapes["Right"]
    np.testing.assert_allclose(left, [[11, 50], [11, 51], [10, 51], [10, 50], [11, 50]])
    # The shared arc is walked backwards (~0) to close the right square.
    np.testing.assert_allclose(right, [[11, 50], [12, 50], [12, 51], [11, 51], [11, 50]])


def test_bcu_table_covers_32_boroughs_in_12_bcus():
    borough_to_bcu, outside = bcu_table()
    assert len(borough_to_bcu) == 32 and len(bcus()) == 12
    assert borough_to_bcu["Hackney"] == "Central East" and borough_to_bcu["Hounslow"] == "West Area"
    assert "Unknown" in outside


def test_boundaries_match_the_bcu_table():
    path = ROOT / "data" / "raw" / "london-boroughs.topojson"
    if not path.exists():
        pytest.fail("data/raw is empty: run `make data` first")
    shapes = maps.load_boroughs(path)
    assert set(shapes) - set(bcu_table()[0]) == {"City of London"}


def test_choropleth_writes_values_and_rejects_unknown_areas():
    shapes = maps.decode(TOPOLOGY, "boroughs")
    fig, ax = plt.subplots()
    maps.choropleth(ax, shapes, {"Left": 5.0, "Right": 7.0}, label="n")
    assert sorted(t.get_text() for t in ax.texts) == ["5", "7"]
    with pytest.raises(InputError, match="no boundary for 'Nowhere'"):
        maps.choropleth(ax, shapes, {"Nowhere": 1.0}, label="n")
    plt.close(fig)

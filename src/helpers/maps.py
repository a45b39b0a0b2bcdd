"""London maps drawn from the borough boundaries in the data mirror (TopoJSON, read by GDAL).

Chapters colour boroughs, or BCUs (the union of their boroughs: one outline, no internal
borders), by a value and write the value on the map too, so meaning is never carried by
colour alone. Everything is read from the local file: no web tiles, no downloads.
"""

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from matplotlib.patches import Patch

from .errors import InputError
from .geography import bcu_table

SOURCE_CRS = "EPSG:4326"  # TopoJSON coordinates are longitude/latitude
MAP_CRS = "EPSG:27700"  # British National Grid: metres, so areas and shapes are true
STYLES = {
    "outside": {"facecolor": "#d9d9d9", "hatch": "///", "hatchcolor": "#737373"},
    "blank": {"facecolor": "#eeeeee"},
}
EDGES = {"edgecolor": "white", "linewidth": 0.5}


def load_boroughs(path: Path, layer: str = "boroughs") -> gpd.GeoDataFrame:
    """Borough outlines indexed by name (the TopoJSON `id`), in the British National Grid.

    GDAL's TopoJSON driver (through pyogrio) decodes the file. One source ring (Richmond upon
    Thames) crosses itself: make_valid repairs it so that boroughs can be unioned into BCUs.
    """
    frame = gpd.read_file(path, layer=layer, engine="pyogrio")
    if "id" not in frame or frame["id"].isna().any() or not frame["id"].is_unique:
        raise InputError(f"{path}: layer {layer!r} needs a unique name (`id`) for every geometry")
    frame = frame.set_index("id").rename_axis("name").set_crs(SOURCE_CRS).to_crs(MAP_CRS)
    frame.geometry = frame.geometry.make_valid(method="structure")
    return frame[["geometry"]]


def bcu_outlines(boroughs: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One outline per BCU (config/bcu.yml), the union of its boroughs; boroughs in no BCU are left out."""
    borough_to_bcu = bcu_table()[0]
    met = boroughs[boroughs.index.isin(list(borough_to_bcu))]
    return met.assign(bcu=met.index.map(borough_to_bcu)).dissolve("bcu").rename_axis("name")


def _label_point(geometry) -> shapely.Point:
    """The centroid, or a point surely inside the area where the centroid falls outside it."""
    centroid = geometry.centroid
    return centroid if geometry.contains(centroid) else geometry.representative_point()


def choropleth(
    ax,
    boroughs: gpd.GeoDataFrame,
    values: dict[str, float],
    *,
    cmap="cividis",
    label: str,
    fmt="{:,.0f}",
    by_bcu: bool = False,
    missing="Not policed by the Met",
    no_value="No value shown",
):
    """Colour boroughs (or BCUs, with by_bcu) by `values`, writing each value on the map.

    Boroughs outside the Met (the City of London has its own force) are hatched grey and
    labelled `missing`; Met areas without a value (a suppressed cell, no reports; a NaN too)
    are plain grey and labelled `no_value`. A name with no boundary is an error: a category
    such as "borough not recorded" is left out by the caller and stated in its caption.
    """
    met = boroughs.index.isin(list(bcu_table()[0]))
    if by_bcu:  # BCUs can take a value; boroughs outside the Met are drawn, hatched, and cannot
        named = bcu_outlines(boroughs).assign(met=True)
        areas = pd.concat([named, boroughs[~met].assign(met=False)])
    else:
        named = areas = boroughs.assign(met=met)
    unknown = sorted(set(values) - set(named.index))
    if unknown:
        raise InputError(f"map: no boundary for {unknown[0]!r}")
    areas["value"] = np.array([values.get(name, np.nan) for name in areas.index], dtype=float)  # None -> NaN
    areas["kind"] = np.select([np.isfinite(areas["value"]), areas["met"]], ["value", "blank"], "outside")
    used = [kind for kind in ("outside", "blank") if (areas["kind"] == kind).any()]
    for kind in used:
        areas[areas["kind"] == kind].plot(ax=ax, **STYLES[kind], **EDGES)
    shaded = areas[areas["kind"] == "value"]
    if len(shaded):
        shaded.plot(ax=ax, column="value", cmap=cmap, legend=True, legend_kwds={"label": label, "shrink": 0.7}, **EDGES)
    for geometry, value in zip(shaded.geometry, shaded["value"], strict=True):
        point = _label_point(geometry)
        ax.annotate(
            fmt.format(value),
            (point.x, point.y),
            ha="center",
            va="center",
            fontsize=7,
            bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "alpha": 0.8, "linewidth": 0},
        )
    ax.set_axis_off()
    if used:
        texts = {"outside": missing, "blank": no_value}
        ax.legend(
            handles=[Patch(label=texts[kind], edgecolor="black", linewidth=0.5, **STYLES[kind]) for kind in used],
            loc="lower left",
            fontsize=7,
            frameon=False,
        )
    return ax

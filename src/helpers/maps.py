"""London maps drawn from the borough boundaries in the data mirror (TopoJSON).

Chapters colour boroughs, or BCUs (as the union of their boroughs), by a value
and write the value on the map too, so meaning is never carried by colour alone.
"""
import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import PathPatch
from matplotlib.path import Path as MplPath

from .errors import InputError
from .geography import bcu_table

LONDON_LATITUDE = 51.5


def decode_arcs(topology: dict) -> list[np.ndarray]:
    """Absolute lon/lat coordinates of each arc (TopoJSON arcs are delta-encoded when quantized)."""
    transform = topology.get("transform")
    arcs = []
    for arc in topology["arcs"]:
        points = np.asarray(arc, dtype=float)
        if transform:
            points = np.cumsum(points, axis=0) * transform["scale"] + transform["translate"]
        arcs.append(points)
    return arcs


def _ring(indices: list[int], arcs: list[np.ndarray]) -> np.ndarray:
    parts = []
    for i in indices:
        arc = arcs[i] if i >= 0 else arcs[~i][::-1]  # a negative index is the arc reversed
        parts.append(arc if not parts else arc[1:])   # consecutive arcs share an end point
    return np.concatenate(parts)


def decode(topology: dict, object_name: str) -> dict[str, list[np.ndarray]]:
    """Map each geometry id to its rings (exterior and holes) as lon/lat arrays."""
    arcs = decode_arcs(topology)
    shapes = {}
    for geometry in topology["objects"][object_name]["geometries"]:
        polygons = {"Polygon": [geometry.get("arcs", [])], "MultiPolygon": geometry.get("arcs", [])}.get(geometry["type"])
        if polygons is None:
            raise InputError(f"TopoJSON object {object_name!r}: geometry {geometry.get('id')!r} is a {geometry['type']}")
        shapes[geometry["id"]] = [_ring(ring, arcs) for polygon in polygons for ring in polygon]
    return shapes


def load_boroughs(path: Path) -> dict[str, list[np.ndarray]]:
    with open(path, encoding="utf-8") as handle:
        return decode(json.load(handle), "boroughs")


def _patch(rings: list[np.ndarray], **style) -> PathPatch:
    vertices = np.concatenate(rings)
    codes = np.concatenate([[MplPath.MOVETO] + [MplPath.LINETO] * (len(r) - 1) for r in rings])
    return PathPatch(MplPath(vertices, codes), **style)


def _centre(rings: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(rings).mean(axis=0)


def choropleth(ax, boroughs: dict, values: dict[str, float], *, cmap="cividis", label: str, fmt="{:,.0f}",
               by_bcu: bool = False, missing="Not policed by the Met"):
    """Colour boroughs (or BCUs, with by_bcu) by `values`, writing each value on the map.

    Areas with no value (the City of London has its own force) are hatched grey.
    """
    borough_to_bcu = bcu_table()[0]
    area_of = (lambda b: borough_to_bcu.get(b)) if by_bcu else (lambda b: b)
    unknown = sorted(set(values) - {area_of(b) for b in boroughs})
    if unknown:
        raise InputError(f"map: no boundary for {unknown[0]!r}")
    finite = [v for v in values.values() if np.isfinite(v)]
    norm = plt.Normalize(min(finite), max(finite))
    colours = plt.get_cmap(cmap)
    for borough, rings in boroughs.items():
        value = values.get(area_of(borough))
        if value is None:
            ax.add_patch(_patch(rings, facecolor="#d9d9d9", edgecolor="white", hatch="///", linewidth=0.5))
        else:
            ax.add_patch(_patch(rings, facecolor=colours(norm(value)), edgecolor="white", linewidth=0.5))
    areas: dict[str, list[np.ndarray]] = {}
    for borough, rings in boroughs.items():
        if values.get(area_of(borough)) is not None:
            areas.setdefault(area_of(borough), []).append(_centre(rings))
    for area, centres in areas.items():
        x, y = np.mean(centres, axis=0)
        ax.annotate(fmt.format(values[area]), (x, y), ha="center", va="center", fontsize=7,
                    bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "alpha": 0.8, "linewidth": 0})
    all_points = np.concatenate([np.concatenate(r) for r in boroughs.values()])
    ax.set_xlim(all_points[:, 0].min(), all_points[:, 0].max())
    ax.set_ylim(all_points[:, 1].min(), all_points[:, 1].max())
    ax.set_aspect(1 / np.cos(np.radians(LONDON_LATITUDE)))
    ax.set_axis_off()
    bar = plt.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=colours), ax=ax, shrink=0.7)
    bar.set_label(label)
    ax.add_patch(_patch([np.zeros((1, 2))], facecolor="#d9d9d9", hatch="///", label=missing))
    ax.legend(loc="lower left", fontsize=7, frameon=False)
    return ax

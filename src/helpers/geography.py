"""Boroughs and BCUs: the borough-to-BCU table is declared in config/bcu.yml."""

from functools import cache
from pathlib import Path

from .errors import InputError
from .io import read_yaml
from .paths import CONFIG

OUTSIDE_BCUS = "Outside BCUs"
# The borough and BCU the analysis dataset gives a report whose borough is not recorded
# (helpers.dataset): its own category in tables, never drawn on a map.
NOT_RECORDED = "Unknown"
NOT_RECORDED_LABEL = "Borough not recorded"


@cache
def bcu_table(path: Path = CONFIG / "bcu.yml") -> tuple[dict[str, str], frozenset[str]]:
    """(borough -> BCU, names that belong to no BCU), checked for repeats."""
    config = read_yaml(path)
    borough_to_bcu: dict[str, str] = {}
    for bcu, boroughs in config["bcus"].items():
        for borough in boroughs:
            if borough in borough_to_bcu:
                raise InputError(
                    f"{path}: borough {borough!r} is listed under both {borough_to_bcu[borough]} and {bcu}"
                )
            borough_to_bcu[borough] = bcu
    return borough_to_bcu, frozenset(config.get("outside_bcus", []))


def bcu_of(boroughs, source: str) -> list[str]:
    """The BCU of each borough name; `source` names the file in the error for an unknown name."""
    mapping, outside = bcu_table()
    result = []
    for row, borough in enumerate(boroughs, start=1):
        if borough in mapping:
            result.append(mapping[borough])
        elif borough in outside:
            result.append(OUTSIDE_BCUS)
        else:
            raise InputError(f"{source}: row {row}: borough {borough!r} is not in config/bcu.yml")
    return result


def bcus() -> list[str]:
    """The BCU names in the order config/bcu.yml lists them."""
    return list(dict.fromkeys(bcu_table()[0].values()))


def bcu_label(name: str) -> str:
    """A BCU as tables show it: the not-recorded category says so."""
    return NOT_RECORDED_LABEL if name == NOT_RECORDED else name

"""Public data sources: declared in data/sources.yml, copied from a mirror, verified.

Raw files are never committed and never edited: each is copied from the mirror to a
temporary name, checked against its recorded sha256, then renamed and made
read-only, so a failed fetch leaves nothing half-written in the raw folder.
"""

import hashlib
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError
from .io import read_yaml
from .paths import ROOT

SOURCES_FILE = ROOT / "data" / "sources.yml"
FIELDS = ("name", "file", "title", "publisher", "url", "licence", "sha256")


@dataclass(frozen=True)
class Source:
    name: str
    file: str
    title: str
    publisher: str
    url: str
    licence: str
    sha256: str


def load_sources(path: Path = SOURCES_FILE) -> dict[str, Source]:
    entries = read_yaml(path).get("sources")
    if not isinstance(entries, list) or not entries:
        raise InputError(f"{path}: expected a non-empty list under 'sources'")
    sources = {}
    for row, entry in enumerate(entries, start=1):
        missing = [f for f in FIELDS if not entry.get(f)]
        if missing:
            raise InputError(f"{path}: source {row} ({entry.get('name', '?')}) lacks {', '.join(missing)}")
        if entry["name"] in sources:
            raise InputError(f"{path}: source {row} repeats the name {entry['name']!r}")
        sources[entry["name"]] = Source(**{f: str(entry[f]) for f in FIELDS})
    return sources


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(mirror: Path, raw_dir: Path, sources: dict[str, Source] | None = None) -> list[Path]:
    """Copy every source from `mirror` into `raw_dir`, verifying checksums.

    A file already in `raw_dir` with the right checksum is kept as it is.
    """
    sources = load_sources() if sources is None else sources
    raw_dir.mkdir(parents=True, exist_ok=True)
    fetched = []
    for source in sources.values():
        target = raw_dir / source.file
        if target.exists() and sha256(target) == source.sha256:
            fetched.append(target)
            continue
        origin = mirror / source.file
        if not origin.is_file():
            raise InputError(
                f"source '{source.name}': file {source.file} not found in the mirror folder {mirror.resolve()} "
                f"(official source: {source.url}; set the mirror with --mirror or the 'mirror' parameter)"
            )
        partial = raw_dir / f".{source.file}.partial"
        shutil.copyfile(origin, partial)
        actual = sha256(partial)
        if actual != source.sha256:
            partial.unlink()
            raise InputError(
                f"source '{source.name}': {origin.resolve()} has sha256 {actual}, expected {source.sha256} "
                "(corrupt or a different release; nothing was copied)"
            )
        if target.exists():
            target.chmod(stat.S_IWUSR | stat.S_IRUSR)
        os.replace(partial, target)
        target.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        fetched.append(target)
    return fetched


def raw_path(raw_dir: Path, name: str) -> Path:
    """The fetched file of source `name`, or an error telling how to fetch it."""
    source = load_sources()[name]
    path = raw_dir / source.file
    if not path.is_file():
        raise InputError(f"source '{name}': {path} is missing; run `make data` (python -m helpers fetch) first")
    return path

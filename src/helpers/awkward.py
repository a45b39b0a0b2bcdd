"""An awkward but valid extract: a contract-form extract (the synthetic one) perturbed
hard, declared in config/awkward_extract.yml, so that the book can be run on
distributions it was not built on: boroughs not recorded, crime types absent, a BCU
with no suspects, a borough with no victim ethnicity, one victim sex only in a crime
area, a crime area of a handful of reports, optional columns left empty, an empty file.

`write` reads the five files as text (empty = not recorded), keeps a seeded sample of
reports, applies the declared changes in order and writes a new extract, all or
nothing, with `extract.json` saying what was changed and how many rows each change hit.

`export` writes a contract-form extract as a force's records system would hand it over,
as a mapping (helpers.contract.load_mapping) declares it: their file and column names and
codes, date formats (a time of day after every other reported date), .xlsx sheets, text
encodings, a byte-order mark and CRLF line endings, and an extra column. Read back through
the same mapping, it is the extract it was made from.
"""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from . import contract
from .errors import InputError
from .geography import bcu_table
from .io import read_yaml
from .paths import CONFIG

SOURCE = CONFIG / "awkward_extract.yml"
CHANGE_KEYS = {"description", "table", "where", "share", "set", "drop", "keep"}
ACTIONS = ("set", "drop", "keep")


def load_spec(path: Path = SOURCE) -> dict:
    """The declared sample and changes, checked: keys known, one action per change."""
    spec = read_yaml(path)
    if not 0 < float(spec.get("sample", 1)) <= 1:
        raise InputError(f"{path}: sample must be in (0, 1], got {spec['sample']!r}")
    stems = set(contract.spec()["files"])
    for number, change in enumerate(spec.get("changes") or [], start=1):
        where = f"{path}: change {number}"
        unknown = sorted(set(change) - CHANGE_KEYS)
        if unknown:
            raise InputError(f"{where}: unknown key {unknown[0]!r} (use {', '.join(sorted(CHANGE_KEYS))})")
        if change.get("table") not in stems:
            raise InputError(f"{where}: table must be one of {', '.join(sorted(stems))}, got {change.get('table')!r}")
        actions = [a for a in ACTIONS if a in change]
        if len(actions) != 1:
            raise InputError(f"{where}: give exactly one of {', '.join(ACTIONS)}")
        if "keep" in change and change["table"] != "offences":
            raise InputError(f"{where}: keep counts reports, so it applies to offences only")
        if not 0 < float(change.get("share", 1)) <= 1:
            raise InputError(f"{where}: share must be in (0, 1], got {change['share']!r}")
    return spec


def _text(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell as text, "" where not recorded (whole numbers stay whole: 3, not 3.0)."""
    return frame.convert_dtypes().astype("string").fillna("").astype(object)


def read(folder: Path) -> dict[str, pd.DataFrame]:
    """The five files of a contract-form extract (CSV or Parquet), as text."""
    frames = {}
    for stem, path in contract.find_files(Path(folder)).items():
        if path.suffix == ".csv":
            frames[stem] = pd.read_csv(path, dtype=str, keep_default_na=False)
        elif path.suffix == ".parquet":
            frames[stem] = _text(pq.read_table(str(path), use_threads=False).to_pandas())
        else:
            raise InputError(f"{path}: an awkward extract is made from the contract's CSV or Parquet files")
    return frames


def _reports(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Each report's main offence, with the BCU of its borough ("" where none)."""
    offences = frames["offences"]
    main = offences[offences["offence_seq"].astype(str) == "1"].set_index("crime_ref")
    return main.assign(bcu=main["borough"].map(bcu_table()[0]).fillna(""))


def _column(frames: dict[str, pd.DataFrame], table: str, name: str, where: str) -> pd.Series:
    """A column of `table`'s rows: its own, else its report's main offence's (or BCU)."""
    frame = frames[table]
    if name in frame.columns:
        return frame[name]
    if name == "bcu" and table == "offences":
        return frame["borough"].map(bcu_table()[0]).fillna("")
    reports = _reports(frames)
    if name not in reports.columns:
        raise InputError(f"{where}: {name!r} is not a column of {table} or of its report's offence")
    return frame["crime_ref"].map(reports[name]).fillna("")


def _picked(frames, change: dict, rng: np.random.Generator, where: str) -> np.ndarray:
    table = change["table"]
    mask = np.ones(len(frames[table]), dtype=bool)
    for name, allowed in (change.get("where") or {}).items():
        allowed = [str(v) for v in (allowed if isinstance(allowed, list) else [allowed])]
        mask &= _column(frames, table, name, where).isin(allowed).to_numpy()
    return mask & (rng.random(len(mask)) < float(change.get("share", 1)))


def _drop_reports(frames: dict[str, pd.DataFrame], refs) -> None:
    refs = set(refs)
    for stem, frame in frames.items():
        frames[stem] = frame[~frame["crime_ref"].isin(refs)].reset_index(drop=True)


def apply(frames: dict[str, pd.DataFrame], change: dict, rng: np.random.Generator, where: str) -> int:
    """One declared change, in place; returns the rows (or, for offences dropped or kept, the
    reports) it changed. Picking nothing is an error naming the change."""
    table = change["table"]
    frame = frames[table]
    picked = _picked(frames, change, rng, where)
    if not picked.any():
        raise InputError(f"{where}: ({change.get('description', '')}) picks no rows of {table}")
    if "set" in change:
        for name, value in change["set"].items():
            if name not in frame.columns:
                raise InputError(f"{where}: set names {name!r}, not a column of {table}")
            frame.loc[picked, name] = "" if value is None else str(value)
        return int(picked.sum())
    if table != "offences":
        frames[table] = frame[~picked].reset_index(drop=True)
        return int(picked.sum())
    refs = frame.loc[picked, "crime_ref"].unique()
    if "keep" in change:
        refs = np.setdiff1d(refs, rng.choice(refs, size=min(int(change["keep"]), len(refs)), replace=False))
    _drop_reports(frames, refs)
    return len(refs)


def _write_file(frame: pd.DataFrame, path: Path) -> None:
    """Text columns, empty cells as null in Parquet (as the synthetic extract writes them)."""
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
        return
    table = pa.Table.from_pandas(
        frame.replace("", None), preserve_index=False, schema=pa.schema([(c, pa.string()) for c in frame.columns])
    )
    pq.write_table(table, path)


def _their(mapping: dict, stem: str) -> tuple[str, dict[str, str], dict[str, dict[str, str]]]:
    """A contract file's name, column names and codes as the force writes them."""
    name = next((theirs for theirs, ours in mapping["files"].items() if ours == stem), stem)
    columns = {ours: theirs for theirs, ours in mapping["columns"].get(stem, {}).items()}
    codes = {
        column: {str(ours): str(theirs) for theirs, ours in reversed(list(recode.items()))}
        for column, recode in mapping["values"].get(stem, {}).items()
    }
    return name, columns, codes


def export(source: Path, out: Path, mapping_path: Path) -> Path:
    """Write the contract-form extract in `source` into `out` as the force `mapping_path` describes."""
    mapping = contract.load_mapping(mapping_path)
    dates = {
        stem: [c for c, s in spec["columns"].items() if s["type"] == "date"]
        for stem, spec in contract.spec()["files"].items()
    }
    partial = Path(out).with_name(f".{Path(out).name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for stem, frame in read(Path(source)).items():
        name, columns, codes = _their(mapping, stem)
        for column, recode in codes.items():
            frame[column] = frame[column].map(lambda v, recode=recode: recode.get(v, v))
        for column in dates[stem]:
            days = pd.to_datetime(frame[column].replace("", None))
            text = days.dt.strftime(mapping["date_formats"][stem][column]).fillna("")
            if column == "reported_date":  # as a records system exports a date-time, on every other row
                timed = (np.arange(len(text)) % 2 == 0) & (text != "")
                text = text.where(~timed, text + " 00:00")
            frame[column] = text
        frame["Exported by"] = "records system"  # an extra column: ignored by the contract
        frame = frame.rename(columns=columns)
        if stem in mapping["sheets"]:
            frame.to_excel(partial / f"{name}.xlsx", index=False, sheet_name=mapping["sheets"][stem])
            continue
        encoding = mapping["encodings"][stem]
        text = frame.to_csv(index=False, lineterminator="\r\n")
        (partial / f"{name}.csv").write_bytes(text.encode("utf-8-sig" if encoding == "utf-8" else encoding))
    shutil.rmtree(out, ignore_errors=True)
    partial.rename(out)
    return Path(out)


def write(source: Path, out: Path, seed: int = 1, spec_path: Path = SOURCE, fmt: str = "parquet") -> dict:
    """Write the awkward extract made from `source` into `out`; returns its manifest."""
    if fmt not in ("csv", "parquet"):
        raise InputError(f"format must be csv or parquet, got {fmt!r}")
    spec = load_spec(spec_path)
    source, out = Path(source), Path(out)
    frames = read(source)
    rng = np.random.default_rng(seed)
    refs = frames["offences"]["crime_ref"].unique()
    _drop_reports(frames, refs[rng.random(len(refs)) >= float(spec.get("sample", 1))])
    changed = []
    for number, change in enumerate(spec.get("changes") or [], start=1):
        hits = apply(frames, change, rng, f"{spec_path}: change {number}")
        changed.append(
            {"description": change.get("description", f"change {number}"), "table": change["table"], "changed": hits}
        )
    partial = out.with_name(f".{out.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for stem, frame in frames.items():
        _write_file(frame, partial / f"{stem}.{fmt}")
    manifest = {
        "generator": "helpers.awkward",
        "source": str(source),
        "seed": seed,
        "sample": spec.get("sample", 1),
        "format": fmt,
        "changes": changed,
        "reports": int(frames["offences"]["crime_ref"].nunique()),
        "rows": {stem: len(frame) for stem, frame in frames.items()},
        "note": "Made from a SYNTHETIC extract, perturbed on purpose; not police records.",
    }
    (partial / "extract.json").write_text(json.dumps(manifest, indent=2) + "\n")
    shutil.rmtree(out, ignore_errors=True)
    partial.rename(out)
    return manifest

"""`python -m helpers draft-mapping`: a first mapping of a force's extract to the contract, for
an analyst to finish (the format is helpers.contract.load_mapping's).

It reads every .csv, .parquet and .xlsx file of the folder as text and proposes:
  - which file is which contract file, and which column which contract column, matching
    names ignoring case, spaces, underscores and hyphens (then a file by its columns, a
    column by a name that ends or starts with the contract's);
  - each date column's format, from common formats; where several fit (no day above 12)
    the first listed below is taken and the draft says which others fit;
  - for each column with a list of allowed values, the values outside it with their rows:
    a code where one is clear (Yes -> Y, OC14 -> 14, a difference of case), else a comment;
  - cp1252 for a CSV that is not UTF-8.
Everything the analyst must check is marked TODO. It writes the mapping and nothing else.
"""

import codecs
import json
import re
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import duckdb
from duckdb import CaseExpression, ColumnExpression

from .contract import EXTENSIONS, ISO, allowed_values, connect, ident, parsed_date, read_file, spec, squash
from .errors import InputError

# Common date formats, in order of preference where several fit.
FORMATS = [
    "%Y-%m-%d",
    "%d/%m/%Y",
    "%d-%m-%Y",
    "%d.%m.%Y",
    "%Y/%m/%d",
    "%Y%m%d",
    "%d/%m/%y",
    "%d %b %Y",
    "%d-%b-%Y",
    "%d %B %Y",
    "%m/%d/%Y",
    "%m-%d-%Y",
]
LISTED = 40  # values outside the contract listed per column
YES, NO = {"yes", "y", "true", "1"}, {"no", "n", "false", "0"}


def q(text: str) -> str:
    """A YAML scalar in double quotes (JSON's are valid YAML)."""
    return json.dumps(str(text), ensure_ascii=False)


def is_utf8(path: Path) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    with open(path, "rb") as handle:
        try:
            while chunk := handle.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def match_files(columns: dict[Path, list[str]]) -> dict[str, Path]:
    """Contract stem -> file: same name, then a name containing the stem's, then most columns in common."""
    found, free = {}, dict(columns)
    tests = [lambda stem, path: squash(path.stem) == squash(stem), lambda stem, path: squash(stem) in squash(path.stem)]
    for test in tests:
        for stem in spec()["files"]:
            hits = [p for p in free if stem not in found and test(stem, p)]
            if len(hits) == 1:
                found[stem] = hits[0]
                free.pop(hits[0])
    for stem, file_spec in spec()["files"].items():
        if stem in found or not free:
            continue
        wanted = {squash(c) for c in file_spec["columns"]}
        common = {p: len(wanted & {squash(c) for c in cols}) for p, cols in free.items()}
        best = max(common, key=common.get)
        if common[best] * 2 >= len(wanted) and list(common.values()).count(common[best]) == 1:
            found[stem] = best
            free.pop(best)
    return found


def match_columns(stem: str, theirs: list[str]) -> tuple[dict[str, str], set[str]]:
    """Contract column -> their column, and the contract columns only guessed (a longer name)."""
    found, guessed = {}, set()
    for column in spec()["files"][stem]["columns"]:
        same = [t for t in theirs if squash(t) == squash(column)]
        if same:
            found[column] = same[0]
            continue
        near = [
            t
            for t in theirs
            if t not in found.values() and (squash(t).endswith(squash(column)) or squash(t).startswith(squash(column)))
        ]
        if len(near) == 1:
            found[column], guessed = near[0], guessed | {column}
    return found, guessed


def propose(value: str, allowed: list[str], yn: bool) -> str | None:
    """The contract's code for `value` where it is clear, else None."""
    text = value.strip()
    if yn and text.lower() in YES | NO:
        return "Y" if text.lower() in YES else "N"
    by_case = {a.lower(): a for a in allowed}
    stripped = re.sub(r"^[A-Za-z]+[\s_\-:]*(?=\d)", "", text)  # a prefix before a number: OC14 -> 14
    return by_case.get(text.lower()) or by_case.get(stripped.lower())


def date_format(con, view: str, column: str) -> tuple[str | None, list[str]]:
    """The first common format that reads every value of a column, and notes for the analyst."""
    value = ColumnExpression(column)
    counts = (
        con.view(view)
        .project(
            *(
                CaseExpression(value.isnotnull() & parsed_date(value, f).isnull(), 1).otherwise(0).alias(f"f{i}")
                for i, f in enumerate(FORMATS)
            )
        )
        .aggregate(", ".join(f"sum(f{i})" for i in range(len(FORMATS))))
        .fetchall()[0]
    )
    filled = con.execute(
        f"select count({ident(column)}), count(*) filter (where contains({ident(column)}, ':')) from {view}"
    ).fetchall()[0]
    if not filled[0]:
        return None, ["TODO: always empty, so its format is unknown"]
    fits = [f for f, bad in zip(FORMATS, counts, strict=True) if bad == 0]
    notes = [f"a time of day follows {filled[1]:,} dates: it is dropped"] if filled[1] else []
    if fits:
        return fits[0], notes + ([f"TODO: {', '.join(fits[1:])} fit(s) too: check"] if len(fits) > 1 else [])
    best = min(range(len(FORMATS)), key=lambda i: counts[i])
    return FORMATS[best], notes + [f"TODO: {counts[best]:,} of {filled[0]:,} values fit no common format"]


def outside(con, view: str, column: str, allowed: list[str] | None, kind: str) -> list[tuple[str, int]]:
    """The values of a column outside the contract (not allowed, or not whole numbers), most rows first."""
    if allowed is not None:
        condition, params = "not list_contains(?, value)", [allowed]
    elif kind == "int":
        condition, params = "try_cast(value as bigint) is null", []
    else:
        return []
    return con.execute(
        f"select value, count(*) as n from (select {ident(column)} as value from {view}) "
        f"where value is not null and {condition} group by value "
        f"order by n desc, value limit {LISTED + 1}",
        params,
    ).fetchall()


def codes(con, view: str, column: str, col_spec: dict) -> list[str]:
    """The `values` lines of a column: its values outside the contract, each with the
    contract's code where one is clear, else a TODO comment."""
    allowed = allowed_values(col_spec)
    listed = outside(con, view, column, allowed, col_spec["type"])
    lines = []
    for value, n in listed[:LISTED]:
        code = propose(value, allowed or [], col_spec["type"] == "yn")
        rows = f"{n:,} row{'s' if n != 1 else ''}"
        lines.append(
            f"      {q(value)}: {q(code)}   # {rows}"
            if code is not None
            else f'      # TODO {q(value)}: ?   # {rows}; a contract value, or "" for not recorded'
        )
    if len(listed) > LISTED:
        lines.append("      # TODO: more values than these; see validate-extract's report")
    return [f"    {column}:"] + lines if lines else []


def draft(folder: Path) -> tuple[str, int]:
    """The drafted mapping's text, and how many TODOs it has."""
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in EXTENSIONS and p.is_file())
    if not paths:
        raise InputError(f"{folder}: no .csv, .parquet or .xlsx file")
    workdir = Path(tempfile.mkdtemp(prefix="vw-draft-"))
    con = connect(workdir)
    try:
        return _draft(con, workdir, folder, paths)
    finally:
        con.close()
        shutil.rmtree(workdir, ignore_errors=True)


def _draft(con, workdir: Path, folder: Path, paths: list[Path]) -> tuple[str, int]:
    files, encodings, relations, notes = {}, {}, {}, []
    for i, path in enumerate(paths):
        encoding = "utf-8" if path.suffix != ".csv" or is_utf8(path) else "cp1252"
        try:
            relations[path] = read_file(con, workdir, f"file_{i}", path, encoding)[0]
        except Exception as exc:  # any file that cannot be read is named, not fatal to the draft
            notes.append(f"# TODO: {path.name} cannot be read ({' '.join(str(exc).split())[:200]})")
            continue
        if encoding != "utf-8":
            encodings[path] = encoding
        files[path] = [c for c in relations[path].columns if c not in ("file_row_number", "__row")]
    matched = match_files(files)
    sections = {key: [] for key in ("files", "encodings", "columns", "values")}
    formats, format_notes = {}, {}
    for stem, file_spec in spec()["files"].items():
        if stem not in matched:
            sections["files"].append(f'# TODO: no file found for {stem}: add "their file name": {q(stem)}')
            continue
        path = matched[stem]
        if path.stem != stem:
            sections["files"].append(f"{q(path.stem)}: {q(stem)}")
        if path in encodings:
            sections["encodings"].append(f"{q(stem)}: {q(encodings[path])}   # TODO: not UTF-8; Windows cp1252 assumed")
        found, guessed = match_columns(stem, files[path])
        renames = [
            f"    {q(found[c])}: {q(c)}" + ("   # TODO: guessed from the name" if c in guessed else "")
            for c in file_spec["columns"]
            if c in found and found[c] != c
        ]
        missing = [c for c in file_spec["columns"] if c not in found]
        if missing:
            spare = [t for t in files[path] if t not in found.values()]
            renames.append(
                f"    # TODO: no column found for {', '.join(missing)}; the file's other columns: "
                + (", ".join(q(t) for t in spare) or "none")
            )
        if renames:
            sections["columns"] += [f"  {stem}:"] + renames
        view = f"draft_{stem}"
        text = duckdb.sqltype("VARCHAR")
        relations[path].project(*(ColumnExpression(found[c]).cast(text).alias(c) for c in found)).create_view(view)
        values = []
        for column in found:
            if file_spec["columns"][column]["type"] == "date":
                formats[(stem, column)], format_notes[(stem, column)] = date_format(con, view, column)
            else:
                values += codes(con, view, column, file_spec["columns"][column])
        if values:
            sections["values"] += [f"  {stem}:"] + values
    ignored = [p.name for p in files if p not in matched.values()]
    common = Counter(f for f in formats.values() if f).most_common()
    default = min((f for f, n in common if n == common[0][1]), key=FORMATS.index) if common else ISO
    lines = [
        f"# Mapping drafted by `python -m helpers draft-mapping` from {folder}.",
        "# Check every TODO, then: python -m helpers validate-extract --extract DIR --mapping THIS_FILE",
        "# Every value is read as text. Format: helpers.contract.load_mapping.",
        *notes,
    ]
    if ignored:
        lines.append(f"# Files ignored (not matched to the contract): {', '.join(ignored)}")
    lines += ["files:"] + [f"  {line}" for line in sections["files"]]
    if sections["encodings"]:
        lines += ["encodings:"] + [f"  {line}" for line in sections["encodings"]]
    lines.append(f"date_format: {q(default)}")
    overrides = {}
    for (stem, column), fmt in formats.items():
        note = "; ".join(format_notes[(stem, column)])
        if fmt is not None and fmt != default:
            overrides.setdefault(stem, []).append(f"    {column}: {q(fmt)}" + (f"   # {note}" if note else ""))
        elif note:
            overrides.setdefault(stem, []).append(f"    # {column} ({fmt or 'no format'}): {note}")
    if overrides:
        lines.append("date_formats:")
        for stem, entries in overrides.items():
            # A stem whose entries are all comments would be empty: YAML reads it as "", which is fine.
            lines += [f"  {stem}:"] + entries
    for key in ("columns", "values"):
        lines += [f"{key}:"] + sections[key] if sections[key] else []
    return "\n".join(lines) + "\n", sum("TODO" in line for line in lines[3:])  # the header names TODO too


def write(folder: Path, out: Path) -> int:
    """Draft the mapping of `folder` into `out` (kept if it exists); returns the TODOs."""
    if out.exists():
        raise InputError(f"{out}: exists; the draft does not overwrite a mapping (remove it or choose another --out)")
    if not folder.is_dir():
        raise InputError(f"extract folder {folder} does not exist")
    text, todo = draft(folder)
    out.write_text(text, encoding="utf-8")
    return todo

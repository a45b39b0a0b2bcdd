"""The police crime-report extract contract (config/cris_contract.yml): find a force's five
files, read them into DuckDB through the force's mapping, and check them before anything
is built.

Files may be CSV (UTF-8 with or without a byte-order mark, or a declared encoding; CRLF or
LF line endings), Parquet or .xlsx. A mapping (see load_mapping) renames files and columns,
recodes values and declares date formats, encodings and sheets; extra columns are ignored.

Validation finds every problem in one pass and raises ExtractError, whose text is the whole
report: for each failing check the file, column, count, and the first rows and values. Rows
are numbered as a spreadsheet shows them (the header is row 1) for CSV and .xlsx, and as
record numbers for Parquet. Nothing read from a file or a mapping is pasted into SQL: paths,
codes and formats enter as DuckDB expression constants (DuckDB quotes them), and the SQL
written here names only the contract's columns and this module's own. Validation writes
nothing but its temporary work folder, which close() removes.
"""

import codecs
import contextlib
import csv
import datetime as dt
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import duckdb
import pyarrow as pa
import yaml
from duckdb import CaseExpression, ColumnExpression, ConstantExpression, FunctionExpression

from .errors import InputError
from .geography import bcu_table
from .io import read_yaml
from .paths import CONFIG

ISO = "%Y-%m-%d"
# A time of day after a date ("01/04/2021 00:00", "2021-04-01T09:30:00") is accepted and dropped.
TIME_OF_DAY = r"(T|\s+)\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(\s*[AaPp][Mm])?\s*$"
EXTENSIONS = (".csv", ".parquet", ".xlsx")
SHOWN = 5  # rows shown for each problem
MEMORY_LIMIT = "1500MB"  # DuckDB's share: the build's peak stays under 2 GB with Python's own
MAPPING_KEYS = ("files", "sheets", "encoding", "encodings", "columns", "values", "date_format", "date_formats")


@cache
def spec() -> dict:
    return read_yaml(CONFIG / "cris_contract.yml")


def allowed_values(column_spec: dict) -> list[str] | None:
    if column_spec.get("values_from") == "boroughs":
        return sorted(bcu_table()[0])
    if column_spec["type"] == "yn":
        return ["Y", "N"]
    return [str(v) for v in column_spec["values"]] if "values" in column_spec else None


def squash(name: str) -> str:
    """A name compared ignoring case, spaces, underscores and hyphens."""
    return re.sub(r"[\s_\-]+", "", str(name)).lower()


def ident(name: str) -> str:
    """A quoted SQL identifier (for the contract's own column names)."""
    return '"' + name.replace('"', '""') + '"'


# ---- the mapping ---------------------------------------------------------------------------


class _Text(yaml.SafeLoader):
    """Every scalar read as text: in a mapping Yes, No, 14 and 01 are codes, not a boolean or numbers."""


_Text.yaml_implicit_resolvers = {}


def _date_format_problem(fmt) -> str | None:
    """Why `fmt` cannot read dates, or None: it must give back a known date with its year."""
    day = dt.date(2021, 12, 18)
    try:
        if isinstance(fmt, str) and dt.datetime.strptime(day.strftime(fmt), fmt).date() == day:
            return None
    except ValueError:
        pass
    return f'{fmt!r} is not a date format that reads day, month and year (e.g. "%d/%m/%Y")'


def load_mapping(path: Path | None) -> dict:
    """A force's mapping to the contract (YAML); every key is optional, stems and columns
    named on the left of `columns`, `values`, `sheets`, `encodings` and `date_formats` are the
    contract's. Every value is read as text (Yes, No, 14 and 01 stay as written).

        files:        {their_stem: contract_stem}       their file name without .csv/.parquet/.xlsx
        sheets:       {contract_stem: sheet}             .xlsx: the sheet to read (default: the first)
        encoding:     cp1252                             every CSV's text encoding (default: UTF-8)
        encodings:    {contract_stem: encoding}          one CSV's, over `encoding`
        columns:      {contract_stem: {their_column: contract_column}}
        values:       {contract_stem: {contract_column: {their_code: contract_code}}}   "" = not recorded
        date_format:  "%d/%m/%Y"                         strptime format of every date column (default %Y-%m-%d)
        date_formats: {contract_stem: {contract_column: format}}   one column's, over `date_format`

    A time of day after a date is accepted and dropped. Returns every key, with `encodings`
    and `date_formats` filled in for every file and date column. All problems are reported
    together, naming the file.
    """
    files = spec()["files"]
    mapping = {}
    if path is not None:
        try:
            with open(path, encoding="utf-8-sig") as handle:
                mapping = yaml.load(handle, Loader=_Text) or {}
        except FileNotFoundError:
            raise InputError(f"{path}: file not found") from None
        except yaml.YAMLError as exc:
            raise InputError(f"{path}: not valid YAML ({exc})") from None
    problems = []

    def table(key: str, value, depth: int) -> dict:
        """`value` as mappings `depth` levels deep (an empty entry, e.g. one left with only
        comments, is an empty mapping); anything else is a problem."""
        if value in (None, ""):
            return {}
        if not isinstance(value, dict):
            problems.append(f"'{key}' must be a mapping" + " of mappings" * (depth - 1))
            return {}
        return {k: table(key, v, depth - 1) for k, v in value.items()} if depth > 1 else value

    if not isinstance(mapping, dict):
        raise InputError(f"{path}: expected a mapping with keys {', '.join(MAPPING_KEYS)}")
    for key in sorted(set(mapping) - set(MAPPING_KEYS)):
        problems.append(f"unknown key '{key}' (a mapping has {', '.join(MAPPING_KEYS)})")
    their_files = table("files", mapping.get("files"), 1)
    for their, stem in their_files.items():
        if stem not in files:
            problems.append(
                f"'files' maps {their!r} to {stem!r}, which is not a file of the contract ({', '.join(files)})"
            )
    for stem in {s for s in their_files.values() if list(their_files.values()).count(s) > 1}:
        problems.append(f"'files' maps several files to {stem!r}")
    result = {"files": their_files}
    for key, depth in (("sheets", 1), ("encodings", 1), ("columns", 2), ("values", 3), ("date_formats", 2)):
        result[key] = table(key, mapping.get(key), depth)
        for stem in result[key]:
            if stem not in files:
                problems.append(f"'{key}' names {stem!r}, which is not a file of the contract ({', '.join(files)})")
    for key in ("values", "date_formats"):
        for stem, columns in result[key].items():
            for column in columns:
                if stem in files and column not in files[stem]["columns"]:
                    problems.append(f"'{key}' names {stem}.{column}, which is not a column of the contract")
                elif key == "date_formats" and stem in files and files[stem]["columns"][column]["type"] != "date":
                    problems.append(f"'date_formats' names {stem}.{column}, which is not a date column")
    for stem, renames in result["columns"].items():
        for column in {c for c in renames.values() if list(renames.values()).count(c) > 1}:
            problems.append(f"'columns' renames several of {stem}'s columns to {column!r}")

    default_format = mapping.get("date_format") or ISO
    result["date_formats"] = {
        stem: {
            c: (result["date_formats"].get(stem) or {}).get(c) or default_format
            for c, s in file_spec["columns"].items()
            if s["type"] == "date"
        }
        for stem, file_spec in files.items()
    }
    for fmt in {f for columns in result["date_formats"].values() for f in columns.values()}:
        if why := _date_format_problem(fmt):
            problems.append(why)
    default_encoding = mapping.get("encoding") or "utf-8"
    result["encodings"] = {stem: result["encodings"].get(stem) or default_encoding for stem in files}
    for encoding in set(result["encodings"].values()):
        try:
            codecs.lookup(encoding)
        except (LookupError, TypeError):
            problems.append(f"{encoding!r} is not a text encoding Python knows (e.g. utf-8, cp1252)")
    if problems:
        raise InputError(f"{path}: " + "; ".join(problems))
    return result


# ---- reading the files ---------------------------------------------------------------------


@dataclass
class Problem:
    """One failing check: `count` rows of `file` (0 for a problem with the whole file), the
    first of them as (row number, value)."""

    file: str
    column: str
    what: str
    count: int = 0
    rows: list[tuple[int, object]] = field(default_factory=list)
    unit: str = "row"  # "record" in Parquet files


class ExtractError(InputError):
    """An extract that does not follow the contract; the text is the whole report."""

    def __init__(self, folder: Path, problems: list[Problem]):
        self.folder, self.problems = folder, problems
        super().__init__(report(folder, problems))


def report(folder: Path, problems: list[Problem]) -> str:
    """The problems as text, one block per failing check."""
    lines = [
        f"{folder}: {len(problems)} problem(s); the extract does not follow the contract "
        "(../shared/contracts/cris-extract.md) through its mapping."
    ]
    for p in problems:
        where = f"{p.file}, column {p.column}" if p.column else p.file
        count = f": {p.count:,} {p.unit}{'s' if p.count != 1 else ''}" if p.count else ""
        lines.append(f"{where} - {p.what}{count}")
        lines += [f"    {p.unit} {line}: {'(empty)' if value is None else repr(value)}" for line, value in p.rows]
        if p.count > len(p.rows) > 0:
            lines.append(f"    ... and {p.count - len(p.rows):,} more")
    return "\n".join(lines)


def write_report(problems: list[Problem], text: str, folder: Path) -> list[Path]:
    """validation.txt (the report) and validation.csv (one line per row shown) in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "validation.txt").write_text(text + "\n", encoding="utf-8")
    with open(folder / "validation.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["file", "column", "problem", "count", "row", "value"])
        for p in problems:
            for line, value in p.rows or [("", "")]:
                writer.writerow([p.file, p.column, p.what, p.count, line, "" if value is None else value])
    return [folder / "validation.txt", folder / "validation.csv"]


@dataclass
class Extract:
    """A validated extract in `con`, a DuckDB database in a temporary folder (large extracts
    spill to disk); `close()` removes it. For each file `stem` of the contract:
      raw_<stem>  view: its rows as text through the mapping, with _line (its row number)
      <stem>      view: the same with date columns as DATE (the contract's form)
    and `refs`, a table of every crime_ref seen, with its rows in each file (n_offences,
    n_victims, n_suspects, n_flags, n_knife_crime_features; n_main: offences with seq 1)
    and the _line of its main offence (main_line).
    """

    folder: Path
    files: dict[str, Path]
    con: duckdb.DuckDBPyConnection
    workdir: Path

    def close(self) -> None:
        self.con.close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> "Extract":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def locate(folder: Path, mapping: dict) -> tuple[dict[str, Path], list[Problem]]:
    """Each contract file's path in `folder` (named through the mapping), and what is missing."""
    their = {stem: name for name, stem in mapping["files"].items()}
    files, problems = {}, []
    for stem in spec()["files"]:
        name = their.get(stem, stem)
        names = [name] if Path(name).suffix.lower() in EXTENSIONS else [name + ext for ext in EXTENSIONS]
        found = [folder / n for n in names if (folder / n).is_file()]
        if not found:
            problems.append(Problem(name, "", f"missing file: no {', '.join(names)} in {folder}"))
        elif len(found) > 1:
            problems.append(Problem(found[0].name, "", f"both {' and '.join(p.name for p in found)}; keep one"))
        else:
            files[stem] = found[0]
    return files, problems


def find_files(folder: Path, mapping: dict | None = None) -> dict[str, Path]:
    """The five files of a contract-form (or mapped) extract; any missing is an InputError."""
    if not folder.is_dir():
        raise InputError(f"extract folder {folder} does not exist")
    files, problems = locate(folder, mapping or load_mapping(None))
    if problems:
        raise InputError("; ".join(f"{p.file}: {p.what}" for p in problems))
    return files


def _cell(value, fmt: str) -> str | None:
    """A spreadsheet cell as text: dates in `fmt`, whole numbers without '.0'."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (dt.datetime, dt.date)):
        return value.strftime(fmt)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_xlsx(path: Path, sheet: str | None, formats: dict[str, str]) -> pa.Table:
    """A sheet as text columns plus __row (its row number); date cells in their column's format."""
    import openpyxl  # only for spreadsheets: it is slow to import

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise InputError(f"no sheet {sheet!r} (it has {', '.join(book.sheetnames)})")
        rows = (book[sheet] if sheet is not None else book.worksheets[0]).iter_rows(values_only=True)
        names = [str(h) if h is not None else f"column {i + 1}" for i, h in enumerate(next(rows, ()))]
        fmts = [formats.get(n, ISO) for n in names]
        columns, numbers = [[] for _ in names], []
        for number, row in enumerate(rows, start=2):
            if all(v is None or v == "" for v in row):
                continue
            numbers.append(number)
            for i, column in enumerate(columns):
                column.append(_cell(row[i] if i < len(row) else None, fmts[i]))
    finally:
        book.close()
    return pa.table(
        {
            "__row": pa.array(numbers, pa.int64()),
            **{n: pa.array(c, pa.string()) for n, c in zip(names, columns, strict=True)},
        }
    )


def read_file(
    con,
    workdir: Path,
    table: str,
    path: Path,
    encoding: str = "utf-8",
    sheet: str | None = None,
    formats: dict[str, str] | None = None,
) -> tuple[duckdb.DuckDBPyRelation, object]:
    """A file as read: a relation of its own columns, and the expression of its row number.
    Parquet is read in place; CSV and .xlsx are loaded into `table`, in file order (DuckDB
    keeps insertion order), so rowid gives the row. `formats`: .xlsx date cells' formats by column."""
    kind = path.suffix.lower()
    if kind == ".parquet":
        line = ColumnExpression("file_row_number") + ConstantExpression(1)
        return con.read_parquet(str(path), file_row_number=True), line
    if kind == ".xlsx":
        con.from_arrow(_read_xlsx(path, sheet, formats or {})).to_table(table)
        return con.table(table), ColumnExpression("__row")
    if codecs.lookup(encoding).name not in ("utf-8", "utf-8-sig"):  # DuckDB reads UTF-8 only
        source = workdir / f"{table}.utf-8.csv"
        with open(path, encoding=encoding, newline="") as text, open(source, "w", encoding="utf-8", newline="") as out:
            shutil.copyfileobj(text, out, 1 << 20)
        path = source
    con.read_csv(str(path), header=True, all_varchar=True, sep=",", quotechar='"', escapechar='"').to_table(table)
    return con.table(table), ColumnExpression("rowid") + ConstantExpression(2)


def _text(column: str, kind: str, fmt: str | None):
    """A column of any type as text; a typed date as the mapping's format writes it."""
    value = ColumnExpression(column)
    if fmt and re.match(r"(DATE|TIMESTAMP)", kind):
        return FunctionExpression("strftime", value, ConstantExpression(fmt))
    return FunctionExpression("nullif", value.cast(duckdb.sqltype("VARCHAR")), ConstantExpression(""))


def _recoded(value, codes: dict):
    """`value` through the mapping's codes (their code -> the contract's; "" = not recorded)."""
    if not codes:
        return value
    theirs = ConstantExpression([str(k) for k in codes])
    ours = ConstantExpression(["" if v is None else str(v) for v in codes.values()])
    at = FunctionExpression("list_position", theirs, value)
    return CaseExpression(
        at.isnotnull(),
        FunctionExpression("nullif", FunctionExpression("list_extract", ours, at), ConstantExpression("")),
    ).otherwise(value)


def parsed_date(value, fmt: str):
    """Text in `fmt` (a time of day after it dropped) as a DATE; NULL if it is not one."""
    stripped = CaseExpression(
        FunctionExpression("contains", value, ConstantExpression(":")),
        FunctionExpression("regexp_replace", value, ConstantExpression(TIME_OF_DAY), ConstantExpression("")),
    ).otherwise(value)
    date = duckdb.sqltype("DATE")
    # The contract's own format has DuckDB's fast date reader, many times quicker than strptime.
    day = (
        stripped.try_cast(date)
        if fmt == ISO
        else FunctionExpression("try_strptime", stripped, ConstantExpression(fmt)).cast(date)
    )
    # strptime reads '21-04-01' as the year 21: a date outside 1800-2199 is not one.
    return CaseExpression(
        FunctionExpression("year", day).between(ConstantExpression(1800), ConstantExpression(2199)), day
    )


def _views(con, workdir: Path, stem: str, path: Path, mapping: dict) -> tuple[list[str], list[Problem]]:
    """Create raw_<stem> and <stem> (see Extract); returns the contract columns present, and problems."""
    columns = spec()["files"][stem]["columns"]
    renames = mapping["columns"].get(stem, {})
    formats = mapping["date_formats"][stem]
    try:
        relation, line = read_file(
            con,
            workdir,
            f"file_{stem}",
            path,
            mapping["encodings"][stem],
            mapping["sheets"].get(stem),
            formats | {their: formats[c] for their, c in renames.items() if c in formats},
        )
    except (duckdb.Error, InputError, UnicodeError, OSError, ValueError, zipfile.BadZipFile, KeyError) as exc:
        why = " ".join(str(exc).split())[:300]
        hint = "; if it is not UTF-8, declare its encoding in the mapping (encodings)" if path.suffix == ".csv" else ""
        return [], [Problem(path.name, "", f"cannot be read ({why}){hint}")]
    internal = {"file_row_number", "__row"}
    sources = {}
    problems = []
    for their, kind in zip(relation.columns, map(str, relation.types), strict=True):
        name = renames.get(their, their)
        if their in internal or name not in columns:
            continue  # extra columns are ignored
        if name in sources:
            problems.append(
                Problem(
                    path.name,
                    name,
                    f"both {sources[name][0]!r} and {their!r} give this column; rename one in the mapping (columns)",
                )
            )
        sources[name] = (their, kind)
    missing = [c for c in columns if c not in sources]
    if missing:
        hints = [
            f"the mapping renames {t!r}, which the file does not have"
            for t, c in renames.items()
            if c in missing and t not in relation.columns
        ]
        hints += [
            f"{t!r} looks like {c}"
            for c in missing
            for t in relation.columns
            if squash(t) == squash(c) and t not in renames
        ]
        problems.append(
            Problem(
                path.name, "", f"missing column(s) {', '.join(missing)}" + (f" ({'; '.join(hints)})" if hints else "")
            )
        )
    present = [c for c in columns if c in sources]
    text = {c: _recoded(_text(*sources[c], formats.get(c)), mapping["values"].get(stem, {}).get(c)) for c in present}
    relation.project(line.alias("_line"), *(e.alias(c) for c, e in text.items())).create_view(f"raw_{stem}")
    con.view(f"raw_{stem}").project(
        ColumnExpression("_line"),
        *(
            (parsed_date(ColumnExpression(c), formats[c]) if c in formats else ColumnExpression(c)).alias(c)
            for c in present
        ),
    ).create_view(stem)
    return present, problems


# ---- the checks ----------------------------------------------------------------------------


def _cell_checks(stem: str, present: list[str], mapping: dict) -> list[tuple[str, str, object]]:
    """(column shown, what is wrong, condition marking a bad row) for each check of one row."""
    file_spec = spec()["files"][stem]
    checks = []
    for column in present:
        col_spec, value = file_spec["columns"][column], ColumnExpression(column)
        if col_spec.get("required"):
            checks.append((column, "empty, but the contract requires a value", value.isnull()))
        if col_spec["type"] == "int":
            number = value.try_cast(duckdb.sqltype("BIGINT"))
            checks.append((column, "not a whole number", value.isnotnull() & number.isnull()))
            for bound, word in (("min", "below"), ("max", "above")):
                if bound in col_spec:
                    limit = ConstantExpression(col_spec[bound])
                    beyond = number < limit if bound == "min" else number > limit
                    checks.append((column, f"{word} {col_spec[bound]}", beyond))
        elif col_spec["type"] == "date":
            fmt = mapping["date_formats"][stem][column]
            checks.append(
                (
                    column,
                    f"not a date in the format {fmt} (a time of day after it is ignored)",
                    value.isnotnull() & parsed_date(value, fmt).isnull(),
                )
            )
        values = allowed_values(col_spec)
        if values is not None:
            what = "not Y or N" if col_spec["type"] == "yn" else "not an allowed value (see the contract)"
            checks.append((column, what, ~FunctionExpression("list_contains", ConstantExpression(values), value)))
    if {"major_crime", "minor_crime"} <= set(present):
        for major, minors in file_spec.get("minor_by_major", {}).items():
            minor = FunctionExpression("list_contains", ConstantExpression(minors), ColumnExpression("minor_crime"))
            checks.append(
                (
                    "minor_crime",
                    f"not a minor crime of {major}",
                    (ColumnExpression("major_crime") == ConstantExpression(major)) & ~minor,
                )
            )
    return checks


def _first_rows(con, sql: str) -> list[tuple[int, object]]:
    """The first rows (by _line) of `sql`, a query of _line and value."""
    return con.execute(f"select _line, value from ({sql}) order by _line limit {SHOWN}").fetchall()


def _check_cells(con, stem: str, name: str, present: list[str], mapping: dict, unit: str) -> list[Problem]:
    """Every one-row check of a file counted in one scan; the first rows of each failing one."""
    checks = _cell_checks(stem, present, mapping)
    if not checks:
        return []
    con.view(f"raw_{stem}").project(
        ColumnExpression("_line"),
        *(ColumnExpression(c) for c in present),
        *(cond.alias(f"check_{i}") for i, (_, _, cond) in enumerate(checks)),
    ).create_view(f"checks_{stem}")
    counts = con.execute(
        "select " + ", ".join(f"count(*) filter (where check_{i})" for i in range(len(checks))) + f" from checks_{stem}"
    ).fetchall()[0]
    return [
        Problem(
            name,
            column,
            what,
            counts[i],
            unit=unit,
            rows=_first_rows(con, f"select _line, {ident(column)} as value from checks_{stem} where check_{i}"),
        )
        for i, (column, what, _) in enumerate(checks)
        if counts[i]
    ]


def _check_key(con, stem: str, name: str, key: list[str], unit: str, within: str = "true") -> list[Problem]:
    """Rows whose key (e.g. victim_id) repeats an earlier row's; `within` narrows the rows
    that can repeat (offences: reports with several). Counted first on the keys' hashes
    (integers, cheap): if no two hashes are equal no two keys are; else counted exactly."""
    cols = ", ".join(ident(c) for c in key)
    rows = f"select * from raw_{stem} where {' and '.join(f'{ident(c)} is not null' for c in key)} and {within}"
    repeats = "select coalesce(sum(n - 1), 0) from (select count(*) as n from ({rows}) group by {by} having n > 1)"
    if not con.execute(repeats.format(rows=rows, by=f"hash({cols})")).fetchall()[0][0]:
        return []
    count = con.execute(repeats.format(rows=rows, by=cols)).fetchall()[0][0]
    if not count:
        return []
    value = " || ' / ' || ".join(ident(c) for c in key)
    shown = _first_rows(
        con,
        f"""
        select r._line, {value} as value from ({rows}) r
        join (select {cols}, min(_line) as first from ({rows}) group by all having count(*) > 1) d using ({cols})
        where r._line > d.first""",
    )
    return [Problem(name, " + ".join(key), "repeats an earlier row's id", count, shown, unit)]


def _refs(con, present: dict[str, list[str]]) -> bool:
    """The table `refs` (see Extract), if the offences have crime_ref: one scan of every file."""
    stems = [s for s in spec()["files"] if "crime_ref" in present.get(s, [])]
    if "offences" not in stems:
        return False
    main = "try_cast(offence_seq as bigint) = 1" if "offence_seq" in present["offences"] else "null"
    union = " union all ".join(
        f"select crime_ref, {i} as source, {main if s == 'offences' else 'null'} as main, _line from raw_{s}"
        for i, s in enumerate(stems)
    )
    counts = ", ".join(f"count(*) filter (where source = {i})::integer as n_{s}" for i, s in enumerate(stems))
    con.execute(f"""create temp table refs as
        select crime_ref, {counts}, count(*) filter (where main)::integer as n_main,
               min(_line) filter (where main) as main_line
        from ({union}) where crime_ref is not null group by crime_ref""")
    return True


def _check_refs(con, present: dict[str, list[str]], files: dict[str, Path], units: dict) -> dict[str, list[Problem]]:
    """Rows with no offence of their crime_ref, and reports with no main offence."""
    problems = {}
    offences = files["offences"].name
    for stem in [s for s in spec()["files"] if spec()["files"][s].get("joins") and "crime_ref" in present.get(s, [])]:
        count = con.execute(f"select coalesce(sum(n_{stem}), 0) from refs where n_offences = 0").fetchall()[0][0]
        if count:
            shown = _first_rows(
                con,
                f"select _line, crime_ref as value from raw_{stem} where crime_ref in "
                f"(select crime_ref from refs where n_offences = 0 and n_{stem} > 0)",
            )
            problems[stem] = [
                Problem(
                    files[stem].name,
                    "crime_ref",
                    f"no offence with this crime_ref in {offences}",
                    count,
                    shown,
                    units[stem],
                )
            ]
    if "offence_seq" in present["offences"]:
        count = con.execute(
            "select coalesce(sum(n_offences), 0) from refs where n_offences > 0 and n_main = 0"
        ).fetchall()[0][0]
        if count:
            shown = _first_rows(
                con,
                "select _line, crime_ref as value from raw_offences where crime_ref in "
                "(select crime_ref from refs where n_offences > 0 and n_main = 0)",
            )
            what = "the report (crime_ref) has no main offence with offence_seq 1"
            problems["offences"] = [Problem(offences, "offence_seq", what, count, shown, units["offences"])]
    return problems


def connect(workdir: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that spills to `workdir`, within the memory limit."""
    con = duckdb.connect(config={"memory_limit": MEMORY_LIMIT, "temp_directory": str(workdir)})
    # In a terminal, long queries would draw bars on stderr; in Jupyter, DuckDB draws none without
    # ipywidgets and refuses the setting.
    with contextlib.suppress(duckdb.InvalidInputException):
        con.execute("set enable_progress_bar = false")
    return con


def validate(folder: Path, mapping_file: Path | None = None) -> Extract:
    """Read an extract through a force's mapping (if any) and check it; every problem is
    raised together as an ExtractError (an InputError)."""
    folder = Path(folder)
    mapping = load_mapping(mapping_file)
    if not folder.is_dir():
        raise InputError(f"extract folder {folder} does not exist")
    files, missing = locate(folder, mapping)
    workdir = Path(tempfile.mkdtemp(prefix="vw-extract-"))
    extract = Extract(folder, files, connect(workdir), workdir)
    con = extract.con
    try:
        problems = {stem: [] for stem in spec()["files"]}
        present, units = {}, {}
        for stem, path in files.items():
            present[stem], problems[stem] = _views(con, workdir, stem, path, mapping)
            units[stem] = "record" if path.suffix == ".parquet" else "row"
        # The files are in their tables in file order; nothing after needs order kept (saves memory).
        con.execute("set preserve_insertion_order = false")
        has_refs = _refs(con, present)
        for stem, columns in present.items():
            problems[stem] += _check_cells(con, stem, files[stem].name, columns, mapping, units[stem])
            key = spec()["files"][stem].get("key")
            if key and set(key) <= set(columns):
                # Offences repeat a key only within a report of several rows.
                within = (
                    "crime_ref in (select crime_ref from refs where n_offences > 1)"
                    if stem == "offences" and has_refs
                    else "true"
                )
                problems[stem] += _check_key(con, stem, files[stem].name, key, units[stem], within)
        if has_refs:
            for stem, found in _check_refs(con, present, files, units).items():
                problems[stem] += found
        found = missing + [p for stem in spec()["files"] for p in problems[stem]]
        if found:
            raise ExtractError(folder, found)
    except BaseException:
        extract.close()
        raise
    return extract

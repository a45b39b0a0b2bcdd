"""The police crime-report extract contract (config/cris_contract.yml): find the five
files, load them into DuckDB as text, and check them before anything is built.

The first problem stops validation with a message naming the file, column, row and
value, and how many more rows share it. Row numbers are the file's lines for CSV
(the header is line 1) and record numbers for Parquet. Validation writes nothing.
"""
import shutil
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import duckdb

from .errors import InputError
from .geography import bcu_table
from .io import read_yaml
from .paths import CONFIG

DATE = r"\d{4}-\d{2}-\d{2}"
MEMORY_LIMIT = "3GB"


@cache
def spec() -> dict:
    return read_yaml(CONFIG / "cris_contract.yml")


def allowed_values(column_spec: dict) -> list[str] | None:
    if column_spec.get("values_from") == "boroughs":
        return sorted(bcu_table()[0])
    return [str(v) for v in column_spec["values"]] if "values" in column_spec else None


@dataclass
class Extract:
    """A validated extract: each file as text in `con` (a view or table named by its stem).

    `con` is a DuckDB database in a temporary folder, so large extracts spill to disk;
    `close()` removes it.
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

    def where(self, stem: str, line: int) -> str:
        kind = "row" if self.files[stem].suffix == ".csv" else "record"
        return f"{self.files[stem].name}: {kind} {line}"


def load_mapping(path: Path | None) -> dict:
    """A force's mapping to the contract (YAML): file stems, column names and codes.

        files:   {their_stem: contract_stem}
        columns: {contract_stem: {their_column: contract_column}}
        values:  {contract_stem: {contract_column: {their_code: contract_code}}}
    """
    if path is None:
        return {"files": {}, "columns": {}, "values": {}}
    mapping = read_yaml(Path(path))
    unknown = sorted(set(mapping) - {"files", "columns", "values"})
    if unknown:
        raise InputError(f"{path}: unknown key(s) {', '.join(unknown)}; a mapping has files, columns and values")
    stems = set(spec()["files"])
    for key in ("columns", "values"):
        bad = sorted(set(mapping.get(key) or {}) - stems)
        if bad:
            raise InputError(f"{path}: '{key}' names {bad[0]!r}, which is not a file of the contract ({', '.join(sorted(stems))})")
    bad = sorted(set((mapping.get("files") or {}).values()) - stems)
    if bad:
        raise InputError(f"{path}: 'files' maps to {bad[0]!r}, which is not a file of the contract")
    return {key: mapping.get(key) or {} for key in ("files", "columns", "values")}


def find_files(folder: Path, mapping: dict | None = None) -> dict[str, Path]:
    if not folder.is_dir():
        raise InputError(f"extract folder {folder} does not exist")
    their = {contract_stem: their_stem for their_stem, contract_stem in ((mapping or {}).get("files") or {}).items()}
    files = {}
    for stem in spec()["files"]:
        name = their.get(stem, stem)
        found = [folder / f"{name}{ext}" for ext in (".csv", ".parquet") if (folder / f"{name}{ext}").is_file()]
        if not found:
            raise InputError(f"{folder}: missing file {name}.csv or {name}.parquet")
        if len(found) > 1:
            raise InputError(f"{folder}: both {found[0].name} and {found[1].name}; keep one")
        files[stem] = found[0]
    return files


def _load(con: duckdb.DuckDBPyConnection, stem: str, path: Path, mapping: dict) -> None:
    """Load a file as text columns plus _line, its position in the file, mapped to the contract."""
    if path.suffix == ".csv":
        source = f"read_csv('{path}', all_varchar=true, header=true)"
        line = "row_number() over () + 1"  # a single-threaded load keeps file order; the header is line 1
        kind = "table"
    else:
        source = f"read_parquet('{path}', file_row_number=true)"
        line = "file_row_number + 1"
        kind = "view"  # read as needed, never copied: memory stays bounded
    try:
        columns = [row[0] for row in con.execute(f"describe select * from {source}").fetchall()]
    except duckdb.Error as exc:
        raise InputError(f"{path}: cannot be read ({exc})") from None
    renames = mapping["columns"].get(stem, {})
    recodes = mapping["values"].get(stem, {})

    def column(c: str) -> str:
        name = renames.get(c, c)
        # An empty cell means "not recorded" (the contract), in CSV and Parquet alike.
        value = f"nullif(cast(\"{c}\" as varchar), '')"
        if name in recodes:
            cases = " ".join(f"when {value} = ? then ?" for _ in recodes[name])
            value = f"case {cases} else {value} end"
        return f'{value} as "{name}"'

    params = [str(x) for c in columns if renames.get(c, c) in recodes for pair in recodes[renames.get(c, c)].items() for x in pair]
    text = ", ".join(column(c) for c in columns if c != "file_row_number")
    if kind == "table":
        con.execute("set threads = 1")
    sql = f'create {kind} "{stem}" as select {line} as _line, {text} from {source}'
    if params:  # views cannot hold prepared parameters: inline the (mapping's) literal codes
        sql = sql.replace("?", "{}").format(*(_literal(p) for p in params))
    con.execute(sql)
    con.execute("reset threads")


def _literal(value) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _first(con, sql: str, params=None):
    """(line, value, count) of the rows `sql` selects (columns _line, value), first by line, or None."""
    row = con.execute(f"select min_by(value, _line), min(_line), count(*) from ({sql})", params or []).fetchone()
    return None if row[2] == 0 else (row[1], row[0], row[2])


def _stop(extract: Extract, stem: str, column: str, found, why: str):
    line, value, count = found
    more = f" ({count - 1} more row(s) like it)" if count > 1 else ""
    raise InputError(f"{extract.where(stem, line)}, column {column}: {value!r} {why}{more}")


def _column_checks(column: str, col_spec: dict) -> list[tuple[str, str]]:
    """(condition on `value` that marks a bad cell, why), in the order they are reported."""
    checks = []
    if col_spec.get("required"):
        checks.append(("value is null", "is empty, but the contract requires a value"))
    kind = col_spec["type"]
    if kind == "int":
        checks.append(("value is not null and try_cast(value as bigint) is null", "is not a whole number"))
        for bound, op, word in (("min", "<", "below"), ("max", ">", "above")):
            if bound in col_spec:
                checks.append((f"try_cast(value as bigint) {op} {col_spec[bound]}", f"is {word} {col_spec[bound]}"))
    elif kind == "date":
        checks.append((f"value is not null and (not regexp_full_match(value, '{DATE}') "
                       "or try_strptime(value, '%Y-%m-%d') is null)", "is not a date YYYY-MM-DD"))
    elif kind == "yn":
        checks.append(("value not in ('Y', 'N')", "is not Y or N"))
    values = allowed_values(col_spec)
    if values is not None:
        checks.append((f"not list_contains({_literal(values)}, value)", "is not an allowed value (see the contract)"))
    return checks


def _check_columns(extract: Extract, stem: str, file_spec: dict) -> None:
    """Every cell check of a file in one scan; the first problem (in column and check order) is reported."""
    con = extract.con
    present = {row[0] for row in con.execute(f'describe "{stem}"').fetchall()}
    missing = [c for c in file_spec["columns"] if c not in present]
    if missing:
        raise InputError(f"{extract.files[stem].name}: missing column(s) {', '.join(missing)}")
    checks = [(column, cond.replace("value", f'"{column}"'), why)
              for column, col_spec in file_spec["columns"].items() for cond, why in _column_checks(column, col_spec)]
    aggregates = ", ".join(f"count(*) filter (where coalesce({cond}, false)), min(_line) filter (where coalesce({cond}, false))"
                           for _, cond, _ in checks)
    found = con.execute(f'select {aggregates} from "{stem}"').fetchone()
    for i, (column, cond, why) in enumerate(checks):
        count, line = found[2 * i], found[2 * i + 1]
        if count:
            value = con.execute(f'select "{column}" from "{stem}" where _line = ?', [line]).fetchone()[0]
            _stop(extract, stem, column, (line, value, count), why)


def _check_rows(extract: Extract, stem: str, file_spec: dict) -> None:
    con = extract.con
    if key := file_spec.get("key"):
        cols = ", ".join(f'"{c}"' for c in key)
        joined = " || ' / ' || ".join(f'"{c}"' for c in key)
        dup = (f'select _line, {joined} as value from (select *, row_number() over (partition by {cols} order by _line) as n '
               f'from "{stem}") where n > 1')
        if found := _first(con, dup):
            _stop(extract, stem, " + ".join(key), found, "repeats an earlier row's id")
    if parent := file_spec.get("joins"):
        orphan = f'select _line, crime_ref as value from "{stem}" where crime_ref not in (select crime_ref from "{parent}")'
        if found := _first(con, orphan):
            _stop(extract, stem, "crime_ref", found, f"has no offence in {extract.files[parent].name}")
    for major, minors in file_spec.get("minor_by_major", {}).items():
        wrong = f'select _line, minor_crime as value from "{stem}" where major_crime = ? and not list_contains(?, minor_crime)'
        if found := _first(con, wrong, [major, minors]):
            _stop(extract, stem, "minor_crime", found, f"is not a minor crime of {major}")
    if stem == "offences":
        no_main = ('select min(_line) as _line, crime_ref as value from offences group by crime_ref '
                   "having not bool_or(cast(offence_seq as bigint) = 1)")
        if found := _first(con, no_main):
            _stop(extract, stem, "offence_seq", found, "(crime_ref) has no main offence with offence_seq 1")


def validate(folder: Path, mapping_file: Path | None = None) -> Extract:
    """Load an extract (through a force's mapping, if any) and check it; raises InputError
    at the first problem."""
    folder = Path(folder)
    mapping = load_mapping(mapping_file)
    files = find_files(folder, mapping)
    workdir = Path(tempfile.mkdtemp(prefix="vw-extract-"))
    con = duckdb.connect(str(workdir / "work.duckdb"))
    con.execute(f"set memory_limit = '{MEMORY_LIMIT}'")
    con.execute(f"set temp_directory = '{workdir}'")
    try:
        con.execute("set enable_progress_bar = false")  # in a terminal, long queries would draw bars on stderr
    except duckdb.InvalidInputException:
        pass  # in Jupyter, DuckDB draws no bar without ipywidgets and refuses the setting

    extract = Extract(folder, files, con, workdir)
    try:
        for stem, path in extract.files.items():
            _load(con, stem, path, mapping)
        for stem, file_spec in spec()["files"].items():
            _check_columns(extract, stem, file_spec)
        for stem, file_spec in spec()["files"].items():
            _check_rows(extract, stem, file_spec)
    except BaseException:
        extract.close()
        raise
    return extract

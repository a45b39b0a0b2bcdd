"""The police crime-report extract contract (config/cris_contract.yml): find the five
files, load them into DuckDB as text, and check them before anything is built.

The first problem stops validation with a message naming the file, column, row and
value, and how many more rows share it. Row numbers are the file's lines for CSV
(the header is line 1) and record numbers for Parquet. Validation writes nothing.
"""
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import duckdb

from .errors import InputError
from .geography import bcu_table
from .io import read_yaml
from .paths import CONFIG

DATE = r"\d{4}-\d{2}-\d{2}"


@cache
def spec() -> dict:
    return read_yaml(CONFIG / "cris_contract.yml")


def allowed_values(column_spec: dict) -> list[str] | None:
    if column_spec.get("values_from") == "boroughs":
        return sorted(bcu_table()[0])
    return [str(v) for v in column_spec["values"]] if "values" in column_spec else None


@dataclass
class Extract:
    """A validated extract: each file loaded as text in `con`, table name = file stem."""
    folder: Path
    files: dict[str, Path]
    con: duckdb.DuckDBPyConnection

    def where(self, stem: str, line: int) -> str:
        kind = "row" if self.files[stem].suffix == ".csv" else "record"
        return f"{self.files[stem].name}: {kind} {line}"


def find_files(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        raise InputError(f"extract folder {folder} does not exist")
    files = {}
    for stem in spec()["files"]:
        found = [folder / f"{stem}{ext}" for ext in (".csv", ".parquet") if (folder / f"{stem}{ext}").is_file()]
        if not found:
            raise InputError(f"{folder}: missing file {stem}.csv or {stem}.parquet")
        if len(found) > 1:
            raise InputError(f"{folder}: both {found[0].name} and {found[1].name}; keep one")
        files[stem] = found[0]
    return files


def _load(con: duckdb.DuckDBPyConnection, stem: str, path: Path) -> None:
    """Load a file as text columns plus _line, its position in the file."""
    if path.suffix == ".csv":
        source = f"read_csv('{path}', all_varchar=true, header=true)"
        line = "row_number() over () + 1"  # single-threaded load keeps file order; the header is line 1
    else:
        source = f"read_parquet('{path}', file_row_number=true)"
        line = "file_row_number + 1"
    try:
        columns = [row[0] for row in con.execute(f"describe select * from {source}").fetchall()]
    except duckdb.Error as exc:
        raise InputError(f"{path}: cannot be read ({exc})") from None
    # An empty cell means "not recorded" (the contract), in CSV and Parquet alike.
    text = ", ".join(f'nullif(cast("{c}" as varchar), \'\') as "{c}"' for c in columns if c != "file_row_number")
    con.execute(f'create table "{stem}" as select {line} as _line, {text} from {source}')


def _first(con, sql: str, params=None):
    """(line, value, count) of the rows `sql` selects (columns _line, value), first by line, or None."""
    row = con.execute(f"select min_by(value, _line), min(_line), count(*) from ({sql})", params or []).fetchone()
    return None if row[2] == 0 else (row[1], row[0], row[2])


def _stop(extract: Extract, stem: str, column: str, found, why: str):
    line, value, count = found
    more = f" ({count - 1} more row(s) like it)" if count > 1 else ""
    raise InputError(f"{extract.where(stem, line)}, column {column}: {value!r} {why}{more}")


def _check_columns(extract: Extract, stem: str, file_spec: dict) -> None:
    con = extract.con
    present = {row[0] for row in con.execute(f'describe "{stem}"').fetchall()}
    missing = [c for c in file_spec["columns"] if c not in present]
    if missing:
        raise InputError(f"{extract.files[stem].name}: missing column(s) {', '.join(missing)}")
    for column, col_spec in file_spec["columns"].items():
        base = f'select _line, "{column}" as value from "{stem}"'
        if col_spec.get("required") and (found := _first(con, f'{base} where value is null')):
            _stop(extract, stem, column, found, "is empty, but the contract requires a value")
        kind = col_spec["type"]
        if kind == "int":
            if found := _first(con, f"{base} where value is not null and try_cast(value as bigint) is null"):
                _stop(extract, stem, column, found, "is not a whole number")
            for bound, op in (("min", "<"), ("max", ">")):
                if bound in col_spec and (found := _first(con, f"{base} where cast(value as bigint) {op} ?", [col_spec[bound]])):
                    _stop(extract, stem, column, found, f"is {'below' if op == '<' else 'above'} {col_spec[bound]}")
        elif kind == "date":
            bad = f"{base} where value is not null and (not regexp_full_match(value, '{DATE}') or try_strptime(value, '%Y-%m-%d') is null)"
            if found := _first(con, bad):
                _stop(extract, stem, column, found, "is not a date YYYY-MM-DD")
        elif kind == "yn" and (found := _first(con, f"{base} where value not in ('Y', 'N')")):
            _stop(extract, stem, column, found, "is not Y or N")
        values = allowed_values(col_spec)
        if values is not None and (found := _first(con, f"{base} where not list_contains(?, value)", [values])):
            _stop(extract, stem, column, found, "is not an allowed value (see the contract)")


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


def validate(folder: Path) -> Extract:
    """Load and check an extract; raises InputError at the first problem."""
    folder = Path(folder)
    con = duckdb.connect()
    con.execute("set threads = 1")  # file order for CSV row numbers
    extract = Extract(folder, find_files(folder), con)
    for stem, path in extract.files.items():
        _load(con, stem, path)
    con.execute("reset threads")
    for stem, file_spec in spec()["files"].items():
        _check_columns(extract, stem, file_spec)
    for stem, file_spec in spec()["files"].items():
        _check_rows(extract, stem, file_spec)
    return extract

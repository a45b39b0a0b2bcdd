"""The bespoke analysis dataset: any extract that follows the contract, built the pack's way.

`build` validates the extract (nothing is written if it fails: the error is the whole
validation report), then with DuckDB end to end: keeps the main offence of each report,
applies the pack's exclusions in order (period, outcome assigned, no-crime and
administrative outcomes, crime group, victimless, several offences, several victims,
several suspects), and derives the pack's variables from config/dataset.yml and
config/bcu.yml. Reports are counted from the validation's per-report counts (no second
pass over the files); the kept reports' rows are joined once, sorted once in a compact
form, and their variables derived as they stream to the file. It writes, all or nothing,
into the output folder:
  cohort.parquet      one row per report of the combined analysis dataset
  open.parquet        the reports in scope but still open (no outcome) when the extract was
                      taken, with the cohort's variables bar those of the outcome: what a
                      time-to-outcome analysis censors at the as-of date (helpers.beyond)
  exclusions.csv      reports and victims left and removed at each step, in order
  data_quality.csv    the pack's data-quality measures: count, base, share
  build.json          what was built from what, and the as-of date: the day the extract was
                      taken (given, or else the latest date found in it)
"""

import csv
import datetime as dt
import hashlib
import json
import shutil
import time
from functools import cache
from pathlib import Path

import duckdb
from duckdb import ColumnExpression

from . import contract
from .errors import InputError
from .geography import bcu_table
from .io import read_yaml
from .paths import CONFIG, resolve

FLAGS = [
    "Domestic Incident",
    "Racial Incident",
    "Anti-Semitic Racial Incident",
    "Islamophobic Hate Crime",
    "Homophobic Incident",
    "Transgender Hate Crime",
    "Faith Hate",
    "Disability Related Hate Crime",
    "Honour Based Violence",
    "Modern Slavery",
]


@cache
def config() -> dict:
    return read_yaml(CONFIG / "dataset.yml")


def _text(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _in(column: str, values, lower: bool = False) -> str:
    """`column` is one of `values`; with lower, values are compared in lower case (the column is already)."""
    items = ", ".join(_text(v.lower() if lower else v) for v in values)
    return f"({column} in ({items}))"


def _contains(column: str, words) -> str:
    """`column` (in lower case) contains one of `words`."""
    return "(" + " or ".join(f"contains({column}, {_text(w.lower())})" for w in words) + ")"


def _case(column: str, mapping: dict, default: str = "Unknown") -> str:
    whens = " ".join(f"when {column} = {_text(k)} then {_text(v)}" for k, v in mapping.items())
    return f"case {whens} else {_text(default)} end"


def _bands(column: str, bands: dict, default: str = "Unknown") -> str:
    whens = " ".join(f"when {column} between {lo} and {hi} then {_text(name)}" for name, (lo, hi) in bands.items())
    return f"case {whens} else {_text(default)} end"


def flag_column(flag: str) -> str:
    return "flag_" + flag.lower().replace("-", "_").replace(" ", "_")


def _area(spec: dict) -> str:
    """The SQL condition of a crime area (see config/dataset.yml)."""
    what = []
    if "offences" in spec:
        what.append(_in("description", spec["offences"], lower=True))
    if "offence_words" in spec:
        what.append(_contains("description", spec["offence_words"]))
    if "flags" in spec:
        what += [flag_column(f) for f in spec["flags"]]
    if "majors" in spec:
        what.append(_in("major_crime", spec["majors"]))
    if "minors" in spec:
        what.append(_in("minor_crime", spec["minors"]))
    if "crime_types" in spec:
        what.append(_in("crime_type", spec["crime_types"]))
    condition = "(" + " or ".join(what) + ")"
    if "victim_age" in spec:
        lo, hi = spec["victim_age"]
        age = f"(victim_age between {lo} and {hi})"
        if "any_age_offence_words" in spec:
            age = f"({age} or {_contains('description', spec['any_age_offence_words'])})"
        condition += f" and {age}"
    if "suspect_age" in spec:
        lo, hi = spec["suspect_age"]
        condition += f" and (suspect_age between {lo} and {hi})"
    if "exclude_offence_words" in spec:
        condition += f" and not {_contains('description', spec['exclude_offence_words'])}"
    for other in spec.get("not_areas", []):
        condition += f" and not {other}"
    return f"coalesce({condition}, false)"


def area_layers(areas: dict) -> list[list[str]]:
    """Crime areas in the order they can be computed: each layer needs only earlier layers
    (an area's `not_areas`). A circle, or an unknown area, is an error naming the file."""
    layers, placed = [], set()
    while len(placed) < len(areas):
        layer = [a for a in areas if a not in placed and set(areas[a].get("not_areas", [])) <= placed]
        if not layer:
            stuck = sorted(a for a in areas if a not in placed)
            raise InputError(
                f"config/dataset.yml: crime areas {', '.join(stuck)} exclude areas that are unknown "
                "or exclude each other in a circle ('not_areas')"
            )
        layers.append(layer)
        placed |= set(layer)
    return layers


def _crime_type() -> str:
    whens = []
    for t in config()["crime_types"]:
        condition = f"k.major_crime = {_text(t['major'])}"
        if "minors" in t:
            condition += f" and {_in('k.minor_crime', t['minors'])}"
        whens.append(f"when {condition} then {_text(t['name'])}")
    return f"case {' '.join(whens)} end"


def _exclusion_steps(start: dt.date, end: dt.date) -> list[tuple[str, str]]:
    c = config()
    return [
        ("Reported in the period", f"reported_date between date {_text(start)} and date {_text(end)}"),
        ("Outcome assigned", "outcome_code is not null"),
        ("Not a no-crime or administrative outcome", f"not {_in('outcome_code', c['excluded_outcomes'])}"),
        ("In-scope crime group", _in("major_crime", c["in_scope_majors"])),
        ("A victim recorded", "n_victims >= 1"),
        ("One offence", "n_offences = 1"),
        ("One victim", "n_victims = 1"),
        ("No more than one suspect", "n_suspects <= 1"),
    ]


# The steps about the outcome: a report still open passes every other one.
OUTCOME_STEPS = ("Outcome assigned", "Not a no-crime or administrative outcome")
# The cohort's variables that describe the outcome, which an open report does not have.
OUTCOME_COLUMNS = [
    "investigation_complete_date",
    "outcome_date",
    "outcome_code",
    "outcome_group",
    "victim_withdrawal",
    "days_to_complete",
    "early_withdrawal",
]


def _open_condition(start: dt.date, end: dt.date) -> str:
    """In scope, but with no outcome when the extract was taken."""
    kept = [c for description, c in _exclusion_steps(start, end) if description not in OUTCOME_STEPS]
    return " and ".join([*kept, "outcome_code is null"])


def latest_date(con: duckdb.DuckDBPyConnection, stems) -> dt.date | None:
    """The latest date in any date column of the extract's files (None if there is none)."""
    found = []
    for stem in stems:
        table = con.table(stem)
        dates = [f'"{c}"' for c, t in zip(table.columns, table.types, strict=True) if t == duckdb.sqltype("DATE")]
        if dates:
            found.append(table.aggregate(f"max(greatest({', '.join(dates)}))").fetchall()[0][0])
    found = [d for d in found if d is not None]
    return max(found) if found else None


def _check_as_of(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> None:
    """A report made after the as-of date cannot be in an extract taken then."""
    late = con.execute(
        "select crime_ref, reported_date from offences where reported_date > ? "
        "order by reported_date, crime_ref limit 1",
        [as_of],
    ).fetchall()
    if late:
        raise InputError(
            f"--as-of {as_of}: report {late[0][0]} was reported on {late[0][1]}, after it; the as-of "
            "date is the day the extract was taken"
        )


def _reports(con: duckdb.DuckDBPyConnection) -> None:
    """One row per report, narrow: its main offence's line (validation guarantees exactly one
    offence_seq 1), the fields the exclusions test and its counts of offences, victims and
    suspects (from the validation's `refs`)."""
    con.execute("""
        create temp table reports as
        select r.main_line as report_line, r.crime_ref, o.reported_date, o.outcome_code,
               o.major_crime, r.n_offences, r.n_victims, r.n_suspects,
               r.n_knife_crime_features > 0 as knife_crime_feature
        from offences o join refs r on o._line = r.main_line""")
    con.execute("drop table refs")


def _exclusions(con, start, end) -> list[dict]:
    """Reports and victims left after each step, counted in one scan. The table `kept` holds the
    cohort's reports and the open ones."""
    steps = [("All reports in the extract", "true")] + _exclusion_steps(start, end)
    conditions = [" and ".join(c for _, c in steps[: i + 1]) for i in range(len(steps))]
    counts = con.execute(
        "select "
        + ", ".join(f"count(*) filter (where {c}), coalesce(sum(n_victims) filter (where {c}), 0)" for c in conditions)
        + " from reports"
    ).fetchall()[0]
    rows = []
    for i, (description, _) in enumerate(steps):
        reports, victims = counts[2 * i], counts[2 * i + 1]
        before = rows[-1] if rows else {"reports": reports, "victims": victims}
        rows.append(
            {
                "step": i,
                "description": description,
                "reports": reports,
                "victims": victims,
                "reports_removed": before["reports"] - reports,
                "victims_removed": before["victims"] - victims,
            }
        )
    con.execute(
        "create temp table kept as select report_line, crime_ref, knife_crime_feature "
        f"from reports where ({conditions[-1]}) or ({_open_condition(start, end)})"
    )
    con.execute("drop table reports")
    return rows


def _coded(alias: str, stem: str, columns: list[str]) -> str:
    """`columns` of a contract file, those with a list of allowed values as an ENUM of it (one
    byte where text takes sixteen: validation has checked every value is in the list)."""
    specs = contract.spec()["files"][stem]["columns"]
    return ", ".join(
        f"cast({alias}.{c} as enum({', '.join(_text(v) for v in values)})) as {c}"
        if (values := contract.allowed_values(specs[c]))
        else f"{alias}.{c}"
        for c in columns
    )


def _sources(con: duckdb.DuckDBPyConnection) -> None:
    """The table `sources`: the kept reports' main offence, victim, suspect and flags (structs
    k, v, s, f), compact and in the extract's order. The one sort of the build is here, on
    compact columns; the variables are derived from this table as its rows stream to the file
    (a scan of one table keeps its order)."""
    offence = [
        "crime_ref",
        "offence_description",
        "major_crime",
        "minor_crime",
        "borough",
        "committed_date",
        "reported_date",
        "investigation_complete_date",
        "outcome_date",
        "outcome_code",
        "how_notified",
        "venue_type",
    ]
    victim = [
        "sex",
        "gender",
        "ethnic_appearance",
        "self_defined_ethnicity",
        "nationality",
        "disability",
        "vulnerability",
        "reported_cr_last_12m",
        "cris_repeat_victim",
        "repeat_victim",
        "injury_degree",
    ]
    suspect = [
        "suspect_id",
        "sex",
        "ethnic_appearance",
        "self_defined_ethnicity",
        "nationality",
        "pnc_status",
        "how_known",
        "arrested_on_scene",
        "arrested_or_interviewed",
        "disability",
    ]
    flags = ", ".join(f"bool_or(flag = {_text(f)}) as {flag_column(f)}" for f in FLAGS)
    con.execute(f"""
        create temp table sources as
        select k, v, s, f from (
            select o._line as report_line, {_coded("o", "offences", offence)}, k.knife_crime_feature
            from offences o join kept k on o._line = k.report_line) k
        join (select crime_ref, cast(age as integer) as age, {_coded("x", "victims", victim)}
              from victims x where crime_ref in (select crime_ref from kept)) v on v.crime_ref = k.crime_ref
        left join (select crime_ref, cast(age as integer) as age, {_coded("x", "suspects", suspect)}
                   from suspects x where crime_ref in (select crime_ref from kept)) s on s.crime_ref = k.crime_ref
        left join (select crime_ref, {flags} from flags group by crime_ref) f on f.crime_ref = k.crime_ref
        order by k.report_line""")


def _cohort_sql() -> str:
    c = config()
    borough_to_bcu = bcu_table()[0]
    flag_columns = ", ".join(f"coalesce(f.{flag_column(f)}, false) as {flag_column(f)}" for f in FLAGS)
    hate_flags = c["crime_areas"]["hate_crime"]["flags"]
    delay = _bands("date_diff('day', k.committed_date, k.reported_date)", c["delay_days"])
    base = f"""
        select k.report_line, k.crime_ref, k.offence_description, lower(k.offence_description) as description,
               k.major_crime, k.minor_crime,
               coalesce(k.borough, 'Unknown') as borough, {_case("k.borough", borough_to_bcu)} as bcu,
               {_crime_type()} as crime_type,
               k.reported_date, k.committed_date, k.investigation_complete_date, k.outcome_date, k.outcome_code,
               {_case("k.outcome_code", {code: g for g, codes in c["outcome_groups"].items() for code in codes})} as outcome_group,
               {_in("k.outcome_code", c["withdrawal_outcomes"])} as victim_withdrawal,
               {_case("k.venue_type", c["venue"])} as venue,
               {_case("k.how_notified", c["how_reported"])} as how_reported,
               {delay} as delay,
               date_diff('day', k.reported_date, k.investigation_complete_date) as days_to_complete,
               {flag_columns},
               ({" or ".join("coalesce(f." + flag_column(f) + ", false)" for f in hate_flags)}) as flag_hate_crime,
               k.knife_crime_feature,
               coalesce(v.sex, 'Unknown') as victim_sex,
               coalesce(v.gender in ('Transgender', 'Non-binary'), false) as victim_transgender_non_binary,
               coalesce(v.disability in ('Physical', 'Sensory') or v.vulnerability = 'Physical', false) as victim_physical_disability,
               coalesce(v.disability in ('Mental health', 'Learning') or v.vulnerability = 'Mental health', false)
                   as victim_mental_health,
               coalesce(v.disability = 'Other', false) as victim_other_disability,
               coalesce(v.vulnerability = 'Intimidated', false) as victim_intimidated,
               coalesce(v.reported_cr_last_12m = 'Y' or v.cris_repeat_victim = 'Y' or v.repeat_victim = 'Y', false) as repeat_victim,
               coalesce(v.injury_degree in ('Minor', 'Moderate', 'Serious', 'Fatal'), false) as victim_injured,
               cast(v.age as integer) as victim_age,
               {_bands("cast(v.age as integer)", c["age_groups"])} as victim_age_group,
               {_bands("cast(v.age as integer)", c["age_detail"])} as victim_age_detail,
               {_case("v.ethnic_appearance", c["ethnicity"])} as victim_ethnicity,
               v.ethnic_appearance as victim_ethnic_appearance, v.self_defined_ethnicity as victim_self_defined_ethnicity,
               case when v.nationality is null then 'Not recorded'
                    when {_in("v.nationality", c["uk_nationalities"])} then 'UK national' else 'Non-UK national' end
                   as victim_nationality,
               s.suspect_id is not null as suspect_recorded,
               coalesce(s.how_known is not null and s.how_known <> 'Stranger', false) as suspect_known,
               case when s.suspect_id is null then 'No suspect'
                    else {_case("s.how_known", c["relationship"], "Stranger/not recorded")} end as relationship,
               coalesce(s.arrested_on_scene = 'Y', false) as arrested_on_scene,
               coalesce(s.arrested_or_interviewed = 'Y' and s.arrested_on_scene <> 'Y', false) as arrested_later,
               coalesce(s.disability = 'Y', false) as suspect_disability,
               cast(s.age as integer) as suspect_age,
               case when s.suspect_id is null then 'No suspect' else {_bands("cast(s.age as integer)", c["age_groups"])} end
                   as suspect_age_group,
               case when s.suspect_id is null then 'No suspect' else {_bands("cast(s.age as integer)", c["age_detail"])} end
                   as suspect_age_detail,
               case when s.suspect_id is null then 'No suspect' else coalesce(s.sex, 'Unknown') end as suspect_sex,
               s.sex as suspect_sex_recorded,
               case when s.suspect_id is null then 'No suspect' else {_case("s.ethnic_appearance", c["ethnicity"])} end
                   as suspect_ethnicity,
               s.ethnic_appearance as suspect_ethnic_appearance, s.self_defined_ethnicity as suspect_self_defined_ethnicity,
               case when s.suspect_id is null then 'No suspect' when s.nationality is null then 'Not recorded'
                    when {_in("s.nationality", c["uk_nationalities"])} then 'UK national' else 'Non-UK national' end
                   as suspect_nationality,
               case when s.suspect_id is null then 'No suspect' else coalesce(s.pnc_status, 'Unknown') end as suspect_pnc
        from sources"""
    areas = c["crime_areas"]
    for layer in area_layers(areas):  # an area is computed after the areas it excludes
        base = f"select *, {', '.join(f'{_area(areas[a])} as {a}' for a in layer)} from ({base})"
    days = c["early_withdrawal_days"]
    return f"""
        select * exclude (description),
               victim_withdrawal and days_to_complete < case when adult_sexual or adult_rape or csa
                                                        then {days["sexual"]} else {days["default"]} end
                  as early_withdrawal
        from ({base})"""


def data_quality(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """The pack's data-quality measures on the cohort (count, base, share)."""
    c = config()
    named = _in("outcome_code", c["named_suspect_outcomes"])
    measures = [
        (
            "victim_ethnicity_unknown",
            "Victim ethnic appearance unknown (IC0 or not recorded)",
            "victim_ethnic_appearance is null or victim_ethnic_appearance = 'IC0'",
            "true",
        ),
        (
            "victim_self_defined_missing",
            "Victim self-defined ethnicity not recorded",
            "victim_self_defined_ethnicity is null",
            "true",
        ),
        ("victim_age_missing", "Victim age not recorded", "victim_age is null", "true"),
        (
            "suspect_ethnicity_missing",
            "Suspect ethnic appearance not recorded (suspect recorded)",
            "suspect_ethnic_appearance is null",
            "suspect_recorded",
        ),
        (
            "suspect_self_defined_missing",
            "Suspect self-defined ethnicity not recorded (suspect recorded)",
            "suspect_self_defined_ethnicity is null",
            "suspect_recorded",
        ),
        (
            "suspect_sex_missing",
            "Suspect sex not recorded or unknown (suspect recorded)",
            "suspect_sex_recorded is null or suspect_sex_recorded = 'Unknown'",
            "suspect_recorded",
        ),
        (
            "suspect_sex_unknown_named_outcome",
            "Suspect sex not recorded or unknown where the outcome names a suspect",
            "suspect_sex_recorded is null or suspect_sex_recorded = 'Unknown'",
            f"suspect_recorded and {named}",
        ),
        (
            "no_suspect_named_outcome",
            "No suspect recorded, yet closed with an outcome that needs an identified suspect",
            named,
            "not suspect_recorded",
        ),
        (
            "known_in_outcome_14",
            "Suspect recorded and known to the victim, yet outcome 14 (no suspect identified)",
            "suspect_known",
            "suspect_recorded and outcome_code = '14'",
        ),
        (
            "known_in_outcome_18",
            "Suspect recorded and known to the victim, yet outcome 18 (no suspect identified)",
            "suspect_known",
            "suspect_recorded and outcome_code = '18'",
        ),
        ("borough_missing", "Borough not recorded", "borough = 'Unknown'", "true"),
        ("committed_date_missing", "Date committed not recorded", "committed_date is null", "true"),
        ("committed_after_reported", "Committed after it was reported", "committed_date > reported_date", "true"),
        (
            "complete_before_reported",
            "Investigation complete before the report",
            "investigation_complete_date < reported_date",
            "true",
        ),
        (
            "complete_date_missing",
            "Outcome assigned but no investigation-complete date",
            "investigation_complete_date is null",
            "true",
        ),
    ]
    found = con.execute(
        "select "
        + ", ".join(
            f"count(*) filter (where ({base}) and coalesce({condition}, false)), count(*) filter (where {base})"
            for _, _, condition, base in measures
        )
        + " from cohort"
    ).fetchall()[0]
    return [
        {
            "measure": key,
            "description": description,
            "count": found[2 * i],
            "base": found[2 * i + 1],
            "share": found[2 * i] / found[2 * i + 1] if found[2 * i + 1] else None,
        }
        for i, (key, description, _, _) in enumerate(measures)
    ]


def inputs_digest(extract: Path, mapping: Path | None) -> str:
    """What the build depends on: the extract's files, the mapping and the build's configuration."""
    digest = hashlib.sha256()
    paths = sorted(p for p in Path(extract).iterdir() if p.is_file()) + [
        CONFIG / "dataset.yml",
        CONFIG / "bcu.yml",
        CONFIG / "cris_contract.yml",
        Path(__file__),
        Path(contract.__file__),
    ]
    for path in paths + ([mapping] if mapping else []):
        digest.update(f"{path.name}:{path.stat().st_size}".encode())
        with open(path, "rb") as handle:  # the head and tail of each file: enough to tell extracts apart
            digest.update(handle.read(1 << 20))
            handle.seek(max(0, path.stat().st_size - (1 << 20)))
            digest.update(handle.read())
    return digest.hexdigest()[:16]


def _write_csv(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def build(
    extract: Path, start: dt.date, end: dt.date, out: Path, mapping: Path | None = None, as_of: dt.date | None = None
) -> dict:
    """Build the combined analysis dataset of `extract` for reports recorded from `start` to
    `end`, and the table of those still open on `as_of`, the day the extract was taken
    (default: the latest date found in it)."""
    if end < start:
        raise InputError(f"the period ends ({end}) before it starts ({start})")
    began = time.perf_counter()
    checked = contract.validate(Path(extract), mapping)
    validated = time.perf_counter()
    partial = out.with_name(f".{out.name}.partial")
    try:
        con = checked.con
        given = as_of is not None
        if given:
            _check_as_of(con, as_of)
        else:
            as_of = latest_date(con, checked.files)
        _reports(con)
        exclusions = _exclusions(con, start, end)
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        # Rows in the extract's own order (its main offences' lines): the same bytes on every
        # run, whatever order the threads finished in. From here on the order is kept: a scan
        # of one table keeps it, as long as DuckDB does not turn a long `in (...)` into a join.
        con.execute("set preserve_insertion_order = true")
        con.execute("set disabled_optimizers = 'in_clause'")
        _sources(con)
        con.execute("drop table kept")
        derived = _cohort_sql()
        text = duckdb.sqltype("VARCHAR")  # columns passed through as ENUMs are written as text, as they came
        outcome = ", ".join(OUTCOME_COLUMNS)
        for name, rows in (
            ("cohort", f"select * exclude (report_line) from ({derived}) where outcome_code is not null"),
            ("open", f"select * exclude (report_line, {outcome}) from ({derived}) where outcome_code is null"),
        ):
            table = con.sql(rows)
            table.project(
                *(
                    ColumnExpression(c).cast(text).alias(c) if t.id == "enum" else ColumnExpression(c)
                    for c, t in zip(table.columns, table.types, strict=True)
                )
            ).write_parquet(str(partial / f"{name}.parquet"))
        con.read_parquet(str(partial / "cohort.parquet")).create_view("cohort")
        still_open = con.read_parquet(str(partial / "open.parquet")).aggregate("count(*)").fetchall()[0][0]
        quality = data_quality(con)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    finally:
        checked.close()
    _write_csv(partial / "exclusions.csv", exclusions)
    _write_csv(partial / "data_quality.csv", quality)
    manifest = {
        "extract": str(extract),
        "period_start": start.isoformat(),
        "period_end": end.isoformat(),
        "mapping": str(mapping) if mapping else None,
        "inputs": inputs_digest(extract, mapping),
        "reports": exclusions[-1]["reports"],
        "open_reports": still_open,
        "as_of": as_of.isoformat() if as_of else None,
        "as_of_given": given,
        "seconds_validating": round(validated - began, 2),
        "seconds": round(time.perf_counter() - began, 2),
    }
    (partial / "build.json").write_text(json.dumps(manifest, indent=2) + "\n")
    shutil.rmtree(out, ignore_errors=True)
    partial.rename(out)
    return manifest


def ensure(
    extract: Path, start: dt.date, end: dt.date, out: Path, mapping: Path | None = None, as_of: dt.date | None = None
) -> dict:
    """The dataset in `out`, built unless one built from the same inputs is already there."""
    manifest_path = out / "build.json"
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
        same_as_of = manifest.get("as_of_given") is (as_of is not None) and (
            as_of is None or manifest["as_of"] == as_of.isoformat()
        )
        if same_as_of and (manifest["period_start"], manifest["period_end"], manifest["inputs"]) == (
            start.isoformat(),
            end.isoformat(),
            inputs_digest(extract, mapping),
        ):
            return manifest
    return build(extract, start, end, out, mapping, as_of)


def for_run(params) -> tuple[Path, dict]:
    """A run's analysis dataset (its `dataset_dir`) and manifest, built from the run's extract,
    period and mapping unless it is up to date: what every chapter and the runner use."""
    out = resolve(params.dataset_dir)
    mapping = resolve(params.extract_mapping) if params.extract_mapping else None
    return out, ensure(resolve(params.extract_dir), params.period_start, params.period_end, out, mapping)

"""Run parameters: one YAML file per run, validated before anything executes.

Keys (all required unless a default is shown):
  run_name               name of the run and of its output folder under _build/
  period_start/_end      analysis period, ISO dates, inclusive (chosen by reported date)
  force                  police force analysed (Home Office force name)
  pas_survey_year        PAS survey year whose published figures chapter 02 shows
  mirror                 folder holding copies of the public sources (data/sources.yml)
  raw_dir                where fetched sources are kept (ignored by git)
  suppression_threshold  cells with fewer cases are shown as "N<threshold" (default 100)
  home_office_sources    names (data/sources.yml) of the Home Office outcomes files chapter 03 reads
  count_basis            Home Office count: recorded_in_quarter (the pack's) or closed_in_quarter
  comparators            forces chapter 03 compares ("England and Wales" = all forces bar BTP)
  cps_table              CPS attrition table (CSV, chapter 04); empty for the illustrative series
  extract_dir            folder of the crime-report extract (../shared/contracts/cris-extract.md)
  dataset_dir            where the run's analysis dataset is built (row-level: keep it out of git)
  synthetic              true: the extract is the project's synthetic one, generated if missing
  synthetic_seed         seed of the synthetic extract (same seed, same bytes)
  synthetic_scale        its size, 1.0 = the pack's volumes
  synthetic_drift        sd (percentage points) of a real change of each BCU's withdrawal rate in the
                         synthetic extract, as a real next year has (default 0: none)
  responses_file         free-text responses (CSV: id, text, source) that chapter 08 tags with
                         the codebook's themes; empty for the pack's own quotes
  synthetic_changes      changes to plant in the synthetic extract (YAML; helpers.synth.plant); empty for none
  compare_params         another run's parameters file: chapter 11 compares this run with it; empty for none
  base_url               the address the book is served from, ending in "/" (html.baseurl: canonical
                         links, and the sitemap `make publish` writes); empty when not published
  extract_mapping        YAML mapping a force's file and column names, codes and date formats to the
                         extract contract (helpers.contract.load_mapping); empty for none

A file may start from another: `extends: default.yml` (a path relative to the file) takes
every key of that file, and the file names only what differs.
"""

import datetime as dt
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from .errors import InputError
from .io import read_yaml

DEFAULTS = {
    "suppression_threshold": 100,
    "count_basis": "recorded_in_quarter",
    "cps_table": "",
    "synthetic": True,
    "synthetic_seed": 1,
    "synthetic_scale": 1.0,
    "synthetic_drift": 0.0,
    "responses_file": "",
    "synthetic_changes": "",
    "compare_params": "",
    "extract_mapping": "",
    "base_url": "",
}
LISTS = ("home_office_sources", "comparators")
COUNT_BASES = ("recorded_in_quarter", "closed_in_quarter")


@dataclass(frozen=True)
class Params:
    run_name: str
    period_start: dt.date
    period_end: dt.date
    force: str
    pas_survey_year: str
    mirror: str
    raw_dir: str
    home_office_sources: tuple[str, ...]
    comparators: tuple[str, ...]
    extract_dir: str
    dataset_dir: str
    suppression_threshold: int = 100
    count_basis: str = "recorded_in_quarter"
    cps_table: str = ""
    synthetic: bool = True
    synthetic_seed: int = 1
    synthetic_scale: float = 1.0
    synthetic_drift: float = 0.0
    responses_file: str = ""
    synthetic_changes: str = ""
    compare_params: str = ""
    extract_mapping: str = ""
    base_url: str = ""

    def for_notebook(self) -> dict:
        """Values papermill injects: plain strings and numbers only."""
        plain = {tuple: list, dt.date: dt.date.isoformat}
        return {k: plain.get(type(v), lambda x: x)(v) for k, v in asdict(self).items()}

    @property
    def period_label(self) -> str:
        return f"{self.period_start:%B %Y} to {self.period_end:%B %Y}"


def _date(value, key: str, source: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"{source}: '{key}' must be a date YYYY-MM-DD, got {value!r}") from None


def parse_params(raw: dict, source: str = "parameters") -> Params:
    """Validate a mapping of parameters; `source` names it in error messages."""
    known = set(Params.__dataclass_fields__)
    unknown = sorted(set(raw) - known)
    if unknown:
        raise InputError(f"{source}: unknown key(s) {', '.join(unknown)}; known keys: {', '.join(sorted(known))}")
    values = {**DEFAULTS, **raw}
    missing = sorted(known - set(values))
    if missing:
        raise InputError(f"{source}: missing key(s) {', '.join(missing)}")
    for key in ("period_start", "period_end"):
        values[key] = _date(values[key], key, source)
    if values["period_end"] < values["period_start"]:
        raise InputError(f"{source}: period_end {values['period_end']} is before period_start {values['period_start']}")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", str(values["run_name"])):
        raise InputError(f"{source}: 'run_name' must be letters, digits, '.', '_' or '-', got {values['run_name']!r}")
    if not re.fullmatch(r"\d{4}-\d{2}", str(values["pas_survey_year"])):
        raise InputError(f"{source}: 'pas_survey_year' must look like 2022-23, got {values['pas_survey_year']!r}")
    for key in LISTS:
        items = values[key]
        if not isinstance(items, (list, tuple)) or not items or not all(isinstance(i, str) and i for i in items):
            raise InputError(f"{source}: '{key}' must be a non-empty list of names, got {items!r}")
        values[key] = tuple(items)
    if values["count_basis"] not in COUNT_BASES:
        raise InputError(
            f"{source}: 'count_basis' must be one of {', '.join(COUNT_BASES)}, got {values['count_basis']!r}"
        )
    if not isinstance(values["synthetic"], bool):
        raise InputError(f"{source}: 'synthetic' must be true or false, got {values['synthetic']!r}")
    if not isinstance(values["synthetic_seed"], int) or isinstance(values["synthetic_seed"], bool):
        raise InputError(f"{source}: 'synthetic_seed' must be a whole number, got {values['synthetic_seed']!r}")
    scale = values["synthetic_scale"]
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or scale <= 0:
        raise InputError(f"{source}: 'synthetic_scale' must be a positive number, got {scale!r}")
    values["synthetic_scale"] = float(scale)
    drift = values["synthetic_drift"]
    if isinstance(drift, bool) or not isinstance(drift, (int, float)) or drift < 0:
        raise InputError(
            f"{source}: 'synthetic_drift' must be a number of percentage points, zero or more, got {drift!r}"
        )
    values["synthetic_drift"] = float(drift)
    if values["base_url"] and not re.fullmatch(r"https?://\S+/", str(values["base_url"])):
        raise InputError(f"{source}: 'base_url' must be an http(s) address ending in '/', got {values['base_url']!r}")
    threshold = values["suppression_threshold"]
    if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 1:
        raise InputError(f"{source}: 'suppression_threshold' must be a whole number of at least 1, got {threshold!r}")
    typed = (
        "period_start",
        "period_end",
        "suppression_threshold",
        "synthetic",
        "synthetic_seed",
        "synthetic_scale",
        "synthetic_drift",
        *LISTS,
    )
    return Params(**{k: values[k] if k in typed else str(values[k]) for k in known})


def read_params(path: Path, seen: tuple[Path, ...] = ()) -> dict:
    """A parameters file's keys, with those of the file it `extends` (recursively) beneath them."""
    path = Path(path)
    if path.resolve() in seen:
        chain = " -> ".join(str(p) for p in (*seen, path.resolve()))
        raise InputError(f"{path}: 'extends' goes round in a circle ({chain})")
    raw = read_yaml(path)
    base = raw.pop("extends", None)
    if base is None:
        return raw
    if not isinstance(base, str) or not base:
        raise InputError(f"{path}: 'extends' must name a parameters file, got {base!r}")
    return {**read_params(path.parent / base, (*seen, path.resolve())), **raw}


def load_params(path: Path) -> Params:
    return parse_params(read_params(Path(path)), source=str(path))


def params_from(namespace: dict, source: str = "notebook parameters") -> Params:
    """Params from a notebook's globals, where papermill injected them one by one."""
    return parse_params({k: namespace[k] for k in Params.__dataclass_fields__ if k in namespace}, source)

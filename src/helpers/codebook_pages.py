"""The pack's key-variable and outcome-definition tables, rebuilt from this book's config
so a reader sees, beside each of the pack's rows, what the book declares for it: its
label, reference category and values, and the file that declares it.

The pack's own rows are transcribed in data/published/methodology_key_variables.csv and
methodology_outcomes.csv. A key variable's `config` cell points into a config file as
`file:dotted.path` (file one of FILES), or `file:dotted.path=value` for one entry of a
list; a pointer that does not resolve marks the variable "not in this book's extract
contract". Every model variable the config declares appears, the pack's or the book's own.
"""

import pandas as pd

from .errors import InputError
from .io import read_text_table, read_yaml
from .paths import CONFIG, PUBLISHED

FILES = {
    "models": "models.yml",
    "dataset": "dataset.yml",
    "withdrawal": "withdrawal.yml",
    "contract": "cris_contract.yml",
    "bcu": "bcu.yml",
}
NOT_IN_CONTRACT = "not in this book's extract contract"
# The groupings of config/dataset.yml that give a model variable its values.
GROUPINGS = {
    "venue": "venue",
    "how_reported": "how_reported",
    "delay": "delay_days",
    "victim_age_group": "age_groups",
    "suspect_age_group": "age_groups",
    "victim_age_detail": "age_detail",
    "suspect_age_detail": "age_detail",
    "victim_ethnicity": "ethnicity",
    "suspect_ethnicity": "ethnicity",
    "relationship": "relationship",
}
KEY_VARIABLE_COLUMNS = ("id", "category", "name", "description", "reference", "config", "source", "pack_section")
OUTCOME_COLUMNS = ("code", "pack_code", "description", "pack_group", "source", "pack_section")


def _configs() -> dict[str, dict]:
    return {short: read_yaml(CONFIG / name) for short, name in FILES.items()}


def resolve(pointer: str, configs: dict[str, dict]) -> tuple[str, object] | None:
    """The config file a pointer (`file:dotted.path[=value]`) resolves in and the entry
    it points to, or None."""
    short, _, path = pointer.partition(":")
    if short not in configs or not path:
        return None
    path, _, value = path.partition("=")
    node = configs[short]
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    if value:
        if value not in (node if isinstance(node, list) else []):
            return None
        node = value
    return f"config/{FILES[short]}", node


def _name(pointer: str) -> str:
    """The variable a pointer names: the value after '=', else the last part of its path."""
    path, _, value = pointer.partition(":")[2].partition("=")
    return value or path.split(".")[-1]


def _summary(node) -> str:
    """The values a config entry declares, as a list in words."""
    if isinstance(node, dict):
        if "values" in node or "values_from" in node:
            return ", ".join(map(str, node.get("values", []))) or f"the {node['values_from']} of config/bcu.yml"
        return ", ".join(map(str, node))
    if isinstance(node, list):
        return ", ".join(map(str, node))
    return ""


def _references(models: dict) -> dict[str, str]:
    """Each model variable's reference category: the predictor sets' default, then any
    model's own (with the model's id), as config/models.yml declares them."""
    default: dict[str, str] = {}
    own: dict[str, dict[str, list[str]]] = {}
    for entries in models["predictor_sets"].values():
        for entry in entries:
            if entry.get("reference"):
                default[entry["name"]] = str(entry["reference"])
    for model in models["models"]:
        for entry in model["predictors"]:
            if isinstance(entry, dict) and entry.get("reference"):
                own.setdefault(entry["name"], {}).setdefault(str(entry["reference"]), []).append(str(model["id"]))
    found = {}
    for name in dict.fromkeys([*default, *own]):
        parts = [default[name]] if name in default else []
        for reference, ids in own.get(name, {}).items():
            parts.append(f"{reference} (model{'s' if len(ids) > 1 else ''} {', '.join(ids)})")
        found[name] = "; ".join(parts)
    return found


def model_variables(models: dict) -> list[str]:
    """Every variable config/models.yml declares: predictors (sets and single), derived
    columns and labelled variables, in order of first appearance."""
    names = [e["name"] for entries in models["predictor_sets"].values() for e in entries]
    names += [e["name"] for m in models["models"] for e in m["predictors"] if isinstance(e, dict)]
    names += list(models.get("columns", {})) + list(models.get("labels", {}))
    return list(dict.fromkeys(names))


def _values(name: str, dataset: dict) -> str:
    grouping = GROUPINGS.get(name)
    if grouping:
        spec = dataset[grouping]
        values = spec.values() if grouping in ("ethnicity", "relationship", "venue", "how_reported") else spec
        return ", ".join(dict.fromkeys([*map(str, values), "Unknown"]))
    if name == "crime_type":
        return ", ".join(t["name"] for t in dataset["crime_types"])
    return ""


def key_variables(pack: pd.DataFrame | None = None, configs: dict | None = None) -> pd.DataFrame:
    """The pack's key-variable table with this book's declaration beside each row, then the
    model variables the config declares that the pack's table does not list."""
    pack = load_key_variables() if pack is None else pack
    configs = _configs() if configs is None else configs
    models, dataset = configs["models"], configs["dataset"]
    labels, references = models.get("labels", {}), _references(models)
    rows, covered = [], set()
    for _, row in pack.iterrows():
        found = resolve(row["config"], configs)
        declared, node = found if found else (None, None)
        name = _name(row["config"])
        if declared == f"config/{FILES['models']}":
            covered.add(name)
        rows.append(
            {
                "category": row["category"],
                "pack_name": row["name"],
                "pack_description": row["description"],
                "pack_reference": row["reference"],
                "book_variable": name if declared else "",
                "book_label": labels.get(name, ""),
                "book_reference": references.get(name, "") if declared else "",
                "book_values": (_values(name, dataset) or _summary(node)) if declared else "",
                "declared_in": declared or NOT_IN_CONTRACT,
            }
        )
    for name in model_variables(models):
        if name not in covered:
            rows.append(
                {
                    "category": "This book's addition",
                    "pack_name": "",
                    "pack_description": "",
                    "pack_reference": "",
                    "book_variable": name,
                    "book_label": labels.get(name, ""),
                    "book_reference": references.get(name, ""),
                    "book_values": _values(name, dataset),
                    "declared_in": f"config/{FILES['models']}",
                }
            )
    return pd.DataFrame(rows)


def outcome_definitions(pack: pd.DataFrame | None = None, dataset: dict | None = None) -> pd.DataFrame:
    """Every outcome code config/dataset.yml declares (its groups and the outcomes excluded
    from the dataset), with the pack's description and group beside the book's group, and
    whether the code counts as victim withdrawal and needs a named suspect."""
    pack = load_outcomes() if pack is None else pack
    dataset = _configs()["dataset"] if dataset is None else dataset
    group_of = {str(code): group for group, codes in dataset["outcome_groups"].items() for code in codes}
    excluded = [str(code) for code in dataset["excluded_outcomes"]]
    withdrawal = {str(c) for c in dataset["withdrawal_outcomes"]}
    named = {str(c) for c in dataset["named_suspect_outcomes"]}
    by_code = pack.set_index("code")
    rows = []
    for code in [*group_of, *excluded]:
        known = code in by_code.index
        rows.append(
            {
                "code": code,
                "pack_code": by_code.at[code, "pack_code"] if known else "",
                "description": by_code.at[code, "description"] if known else "not in the pack's table",
                "pack_group": by_code.at[code, "pack_group"] if known else "",
                "book_group": group_of.get(code, "Excluded from the dataset"),
                "victim_withdrawal": "yes" if code in withdrawal else "no",
                "named_suspect": "yes" if code in named else "no",
            }
        )
    return pd.DataFrame(rows)


def groups_agree(table: pd.DataFrame) -> pd.Series:
    """Whether the pack's group and the book's agree for each code the pack lists (the
    pack's headings add "Outcomes": "Judicial Outcomes" is the book's "Judicial")."""
    pack = table["pack_group"].str.replace(" Outcomes", "", regex=False).str.lower()
    return (pack == table["book_group"].str.lower()) | (table["pack_group"] == "")


def _load(name: str, columns: tuple[str, ...], key: str) -> pd.DataFrame:
    path = PUBLISHED / f"{name}.csv"
    table = read_text_table(path, columns)
    repeated = table[key][table[key].duplicated()].tolist()
    if repeated:
        raise InputError(f"{path}: {key} {repeated[0]!r} appears more than once")
    return table


def load_key_variables() -> pd.DataFrame:
    return _load("methodology_key_variables", KEY_VARIABLE_COLUMNS, "id")


def load_outcomes() -> pd.DataFrame:
    return _load("methodology_outcomes", OUTCOME_COLUMNS, "code")

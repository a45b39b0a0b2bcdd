"""Command line: `python -m helpers COMMAND ...` (see README): fetch, run, publish, pdf, screenshots,
synth-extract, awkward-extract, validate-extract, draft-mapping, build-dataset, competing-risks, fit-models.

Each command imports only what it needs, so that the data commands start quickly.
"""

import argparse
import datetime as dt
import shutil
import sys
import tempfile
from pathlib import Path

from .errors import InputError
from .paths import ROOT, resolve


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m helpers", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    fetch_cmd = commands.add_parser("fetch", help="copy and verify the public data sources")
    fetch_cmd.add_argument("--params", type=Path, default=Path("params/default.yml"))
    fetch_cmd.add_argument("--mirror", type=Path, help="folder holding the source files (overrides the parameter)")
    run_cmd = commands.add_parser("run", help="execute every notebook and build the book for one run")
    run_cmd.add_argument("--params", type=Path, default=Path("params/default.yml"))
    run_cmd.add_argument("--mirror", type=Path, help="folder holding the source files (overrides the parameter)")
    run_cmd.add_argument("--render-only", action="store_true", help="render the committed notebooks, executing nothing")
    run_cmd.add_argument("--update-baseline", action="store_true", help="copy the executed notebooks into notebooks/")
    run_cmd.add_argument("--jobs", type=int, help="notebooks executed at a time (default: one per core)")
    run_cmd.add_argument("--base-url", help="the address the book is served from (overrides the parameter)")
    publish_cmd = commands.add_parser("publish", help="build a run and write it as a folder ready to serve")
    publish_cmd.add_argument("--params", type=Path, default=Path("params/default.yml"))
    publish_cmd.add_argument("--mirror", type=Path, help="folder holding the source files (overrides the parameter)")
    publish_cmd.add_argument("--out", type=Path, required=True, help="the folder to serve (replaced)")
    publish_cmd.add_argument("--base-url", help="the address the book is served from: a sitemap is written for it")
    awkward_cmd = commands.add_parser(
        "awkward-extract", help="an awkward but valid extract (config/awkward_extract.yml)"
    )
    awkward_cmd.add_argument("--source", type=Path, required=True, help="a contract-form extract to perturb")
    awkward_cmd.add_argument("--out", type=Path, required=True)
    awkward_cmd.add_argument("--mapping", type=Path, help="write it as the force this mapping describes")
    awkward_cmd.add_argument("--seed", type=int, default=1)
    synth_cmd = commands.add_parser("synth-extract", help="write a synthetic crime-report extract")
    synth_cmd.add_argument("--out", type=Path, required=True)
    synth_cmd.add_argument("--start", type=dt.date.fromisoformat, required=True, help="first reported date, YYYY-MM-DD")
    synth_cmd.add_argument("--end", type=dt.date.fromisoformat, required=True, help="last reported date, YYYY-MM-DD")
    synth_cmd.add_argument("--scale", type=float, default=1.0, help="1.0 = the pack's volumes")
    synth_cmd.add_argument("--seed", type=int, default=1)
    synth_cmd.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    build_cmd = commands.add_parser("build-dataset", help="build the combined analysis dataset from an extract")
    build_cmd.add_argument("--extract", type=Path, required=True)
    build_cmd.add_argument("--start", type=dt.date.fromisoformat, required=True, help="first reported date, YYYY-MM-DD")
    build_cmd.add_argument("--end", type=dt.date.fromisoformat, required=True, help="last reported date, YYYY-MM-DD")
    build_cmd.add_argument("--out", type=Path, required=True)
    build_cmd.add_argument("--mapping", type=Path, help="YAML mapping a force's names and codes to the contract")
    build_cmd.add_argument(
        "--as-of",
        type=dt.date.fromisoformat,
        help="the day the extract was taken, YYYY-MM-DD (default: the latest date found in it)",
    )
    risks_cmd = commands.add_parser(
        "competing-risks",
        help="cumulative incidence of each outcome over time, open reports censored at the as-of date",
    )
    risks_cmd.add_argument("--dataset", type=Path, required=True, help="a folder build-dataset wrote")
    risks_cmd.add_argument("--out", type=Path, required=True, help="folder for cumulative_incidence.csv")
    check_cmd = commands.add_parser("validate-extract", help="check a crime-report extract against the contract")
    check_cmd.add_argument("--extract", type=Path, required=True, help="folder of the five extract files")
    check_cmd.add_argument("--mapping", type=Path, help="YAML mapping a force's names and codes to the contract")
    check_cmd.add_argument(
        "--report",
        type=Path,
        help="folder outside the repository for the report of problems "
        "(validation.txt, validation.csv); default: a new temporary folder",
    )
    draft_cmd = commands.add_parser("draft-mapping", help="propose a mapping of a force's extract to the contract")
    draft_cmd.add_argument("--extract", type=Path, required=True, help="folder of the force's files")
    draft_cmd.add_argument(
        "--out", type=Path, required=True, help="the mapping to write (YAML; an existing file is kept)"
    )
    models_cmd = commands.add_parser("fit-models", help="fit the driver models declared in a models file")
    models_cmd.add_argument("--dataset", type=Path, required=True, help="the analysis dataset (cohort.parquet)")
    models_cmd.add_argument("--models", type=Path, default=Path("config/models.yml"))
    models_cmd.add_argument("--out", type=Path, required=True, help="folder for model_terms.csv and model_fit.csv")
    pdf_cmd = commands.add_parser(
        "pdf", help="build the PDF edition of a built run (needs LaTeX: make pdf installs it)"
    )
    pdf_cmd.add_argument("--params", type=Path, default=Path("params/default.yml"))
    shots_cmd = commands.add_parser(
        "screenshots", help="screenshot every page of a built run at desktop and phone widths"
    )
    shots_cmd.add_argument("--params", type=Path, default=Path("params/default.yml"))
    return parser


def _optional(path: Path | None) -> Path | None:
    return resolve(path) if path else None


def validate_extract(args) -> int:
    """Check an extract; on problems, print the report and write it outside the repository."""
    from .contract import ExtractError, validate, write_report

    folder = _optional(args.report)
    if folder and folder.resolve().is_relative_to(ROOT):
        raise InputError(
            f"--report {folder}: inside the repository; the report shows rows of the extract, "
            "so give a folder outside it"
        )
    try:
        with validate(resolve(args.extract), _optional(args.mapping)) as extract:
            counts = ", ".join(
                f"{stem} {extract.con.execute(f'select count(*) from raw_{stem}').fetchall()[0][0]:,}"
                for stem in extract.files
            )
    except ExtractError as exc:
        written = write_report(exc.problems, str(exc), folder or Path(tempfile.mkdtemp(prefix="vw-validation-")))
        print(f"{exc}\n\nReport: {written[0]} and {written[1].name} beside it", file=sys.stderr)
        return 2
    print(f"{args.extract}: follows the contract ({counts} rows)")
    return 0


def data_command(args) -> int:
    if args.command == "validate-extract":
        return validate_extract(args)
    if args.command == "draft-mapping":
        from .draft import write

        todo = write(resolve(args.extract), resolve(args.out))
        print(f"{args.out}: mapping drafted; {todo} item(s) marked TODO for you to finish")
        return 0
    if args.command == "awkward-extract":
        from . import awkward

        out = resolve(args.out)
        contract_form = out.with_name(f".{out.name}.contract") if args.mapping else out
        manifest = awkward.write(resolve(args.source), contract_form, args.seed)
        if args.mapping:
            awkward.export(contract_form, out, resolve(args.mapping))
            shutil.rmtree(contract_form)
        print(f"{args.out}: awkward extract, {manifest['reports']:,} reports, {len(manifest['changes'])} changes")
        return 0
    if args.command == "synth-extract":
        from .synth import generate

        manifest = generate(resolve(args.out), args.start, args.end, args.scale, args.seed, args.format)
        print(f"{args.out}: synthetic extract, {manifest['reports']:,} reports ({manifest['rows']})")
        return 0
    if args.command == "build-dataset":
        from .dataset import build

        manifest = build(
            resolve(args.extract), args.start, args.end, resolve(args.out), _optional(args.mapping), args.as_of
        )
        print(
            f"{args.out}: {manifest['reports']:,} reports in the combined analysis dataset, "
            f"{manifest['open_reports']:,} still open on {manifest['as_of']} ({manifest['seconds']} s)"
        )
        return 0
    if args.command == "competing-risks":
        from . import beyond

        result = beyond.from_dataset(resolve(args.dataset))
        target = beyond.write(result["curves"], resolve(args.out))
        counts = result["counts"].loc["all"]
        print(
            f"{target}: {counts['reports']:,} reports, {counts['censored']:,} of them censored at the as-of date "
            f"{result['as_of']}"
        )
        if result["untimed"]:
            print(f"{result['untimed']:,} closed report(s) left out: no investigation complete date", file=sys.stderr)
        return 0
    from .io import read_parquet
    from .models import fit_all, load_spec, write

    fits, terms = fit_all(read_parquet(resolve(args.dataset)), load_spec(resolve(args.models)))
    write(fits, terms, resolve(args.out))
    for row in fits.itertuples():
        if row.status != "ok" or row.messages:
            print(f"model {row.model_id}: {row.status}: {row.messages}", file=sys.stderr)
    print(
        f"{args.out}: {len(fits)} models fitted in {fits['seconds'].sum():.1f} s "
        f"({fits['status'].isin(['ok', 'Firth']).sum()} fitted on their whole declared sample)"
    )
    return 0


def book_command(args) -> int:
    from .pagecheck import screenshots
    from .params import load_params, parse_params
    from .runner import BUILD, RunError, bring_data, pdf, publish, run, toc_pages

    try:
        params = load_params(resolve(args.params))
        if getattr(args, "base_url", None):
            params = parse_params({**params.for_notebook(), "base_url": args.base_url}, f"{args.params} and --base-url")
        if args.command == "pdf":
            target = pdf(params)
            print(f"{target}: {target.stat().st_size / 1e6:.1f} MB")
            return 0
        if args.command == "screenshots":
            html_dir = BUILD / params.run_name / "html"
            if not (html_dir / "index.html").is_file():
                raise InputError(f"{html_dir}: no built book for run {params.run_name!r}; run `make book` first")
            written = screenshots(
                [html_dir / f"{page}.html" for page in toc_pages(params)],
                html_dir,
                BUILD / params.run_name / "screenshots",
            )
            print(f"{len(written)} screenshots in {BUILD / params.run_name / 'screenshots'}")
            return 0
        if args.command == "fetch":
            bring_data(params, _optional(args.mirror))
            print(f"Sources verified in {resolve(params.raw_dir)}; extract in {resolve(params.extract_dir)}")
        elif args.command == "publish":
            run(params, args.params, _optional(args.mirror))
            print(f"{publish(params, resolve(args.out))}: ready to serve")
        else:
            run(params, args.params, _optional(args.mirror), args.render_only, args.update_baseline, args.jobs)
    except RunError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command in ("fetch", "run", "pdf", "screenshots", "publish"):
            return book_command(args)
        return data_command(args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""Command line: `python -m helpers fetch|run|validate-extract ...` (see README)."""
import argparse
import sys
from pathlib import Path

from .contract import validate
from .errors import InputError
from .params import load_params
from .paths import resolve
from .runner import RunError, run
from .sources import fetch


def main(argv: list[str] | None = None) -> int:
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
    check_cmd = commands.add_parser("validate-extract", help="check a crime-report extract against the contract")
    check_cmd.add_argument("--extract", type=Path, required=True, help="folder of the five extract files")
    args = parser.parse_args(argv)
    try:
        if args.command == "validate-extract":
            extract = validate(resolve(args.extract))
            counts = ", ".join(f"{stem} {extract.con.execute(f'select count(*) from {stem}').fetchone()[0]:,}"
                               for stem in extract.files)
            print(f"{args.extract}: follows the contract ({counts} rows)")
            return 0
        params = load_params(resolve(args.params))
        if args.command == "fetch":
            paths = fetch(resolve(args.mirror or params.mirror), resolve(params.raw_dir))
            print(f"{len(paths)} sources verified in {resolve(params.raw_dir)}")
        else:
            run(params, args.params, resolve(args.mirror) if args.mirror else None, args.render_only, args.update_baseline)
    except (InputError, RunError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

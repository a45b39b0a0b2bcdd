"""Command line: `python -m helpers fetch|run ...` (see README)."""
import argparse
import sys
from pathlib import Path

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
    args = parser.parse_args(argv)
    try:
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

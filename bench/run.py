"""`make bench`: time the dataset build at scale 1 and 10 of the synthetic extract, against
the plain-pandas baseline (bench/pandas_build.py), each in its own process so that its
peak memory is its own. Prints a table and writes _build/bench/bench.csv.

Targets on the 2-core machine: scale 1 in <= 15 s; scale 10 in <= 20 s with <= 2 GB peak,
validation included; at least 5 times faster than the pandas baseline. The DuckDB build also
validates the extract (the baseline does not), so the ratio is reported with and without
validation.
Then the driver models 0-28 (python -m helpers fit-models) are fitted on the scale-1
dataset, the pack's size, on one BLAS thread (two threads competing for two cores slow
OpenBLAS badly): target <= 30 s; and the whole default book is executed and built (python
-m helpers run, every chapter at the pack's scale, chapters side by side): target <= 2 minutes.
"""

import datetime as dt
import json
import os
import subprocess
import sys
import time

import pandas as pd

from helpers.paths import ROOT
from helpers.synth import ensure

OUT = ROOT / "_build" / "bench"
START, END = dt.date(2021, 4, 1), dt.date(2022, 3, 31)
SCALES = (1.0, 10.0)


def measure(command: list[str], env: dict | None = None) -> tuple[float, float]:
    """Wall-clock seconds and peak resident memory (MB) of one child process."""
    began = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, cwd=ROOT, env={**os.environ, **(env or {})})
    _, status, usage = os.wait4(child.pid, 0)
    if status != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(command)}")
    return time.perf_counter() - began, usage.ru_maxrss / 1024


def main() -> None:
    rows = []
    for scale in SCALES:
        extract = OUT / f"extract-scale{scale:g}"
        began = time.perf_counter()
        manifest = ensure(extract, START, END, scale, seed=1)
        size = sum(p.stat().st_size for p in extract.glob("*.parquet")) / 1e6
        print(
            f"scale {scale:g}: extract of {manifest['reports']:,} reports, {size:,.0f} MB "
            f"(ready in {time.perf_counter() - began:.0f} s)",
            flush=True,
        )
        build = [
            sys.executable,
            "-m",
            "helpers",
            "build-dataset",
            "--extract",
            str(extract),
            "--start",
            str(START),
            "--end",
            str(END),
            "--out",
            str(OUT / f"duckdb-scale{scale:g}"),
        ]
        baseline = [
            sys.executable,
            str(ROOT / "bench" / "pandas_build.py"),
            str(extract),
            str(START),
            str(END),
            str(OUT / f"pandas-scale{scale:g}"),
        ]
        for name, command in (("duckdb build (with validation)", build), ("pandas baseline (no validation)", baseline)):
            seconds, peak = measure(command)
            rows.append(
                {
                    "scale": scale,
                    "implementation": name,
                    "reports": manifest["reports"],
                    "seconds": round(seconds, 1),
                    "peak_mb": round(peak),
                }
            )
            print(f"  {name}: {seconds:.1f} s, peak {peak:,.0f} MB", flush=True)
        built = json.loads((OUT / f"duckdb-scale{scale:g}" / "build.json").read_text())
        rows[-2]["seconds_validating"] = built["seconds_validating"]
    table = pd.DataFrame(rows)
    speed = table.pivot(index="scale", columns="implementation", values="seconds")
    validating = table.groupby("scale")["seconds_validating"].max()
    duck, pandas_ = speed["duckdb build (with validation)"], speed["pandas baseline (no validation)"]
    table["ratio_with_validation"] = table["scale"].map(pandas_ / duck).round(1)
    table["ratio_like_for_like"] = table["scale"].map(pandas_ / (duck - validating)).round(1)
    OUT.mkdir(parents=True, exist_ok=True)
    table.to_csv(OUT / "bench.csv", index=False)
    print("\n" + table.to_string(index=False))
    duck = table[table["implementation"].str.startswith("duckdb")].set_index("scale")
    checks = [
        ("scale 1 build <= 15 s", duck.loc[1.0, "seconds"] <= 15),
        ("scale 10 build <= 20 s, validation included", duck.loc[10.0, "seconds"] <= 20),
        ("scale 10 peak <= 2 GB", duck.loc[10.0, "peak_mb"] <= 2048),
        (
            "at least 5x faster than pandas at scale 10, like for like (both without validation)",
            duck.loc[10.0, "ratio_like_for_like"] >= 5,
        ),
        (
            "at least 5x faster than pandas at scale 10, validation included",
            duck.loc[10.0, "ratio_with_validation"] >= 5,
        ),
    ]
    fit = [
        sys.executable,
        "-m",
        "helpers",
        "fit-models",
        "--dataset",
        str(OUT / "duckdb-scale1" / "cohort.parquet"),
        "--out",
        str(OUT / "models-scale1"),
    ]
    seconds, peak = measure(fit, {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"})
    models = pd.read_csv(OUT / "models-scale1" / "model_fit.csv")
    print(
        f"\ndriver models: {len(models)} models on {models['n'].max():,} reports in {seconds:.1f} s, "
        f"peak {peak:,.0f} MB"
    )
    pd.DataFrame(
        [{"models": len(models), "largest_n": models["n"].max(), "seconds": round(seconds, 1), "peak_mb": round(peak)}]
    ).to_csv(OUT / "bench_models.csv", index=False)
    checks.append(("driver models 0-28 at the pack's scale <= 30 s", seconds <= 30))
    book_seconds, book_peak = measure([sys.executable, "-m", "helpers", "run", "--params", "params/default.yml"])
    print(
        f"whole book (default run, every notebook executed, HTML built): {book_seconds:.0f} s, peak {book_peak:,.0f} MB"
    )
    checks.append(("whole book executed and built at the pack's scale <= 2 min", book_seconds <= 120))
    print("\n" + "\n".join(f"{'met    ' if ok else 'MISSED '} {name}" for name, ok in checks))


if __name__ == "__main__":
    main()

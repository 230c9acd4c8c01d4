"""``python -m drift --model NAME --reference URI --current URI --pushgateway URL [...]``.

Exit status: 0 when the check ran and was pushed (drift or not: drift is an alert, not a job failure), 2 on bad
arguments, 1 when the data could not be read or compared or the push failed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .detect import compare, load, recent
from .push import push


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m drift", description="Check one model's inputs for drift.")
    p.add_argument("--model", required=True, help="model name (label of the pushed series)")
    p.add_argument("--reference", required=True, help="reference data: CSV or Parquet (path, s3://, gs://)")
    p.add_argument("--current", required=True, help="recent inputs: CSV or Parquet (path, s3://, gs://)")
    p.add_argument("--threshold", type=float, default=0.3, help="drifted share that counts as drift (default 0.3)")
    p.add_argument("--pushgateway", help="Pushgateway URL; without it the result is only printed")
    p.add_argument("--timestamp-column", help="column with each row's time, to keep only the recent window")
    p.add_argument("--window-hours", type=int, default=24, help="hours of recent inputs to compare (default 24)")
    p.add_argument("--columns", default="", help="comma-separated columns to compare (default all)")
    args = p.parse_args(argv)
    if not 0 < args.threshold <= 1:
        p.error(f"--threshold must be in (0, 1], got {args.threshold}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    try:
        reference = load(args.reference)
        current = recent(load(args.current), args.timestamp_column, args.window_hours)
        exclude = [args.timestamp_column] if args.timestamp_column else []
        columns = [c for c in args.columns.split(",") if c]
        result = compare(reference, current, columns, exclude)
    except (OSError, ValueError, KeyError) as exc:
        print(f"drift check of {args.model} failed: {exc}", file=sys.stderr)
        return 1
    verdict = "DRIFT" if result.share > args.threshold else "ok"
    print(
        f"{args.model}: {result.drifted}/{len(result.columns)} columns drifted "
        f"(share {result.share:.3f}, threshold {args.threshold}) {verdict}"
    )
    for c in result.columns:
        print(f"  {c.column}: {c.stattest} = {c.score:.4g}{' drifted' if c.drifted else ''}")
    if args.pushgateway:
        try:
            push(args.pushgateway, args.model, result, args.threshold)
        except OSError as exc:
            print(f"push to {args.pushgateway} failed: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

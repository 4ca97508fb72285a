"""python -m tools.figures [--if-stale] [--out DIR]: write every figure (SVG) and generated table."""

import argparse
import sys
import time
from pathlib import Path

from tools.figures import OUT_DIR, TABLE_DIR, is_stale, write_all

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--if-stale", action="store_true", help="do nothing when figures are up to date")
parser.add_argument("--out", type=Path, default=OUT_DIR, help="figure folder")
parser.add_argument("--tables", type=Path, default=TABLE_DIR, help="generated-table folder")
args = parser.parse_args()

if args.if_stale and not is_stale(args.out):
    sys.exit(0)
start = time.perf_counter()
written = write_all(args.out, args.tables)
print(f"figures: wrote {len(written)} files to {args.out} and {args.tables} "
      f"in {time.perf_counter() - start:.1f} s")

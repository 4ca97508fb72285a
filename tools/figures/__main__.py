"""python -m tools.figures [--if-stale] [--out DIR]: write every figure as SVG."""

import argparse
import sys
import time
from pathlib import Path

from tools.figures import OUT_DIR, is_stale, write_all

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--if-stale", action="store_true", help="do nothing when figures are up to date")
parser.add_argument("--out", type=Path, default=OUT_DIR, help="output folder")
args = parser.parse_args()

if args.if_stale and not is_stale(args.out):
    sys.exit(0)
start = time.perf_counter()
written = write_all(args.out)
print(f"figures: wrote {len(written)} SVG files to {args.out} in {time.perf_counter() - start:.1f} s")

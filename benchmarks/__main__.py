"""`python -m benchmarks NAME [--json PATH]`: run benchmarks/bench_NAME.py and print the ratios."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from pathlib import Path

from benchmarks.harness import report


def main() -> int:
    names = sorted(m.name[len("bench_"):] for m in pkgutil.iter_modules([str(Path(__file__).parent)])
                   if m.name.startswith("bench_"))
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("name", choices=names)
    parser.add_argument("--json", default=None, help="also write the comparisons as JSON here")
    args, rest = parser.parse_known_args()
    module = importlib.import_module(f"benchmarks.bench_{args.name}")
    report(module.run(rest), args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())

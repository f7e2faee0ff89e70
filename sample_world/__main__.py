"""Command line: ``python -m sample_world --out DIR [--scale S] [--seed N] [--truth FILE]``."""
from __future__ import annotations

import argparse
import sys
from collections import Counter

from .config import DEFAULT_SEED
from .generator import generate


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sample_world", description=__doc__)
    ap.add_argument("--out", required=True, help="inbox folder to write (must be empty unless --overwrite)")
    ap.add_argument("--scale", default=None, help="'sample' (default) or a number in (0, 1.5]; 1 = a province")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--mix", default="moderate", choices=["moderate", "none", "all"],
                    help="how many messy variations per file")
    ap.add_argument("--truth", help="also write the truth as JSON to this file (keep it outside the inbox)")
    ap.add_argument("--overwrite", action="store_true", help="replace bureau/, registry/, power/ under --out")
    ap.add_argument("--workers", type=int, default=None,
                    help="processes writing files (default: one per core from scale 0.1; same bytes for any value)")
    a = ap.parse_args(argv)
    scale = None if a.scale in (None, "sample", "default") else float(a.scale)
    truth = generate(a.out, scale=scale, seed=a.seed, mix=a.mix, overwrite=a.overwrite, workers=a.workers)
    if a.truth:
        with open(a.truth, "w", encoding="utf-8") as fh:
            fh.write(truth.to_json(indent=1))
    kinds = Counter(f["kind"] for f in truth.files)
    print(f"wrote {len(truth.files)} files to {a.out} ({', '.join(f'{k}: {v}' for k, v in sorted(kinds.items()))}) "
          f"in {truth.timings.get('total', 0):.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

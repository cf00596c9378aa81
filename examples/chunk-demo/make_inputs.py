"""Writes the demo's input files: inputs/sample-000.txt ... (numbers, one per line). No network.

Usage: python3 make_inputs.py [--count 40] [--values 1000] [--out inputs] [--seed 42]
"""

import argparse
import random
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=40, help="number of input files (default 40)")
    parser.add_argument("--values", type=int, default=1000, help="numbers per file (default 1000)")
    parser.add_argument("--out", default="inputs", help="output folder (default inputs/)")
    parser.add_argument("--seed", type=int, default=42, help="random seed, for the same files every time")
    args = parser.parse_args()

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    generator = random.Random(args.seed)
    for index in range(args.count):
        values = (f"{generator.gauss(index, 1.0):.6f}" for _ in range(args.values))
        (out / f"sample-{index:03d}.txt").write_text("\n".join(values) + "\n")
    print(f"wrote {args.count} files to {out}/")


if __name__ == "__main__":
    main()

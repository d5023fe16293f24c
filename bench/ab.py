"""A/B: one bench script run against an earlier commit (A, in a temporary git worktree) and the
working tree (B), alternately, in one run on one machine, so a claimed gain is a ratio from one
run. Prints both outputs, labelled; asserts nothing.

    .venv/bin/python bench/ab.py [--base HEAD~1] [--rounds 2] gateway_bench.py --seconds 5 …
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(label: str, tree: Path, script: str, arguments: list[str]) -> int:
    """The bench script of `tree` with `tree`'s code first on the path (its Procfile too)."""
    print(f"== {label} ==", flush=True)
    env = {**os.environ, "PYTHONPATH": str(tree)}
    command = [sys.executable, str(tree / "bench" / script), *arguments]
    return subprocess.run(command, cwd=tree, env=env).returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="HEAD", help="the commit A (default: HEAD)")
    parser.add_argument("--rounds", type=int, default=2, help="A then B, this many times")
    parser.add_argument("script", help="a bench/ script, e.g. users_bench.py")
    parser.add_argument("arguments", nargs=argparse.REMAINDER, help="passed to the script")
    args = parser.parse_args()
    base = subprocess.run(["git", "rev-parse", "--short", args.base], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout.strip()  # fmt: skip
    folder = Path(tempfile.mkdtemp(prefix="mailapi-ab-")) / "a"
    subprocess.run(["git", "worktree", "add", "--detach", str(folder), base], cwd=ROOT,
                   check=True, capture_output=True)  # fmt: skip
    try:
        for number in range(1, args.rounds + 1):
            for label, tree in ((f"A {base}", folder), ("B working tree", ROOT)):
                code = run(f"round {number}: {label}", tree, args.script, args.arguments)
                if code:
                    print(f"(exit {code})", flush=True)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(folder)], cwd=ROOT)
        subprocess.run(["git", "worktree", "prune"], cwd=ROOT)


if __name__ == "__main__":
    main()

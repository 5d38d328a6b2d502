"""The outside audit's hostile uploads at full size, through the command line: time and memory.

Issues 12 and 17 list files that took gigabytes or minutes (a 2 KB workbook with a cell at
XFD1048576, a 400 MB cell in a 400 KB workbook, 200 x 16,384 cells, 4 million rows, 4,000
duplicated column names, a 50 MB line, 20,000 columns, a NUL byte in a number column, a text
predictor with 2,000 levels, `(item || class)` with a 50-level factor, 1e308, UTF-32). Each is
written to a temporary folder and run with `python -m hlm_core ...` in its own process; the
script asserts the exit code (2 = refused in plain words, 0 = read), that stderr holds no
Python or numpy text, and the wall time and peak memory (ru_maxrss of that process) each may
take.

Run: `python benchmarks/bench_hostile.py [--only NAME]`. Exit 0 when every file stays within
its budget, 1 otherwise. Takes about a minute on two cores.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.corpus import hostile_files as hf  # noqa: E402


@dataclass
class Attack:
    name: str
    file: str
    make: Callable[[], bytes]
    args: list[str]
    exit_code: int  # 2: refused in words; 0: read
    says: str  # a fragment of the message (stderr) or the output (stdout)
    seconds: float  # wall-time budget, Python start-up included
    megabytes: float  # peak-memory budget of the CLI process


def _far_cell() -> bytes:
    return hf.far_cell_xlsx()


def _wide_200() -> bytes:
    header = [["class", "score"] + [f"q{j}" for j in range(16_382)]]
    rows = header + [[f"c{i % 10}", i] + [1] * 16_382 for i in range(199)]
    return hf.xlsx(hf.sheet(rows))


def _four_million_rows() -> bytes:
    return hf.too_many_rows_xlsx(n=4_000_000)


def _cell_400mb() -> bytes:
    return hf.long_cell_xlsx(chars=400_000_000)


def _duplicates_4000() -> bytes:
    return hf.many_duplicate_names()


def _line_50mb() -> bytes:
    return b"a," * 26_000_000 + b"\n1,2\n"


def _columns_20000() -> bytes:
    header = ",".join(["class", "score"] + [f"q{j}" for j in range(19_998)])
    row = ",".join(["c1", "1"] + ["1"] * 19_998)
    return f"{header}\n{row}\n{row}\n".encode()


def _nul_predictor() -> bytes:
    rng = np.random.default_rng(1)
    n = 30_000
    x = np.round(rng.normal(size=n), 4).astype(str).astype(object)
    x[5_000] = "-1.\x00"
    return pd.DataFrame({"class": [f"c{i % 100}" for i in range(n)], "x": x,
                         "score": np.round(rng.normal(50, 5, n), 2)}).to_csv(index=False).encode()


def _levels_2000() -> bytes:
    return hf.items_in_classes(20_000, 100, 2000, seed=2)


def _item_by_class() -> bytes:
    return hf.items_in_classes(20_000, 400, 50, seed=3)


def _values_1e308() -> bytes:
    return hf.huge_values()


def _utf32() -> bytes:
    return hf.utf32(bom=True)


FIT = ["fit"]
ATTACKS = [
    Attack("far cell", "far.xlsx", _far_cell, ["describe", "--levels", "class"], 2,
           "reaches column 16,384", 10, 300),
    Attack("200 x 16,384 cells", "wide.xlsx", _wide_200, ["describe", "--levels", "class"], 2,
           "this app reads at most 5,000 columns", 20, 400),
    Attack("4M rows", "rows.xlsx", _four_million_rows, ["describe", "--levels", "class"], 2,
           "beyond what Excel allows", 15, 300),
    Attack("400 MB cell", "cell.xlsx", _cell_400mb, ["describe", "--levels", "class"], 2,
           "holds a cell with more than 1,000,000 characters", 10, 300),
    Attack("4,000 duplicate names", "dups.csv", _duplicates_4000,
           ["describe", "--levels", "class"], 0, "and 3,991 more", 30, 600),
    Attack("50 MB line", "line.csv", _line_50mb, ["describe", "--levels", "class"], 2,
           "this app reads lines of up to 10,000,000", 10, 500),
    Attack("20,000 columns", "cols.csv", _columns_20000, ["describe", "--levels", "class"], 2,
           "has 20,000 columns; this app reads at most 5,000", 10, 300),
    Attack("NUL in a number column", "nul.csv", _nul_predictor,
           [*FIT, "--formula", "score ~ x + (1 | class)"], 2,
           "1 entry is not a number: row 5,001", 30, 600),
    Attack("2,000-level predictor", "levels.csv", _levels_2000,
           [*FIT, "--formula", "score ~ item + (1 | class)"], 2,
           "has 2,000 different text values", 30, 600),
    Attack("(item || class)", "item.csv", _item_by_class,
           [*FIT, "--formula", "score ~ 1 + (item || class)"], 2,
           "more than the 1 GB allowed", 30, 600),
    Attack("1e308", "big.csv", _values_1e308, [*FIT, "--formula", "score ~ hours + (1 | class)"],
           2, "values too large to compute with", 20, 600),
    Attack("UTF-32 with BOM", "u32.csv", _utf32, [*FIT, "--formula", "score ~ hours + (1 | class)"],
           0, "Observations: 60", 30, 600),
]


def run(attack: Attack, folder: Path) -> tuple[bool, str]:
    path = folder / attack.file
    path.write_bytes(attack.make())
    # /usr/bin/time measures its own child: a child forked from this script would carry this
    # script's peak (the 400 MB cell it just wrote) in its ru_maxrss
    cmd = ["/usr/bin/time", "-f", "HLM_PEAK_KB %M", sys.executable, "-m", "hlm_core",
           attack.args[0], str(path), *attack.args[1:]]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=folder, capture_output=True,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    seconds = time.perf_counter() - start
    returncode = proc.returncode
    stdout = proc.stdout.decode("utf-8", "replace")
    stderr, _, peak = proc.stderr.decode("utf-8", "replace").rpartition("HLM_PEAK_KB ")
    megabytes = int(peak.split()[0]) / 1024
    stderr = "\n".join(line for line in stderr.splitlines()
                       if not line.startswith("Command exited with non-zero status"))
    text = stderr if attack.exit_code else stdout
    problems = []
    if returncode != attack.exit_code:
        problems.append(f"exit {returncode}, wanted {attack.exit_code}")
    if attack.says not in text:
        problems.append(f"no {attack.says!r}")
    if "Traceback" in stderr or "Warning" in stderr or "Something went wrong" in stderr:
        problems.append("internal text on stderr")
    if seconds > attack.seconds:
        problems.append(f"{seconds:.1f} s > {attack.seconds} s")
    if megabytes > attack.megabytes:
        problems.append(f"{megabytes:.0f} MB > {attack.megabytes} MB")
    path.unlink()
    line = f"{attack.name:26} {seconds:6.1f} s {megabytes:7.0f} MB  " + (
        "ok" if not problems else "FAIL: " + "; ".join(problems))
    return not problems, line


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="run only the attacks whose name contains this")
    args = parser.parse_args()
    chosen = [a for a in ATTACKS if not args.only or args.only.lower() in a.name.lower()]
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for attack in chosen:
            passed, line = run(attack, Path(tmp))
            print(line, flush=True)
            ok &= passed
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""How big an upload and a model may get: checked before anything is expanded in memory.

A 2 KB workbook can declare a cell at XFD1048576, a 400 KB one can unzip to a 400 MB cell, and
a 50 MB line can hold 26 million columns; reading any of them naively takes gigabytes and
minutes, and on the server that takes every other user's session with it. So the reader
(`hlm_core.io_guard`) and the design builder (`hlm_core.design.check_design_size`) measure
what a file or model *would* need first and stop with a plain message naming the limit and how
to get under it.

The numbers are generous for school data (50 million cells is a million pupils with fifty
columns). An administrator changes them with environment variables, read on every call so that a
worker process started with its own environment applies its own values:

    HLM_MAX_CELLS           rows x columns read from a file       (default 50,000,000)
    HLM_MAX_COLUMNS         columns in a file                     (default 5,000)
    HLM_MAX_CELL_CHARS      characters in one cell                (default 1,000,000)
    HLM_MAX_LINE_BYTES      bytes in one line of a text file      (default 10,000,000)
    HLM_MAX_UNZIPPED_BYTES  unpacked size of an .xlsx             (default 1,000,000,000)
    HLM_MAX_FACTOR_LEVELS   categories of a text predictor        (default 200)
    HLM_MAX_DESIGN_BYTES    memory for a model's matrices         (default 1,000,000,000)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

__all__ = ["Limits", "current", "size_text"]


@dataclass(frozen=True)
class Limits:
    max_cells: int = 50_000_000
    max_columns: int = 5_000
    max_cell_chars: int = 1_000_000
    max_line_bytes: int = 10_000_000
    max_unzipped_bytes: int = 1_000_000_000
    max_factor_levels: int = 200
    max_design_bytes: int = 1_000_000_000


def current() -> Limits:
    """The limits in force: the defaults, overridden by HLM_<NAME> environment variables
    (whole numbers; underscores allowed, e.g. HLM_MAX_CELLS=100_000_000)."""
    values = {}
    for f in fields(Limits):
        raw = os.environ.get(f"HLM_{f.name.upper()}")
        if raw:
            try:
                values[f.name] = max(1, int(raw.replace("_", "").replace(",", "")))
            except ValueError:
                pass  # a mistyped setting keeps the default rather than stopping the app
    return Limits(**values)


def size_text(n_bytes: float) -> str:
    """Bytes in words a teacher reads: '3.2 GB', '480 MB', '12 KB'."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n_bytes >= size:
            return f"{n_bytes / size:.1f} {unit}".replace(".0 ", " ")
    return f"{int(n_bytes)} bytes"

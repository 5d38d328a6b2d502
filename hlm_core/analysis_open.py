"""Open a saved analysis in calls a worker process can run (hlm_core.jobs): check and read the
archive, read its data (inside it, given separately, or the example it names) and check that
the saved choices fit those data.

Why here and in one piece: a saved analysis can hold as big a data file as an upload, so the
app opens it as a job, like an upload (memory and time limits, progress, Stop), never in the
server's process. Everything that can fail happens in the job, before the session is touched;
the app only makes the answer the session's (ui.analysis).
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass

from hlm_core.analysis_file import Analysis, read_analysis
from hlm_core.columns import apply_choices
from hlm_core.errors import HLMError
from hlm_core.examples import example_bytes, example_table
from hlm_core.io import Table, read_table
from hlm_core.transforms import source_columns

__all__ = ["Opened", "analysis_table", "open_analysis"]


@dataclass
class Opened:
    """An analysis file read and checked: `table` holds its data, read and checked against
    the saved choices; None when the file was saved without them (the app asks for them)."""

    analysis: Analysis
    table: Table | None


def open_analysis(blob: bytes, seed: int) -> Opened:
    """Read the analysis file `blob` and the data it holds or names (an example made with
    `seed`). Raises AnalysisFileError / HLMError in plain words."""
    a = read_analysis(blob)
    if a.data is None and a.example is None:
        return Opened(a, None)
    return Opened(a, analysis_table(a, a.data_name, a.data, seed))


def analysis_table(a: Analysis, name: str, data: bytes | None, seed: int) -> Table:
    """The data of analysis `a`: the file `name` with bytes `data` (None: the example it was
    saved with, made with `seed`), read as saved and checked against the saved column
    choices, levels and models. Raises HLMError in plain words."""
    try:
        table = _read(a, name, data, seed)
        _check_choices(a, table)
    except (HLMError, MemoryError):
        raise  # said in words already; MemoryError: the job's memory limit says it
    except Exception as exc:
        failed = HLMError("The data for this analysis could not be read.")
        failed.detail = traceback.format_exc()  # for the server log only (ui.jobs)
        raise failed from exc
    return table


def _read(a: Analysis, name: str, data: bytes | None, seed: int) -> Table:
    if data is not None:
        return read_table(data, name=name, sheet=a.sheet)
    bundled = example_bytes(a.example)
    if bundled is None:  # the generated classroom example, made as the Data page makes it
        return example_table(a.example, seed)
    return read_table(bundled, name=a.data_name)


def _check_choices(a: Analysis, table: Table) -> None:
    frame, problems = apply_choices(table.frame, a.types, a.missing, a.stray)
    if problems:
        raise HLMError(f"The saved choices don't fit this data file: {problems[0]}")
    specs = [sp for sp in [a.current, *(sp for _, sp in a.saved)] if sp is not None]
    need = set(a.levels) | {c for sp in specs for c in source_columns(sp.variables())}
    absent = sorted(str(c) for c in need if c not in frame.columns)
    if absent:
        raise HLMError("The saved analysis uses columns this data file does not have: "
                       f"{', '.join(absent[:5])}. Open it with the data it was saved with.")

"""Delimited text files: encoding, delimiter and decimal comma detection, ragged rows and
cells with line breaks. Part of `hlm_core.io`.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from hlm_core import io_guard
from hlm_core.errors import ReadError
from hlm_core.io_columns import _finish
from hlm_core.io_common import (
    _DELIMITERS,
    SUPPORTED_FORMATS,
    _listing,
    _looks_numeric,
)

_UTF8 = "Text encoding: UTF-8."  # (the note when the bytes are the text's own UTF-8)


def _decode(data: bytes, name: str) -> tuple[str, str]:
    """Decode text bytes; returns (text, plain-English note). Binary data raises ReadError."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), (
            "Text encoding: UTF-8 with a byte-order mark (as Excel's 'CSV UTF-8' saves)."
        )
    wide = _wide_encoding(data)
    if wide is not None:
        codec, words = wide
        return _decode_wide(data, codec, name), f"Text encoding: {words}."
    if _looks_binary(data):
        raise _not_text(name)
    try:
        return data.decode("utf-8"), _UTF8
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), (
            "Text encoding: Windows-1252 (Western European), because the file is not UTF-8. "
            "Check that accented letters look right."
        )
    except UnicodeDecodeError:
        return data.decode("latin-1"), (
            "Text encoding: Latin-1, because the file is not UTF-8. "
            "Check that accented letters look right."
        )


_WIDE_BOMS = (  # UTF-32 first: its little-endian mark starts with UTF-16's
    (b"\xff\xfe\x00\x00", "utf-32", "UTF-32 with a byte-order mark"),
    (b"\x00\x00\xfe\xff", "utf-32", "UTF-32 with a byte-order mark"),
    (b"\xff\xfe", "utf-16", "UTF-16 (as Excel's 'Unicode text' export saves)"),
    (b"\xfe\xff", "utf-16", "UTF-16 (as Excel's 'Unicode text' export saves)"),
)


def _wide_encoding(data: bytes) -> tuple[str, str] | None:
    """(codec, words) for UTF-16 or UTF-32 text, with or without a byte-order mark.

    Without a mark, mostly-ASCII text shows itself by where its zero bytes fall: every other
    byte (UTF-16) or three bytes in four (UTF-32).
    """
    for bom, codec, words in _WIDE_BOMS:
        if data.startswith(bom):
            return codec, words
    sample = data[: 4000 - 4000 % 4]
    if len(sample) < 4:
        return None
    lanes = [sample[i::4] for i in range(4)]
    zero = [lane.count(0) / len(lane) for lane in lanes]
    if min(zero[1:]) > 0.9 and zero[0] < 0.05:
        return "utf-32-le", "UTF-32"
    if min(zero[:3]) > 0.9 and zero[3] < 0.05:
        return "utf-32-be", "UTF-32"
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le", "UTF-16"
    if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be", "UTF-16"
    return None


def _decode_wide(data: bytes, encoding: str, name: str) -> str:
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        raise _not_text(name) from None
    return text.removeprefix("\ufeff")


def _looks_binary(data: bytes) -> bool:
    """NUL bytes or many control bytes: an image, archive or other non-text file."""
    if _wide_encoding(data) is not None:  # UTF-16/32 text has NULs too
        return False
    sample = data[:65536]
    return b"\x00" in sample or _control_share(sample) > 0.01


def _control_share(sample: bytes) -> float:
    """Share of control bytes other than tab, CR, LF and form feed: high in binary files."""
    if not sample:
        return 0.0
    bad = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13))
    return bad / len(sample)


def _not_text(name: str) -> ReadError:
    return ReadError(
        f"{name} does not look like a data table: it holds binary data (perhaps an image or "
        f"another kind of file). Upload {SUPPORTED_FORMATS}."
    )


def _sniff_delimiter(text: str, prefer_tab: bool) -> str | None:
    """The delimiter that splits the first lines into the most consistent, most numeric fields.

    csv.Sniffer is easily fooled by decimal commas and quoted text, so we score the four usual
    candidates ourselves. None means no candidate gives more than one column.
    """
    sample = text[:65536]
    if len(text) > len(sample) and "\n" in sample:
        sample = sample[: sample.rfind("\n")]
    order = ["\t", ",", ";", "|"] if prefer_tab else [",", ";", "\t", "|"]
    best: tuple | None = None
    best_delim: str | None = None
    for rank, delim in enumerate(order):
        try:
            _allow_fields(len(sample))
            rows = [r for r in csv.reader(io.StringIO(sample), delimiter=delim) if any(r)]
        except csv.Error:
            continue
        rows = rows[:200]
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        body = rows[1:]
        consistent = sum(len(r) == width for r in body) / len(body) if body else 1.0
        cells = [c.strip() for r in body for c in r]
        numeric = sum(_looks_numeric(c) for c in cells) / len(cells) if cells else 0.0
        key = (round(consistent, 1), round(numeric, 2), width, -rank)
        if best is None or key > best:
            best, best_delim = key, delim
    return best_delim


def _allow_fields(size: int) -> None:
    """Let the csv module read cells as long as the text (its default limit is 128 KB)."""
    if size >= csv.field_size_limit():
        csv.field_size_limit(min(size + 1, 2**31 - 1))


def _read_text(data: bytes, name: str, notes: list[str], unknown_extension: bool) -> pd.DataFrame:
    try:
        text, enc_note = _decode(data, name)
    except ReadError:
        if unknown_extension:
            raise ReadError(
                f"{name} is not a format this app can read. Upload {SUPPORTED_FORMATS}."
            ) from None
        raise
    if unknown_extension:
        notes.append(f"{name} has no known file extension, so it was read as delimited text.")
    if not text.strip():
        raise ReadError(f"{name} holds only blank lines. Check that the file has data in it.")
    if re.match(r"\s*<(!doctype|html|table|\?xml)", text[:1000], flags=re.IGNORECASE):
        raise ReadError(
            f"{name} is a web page or XML document, not a data table. Open it in Excel and save "
            "it as .xlsx or CSV, then upload that file."
        )
    if re.match(r"\s*(\[\s*)?\{\s*\"", text[:1000]):
        raise ReadError(
            f"{name} is a JSON document, not a data table. Export the data as "
            f"{SUPPORTED_FORMATS}."
        )
    ext = Path(name).suffix.lower()
    delim = _sniff_delimiter(text, prefer_tab=ext in {".tsv", ".tab"})
    notes.append(enc_note)
    if delim is None:
        delim = "\t" if ext in {".tsv", ".tab"} else ","
    else:
        notes.append(f"Columns are separated by {_DELIMITERS[delim]}.")
    wide = 4 if "UTF-32" in enc_note else 2 if "UTF-16" in enc_note else 1
    longest = io_guard.check_text_shape(data, text[: text.find("\n")], delim, name, wide)

    try:
        raw = _parse_plain(text, delim, data if enc_note == _UTF8 else None)
        if raw is None:
            raw = pd.read_csv(
                io.StringIO(text),
                sep=delim,
                header=None,
                dtype=str,
                na_filter=False,
                skip_blank_lines=True,
                quotechar='"',
                engine="c",
            )
    except pd.errors.ParserError:
        raw = _read_text_ragged(text, delim, notes, name)
    except pd.errors.EmptyDataError:
        raise ReadError(f"{name} holds no rows. Check that the file has data in it.") from None

    if raw.empty:
        raise ReadError(f"{name} holds no rows. Check that the file has data in it.")
    io_guard.check_cell_lengths(raw, longest, name)
    header = [str(v) if isinstance(v, str) else "" for v in raw.iloc[0].tolist()]
    _note_multiline_cells(text, raw, header, notes)
    body = raw.iloc[1:].reset_index(drop=True)
    frame = _finish(header, body, name, notes, decimal_comma=delim != ",")
    if frame.shape[1] == 1:
        notes.append(
            "Only one column was found — was the file separated by another character? "
            "We looked for commas, semicolons, tabs and vertical bars."
        )
    return frame


def _parse_plain(text: str, delim: str, utf8: bytes | None = None) -> pd.DataFrame | None:
    """The cells of a text without quote marks, as pandas' parser gives them, parsed by Arrow's
    multithreaded reader (10,000,000 rows: ~1 s instead of ~7 s). None when the text has quote
    marks, lone carriage returns or rows of unequal length: pandas' parser decides those.
    `utf8`: the text's UTF-8 bytes when the file was just that (not encoded a second time)."""
    if '"' in text or ("\r" in text and text.count("\r") != text.count("\r\n")):
        return None
    import pyarrow as pa
    from pyarrow import csv as pa_csv

    width = text[: text.find("\n") if "\n" in text else len(text)].count(delim) + 1
    names = [str(i) for i in range(width)]
    try:
        table = pa_csv.read_csv(
            pa.py_buffer(text.encode("utf-8") if utf8 is None else utf8),
            read_options=pa_csv.ReadOptions(column_names=names),
            parse_options=pa_csv.ParseOptions(delimiter=delim, quote_char=False),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.large_string()), strings_can_be_null=False
            ),
        )
    except pa.ArrowInvalid:
        return None
    dtype = pd.StringDtype("pyarrow", na_value=np.nan)  # what read_csv(dtype=str) gives
    return pd.DataFrame(
        {i: pd.Series(table.column(i), dtype=dtype) for i in range(width)}, columns=range(width)
    )


def _note_multiline_cells(text: str, raw: pd.DataFrame, header: list[str], notes: list[str]):
    """Say so when values run over several lines: usually a quote mark that is never closed,
    which silently joins all the lines after it into one value."""
    lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    if lines <= len(raw):  # fast path: one row per line (blank lines only make it shorter)
        return
    joined, first_row, where = 0, None, []
    for pos, col in enumerate(raw.columns):
        values = raw[col].iloc[1:]
        if values.dtype != object and not isinstance(values.dtype, pd.StringDtype):
            continue
        values = values.astype("str")
        multi = values.str.contains("\n", regex=False, na=False)
        if multi.any():
            joined += int(values[multi].str.count("\n").sum())
            row = int(np.flatnonzero(multi.to_numpy())[0]) + 1
            first_row = row if first_row is None else min(first_row, row)
            where.append(header[pos].strip() or f"column_{pos + 1}")
    if joined:
        notes.append(
            f"Some values in {_listing(where)} run over several lines ({joined:,} line "
            f"break(s), first in data row {first_row}). That happens when a quote mark (\") is "
            "never closed: the lines after it are joined into one value and their rows are "
            "lost. If rows are missing, remove the stray quote mark and upload again."
        )


def _read_text_ragged(text: str, delim: str, notes: list[str], name: str) -> pd.DataFrame:
    """Slow path for rows with more values than the header (pandas' fast parser refuses them)."""
    _allow_fields(len(text))
    rows = [r for r in csv.reader(io.StringIO(text), delimiter=delim) if r]
    width = max(len(r) for r in rows)
    io_guard.check_table_shape(len(rows), width, name)
    longer = sum(len(r) > len(rows[0]) for r in rows[1:])
    extra_filled = any(any(c.strip() for c in r[len(rows[0]) :]) for r in rows[1:])
    if longer and extra_filled:
        notes.append(
            f"{longer:,} row(s) have more values than the header row; the extra values are in "
            "the unnamed columns at the end. Check the file's separator and quotes."
        )
    padded = [r + [""] * (width - len(r)) for r in rows]
    return pd.DataFrame(padded, dtype=object)

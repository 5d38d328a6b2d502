"""Dates and times of day written as text in a CSV, recognised as such (issue 17.7).

Excel hands us real dates; a CSV only has text such as 2024-03-04, 04/03/2024 or 08:30. Read
as text, a date column becomes a category with one level per day, and a time of day a predictor
that "does not work out". Recognised here, they are kept out of the numbers a model can use
(the fit then says how to make a number from them), exactly like Excel's dates.

Only whole columns in one consistent layout are converted: ISO (2024-03-04, optionally with a
time), day/month/year or month/day/year with / . or - between the parts (four-digit years), and
times of day (08:30, 8:30:15, 8:30 PM). Day-first or month-first is decided from the values (a
first part above 12 means day-first); when every value fits both, day-first is assumed and the
note says so.
"""

from __future__ import annotations

import re

import pandas as pd

__all__ = ["DATE_ORDERS", "date_notes", "parse_dates"]

_TIME = r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?"
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})" + _TIME + r"(Z|[+-]\d{2}:?\d{2})?")
_LOCAL = re.compile(r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4})" + _TIME.replace("[ T]", " "))
_YMD = re.compile(r"(\d{4})([/.])(\d{1,2})\2(\d{1,2})" + _TIME.replace("[ T]", " "))
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?(?: ?([AaPp][Mm]))?")

DATE_ORDERS = {
    "iso": "year-month-day",
    "dmy": "day/month/year",
    "mdy": "month/day/year",
    "ymd": "year/month/day",
    "dmy?": "day/month/year",
}


def parse_dates(present: pd.Series, clean: pd.Series) -> tuple[pd.Series, str] | None:
    """(converted column, kind) when every present value is a date or a time of day; else None.

    `present` holds the stripped non-missing texts, `clean` the whole column (missing as NA).
    kind is "date:<order>" (a key of DATE_ORDERS; "dmy?" = ambiguous, read day-first) for dates
    and "time" for times of day (returned as durations since midnight).
    """
    head = present.iloc[:200]
    if head.empty or not head.str.contains(r"[-/.:]", regex=True).all():
        return None
    for check in (_iso, _local, _ymd, _clock):
        out = check(head, present, clean)
        if out is not None:
            return out
    return None


def _all_match(pattern: re.Pattern, head: pd.Series, present: pd.Series) -> pd.DataFrame | None:
    if not head.str.fullmatch(pattern.pattern).all():
        return None
    parts = present.str.extract("^" + pattern.pattern + "$")
    return None if parts[0].isna().any() else parts


def _iso(head: pd.Series, present: pd.Series, clean: pd.Series):
    if _all_match(_ISO, head, present) is None:
        return None
    try:
        values = pd.to_datetime(clean, format="ISO8601", errors="coerce")
    except (ValueError, TypeError):  # mixed time zones: leave the column as text
        return None
    return _if_all(values, present, clean, "date:iso")


def _local(head: pd.Series, present: pd.Series, clean: pd.Series):
    parts = _all_match(_LOCAL, head, present)
    if parts is None:
        return None
    first, second = parts[0].astype(int), parts[2].astype(int)
    if (first > 12).any():
        order = "dmy"
    elif (second > 12).any():
        order = "mdy"
    else:
        order = "dmy?"
    sep = str(parts[1].iloc[0])
    day_month = "%d{0}%m" if order != "mdy" else "%m{0}%d"
    return _by_format(parts, present, clean, (day_month + "{0}%Y").format(sep), 4, order)


def _ymd(head: pd.Series, present: pd.Series, clean: pd.Series):
    parts = _all_match(_YMD, head, present)
    if parts is None:
        return None
    sep = str(parts[1].iloc[0])
    return _by_format(parts, present, clean, f"%Y{sep}%m{sep}%d", 4, "ymd")


def _by_format(parts, present, clean, date_fmt: str, hour_col: int, order: str):
    """Parse with one explicit format (fast, and never guesses day against month per row)."""
    hours = parts[hour_col]
    if hours.notna().any() and not hours.notna().all():
        return None  # some with a time, some without: leave the column as text
    fmt = date_fmt
    if hours.notna().all():
        fmt += " %H:%M:%S" if parts[hour_col + 2].notna().all() else " %H:%M"
    values = pd.to_datetime(clean, format=fmt, errors="coerce")
    return _if_all(values, present, clean, f"date:{order}")


def _clock(head: pd.Series, present: pd.Series, clean: pd.Series):
    parts = _all_match(_CLOCK, head, present)
    if parts is None:
        return None
    hour, minute = parts[0].astype(int), parts[1].astype(int)
    second = parts[2].fillna("0").astype(int)
    ampm = parts[3].fillna("").str.lower()
    if (minute > 59).any() or (second > 59).any():
        return None
    has_ampm = ampm.ne("")
    if ((hour > 12) & has_ampm).any() or (hour > 23).any():
        return None
    hour = hour.where(~has_ampm, hour % 12 + ampm.eq("pm") * 12)
    seconds = pd.Series(float("nan"), index=clean.index)
    seconds[present.index] = (hour * 3600 + minute * 60 + second).astype(float)
    return pd.to_timedelta(seconds, unit="s"), "time"


def _if_all(values: pd.Series, present: pd.Series, clean: pd.Series, kind: str):
    if values[present.index].isna().any():
        return None
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_localize(None)
    return values, kind


def date_notes(kinds: dict[str, list[str]]) -> list[str]:
    """What the reader says about date and time columns, and how to use them in a model."""

    def listing(names: list[str]) -> str:
        shown = ", ".join(f"'{n}'" for n in names[:8])
        return shown + (f" and {len(names) - 8} more" if len(names) > 8 else "")

    notes = []
    dates = [c for k, cols in kinds.items() if k.startswith("date") for c in cols]
    if dates:
        orders = [DATE_ORDERS[k[5:]] for k, cols in kinds.items() if k.startswith("date:") and cols]
        how = f" (written {', '.join(dict.fromkeys(orders))})" if orders else ""
        notes.append(
            f"Read {listing(dates)} as dates{how}. A date can't be a predictor or an outcome "
            "as it is: to use one, add a column of numbers made from it, such as days since "
            "the start of term or age in months, and upload again."
        )
    if kinds.get("date:dmy?"):
        notes.append(
            f"Every date in {listing(kinds['date:dmy?'])} fits both day/month/year and "
            "month/day/year; they were read as day/month/year. If they are month/day/year, "
            "save them as year-month-day (2024-03-04) and upload again."
        )
    if kinds.get("time"):
        notes.append(
            f"Read {listing(kinds['time'])} as times of day (or durations). To use one in a "
            "model, add a column of numbers made from it, such as minutes since midnight or "
            "since the start of the school day, and upload again."
        )
    return notes


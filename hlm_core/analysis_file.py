"""Save an analysis and open it again: one zip (`<data name>.hlm.zip`), like jamovi's .omv.

Why: an afternoon's choices (column types, missing codes, levels, centring, saved models) were
lost with the browser tab. The file holds `manifest.json` (small, versioned, readable by people)
and, when asked, the uploaded file's bytes as uploaded (`data/<name>`). Nothing in it is code:
no pickle, no eval. Models are saved as lme4 formula text plus method and centring and rebuilt
with our own parser; fits are always recomputed. Reading checks the archive before unpacking
(member count, names, declared and actual sizes) and the manifest against the schema by hand,
so a bad file gives one plain message and changes nothing.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from typing import Any

from hlm_core import __version__
from hlm_core.analysis_options import check_options, empty_options, options_from_v1
from hlm_core.errors import FormulaError, HLMError
from hlm_core.formula import parse_formula
from hlm_core.formula_text import format_formula
from hlm_core.spec import ModelSpec

__all__ = [
    "SCHEMA_VERSION",
    "Analysis",
    "AnalysisFileError",
    "file_name",
    "read_analysis",
    "spec_from_record",
    "spec_record",
    "write_analysis",
]

SCHEMA_VERSION = 2  # 2: page options (hlm_core.analysis_options); 1 is still read
READS = (1, 2)
FORMAT = "hlm-analysis"
MANIFEST = "manifest.json"
DATA_DIR = "data/"
MAX_MEMBERS = 2  # the manifest and at most one data file
MAX_MANIFEST_BYTES = 1_000_000
MAX_DATA_BYTES = 500_000_000
MAX_RATIO = 200  # uncompressed / compressed, beyond this it is a zip bomb
MAX_MODELS = 200
CENTRINGS = ("grand", "group")
_SAFE_NAME = re.compile(r"^[^/\\\x00-\x1f]{1,200}$")


class AnalysisFileError(HLMError):
    """The analysis file can't be opened; the session is left as it was."""


@dataclass
class Analysis:
    """What a saved analysis restores. `data` is the uploaded file's bytes, if included."""

    data_name: str
    data_sha256: str | None = None
    example: str | None = None
    sheet: str | None = None
    types: dict[str, str] = field(default_factory=dict)
    missing: dict[str, list[Any]] = field(default_factory=dict)
    stray: dict[str, list[str]] = field(default_factory=dict)
    levels: list[str] = field(default_factory=list)
    current: ModelSpec | None = None
    saved: list[tuple[str, ModelSpec]] = field(default_factory=list)
    options: dict[str, dict[str, Any]] = field(default_factory=empty_options)  # by page
    data: bytes | None = None
    app_version: str = __version__
    sha256: str | None = None  # of the analysis file itself, set when read
    source_name: str | None = None  # the analysis file's name, set by whoever opened it


def file_name(data_name: str) -> str:
    """`scores.csv` -> `scores.hlm.zip` (the download's name)."""
    stem = re.sub(r"[^\w.-]+", "_", data_name.rsplit("/", 1)[-1]).strip("._") or "analysis"
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    return f"{stem}.hlm.zip"


# ------------------------------------------------------------------------- specs as text


def spec_record(spec: ModelSpec) -> dict[str, Any]:
    """A model as the manifest holds it: formula text, method, centring (and any further
    fields a ModelSpec gains, such as a family, when they are plain values)."""
    rec: dict[str, Any] = {
        "formula": format_formula(spec),
        "method": "REML" if spec.reml else "ML",
        "centring": {v: c for v, c in spec.centering if c in CENTRINGS},
    }
    family = getattr(spec, "family", "gaussian")
    if family != "gaussian":  # lme4's glmer: the outcome type options, as plain values
        rec["family"] = family
        rec["nagq"] = spec.nagq
        rec["success"] = spec.success
        rec["threshold"] = list(spec.threshold) if spec.threshold else None
    return rec


def spec_from_record(rec: dict[str, Any], where: str) -> ModelSpec:
    """Rebuild a model with our own formula parser; any problem is an AnalysisFileError."""
    _need(rec, where, formula=str, method=str, centring=dict)
    if rec["method"] not in ("REML", "ML"):
        raise AnalysisFileError(f"{where}: the method must be REML or ML, not {rec['method']!r}.")
    try:
        spec = parse_formula(rec["formula"], reml=rec["method"] == "REML")
    except FormulaError as exc:
        raise AnalysisFileError(f"{where}: the formula can't be read ({exc}).") from None
    cent = rec["centring"]
    for var, kind in cent.items():
        if kind not in CENTRINGS or var not in spec.variables():
            raise AnalysisFileError(
                f"{where}: centring {var!r} as {kind!r} does not fit the model's formula.")
    extra = _family_fields(rec, where) if "family" in rec else {}
    return spec.with_(centering=tuple(sorted(cent.items())), **extra)


def _family_fields(rec: dict[str, Any], where: str) -> dict[str, Any]:
    """A generalized model's options, checked: family, nagq, success, threshold."""
    _need(rec, where, family=str, nagq=int, success=(str, type(None)),
          threshold=(list, type(None)))
    if rec["family"] not in ("binomial", "poisson"):
        raise AnalysisFileError(f"{where}: unknown family {rec['family']!r}.")
    th = rec["threshold"]
    if th is not None and not (len(th) == 2 and th[0] in (">=", ">", "<=", "<")
                               and isinstance(th[1], (int, float))
                               and not isinstance(th[1], bool)):
        raise AnalysisFileError(f"{where}: the pass mark (threshold) can't be read.")
    if not 1 <= rec["nagq"] <= 25:
        raise AnalysisFileError(f"{where}: nagq must be between 1 and 25.")
    return {"family": rec["family"], "nagq": rec["nagq"], "success": rec["success"],
            "threshold": (th[0], float(th[1])) if th else None, "reml": False}


# ------------------------------------------------------------------------------- writing


def manifest(a: Analysis, include_data: bool) -> dict[str, Any]:
    """The manifest as a plain dict (also what the report's provenance reads)."""
    return {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "app_version": a.app_version,
        "data": {
            "name": a.data_name,
            "sha256": a.data_sha256,
            "example": a.example,
            "included": bool(include_data and a.data is not None),
        },
        "reading": {
            "sheet": a.sheet,
            "column_types": dict(a.types),
            "missing_codes": {c: list(v) for c, v in a.missing.items()},
            "text_as_missing": {c: list(v) for c, v in a.stray.items()},
        },
        "levels": list(a.levels),
        "current_model": None if a.current is None else spec_record(a.current),
        "saved_models": [{"name": n, **spec_record(s)} for n, s in a.saved],
        "options": {page: dict(values) for page, values in a.options.items()},
    }


def write_analysis(a: Analysis, include_data: bool = True) -> bytes:
    """The analysis file's bytes: manifest.json and, if asked and known, the data file."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        text = json.dumps(manifest(a, include_data), indent=2, ensure_ascii=False)
        z.writestr(MANIFEST, text.encode("utf-8"))
        if include_data and a.data is not None:
            z.writestr(DATA_DIR + _member_name(a.data_name), a.data)
    return buf.getvalue()


def _member_name(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return base if _SAFE_NAME.match(base) and base not in (".", "..") else "data"


# ------------------------------------------------------------------------------- reading


def read_analysis(data: bytes) -> Analysis:
    """Check and read an analysis file. Raises AnalysisFileError in plain words."""
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        infos = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise AnalysisFileError(
            "This is not an analysis file (it is not a zip archive). Choose a file saved with "
            "'Save analysis'.") from None
    _check_members(infos)
    names = {i.filename: i for i in infos}
    if MANIFEST not in names:
        raise AnalysisFileError("This zip holds no manifest.json, so it is not an analysis file.")
    raw = _read_member(z, names[MANIFEST], MAX_MANIFEST_BYTES)
    try:
        m = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise AnalysisFileError("The analysis file's manifest.json is not valid JSON.") from None
    a = _from_manifest(m)
    data_members = [i for i in infos if i.filename.startswith(DATA_DIR)]
    if data_members:
        a.data = _read_member(z, data_members[0], MAX_DATA_BYTES)
        if a.data_sha256 and hashlib.sha256(a.data).hexdigest() != a.data_sha256:
            raise AnalysisFileError(
                "The data inside the analysis file do not match the fingerprint (sha256) in its "
                "manifest: the file was changed after saving. Save the analysis again.")
    a.sha256 = hashlib.sha256(data).hexdigest()
    return a


def _check_members(infos: list[zipfile.ZipInfo]) -> None:
    if len(infos) > MAX_MEMBERS:
        raise AnalysisFileError(
            f"The analysis file holds {len(infos)} files; an analysis file holds only "
            "manifest.json and at most one data file.")
    for i in infos:
        name = i.filename
        parts = name.replace("\\", "/").split("/")
        if (name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in parts
                or "\x00" in name):
            raise AnalysisFileError(
                f"The analysis file holds a file with an unsafe path ({name!r}); it was not "
                "opened.")
        ok = name == MANIFEST or (name.startswith(DATA_DIR) and len(parts) == 2 and parts[1])
        if not ok:
            raise AnalysisFileError(
                f"The analysis file holds an unexpected file ({name!r}); only manifest.json "
                "and data/<file> belong in it.")
        limit = MAX_MANIFEST_BYTES if name == MANIFEST else MAX_DATA_BYTES
        if i.file_size > limit:
            raise AnalysisFileError(
                f"{name} in the analysis file is too large ({i.file_size:,} bytes unpacked).")
        if i.compress_size and i.file_size / i.compress_size > MAX_RATIO and i.file_size > 1e6:
            raise AnalysisFileError(
                f"{name} in the analysis file unpacks to far more than it holds (a 'zip bomb'); "
                "it was not opened.")


def _read_member(z: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """The member's bytes, reading at most `limit` + 1 whatever the header declares."""
    try:
        with z.open(info) as f:
            out = f.read(limit + 1)
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, EOFError):
        raise AnalysisFileError(
            f"{info.filename} in the analysis file is damaged or encrypted.") from None
    if len(out) > limit:
        raise AnalysisFileError(
            f"{info.filename} in the analysis file unpacks to more than its allowed size.")
    return out


_TYPES = {str: "text", dict: "an object", list: "a list", bool: "true/false", int: "a number"}


def _need(obj: Any, where: str, **keys: type | tuple) -> None:
    if not isinstance(obj, dict):
        raise AnalysisFileError(f"{where} must be an object in manifest.json.")
    for key, kind in keys.items():
        if key not in obj:
            raise AnalysisFileError(f"{where} is missing the field '{key}' in manifest.json.")
        v, kinds = obj[key], kind if isinstance(kind, tuple) else (kind,)
        if not isinstance(v, kinds) or (isinstance(v, bool) and bool not in kinds):
            want = " or ".join(_TYPES.get(k, "null") for k in kinds)
            raise AnalysisFileError(f"{where}: '{key}' must be {want} in manifest.json.")


def _str_map(d: dict, where: str, values: type) -> dict:
    for k, v in d.items():
        if not isinstance(v, values):
            raise AnalysisFileError(f"{where}: the entry for {k!r} has the wrong type.")
    return d


def _from_manifest(m: Any) -> Analysis:
    _need(m, "The manifest", format=str, schema_version=int)
    if m["format"] != FORMAT:
        raise AnalysisFileError("This zip's manifest.json is not an analysis file's manifest.")
    if m["schema_version"] not in READS:
        raise AnalysisFileError(
            f"This analysis file uses version {m['schema_version']} of the file format; this app "
            f"reads versions {READS[0]} to {READS[-1]}. Open it with the app version that saved "
            "it.")
    none = type(None)
    _need(m, "The manifest", app_version=str, data=dict, reading=dict, levels=list,
          current_model=(dict, none), saved_models=list, options=dict)
    d, r = m["data"], m["reading"]
    _need(d, "The data entry", name=str, sha256=(str, none), example=(str, none), included=bool)
    _need(r, "The reading choices", sheet=(str, none), column_types=dict, missing_codes=dict,
          text_as_missing=dict)
    types = _str_map(r["column_types"], "Column types", str)
    if any(v not in ("categorical", "numeric") for v in types.values()):
        raise AnalysisFileError("Column types must be 'categorical' or 'numeric'.")
    missing = _str_map(r["missing_codes"], "Missing-value codes", list)
    for v in missing.values():
        if not all(isinstance(x, (int, float, str)) and not isinstance(x, bool) for x in v):
            raise AnalysisFileError("Missing-value codes must be numbers or text.")
    stray = _str_map(r["text_as_missing"], "Values treated as missing", list)
    if not all(isinstance(x, str) for v in stray.values() for x in v):
        raise AnalysisFileError("Values treated as missing must be text.")
    if not all(isinstance(x, str) for x in m["levels"]):
        raise AnalysisFileError("Grouping levels must be column names (text).")
    if len(m["saved_models"]) > MAX_MODELS:
        raise AnalysisFileError(f"The file holds more than {MAX_MODELS} saved models.")
    saved = []
    for k, rec in enumerate(m["saved_models"], 1):
        _need(rec, f"Saved model {k}", name=str)
        saved.append((rec["name"], spec_from_record(rec, f"Saved model '{rec['name']}'")))
    cur = m["current_model"]
    if m["schema_version"] == 1:
        options = options_from_v1(m["options"])
    else:
        try:
            options = check_options(m["options"])
        except HLMError as exc:
            raise AnalysisFileError(str(exc)) from None
    return Analysis(
        data_name=d["name"], data_sha256=d["sha256"], example=d["example"], sheet=r["sheet"],
        types=types, missing=missing, stray=stray, levels=list(m["levels"]),
        current=None if cur is None else spec_from_record(cur, "The current model"),
        saved=saved, options=options, app_version=m["app_version"],
    )


# ------------------------------------------------------------------------ the data again


def data_mismatch(a: Analysis, data: bytes) -> str | None:
    """A plain sentence when `data` are not the file the analysis was saved with, else None."""
    if a.data_sha256 is None or hashlib.sha256(data).hexdigest() == a.data_sha256:
        return None
    return (f"This data file is not the one the analysis was saved with ({a.data_name}): its "
            "contents differ (another sha256 fingerprint). The saved choices and models are "
            "applied to it, so the numbers can differ from the saved analysis. That is what you "
            "want when you reuse an analysis on new data (say, this year's results); to see "
            "the saved numbers again, open the analysis once more and give the data file it "
            "was saved with.")


def chosen_model(a: Analysis, name: str | None = None) -> ModelSpec:
    """The saved current model, or the saved model called `name`."""
    if name is None:
        if a.current is None:
            raise AnalysisFileError("The analysis file holds no current model to fit.")
        return a.current
    for n, spec in a.saved:
        if n == name:
            return spec
    names = ", ".join(repr(n) for n, _ in a.saved) or "none"
    raise AnalysisFileError(f"The analysis file has no saved model called {name!r} "
                            f"(saved models: {names}).")

"""Bad analysis files (.hlm.zip) for the corpus, and the plain message each must get.

`make_corpus.py` writes them to tests/corpus/analysis/; tests/test_analysis_file.py opens
each with `read_analysis` (and the CLI) and checks the refusal. Each is something that really
happens: a file from a newer app, a hand-edited manifest, an archive built to attack the server.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

OUT = Path(__file__).parent / "analysis"
_DATE = (2024, 1, 1, 0, 0, 0)

GOOD = {
    "format": "hlm-analysis", "schema_version": 1, "app_version": "0.1.0",
    "data": {"name": "exam.csv", "sha256": None, "example": None, "included": False},
    "reading": {"sheet": None, "column_types": {}, "missing_codes": {}, "text_as_missing": {}},
    "levels": ["school"],
    "current_model": {"formula": "normexam ~ standLRT + (1 | school)", "method": "REML",
                      "centring": {}},
    "saved_models": [], "options": {},
}


# version 2 adds the page options (hlm_core.analysis_options), checked like everything else
GOOD2 = {**GOOD, "schema_version": 2, "options": {
    "view": {"workshop": False, "large_font": False}, "class_effects": {"k": 5},
    "slopes": {}, "compare": {}}}


def _options(**pages) -> bytes:
    m = json.loads(json.dumps(GOOD2))
    m["options"].update(pages)
    for page, value in pages.items():
        if value is None:
            del m["options"][page]
    return json.dumps(m, indent=2).encode()


def _zip(members: list[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in members:
            z.writestr(zipfile.ZipInfo(name, _DATE), data, compress_type=method)
    return buf.getvalue()


def _manifest(**changes) -> bytes:
    m = json.loads(json.dumps(GOOD))
    for key, value in changes.items():
        m[key] = value
    return json.dumps(m, indent=2).encode()


def _without(key: str) -> bytes:
    m = dict(GOOD)
    m.pop(key)
    return json.dumps(m).encode()


def _declared_small() -> bytes:
    """A member whose header says 10 bytes but that unpacks to 2 MB (the reader reads at most
    the allowed size whatever the header says; the CRC check then refuses it)."""
    data = bytearray(_zip([("manifest.json", _manifest()), ("data/exam.csv", b"0" * 2_000_000)]))
    # patch the uncompressed size in the local header and the central directory to 10 bytes
    for sig, off in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (i := data.find(sig, start)) >= 0:
            name_len = int.from_bytes(data[i + (26 if sig == b"PK\x03\x04" else 28):][:2], "little")
            name = data[i + (30 if sig == b"PK\x03\x04" else 46):][:name_len]
            if name == b"data/exam.csv":
                data[i + off:i + off + 4] = (10).to_bytes(4, "little")
            start = i + 4
    return bytes(data)


# file name -> (bytes, fragment of the message the user must see)
CASES: dict[str, tuple[bytes, str]] = {
    "not_a_zip.hlm.zip": (b"score,class\n1,a\n", "not a zip archive"),
    "no_manifest.hlm.zip": (_zip([("data/exam.csv", b"a,b\n1,2\n")]), "no manifest.json"),
    "bad_json.hlm.zip": (_zip([("manifest.json", b"{not json")]), "not valid JSON"),
    "newer_version.hlm.zip": (_zip([("manifest.json", _manifest(schema_version=99))]),
                              "version 99"),
    "missing_field.hlm.zip": (_zip([("manifest.json", _without("levels"))]),
                              "missing the field 'levels'"),
    "wrong_type.hlm.zip": (_zip([("manifest.json", _manifest(levels="school"))]),
                           "'levels' must be a list"),
    "bad_formula.hlm.zip": (_zip([("manifest.json", _manifest(current_model={
        "formula": "__import__('os').system('x') ~ 1", "method": "REML", "centring": {}}))]),
        "formula can't be read"),
    "path_traversal.hlm.zip": (_zip([("manifest.json", _manifest()),
                                     ("../../etc/evil.csv", b"a\n1\n")]), "unsafe path"),
    "absolute_path.hlm.zip": (_zip([("manifest.json", _manifest()), ("/tmp/evil.csv", b"a\n")]),
                              "unsafe path"),
    "pickle_member.hlm.zip": (_zip([("manifest.json", _manifest()),
                                    ("session.pkl", b"\x80\x04N.")]), "unexpected file"),
    "too_many_members.hlm.zip": (_zip([("manifest.json", _manifest())]
                                      + [(f"data/f{i}.csv", b"a\n") for i in range(5)]),
                                 "holds 6 files"),
    "zip_bomb.hlm.zip": (_zip([("manifest.json", _manifest()),
                               ("data/exam.csv", b"0" * 20_000_000)]), "zip bomb"),
    "declared_small.hlm.zip": (_declared_small(), "damaged"),
    "oversize_manifest.hlm.zip": (_zip([("manifest.json", b" " * 2_000_000)]),
                                  "too large"),
    "unknown_page_option.hlm.zip": (_zip([("manifest.json", _options(
        class_effects={"k": 5, "colour": "red"}))]), "unknown option 'class_effects.colour'"),
    "unknown_options_page.hlm.zip": (_zip([("manifest.json", _options(plan={}))]),
                                     "unknown page 'plan'"),
    "missing_options_section.hlm.zip": (_zip([("manifest.json", _options(slopes=None))]),
                                        "missing the section 'slopes'"),
    "missing_view_switch.hlm.zip": (_zip([("manifest.json", _options(
        view={"workshop": True}))]), "missing 'view.large_font'"),
    "wrong_option_type.hlm.zip": (_zip([("manifest.json", _options(
        class_effects={"k": "5"}))]), "'class_effects.k' must be a whole number"),
    "bad_slopes_range.hlm.zip": (_zip([("manifest.json", _options(
        slopes={"range": {"standLRT": [3, -3]}}))]), "'slopes.range' must be"),
    "options_not_an_object.hlm.zip": (_zip([("manifest.json", _manifest(
        schema_version=2, options=["k", 5]))]), "'options' must be an object"),
}


def write_all(out: Path = OUT) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, (data, _) in CASES.items():
        (out / name).write_bytes(data)

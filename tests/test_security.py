"""Security: user text never runs, the server config is locked down, user data stays in memory.

1. Column names and formulas written to run code (`__import__('os').system(...)`, `I(...)`,
   backticks, f-string braces, quote-breaking, shell substitution) are only ever names or
   refusals: a sentinel file is never created, through read_table → parse_formula → fit →
   effects, and through the command line.
2. The code has no way to evaluate text: no eval/exec, no patsy/formulaic/R formula building,
   no string formulas handed to mixedlm or statsmodels (checked on the code with comments and
   strings removed).
3. .streamlit/config.toml: XSRF protection on, usage statistics off, upload limit set, no
   error details for users, nothing loaded from other hosts.
4. Nothing of an uploaded file is written to disk: after reading, fitting and computing the
   class effects of in-memory uploads that carry a unique marker, no file in the temp folder or
   the working folder modified during the test contains the marker — also when they are read,
   fitted and refitted in worker processes, as the app does (hlm_core.jobs).
"""

from __future__ import annotations

import builtins
import io
import os
import re
import subprocess
import sys
import tempfile
import time
import tokenize
import tomllib
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hlm_core.errors import HLMError
from hlm_core.fit import fit
from hlm_core.formula import parse_formula, quote_formula_name
from hlm_core.io import read_table

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / ".streamlit" / "config.toml"


# ------------------------------------------------------------------------ 1. nothing runs


def payloads(target: Path) -> list[str]:
    """Texts that would create `target` if anything evaluated them (Python, R, shell)."""
    t = str(target)
    return [
        f"__import__('os').system('touch {t}')",
        f"I(__import__('os').system('touch {t}'))",
        f"{{__import__('os').system('touch {t}')}}",  # f-string braces
        f"f'{{__import__(\"os\").system(\"touch {t}\")}}'",
        f'"); system("touch {t}")',  # breaking out of a quoted string (R, shell)
        f"'); import os; os.system('touch {t}'); ('",
        f"$(touch {t})",  # shell substitution
        f"`touch {t}`",  # backticks: R names, shell substitution
        f"eval(compile('open(r\"{t}\", \"w\")', 'x', 'exec'))",
        f"open(r'{t}', 'w').close()",
        f"system('touch {t}')",  # R's system()
    ]


def hostile_frame_bytes(target: Path, rows: int = 96) -> tuple[bytes, list[str]]:
    """A CSV whose outcome, predictor and grouping columns are named by payloads."""
    rng = np.random.default_rng(5)
    names = payloads(target)
    outcome, predictor, group = names[0], names[2], names[4]
    g = np.repeat(np.arange(8), rows // 8)
    x = rng.normal(size=rows)
    frame = pd.DataFrame(
        {
            outcome: np.round(10 + 2 * x + rng.normal(0, 1, 8)[g] + rng.normal(size=rows), 3),
            predictor: np.round(x, 3),
            group: [f"class {i}" for i in g],
        }
    )
    for extra in names[5:]:  # more hostile names, unused by the model
        frame[extra] = 1.0
    return frame.to_csv(index=False).encode("utf-8"), [outcome, predictor, group]


@pytest.fixture
def no_execution(monkeypatch):
    """Fail loudly if text carrying a payload reaches eval/exec, os.system/popen or subprocess
    while the pipeline runs. (Only payload text: Python itself evaluates generated code, e.g.
    in namedtuple, and imports modules through exec.)"""

    def texts(values):
        for v in values:
            if isinstance(v, (str, bytes)):
                yield v if isinstance(v, str) else v.decode("latin-1")
            elif isinstance(v, (list, tuple)):
                yield from texts(v)

    def guard(real):
        def run(*args, **kwargs):
            if any("SENTINEL" in t for t in texts([*args, *kwargs.values()])):
                raise AssertionError(f"code execution attempted: {args!r:.200}")
            return real(*args, **kwargs)

        return run

    monkeypatch.setattr(builtins, "eval", guard(builtins.eval))
    monkeypatch.setattr(builtins, "exec", guard(builtins.exec))
    monkeypatch.setattr(os, "system", guard(os.system))
    monkeypatch.setattr(os, "popen", guard(os.popen))
    monkeypatch.setattr(subprocess, "Popen", guard(subprocess.Popen))


def test_hostile_column_names_are_only_names(tmp_path, no_execution):
    sentinel = tmp_path / "SENTINEL"
    data, (y, x, g) = hostile_frame_bytes(sentinel)
    table = read_table(data, name="upload.csv")
    frame = table.frame
    # every name survives as text (a backtick, which no formula can hold, becomes ')
    for name in payloads(sentinel):
        assert name.replace("`", "'") in frame.columns or name not in data.decode()
    text = f"{quote_formula_name(y)} ~ {quote_formula_name(x)} + (1 | {quote_formula_name(g)})"
    spec = parse_formula(text)
    assert (spec.outcome, spec.fixed[0].variables, spec.random[0].grouping) == (y, (x,), (g,))
    result = fit(frame, spec)
    assert result.nobs == 96 and result.ngroups == {g: 8}
    from hlm_core.effects import group_ols_lines, pred_slope, ranef_table

    assert len(ranef_table(result, g)) == 8
    assert len(pred_slope(result, x)) == 16
    assert len(group_ols_lines(frame, y, x, g)) == 16
    assert not sentinel.exists()


@pytest.mark.parametrize(
    "formula",
    [
        "score ~ __import__('os').system('touch {s}') + (1 | g)",
        "score ~ I(__import__('os').system('touch {s}')) + (1 | g)",
        "score ~ I(x) + (1 | g)",
        "score ~ {{__import__('os').system('touch {s}')}} + (1 | g)",
        "f'{{__import__(\"os\").system(\"touch {s}\")}}' ~ x + (1 | g)",
        "score ~ x + (1 | g)\"); system(\"touch {s}\")",
        "score ~ x + (1 | g); import os; os.system('touch {s}')",
        "score ~ x + (1 | g) # __import__('os').system('touch {s}')",
        "score ~ `__import__('os').system('touch {s}')` + (1 | g)",
        "score ~ x + (1 | `$(touch {s})`)",
        "`score` ~ x + (1 | g) + `x`; system('touch {s}')",
        "score ~ x + (1 | g) + offset(system('touch {s}'))",
        "score ~ eval(parse(text = 'system(\"touch {s}\")')) + (1 | g)",
        "score ~ x + (1 | g)\n__import__('os').system('touch {s}')",
    ],
)
def test_formulas_that_try_to_run_code_run_nothing(formula, tmp_path, no_execution):
    sentinel = tmp_path / "SENTINEL"
    text = formula.format(s=sentinel)
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {"score": rng.normal(size=60), "x": rng.normal(size=60), "g": np.repeat(range(6), 10)}
    )
    try:
        fit(frame, parse_formula(text))
    except HLMError as exc:  # a plain refusal is the expected outcome
        assert "Traceback" not in str(exc)
    assert not sentinel.exists()


def test_engines_only_see_generated_names(tmp_path, monkeypatch):
    """The one formula string mixedlm gets is built from X0, X1, G0 ... never a user's name."""
    import mixedlm.formula.parser as mparser

    seen: list[str] = []
    real = mparser.parse_formula

    def spy(text, *args, **kwargs):
        seen.append(text)
        return real(text, *args, **kwargs)

    monkeypatch.setattr(mparser, "parse_formula", spy)
    sentinel = tmp_path / "SENTINEL"
    data, (y, x, g) = hostile_frame_bytes(sentinel)
    frame = read_table(data, name="upload.csv").frame
    spec = parse_formula(
        f"{quote_formula_name(y)} ~ {quote_formula_name(x)} + ({quote_formula_name(x)} | "
        f"{quote_formula_name(g)})"
    )
    fit(frame, spec)
    assert seen, "mixedlm's parser was not used; update this test to the engine's new entry"
    for text in seen:
        assert re.fullmatch(r"y ~ 0 \+ (X\d+ \+ )*X\d+( \+ \(1 \| G\d+\))+", text), text
    assert not sentinel.exists()


def test_the_cli_runs_nothing(tmp_path):
    sentinel = tmp_path / "SENTINEL"
    data, (y, x, g) = hostile_frame_bytes(sentinel)
    path = tmp_path / "hostile.csv"
    path.write_bytes(data)
    q = quote_formula_name
    runs = [
        ["fit", str(path), "--formula", f"{q(y)} ~ {q(x)} + (1 | {q(g)})", "--json", "--ranef"],
        ["fit", str(path), "--formula", f"{q(y)} ~ {q(x)} + (1 | {q(g)})"],
        ["fit", str(path), "--formula", f"score ~ __import__('os').system('touch {sentinel}')"],
        ["fit", str(path), "--formula", f"{q(y)} ~ I(open(r'{sentinel}', 'w')) + (1 | {q(g)})"],
        ["fit", str(path), "--formula", f"$(touch {sentinel}) ~ 1 + (1 | g)"],
        ["describe", str(path), "--levels", g],
        ["describe", str(path), "--levels", f"`touch {sentinel}`"],
        ["compare", str(path), "--formula", f"{q(y)} ~ 1 + (1 | {q(g)})",
         "--formula", f"{q(y)} ~ {q(x)} + (1 | {q(g)}) + {{system('touch {sentinel}')}}"],
    ]
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONIOENCODING="utf-8")

    def run(args: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "hlm_core", *args], cwd=tmp_path, env=env,
            capture_output=True, text=True, encoding="utf-8", timeout=300,
        )

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        done = list(pool.map(run, runs))
    for args, p in zip(runs, done, strict=True):
        assert p.returncode in (0, 2), (args, p.stderr)
        assert "Traceback" not in p.stdout + p.stderr
    assert done[0].returncode == 0 and done[1].returncode == 0  # the names fit as names
    assert not sentinel.exists()
    assert sorted(f.name for f in tmp_path.iterdir()) == ["hostile.csv"]


def test_the_payloads_would_work_if_anything_ran_them(tmp_path):
    """The control: evaluated, a payload does create its sentinel (so its absence means
    something)."""
    sentinel = tmp_path / "SENTINEL"
    eval(f"open(r'{sentinel}', 'w').close()")
    assert sentinel.exists()
    sentinel.unlink()
    subprocess.run(["sh", "-c", f"echo {payloads(sentinel)[6]}"], check=True, capture_output=True)
    assert sentinel.exists()


# ------------------------------------------------------------------------ 2. no evaluating code


def source_files() -> list[Path]:
    files = sorted((ROOT / "hlm_core").rglob("*.py"))
    files += sorted((ROOT / "pages").glob("*.py")) if (ROOT / "pages").is_dir() else []
    files += sorted((ROOT / "ui").glob("*.py")) if (ROOT / "ui").is_dir() else []
    files += [p for p in (ROOT / "app.py",) if p.exists()]
    return files


def code_only(path: Path) -> str:
    """The file's code with every comment and string literal (docstrings too) blanked out."""
    out = []
    with path.open("rb") as f:
        for tok in tokenize.tokenize(f.readline):
            if tok.type in (tokenize.COMMENT, tokenize.STRING, tokenize.ENCODING):
                continue
            if sys.version_info >= (3, 12) and tok.type in (
                tokenize.FSTRING_START, tokenize.FSTRING_MIDDLE, tokenize.FSTRING_END
            ):
                continue
            out.append(tok.string)
    return " ".join(out)


FORBIDDEN = {
    "eval/exec": r"\b(eval|exec)\s*\(",
    "importing by name": r"\b__import__\s*\(|\bimport_module\s*\(",
    "patsy/formulaic/R": r"\b(patsy|formulaic|rpy2)\b",
    "string formula to an engine": r"\b(lmer|glmer|from_formula|dmatrix|dmatrices)\s*\(",
    "pandas evaluating text": r"\.query\s*\(|\bpd\s*\.\s*eval\b",
    "running programs": r"\bos\s*\.\s*(system|popen)\b|\bsubprocess\b",
}


def test_source_files_are_found():
    names = {p.name for p in source_files()}
    assert {"io.py", "fit.py", "formula.py", "design.py", "__main__.py"} <= names


@pytest.mark.parametrize("path", source_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_code_evaluates_text(path):
    code = code_only(path)
    for what, pattern in FORBIDDEN.items():
        found = re.search(pattern, code)
        assert found is None, f"{what} in {path.relative_to(ROOT)}: {found.group(0)!r}"


# ------------------------------------------------------------------------ 3. server config


def config() -> dict:
    if not CONFIG.exists():
        pytest.fail(f"{CONFIG.relative_to(ROOT)} is missing")
    return tomllib.loads(CONFIG.read_text(encoding="utf-8"))


def test_xsrf_protection_is_on():
    server = config().get("server", {})
    assert server.get("enableXsrfProtection") is True
    assert server.get("enableCORS", True) is True  # XSRF protection needs CORS protection on


def test_usage_statistics_are_off():
    assert config().get("browser", {}).get("gatherUsageStats") is False


def test_upload_size_is_limited():
    assert config().get("server", {}).get("maxUploadSize") == 500


def test_users_never_see_error_details():
    assert config().get("client", {}).get("showErrorDetails") in ("none", False)


EXTERNAL = re.compile(
    r"""<script[^>]*\bsrc\s*=\s*["']?(https?:)?//"""  # scripts from another host
    r"""|<link[^>]*\bhref\s*=\s*["']?(https?:)?//"""  # stylesheets, fonts
    r"""|@import\s+(url\()?\s*["']?(https?:)?//"""
    r"""|include_plotlyjs\s*=\s*["'](cdn|https?:)"""  # plotly.js from its CDN
    r"""|fonts\.(googleapis|gstatic)\.com""",
    re.IGNORECASE,
)


def test_nothing_is_loaded_from_other_hosts():
    assert not re.search(r"https?://", CONFIG.read_text(encoding="utf-8"))
    for path in source_files():
        found = EXTERNAL.search(path.read_text(encoding="utf-8"))
        assert found is None, f"{path.relative_to(ROOT)} loads {found.group(0)!r}"


# ------------------------------------------------------------------------ 4. nothing on disk


def files_containing(marker: bytes, since: float, roots: list[Path]) -> list[Path]:
    needles = [marker, marker.decode().encode("utf-16-le")]
    hits = []
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root, onerror=lambda e: None):
            dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
            for name in filenames:
                path = Path(dirpath) / name
                try:
                    st = path.lstat()
                    if not path.is_file() or path.is_symlink() or st.st_mtime < since:
                        continue
                    if st.st_size > 200_000_000:
                        continue
                    data = path.read_bytes()
                except OSError:
                    continue
                if any(n in data for n in needles):
                    hits.append(path)
    return hits


def uploads_with(marker: str) -> list[tuple[str, bytes]]:
    """One data set as a user would upload it (CSV, Excel, Parquet), the marker in the class
    labels (so it reaches the fit, the class effects and the lines) and in a comment column."""
    rng = np.random.default_rng(3)
    n, k = 120, 12
    g = np.repeat(np.arange(k), n // k)
    x = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "score": np.round(50 + 3 * x + rng.normal(0, 2, k)[g] + rng.normal(0, 3, n), 2),
            "hours": np.round(x, 3),
            "class": [f"{marker}-class-{i}" for i in g],
            "comment": [f"confidential {marker} pupil {i}" for i in range(n)],
        }
    )
    xlsx = io.BytesIO()
    frame.to_excel(xlsx, index=False)
    parquet = io.BytesIO()
    frame.to_parquet(parquet, index=False)
    return [
        ("pupils.csv", frame.to_csv(index=False).encode("utf-8")),
        ("pupils.xlsx", xlsx.getvalue()),
        ("pupils.parquet", parquet.getvalue()),
    ]


def test_nothing_of_an_upload_is_written_to_disk():
    from hlm_core.compare import lrt
    from hlm_core.crosscheck import crosscheck
    from hlm_core.effects import group_ols_lines, pred_slope, ranef_table
    from hlm_core.io import detect_missing_codes
    from hlm_core.result import result_to_dict
    from hlm_core.structure import describe_structure

    marker = f"MARK{uuid.uuid4().hex}"  # made at run time: not in this file or its .pyc
    roots = [Path(tempfile.gettempdir()), Path.cwd()]
    since = time.time() - 2  # file times can be coarser than the clock
    for name, data in uploads_with(marker):
        table = read_table(io.BytesIO(data), name=name)  # as Streamlit's UploadedFile
        frame = table.frame
        assert frame["class"].iloc[0].startswith(marker)
        detect_missing_codes(frame)
        describe_structure(frame, ["class"])
        small = fit(frame, parse_formula("score ~ 1 + (1 | class)", reml=False))
        result = fit(frame, parse_formula("score ~ hours + (hours | class)"))
        effects = ranef_table(result, "class")
        assert effects["level"].iloc[0].startswith(marker)
        pred_slope(result, "hours", n=20)
        group_ols_lines(frame, "score", "hours", "class")
        crosscheck(frame, result)
        lrt(small, result, frame)
        result_to_dict(result, ranef=True)
    hits = files_containing(marker.encode(), since, roots)
    assert not hits, f"user data written to disk: {hits}"


def test_nothing_of_an_upload_is_written_to_disk_by_the_worker_processes():
    """The app reads, fits, ladders and refits in worker processes (hlm_core.jobs): the bytes
    and frames travel through pipes, never through files."""
    from hlm_core.compare import ladder
    from hlm_core.crosscheck import crosscheck
    from hlm_core.jobs import run_job

    marker = f"MARK{uuid.uuid4().hex}"
    roots = [Path(tempfile.gettempdir()), Path.cwd()]
    since = time.time() - 2
    for name, data in uploads_with(marker):
        table = run_job(read_table, (data,), {"name": name})
        frame = table.frame
        assert frame["class"].iloc[0].startswith(marker)
        spec = parse_formula("score ~ hours + (hours | class)")
        result = run_job(fit, (frame, spec))
        assert result.ranef["class"]["level"].iloc[0].startswith(marker)
        run_job(ladder, (frame, spec))
        run_job(crosscheck, (frame, result))
    hits = files_containing(marker.encode(), since, roots)
    assert not hits, f"user data written to disk: {hits}"

"""One person's upload or fit never reaches another session.

Each AppTest is its own Streamlit session (its own st.session_state), as each browser tab is.
The fit cache lives in st.session_state (ui.state.Session.fits), so two sessions with different
uploads keep different fits, and a session that uploads the very same file as another still
fits its own model. And no function in the app or in hlm_core is cached across sessions
(st.cache_data, st.cache_resource, functools caches) with an argument that could carry a
user's data: only plain names and numbers (e.g. which example data set) may key such a cache.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from apphelpers import FIXTURES, KEY, ROOT, fit_by_formula, go, new_app, state, texts, upload

FORMULA_A = "normexam ~ standLRT + (1 | school)"
FORMULA_B = "mAch ~ meanses + sector + cses + (1 | school)"


def observations(at) -> str:
    return next(m.value for m in at.metric if m.label == "Observations")


def only_fit(at):
    fits = dict(state(at).fits)
    assert len(fits) == 1, list(fits)
    return next(iter(fits.items()))


def test_two_sessions_with_different_uploads_do_not_share_fits(exam_csv):
    hsb = (FIXTURES / "hsb82.csv").read_bytes()
    a, b = new_app(), new_app()
    upload(a, "exam.csv", exam_csv)
    upload(b, "hsb82.csv", hsb)
    fit_by_formula(a, FORMULA_A)
    fit_by_formula(b, FORMULA_B)

    table_a, table_b = state(a).table, state(b).table
    assert (table_a.name, len(table_a.frame)) == ("exam.csv", 4059)
    assert (table_b.name, len(table_b.frame)) == ("hsb82.csv", 7185)
    key_a, fit_a = only_fit(a)
    key_b, fit_b = only_fit(b)
    assert key_a[0][0] == table_a.fingerprint and key_b[0][0] == table_b.fingerprint
    assert (fit_a.formula, fit_a.nobs, fit_a.ngroups) == (FORMULA_A, 4059, {"school": 65})
    assert (fit_b.formula, fit_b.nobs, fit_b.ngroups) == (FORMULA_B, 7185, {"school": 160})

    for at, fit, rows, other in ((a, fit_a, "4,059", "hsb82.csv"), (b, fit_b, "7,185", "exam.csv")):
        go(at, "results")
        assert observations(at) == rows
        assert fit.formula in texts(at) and other not in texts(at)
        go(at, "class_effects")
        assert not at.error, [e.value for e in at.error]

    # A's session is unchanged by B's work
    assert only_fit(a) == (key_a, fit_a)


def test_same_file_in_another_session_gets_its_own_fit(exam_csv):
    a = new_app()
    upload(a, "exam.csv", exam_csv)
    fit_by_formula(a, FORMULA_A)
    _, fit_a = only_fit(a)

    c = new_app()
    upload(c, "exam.csv", exam_csv)
    assert state(c).table.fingerprint == state(a).table.fingerprint
    go(c, "results")  # same data, same server: still no fit until this session fits
    assert "No model fitted yet" in texts(c)
    fit_by_formula(c, FORMULA_A)
    _, fit_c = only_fit(c)
    assert fit_c is not fit_a  # fitted here, not handed over from the other session
    assert fit_c.fixef() == pytest.approx(fit_a.fixef())


def test_a_fresh_session_has_no_data():
    a = new_app()
    upload(a, "hsb82.csv", (FIXTURES / "hsb82.csv").read_bytes())
    fresh = new_app()
    assert KEY not in fresh.session_state or state(fresh).table is None
    for page in ("model", "results", "class_effects", "slopes"):
        go(fresh, page)
        assert "No data yet" in texts(fresh)
        assert "hsb82" not in texts(fresh)


# ---------------------------------------------------------------- no cross-session caches

CACHES = {"cache_data", "cache_resource", "lru_cache", "cache", "experimental_memo",
          "experimental_singleton", "memo", "singleton"}
SAFE_TYPES = {"str", "int", "float", "bool", "None"}


def _sources() -> list[Path]:
    files = [ROOT / "app.py", *sorted((ROOT / "ui").glob("*.py")),
             *sorted((ROOT / "pages").glob("*.py"))]
    return files + sorted((ROOT / "hlm_core").rglob("*.py"))


def _cache_name(node: ast.expr) -> str | None:
    """'cache_data' for @st.cache_data, @st.cache_data(ttl=...), functools.lru_cache(...)..."""
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr if node.attr in CACHES else None
    if isinstance(node, ast.Name):
        return node.id if node.id in CACHES else None
    return None


def _annotation_is_safe(node: ast.expr | None) -> bool:
    if node is None:
        return False
    if isinstance(node, ast.Constant):
        return node.value is None or (isinstance(node.value, str) and set(
            p.strip() for p in node.value.split("|")) <= SAFE_TYPES)
    if isinstance(node, ast.Name):
        return node.id in SAFE_TYPES
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _annotation_is_safe(node.left) and _annotation_is_safe(node.right)
    return False


def cross_session_caches(paths: list[Path] | None = None, root: Path = ROOT) -> list[str]:
    """Every function cached across sessions whose arguments are not plain names/numbers, and
    every cache wrapper called outside a decorator (which this check can't see through)."""
    problems = []
    for path in paths if paths is not None else _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        decorators = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for dec in node.decorator_list:
                    decorators.add(id(dec))
                    decorators.add(id(getattr(dec, "func", None)))
                    name = _cache_name(dec)
                    if name is None:
                        continue
                    args = node.args
                    params = [*args.posonlyargs, *args.args, *args.kwonlyargs]
                    params = [p for p in params if p.arg not in ("self", "cls")]
                    if args.vararg or args.kwarg:
                        params.append(args.vararg or args.kwarg)
                    bad = [p.arg for p in params if not _annotation_is_safe(p.annotation)]
                    if bad:
                        problems.append(
                            f"{path.relative_to(root)}:{node.lineno} {node.name}() is cached "
                            f"across sessions (@{name}) but takes {bad}, which could hold a "
                            "user's data: keep it in st.session_state instead"
                        )
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and id(node) not in decorators and id(
                node.func
            ) not in decorators:
                name = _cache_name(node.func)
                if name in ("cache_data", "cache_resource", "lru_cache"):
                    problems.append(f"{path.relative_to(root)}:{node.lineno} calls {name}() "
                                    "outside a decorator: check it caches no user data")
    return problems


def test_nothing_caches_a_users_data_across_sessions():
    assert cross_session_caches() == []


def test_the_cache_check_catches_a_cached_upload(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import streamlit as st\n"
        "@st.cache_data\n"
        "def read(data: bytes, name: str):\n    return data\n"
        "@st.cache_resource(ttl=60)\n"
        "def example(name: str, seed: int | None = None):\n    return name\n"
    )
    problems = cross_session_caches([bad], tmp_path)
    assert len(problems) == 1 and "read()" in problems[0] and "'data'" in problems[0]

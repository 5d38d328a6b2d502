"""The bad-input corpus (tests/corpus): every case through hlm_core and through the command line.

hlm_core: read_table on the uploaded bytes → describe_structure / parse_formula → fit, as the app
calls them. CLI: `python -m hlm_core ...` as a subprocess, run in an empty folder: exit 2 with the
message on stderr for refusals, exit 0 with the notes and warnings on stdout otherwise, never a
traceback, and nothing written to the folder. The CLI runs for the selected cases start together,
in parallel, before the hlm_core tests run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

from hlm_core.errors import HLMError
from hlm_core.fit import fit
from hlm_core.formula import parse_formula
from hlm_core.io import apply_missing_codes, detect_missing_codes, read_table
from hlm_core.structure import describe_structure
from tests.corpus import make_corpus
from tests.corpus.cases import CASES, FILES, Case, cli_args, kind_of, same, user_message

ROOT = Path(__file__).resolve().parents[1]
IDS = [c.id for c in CASES]


# ------------------------------------------------------------------------------ the corpus


def test_the_corpus_is_complete_and_small():
    assert len(CASES) >= 40
    files = {p.name for p in FILES.iterdir()}
    assert len(files) >= 40
    used = {c.file for c in CASES}
    assert used == files, f"unused: {files - used}; missing: {used - files}"
    for name in files:
        assert (FILES / name).stat().st_size < 100_000, name
    assert {c.does for c in CASES} == {"upload", "fit", "describe", "missing_codes"}


def test_the_committed_files_are_what_make_corpus_writes(tmp_path):
    make_corpus.main(tmp_path, quiet=True)
    made = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    committed = {p.name: p.read_bytes() for p in FILES.iterdir()}
    assert made.keys() == committed.keys()
    differ = [n for n in made if made[n] != committed[n]]
    assert not differ, f"run `python tests/corpus/make_corpus.py` again: {differ}"


# ------------------------------------------------------------------------------ hlm_core


def run_core(case: Case):
    """What the app does with the case. Returns (outcome, table, message)."""
    table = None
    try:
        table = read_table(case.path.read_bytes(), name=case.file, sheet=case.sheet)
        frame = table.frame
        if case.does == "upload":
            return table, table, None
        if case.does == "describe":
            return describe_structure(frame, list(case.levels)), table, None
        if case.does == "missing_codes":
            found = detect_missing_codes(frame)
            assert found == {k: list(v) for k, v in case.codes.items()}
            frame = apply_missing_codes(frame, found)  # the user ticked "treat as missing"
        try:
            spec = parse_formula(case.formula)
        except HLMError as exc:
            return None, table, user_message(exc, case.formula, frame.columns)
        return fit(frame, spec), table, None
    except HLMError as exc:
        return None, table, str(exc)


def check_frame(case: Case, frame: pd.DataFrame) -> None:
    if case.shape is not None:
        assert frame.shape == case.shape
    if case.columns is not None:
        assert tuple(frame.columns[: len(case.columns)]) == case.columns
    for col, want in case.values.items():
        got = frame[col].tolist()[: len(want)]
        assert all(same(g, w) for g, w in zip(got, want, strict=True)), (col, got, want)
    for col, kind in case.kinds.items():
        assert kind_of(frame[col]) == kind, col


def contains_all(text: str, fragments) -> None:
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in:\n{text}"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_core(case: Case):
    outcome, table, message = run_core(case)
    if case.error:
        assert message is not None, "expected a refusal"
        assert case.error in message
        assert "Traceback" not in message and "Error:" not in message
        assert len(message) < 600
        return
    assert message is None, message
    if case.does == "upload":
        contains_all("\n".join(outcome.notes), case.notes)
        check_frame(case, outcome.frame)
    elif case.does == "describe":
        contains_all("\n".join(outcome.summary_lines()), case.summary)
        contains_all("\n".join(outcome.warnings), case.warnings)
    else:
        if case.does == "fit":
            contains_all("\n".join(outcome.notes), case.notes)
        contains_all("\n".join(outcome.warnings), case.warnings)
        if case.nobs is not None:
            assert outcome.nobs == case.nobs
        if case.groups:
            assert outcome.ngroups == dict(case.groups)
        if case.terms:
            assert tuple(outcome.fixed["term"]) == case.terms
        assert outcome.fixed["estimate"].notna().all()
        check_frame(case, table.frame)


# ------------------------------------------------------------------------------ the CLI


@pytest.fixture(scope="session")
def cli_workdir(tmp_path_factory) -> Path:
    """An empty working folder for every CLI run: it must still be empty afterwards."""
    return tmp_path_factory.mktemp("cli_cwd")


@pytest.fixture(scope="session")
def cli_runs(request, cli_workdir):
    """Start the CLI for every case this session selected, in parallel, once."""
    wanted = [
        item.callspec.params["case"]
        for item in request.session.items
        if getattr(item, "originalname", None) == "test_cli"
    ]
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONIOENCODING="utf-8")

    def run(case: Case) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "hlm_core", *cli_args(case)],
            cwd=cli_workdir, env=env, capture_output=True, text=True, encoding="utf-8",
            timeout=300,
        )

    pool = ThreadPoolExecutor(max_workers=max(2, (os.cpu_count() or 2)))
    futures: dict[str, Future] = {c.id: pool.submit(run, c) for c in wanted}
    yield futures
    pool.shutdown(wait=True)


@pytest.fixture(scope="module", autouse=True)
def _start_the_cli_runs_first(cli_runs):
    """Start the CLI runs before the hlm_core tests, so the two overlap."""
    return cli_runs


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_cli(case: Case, cli_runs, cli_workdir):
    p = cli_runs[case.id].result()
    output = p.stdout + p.stderr
    assert "Traceback" not in output
    assert "\x1b" not in output and "\x07" not in output, "control characters reached the terminal"
    assert "Something went wrong inside hlm_core" not in output
    if case.error:
        assert p.returncode == 2, output
        assert case.error in p.stderr
        assert len(p.stderr.strip().splitlines()) <= 3
    else:
        assert p.returncode == 0, output
        assert p.stderr == ""
        contains_all(p.stdout, case.notes + case.warnings + case.summary)
        if case.does == "fit" and case.nobs is not None:
            assert f"Observations: {case.nobs:,}" in p.stdout
    assert not list(cli_workdir.iterdir()), "the CLI wrote into its working folder"
    assert not (ROOT / "PWNED").exists()


# ------------------------------------------------------------------------------ one-offs


def test_a_cell_longer_than_the_csv_modules_limit_in_a_ragged_file():
    """csv.reader refuses fields over 128 KB by default; a pasted essay in a comment with a
    ragged row used to crash the reader."""
    essay = "x" * 200_000
    data = f"pupil,comment\n1,{essay}\n2,short,extra\n".encode()
    table = read_table(data, name="comments.csv")
    assert table.frame.shape == (2, 3)
    assert table.frame["comment"].iloc[0] == essay

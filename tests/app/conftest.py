"""Fixtures for the dashboard's AppTest suite (helpers live in apphelpers.py)."""

from __future__ import annotations

import pandas as pd
import pytest
from apphelpers import FIXTURES, xlsx_bytes


@pytest.fixture(scope="session")
def exam_csv() -> bytes:
    return (FIXTURES / "exam.csv").read_bytes()


@pytest.fixture(scope="session")
def exam_xlsx() -> bytes:
    return xlsx_bytes({"exam": pd.read_csv(FIXTURES / "exam.csv")})

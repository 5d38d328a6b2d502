"""Generate the benchmark dataset: students in classes, a random intercept and slope model."""

from __future__ import annotations

import numpy as np
import pandas as pd


def classes_dataset(
    n_students: int = 1_000_000, n_classes: int = 20_000, seed: int = 1
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cls = rng.integers(0, n_classes, n_students)
    x = rng.normal(0, 1, n_students)
    b0 = rng.normal(0, 1.0, n_classes)
    b1 = rng.normal(0, 0.5, n_classes)
    y = 50 + 2.0 * x + b0[cls] + b1[cls] * x + rng.normal(0, 2.0, n_students)
    return pd.DataFrame({"y": y.round(4), "x": x.round(4), "class": [f"c{c:05d}" for c in cls]})

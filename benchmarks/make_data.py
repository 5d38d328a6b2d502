"""Generate the benchmark dataset: students in classes, a random intercept and slope model."""

from __future__ import annotations

import numpy as np
import pandas as pd


def classes_dataset(
    n_students: int = 1_000_000,
    n_classes: int = 20_000,
    seed: int = 1,
    ids: bool = False,
    classes_per_school: int = 10,
) -> pd.DataFrame:
    """Columns y, x, class. With `ids`, a school file's usual extras come first: a student ID
    and the school each class belongs to (`classes_per_school` classes per school)."""
    rng = np.random.default_rng(seed)
    cls = rng.integers(0, n_classes, n_students)
    x = rng.normal(0, 1, n_students)
    b0 = rng.normal(0, 1.0, n_classes)
    b1 = rng.normal(0, 0.5, n_classes)
    y = 50 + 2.0 * x + b0[cls] + b1[cls] * x + rng.normal(0, 2.0, n_students)
    cols = {"y": y.round(4), "x": x.round(4), "class": [f"c{c:05d}" for c in cls]}
    if not ids:
        return pd.DataFrame(cols)
    school = [f"k{c // classes_per_school:04d}" for c in cls]
    student = [f"s{i:07d}" for i in range(1, n_students + 1)]
    return pd.DataFrame({"student": student, "school": school, **cols})

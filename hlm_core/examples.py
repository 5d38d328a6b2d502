"""Example data sets, generated with a fixed seed so every run (and every test) sees the same rows.

`classroom()` is shaped like the example our users start from: 500 students in 7 classes, with a
score that depends on days of exam preparation (an effect that differs from class to class),
poverty and parents' education.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CLASS_LABELS = tuple(f"Class {c}" for c in "ABCDEFG")


def classroom(seed: int = 2024) -> pd.DataFrame:
    """500 students in 7 classes: `score`, `exam.prep.days`, `poverty`, `parent.ed`, `class`.

    Generated from a random-intercept-and-slope model::

        score = 50 + u0[class] + (2 + u1[class]) * exam.prep.days
                - 3 * poverty + 0.8 * (parent.ed - 12) + e

    with class intercept SD 5, slope SD 0.8 (correlation -0.3) and residual SD 6.
    `poverty` is 1 for a student from a low-income family, else 0; `parent.ed` is the parents'
    years of schooling. A handful of `parent.ed` values are missing, as in real school data.
    """
    rng = np.random.default_rng(seed)
    n_classes = len(CLASS_LABELS)
    n_students = 500

    # unequal class sizes (at least 45 students each), summing to 500
    sizes = rng.multinomial(n_students - 45 * n_classes, np.full(n_classes, 1 / n_classes)) + 45
    cls = np.repeat(np.arange(n_classes), sizes)

    # class-level differences: intercept and slope for exam preparation
    sd0, sd1, rho = 5.0, 0.8, -0.3
    cov = np.array([[sd0**2, rho * sd0 * sd1], [rho * sd0 * sd1, sd1**2]])
    u = rng.multivariate_normal([0.0, 0.0], cov, size=n_classes)

    # students: preparation days differ a little by class, poverty rates too
    class_days = rng.uniform(5.0, 10.0, size=n_classes)
    days = np.clip(rng.poisson(class_days[cls]), 0, 25).astype(float)
    class_poverty = rng.uniform(0.1, 0.5, size=n_classes)
    poverty = (rng.random(n_students) < class_poverty[cls]).astype(int)
    parent_ed = np.clip(np.round(rng.normal(13.0 - 1.5 * poverty, 2.0)), 8, 20)

    e = rng.normal(0.0, 6.0, size=n_students)
    score = (
        50.0
        + u[cls, 0]
        + (2.0 + u[cls, 1]) * days
        - 3.0 * poverty
        + 0.8 * (parent_ed - 12.0)
        + e
    )
    score = np.clip(np.round(score, 1), 0.0, 100.0)

    parent_ed_col = pd.Series(parent_ed, dtype="float64")
    missing = rng.choice(n_students, size=6, replace=False)
    parent_ed_col.iloc[missing] = np.nan

    order = rng.permutation(n_students)  # rows in no particular order, as in a real export
    frame = pd.DataFrame(
        {
            "score": score,
            "exam.prep.days": days.astype(int),
            "poverty": poverty,
            "parent.ed": parent_ed_col.to_numpy(),
            "class": pd.Series(np.asarray(CLASS_LABELS, dtype=object)[cls], dtype=object),
        }
    )
    return frame.iloc[order].reset_index(drop=True)


EXAMPLES = {
    "classroom": (
        ("Classroom: 500 students in 7 classes (score, days of exam preparation, poverty, "
        "parents' education)"),
        classroom,
    ),
}


def list_examples() -> dict[str, str]:
    """Example name -> one-line description."""
    return {name: desc for name, (desc, _f) in EXAMPLES.items()}


def load_example(name: str) -> pd.DataFrame:
    return EXAMPLES[name][1]()

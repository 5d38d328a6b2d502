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


STAR_FORMULA = "math ~ cltype + ses + sx + (1 | sch/tch)"


def star_like_dataset(seed: int = 11) -> pd.DataFrame:
    """A file shaped like the Tennessee STAR kindergarten data (5,871 pupils in 325 classes in
    79 schools; math ~ cltype + ses + sx + (1 | sch/tch)): our own simulated numbers, with the
    same sizes, column kinds and roughly the same variance shares."""
    rng = np.random.default_rng(seed)
    n_pupils, n_classes, n_schools = 5_871, 325, 79
    school_of_class = np.concatenate([np.arange(n_schools), rng.integers(0, n_schools,
                                                                         n_classes - n_schools)])
    rng.shuffle(school_of_class)
    cls = np.concatenate([np.arange(n_classes), rng.integers(0, n_classes,
                                                             n_pupils - n_classes)])
    rng.shuffle(cls)
    cltype_of_class = rng.choice(["small", "regular", "regular+aide"], n_classes)
    sch = school_of_class[cls]
    cltype = cltype_of_class[cls]
    ses = rng.choice(["free lunch", "no free lunch"], n_pupils, p=[0.48, 0.52])
    sx = rng.choice(["F", "M"], n_pupils)
    u_sch = rng.normal(0, 24, n_schools)
    u_cls = rng.normal(0, 17, n_classes)
    math = (485 + 9 * (cltype == "small") + 17 * (ses == "no free lunch") - 4 * (sx == "M")
            + u_sch[sch] + u_cls[cls] + rng.normal(0, 40, n_pupils))
    return pd.DataFrame({
        "id": [f"p{i:05d}" for i in range(1, n_pupils + 1)],
        "sch": [f"s{s + 1:03d}" for s in sch],
        "tch": [f"t{c + 1:04d}" for c in cls],
        "cltype": cltype,
        "ses": ses,
        "sx": sx,
        "math": math.round(0).astype(int),
    })


def pupils_csv(rows: int, n_classes: int = 5000, seed: int = 12) -> bytes:
    """A big, plain upload as CSV bytes: score, hours, class (about 18 bytes a row; 5 million
    rows is the audit's 200 MB-class file). Made in memory, quickly."""
    rng = np.random.default_rng(seed)
    labels = np.array([f"class {i}" for i in range(n_classes)], dtype=object)
    frame = pd.DataFrame({
        "score": np.round(rng.normal(50, 10, rows), 1),
        "hours": rng.integers(0, 20, rows),
        "class": labels[rng.integers(0, n_classes, rows)],
    })
    return frame.to_csv(index=False).encode()


def quoted_pupils_csv(rows: int, n_classes: int = 5000, seed: int = 12) -> bytes:
    """`pupils_csv` with each class name in quote marks, as spreadsheet exports write text:
    a read of the same size that goes through the full CSV parser (about twice as long), for
    tests that need a read to last a few seconds."""
    text = pupils_csv(rows, n_classes, seed)
    header, body = text.split(b"\n", 1)
    return header + b"\n" + body.replace(b",class ", b',"class ').replace(b"\n", b'"\n')


def far_cell_xlsx() -> bytes:
    """The audit's 2 KB workbook whose only cell is XFD1048576 (the last cell of a sheet):
    read naively it expands to 17 billion cells."""
    import io

    import openpyxl

    book = openpyxl.Workbook()
    book.active["XFD1048576"] = 1
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()

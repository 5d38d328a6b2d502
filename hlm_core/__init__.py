"""hlm_core: read → describe structure → spec/formula → fit → FitResult → effects, comparisons.

No streamlit here: everything is importable from a notebook or the command line.
"""

__version__ = "0.1.0"  # as pyproject.toml

from hlm_core.blas import limit_blas_threads
from hlm_core.errors import FormulaError, HLMError, ModelError, ReadError
from hlm_core.spec import ModelSpec, RandomEffect, Term

limit_blas_threads()  # small matrices: BLAS threads only fight each other (see hlm_core.blas)

__all__ = [
    "FormulaError",
    "HLMError",
    "ModelError",
    "ModelSpec",
    "RandomEffect",
    "ReadError",
    "Term",
]

"""hlm_core: read → describe structure → spec/formula → fit → FitResult → effects, comparisons.

No streamlit here: everything is importable from a notebook or the command line.
"""

from hlm_core.errors import FormulaError, HLMError, ModelError, ReadError
from hlm_core.spec import ModelSpec, RandomEffect, Term

__all__ = ["FormulaError", "HLMError", "ModelError", "ReadError", "ModelSpec", "RandomEffect", "Term"]

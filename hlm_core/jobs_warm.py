"""Imported once, by the job fork server only (`hlm_core.jobs.PRELOAD`): reads one small CSV
and fits one small model, so that every worker forked from the server starts with the reader's
and the engine's lazily imported parts and first-call set-up already done (a cold first fit
costs about 0.3 s more — on every click, since each job runs in a fresh worker).

Never import this module elsewhere: importing it does that work.
"""

from __future__ import annotations

import logging

try:
    from hlm_core.examples import classroom
    from hlm_core.export import safe_csv
    from hlm_core.fit import fit
    from hlm_core.formula import parse_formula
    from hlm_core.io import read_table

    _frame = read_table(safe_csv(classroom(seed=1)), name="warm-up.csv").frame
    fit(_frame, parse_formula("score ~ exam.prep.days + (exam.prep.days | class)"))
    fit(_frame, parse_formula("score ~ 1 + (1 | class)", reml=False))
    del _frame
except Exception:  # a warm-up that fails only makes the first jobs slower
    logging.getLogger("hlm_core").exception("job warm-up failed")

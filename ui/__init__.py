"""What the dashboard's pages share, one module per concern. Pages (pages/*.py) stay thin:
widgets, calls into hlm_core and into these modules, rendering. Nothing here is imported by
hlm_core (which never imports streamlit).

Which module to open:

- ``ui.state``: the one typed `Session` object (data, choices, model, fits, caches, messages,
  view switches), reached through `session()`; `Session.new_data` resets what depends on the
  data. Add a new piece of session state here, as one documented field.
- ``ui.builder``: the Model page's builder as pure functions, choices ⇄ ModelSpec (`sanitize`,
  `spec_from_choices`, `choices_from_spec`, `default_choices`, `builder_options`,
  `guess_levels`, `spec_from_text`, ...). No streamlit; tests/test_builder.py tests it.
- ``ui.model``: the builder's widgets ⇄ choices ⇄ spec ⇄ formula text in the session: widget
  callbacks, the typed formula, `set_spec`, `set_levels`.
- ``ui.data``: loading an upload or an example, the working frame (column types and
  missing-value codes applied), column summary, structure check, the data file for exports.
- ``ui.fits``: fitting and its caches (fit on show, model ladder, Diagnostics refits, `memo`
  for slow view computations, saved models, figure images for export).
- ``ui.intervals``: 95% intervals for a fit: the likelihood profile (at once when quick, else
  on request) and the parametric bootstrap on request, with progress, Cancel, draws and seed.
- ``ui.text``: `md` / `md_code`, the one escaping helper: a file's names and values (and
  messages quoting them) made safe for Markdown; no other ui import, so every ui module uses it.
- ``ui.jobs``: heavy work (reading an upload, fitting, the ladder, refits, slow views) in a
  worker process (hlm_core.jobs) with progress and a Stop button; a job survives clicks and
  page switches (kept in `Session.jobs`, landed by `collect`, shown in the sidebar by
  `status`); ui.data and ui.fits go through it.
- ``ui.guidance``: workshop mode, the guided tour, hover help, the presenter view.
- ``ui.plan``: the Plan a study page's session glue: planning inputs read from this session's
  fits (with their sources), the input widgets' state, the simulation run in pieces.
- ``ui.analysis``: Save analysis (sidebar) and Open analysis (Data page): the session as an
  hlm_core.analysis_file.Analysis and back, checked before the session changes.
- ``ui.page_options``: which widget holds each page option a saved analysis keeps; read to
  save, written back on opening.
- ``ui.fair``: the Class effects page's fair comparisons (shrinkage, reliability, ranks),
  behind their "Show" switch.
- ``ui.nav``: page paths and the "nothing here yet" notes (`need_data`, `need_fit`).
- ``ui.influence``: the Diagnostics page's influential-groups refits (every outcome type).
- ``ui.uploads``: the server keeps uploads in memory (Starlette would spool them to disk).
- ``ui.widgets``: page furniture — header and sidebar status, errors, CSV downloads, charts,
  group labels, the centring line, "Save this model".

Imports go one way: state ← jobs ← data ← fits ← model ← widgets (builder, guidance and nav
stand aside), so no module reaches back up.
"""

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
- ``ui.text``: `md_text` / `md_code`, a file's names and values made safe for Markdown (no
  imports, so every ui module can use them; ui.widgets re-exports them for the pages).
- ``ui.jobs``: heavy work (reading an upload, fitting, the ladder, refits) in a worker process
  (hlm_core.jobs) with progress and a Stop button; ui.data and ui.fits go through it.
- ``ui.guidance``: workshop mode, the guided tour, hover help, the presenter view.
- ``ui.nav``: page paths and the "nothing here yet" notes (`need_data`, `need_fit`).
- ``ui.widgets``: page furniture — header and sidebar status, errors, CSV downloads, charts,
  group labels, the centring line, "Save this model".

Imports go one way: state ← jobs ← data ← fits ← model ← widgets (builder, guidance and nav
stand aside), so no module reaches back up.
"""

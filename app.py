"""The multilevel-model dashboard for schools: `streamlit run app.py`.

One file, two roles, so the router stays where the project's layout puts it:
- loaded by the server (`streamlit run app.py`, or an ASGI server as `app:app`), it builds
  `app`, Streamlit's own ASGI app (`st.App`) serving this same file, with security headers on
  every response (ui/headers.py: a Content-Security-Policy that refuses anything from other
  hosts, and no framing by other sites), uploads kept in memory (ui/uploads.py), and the
  pages' modules imported in the background as it starts (ui/warm_server.py);
- run by Streamlit for a browser session (a script run context exists), it is the router:
  `st.navigation` over `pages/`.
"""

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

if get_script_run_ctx() is None:  # the server loading this file: build the ASGI app
    from starlette.middleware import Middleware

    from ui.headers import SecurityHeaders
    from ui.uploads import keep_uploads_in_memory
    from ui.warm_server import start_warm_up

    keep_uploads_in_memory()  # (Starlette would spool uploads over 1 MB to a file on disk)
    start_warm_up()  # the pages' imports, then gc.freeze: no first-visit import or long GC
    app = st.App(__file__, middleware=[Middleware(SecurityHeaders)])
else:  # a browser session's run: the pages
    from ui.jobs import warm_up

    st.set_page_config(
        page_title="Multilevel models for schools",
        page_icon="assets/icon.png",  # a local file: a material icon is fetched from Google
        layout="wide",
    )
    warm_up()  # the worker fork server for reading and fitting (hlm_core.jobs), started once
    st.navigation(
        [
            st.Page("pages/data.py", title="Data", icon=":material/upload_file:", default=True),
            st.Page("pages/model.py", title="Model", icon=":material/tune:"),
            st.Page("pages/results.py", title="Results", icon=":material/table_chart:"),
            st.Page("pages/class_effects.py", title="Class effects",
                    icon=":material/leaderboard:"),
            st.Page("pages/slopes.py", title="Slopes", icon=":material/show_chart:"),
            st.Page("pages/compare.py", title="Compare", icon=":material/stacked_line_chart:"),
            st.Page("pages/diagnostics.py", title="Diagnostics",
                    icon=":material/troubleshoot:"),
            st.Page("pages/plan.py", title="Plan a study", icon=":material/calculate:"),
            st.Page("pages/report.py", title="Report & export", icon=":material/description:"),
        ]
    ).run()

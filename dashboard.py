"""The dashboard's pages (`st.navigation` over `pages/`), served by app.py."""

import streamlit as st

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
        st.Page("pages/class_effects.py", title="Class effects", icon=":material/leaderboard:"),
        st.Page("pages/slopes.py", title="Slopes", icon=":material/show_chart:"),
        st.Page("pages/compare.py", title="Compare", icon=":material/stacked_line_chart:"),
        st.Page("pages/diagnostics.py", title="Diagnostics", icon=":material/troubleshoot:"),
        st.Page("pages/plan.py", title="Plan a study", icon=":material/calculate:"),
        st.Page("pages/report.py", title="Report & export", icon=":material/description:"),
    ]
).run()

"""The multilevel-model dashboard for schools: `streamlit run app.py`.

This file is the server: Streamlit's own ASGI app (`st.App`) running dashboard.py (the pages),
with security headers on every response (ui/headers.py: a Content-Security-Policy that refuses
anything from other hosts, and no framing by other sites). `streamlit run app.py` finds `app`
below and serves it; options such as `--server.port` work as before.
"""

import streamlit as st
from starlette.middleware import Middleware

from ui.headers import SecurityHeaders

app = st.App("dashboard.py", middleware=[Middleware(SecurityHeaders)])

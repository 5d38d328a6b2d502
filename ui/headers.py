"""Security headers on every HTTP response of the app server (issue 17.9).

The app never loads anything from another host, so the browser can be told to refuse it: a
Content-Security-Policy allowing images, scripts, styles, fonts, frames and connections from the
app's own origin only (plus data:/blob: URLs, which charts and downloads use, and the inline
styles and scripts Streamlit's page needs), and no framing by other sites (frame-ancestors and
X-Frame-Options). A name that slipped through as Markdown could then still not fetch an outside
image or load an outside script.

`SecurityHeaders` is a plain ASGI middleware (no buffering of streamed responses), added to the
server by app.py through `st.App(middleware=...)`. It imports starlette only, never streamlit
script code.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.datastructures import MutableHeaders

__all__ = ["CSP", "HEADERS", "SecurityHeaders"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

CSP = "; ".join([
    "default-src 'self'",
    # Streamlit's page starts with a small inline script; plotly's WebGL traces compile
    # shader code with new Function()
    "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "media-src 'self' data: blob:",
    "worker-src 'self' blob:",
    "frame-src 'self' blob: data:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'self'",
])

HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "SAMEORIGIN",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class SecurityHeaders:
    """Adds HEADERS to every HTTP response (WebSocket traffic passes untouched)."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)

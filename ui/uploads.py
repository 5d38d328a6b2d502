"""Uploads stay in memory: the server is set up so an uploaded file never touches the disk.

Streamlit's upload route parses the request with Starlette's multipart parser, which spools
any file over 1 MB to a temporary file on disk before Streamlit reads it back into memory.
The guide's rule is that a user's data is never written to disk, so the server process
raises that threshold above the largest upload it accepts (server.maxUploadSize), once, as
it loads app.py. The upload itself is still bounded by Streamlit's own size cap, checked as
the body streams in.
"""

from __future__ import annotations

from starlette.formparsers import MultiPartParser

MARGIN_BYTES = 1024 * 1024  # the multipart framing around the file


def keep_uploads_in_memory(max_upload_mb: float | None = None) -> int:
    """Make Starlette keep uploads up to `max_upload_mb` (default: the server's
    server.maxUploadSize) in memory; returns the new spooling threshold in bytes."""
    if max_upload_mb is None:
        from streamlit import config

        max_upload_mb = float(config.get_option("server.maxUploadSize"))
    limit = int(max_upload_mb * 1024 * 1024) + MARGIN_BYTES
    MultiPartParser.spool_max_size = max(MultiPartParser.spool_max_size, limit)
    return MultiPartParser.spool_max_size

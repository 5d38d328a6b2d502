"""Reading the bytes behind st.download_button in AppTest.

AppTest's mock runtime keeps its media files only during a run, and a button whose data is a
callable (made on click) holds no bytes at all until the browser asks. `record_downloads`
records what the app hands Streamlit's media file manager: eager bytes by URL, callables by
their placeholder id. `download_bytes(at, key, captured)` then returns exactly what a click on
the button with that key would download (calling the callable, as Streamlit does on a click).
"""

from __future__ import annotations

import io

from streamlit.runtime.media_file_manager import MediaFileManager


class Captured:
    def __init__(self) -> None:
        self.eager: dict[str, bytes | str] = {}
        self.deferred: dict[str, object] = {}


def record_downloads(monkeypatch) -> Captured:
    """Start recording (use in a fixture: `return record_downloads(monkeypatch)`)."""
    cap = Captured()
    add, add_deferred = MediaFileManager.add, MediaFileManager.add_deferred

    def recording_add(self, path_or_data, mimetype, coordinates, file_name=None,
                      is_for_static_download=False):
        url = add(self, path_or_data, mimetype, coordinates, file_name, is_for_static_download)
        cap.eager[url] = path_or_data
        return url

    def recording_add_deferred(self, data_callable, mimetype, coordinates, file_name=None, *,
                               element_id=""):
        fid = add_deferred(self, data_callable, mimetype, coordinates, file_name,
                           element_id=element_id)
        cap.deferred[fid] = data_callable
        return fid

    monkeypatch.setattr(MediaFileManager, "add", recording_add)
    monkeypatch.setattr(MediaFileManager, "add_deferred", recording_add_deferred)
    return cap


def download_button(at, key: str):
    found = [b for b in at.get("download_button") if b.proto.id.endswith(f"-{key}")]
    labels = [b.label for b in at.get("download_button")]
    assert found, f"no download button with key {key!r}; have {labels}"
    return found[0]


def download_bytes(at, key: str, cap: Captured) -> bytes:
    """What clicking the download button with this key downloads."""
    proto = download_button(at, key).proto
    if proto.HasField("deferred_file_id"):
        data = cap.deferred[proto.deferred_file_id]()
    else:
        data = cap.eager[proto.url]
    if isinstance(data, str):
        return data.encode("utf-8")
    if isinstance(data, io.IOBase):
        return data.read()
    return bytes(data)

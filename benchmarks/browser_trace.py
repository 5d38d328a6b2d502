"""Where the browser's time goes during one click: a Chrome trace of the page's main thread,
summarised as self time per kind of work (script, style, layout, paint, parsing, garbage
collection) and, from the JavaScript sampling profiler, per script file and function.

Used by `bench_pages.py --trace DIR`: one trace file per step (open it in Chromium's
DevTools, Performance tab, "Load profile") and a printed summary. A profiling aid only.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

CATEGORIES = [
    "devtools.timeline",
    "disabled-by-default-devtools.timeline",
    "v8.execute",
    "disabled-by-default-v8.cpu_profiler",
]
# the trace's event names grouped into what they mean for a page
KINDS = {
    "FunctionCall": "script", "EvaluateScript": "script", "v8.compile": "compile",
    "v8.compileModule": "compile", "V8.CompileCode": "compile", "TimerFire": "script",
    "EventDispatch": "script", "FireAnimationFrame": "script", "RunMicrotasks": "script",
    "v8.run": "script", "v8.callFunction": "script",
    "UpdateLayoutTree": "style", "ScheduleStyleRecalculation": "style",
    "ParseAuthorStyleSheet": "style",
    "Layout": "layout", "UpdateLayerTree": "paint", "Paint": "paint", "PrePaint": "paint",
    "Layerize": "paint", "Commit": "paint", "RasterTask": "paint",
    "ParseHTML": "parse HTML", "MajorGC": "garbage collection",
    "MinorGC": "garbage collection", "V8.GCScavenger": "garbage collection",
    "V8.GC_MARK_COMPACTOR": "garbage collection", "BlinkGC.AtomicPhase": "garbage collection",
    "HitTest": "other", "Decode Image": "paint",
}


def _main_thread(events: list[dict]) -> tuple[int, int] | None:
    """(pid, tid) of the page's renderer main thread: the CrRendererMain with most events."""
    names = {(e["pid"], e["tid"]) for e in events
             if e.get("ph") == "M" and e.get("name") == "thread_name"
             and e.get("args", {}).get("name") == "CrRendererMain"}
    counts = Counter((e["pid"], e["tid"]) for e in events if (e["pid"], e["tid"]) in names)
    return counts.most_common(1)[0][0] if counts else None


def self_times(events: list[dict], thread: tuple[int, int]) -> dict[str, float]:
    """Seconds of self time per kind of work on `thread` (nested events subtract from their
    parent), from complete ("X") and begin/end ("B"/"E") events."""
    spans = []
    open_: dict[str, list[dict]] = defaultdict(list)
    for e in events:
        if (e.get("pid"), e.get("tid")) != thread:
            continue
        ph = e.get("ph")
        if ph == "X" and "dur" in e:
            spans.append((e["ts"], e["ts"] + e["dur"], e["name"]))
        elif ph == "B":
            open_[e["name"]].append(e)
        elif ph == "E" and open_[e["name"]]:
            b = open_[e["name"]].pop()
            spans.append((b["ts"], e["ts"], e["name"]))
    spans.sort(key=lambda s: (s[0], -s[1]))
    out: dict[str, float] = defaultdict(float)
    stack: list[list] = []  # [end, kind, self]
    for start, end, name in spans:
        while stack and stack[-1][0] <= start:
            top = stack.pop()
            out[top[1]] += top[2]
        kind = KINDS.get(name)
        if kind is None:  # a wrapper (RunTask, ...): its time belongs to what runs inside it
            if not stack:
                kind = "other"
            else:
                continue
        if stack:
            stack[-1][2] -= min(end, stack[-1][0]) - start
        stack.append([end, kind, end - start])
    for top in stack:
        out[top[1]] += top[2]
    return {k: v / 1e6 for k, v in out.items() if v > 0}


def js_functions(events: list[dict], thread: tuple[int, int]) -> tuple[Counter, Counter]:
    """Seconds of JavaScript per script file and per function, from the sampling profiler's
    ProfileChunk events (self time of the sampled leaf frame)."""
    nodes: dict[int, tuple[str, str]] = {}
    files: Counter = Counter()
    funcs: Counter = Counter()
    pid = thread[0]
    for e in events:
        if e.get("name") != "ProfileChunk" or e.get("pid") != pid:
            continue
        data = e.get("args", {}).get("data", {})
        profile = data.get("cpuProfile", {})
        for n in profile.get("nodes", []):
            cf = n.get("callFrame", {})
            url = cf.get("url", "").rsplit("/", 1)[-1] or "(native)"
            nodes[n["id"]] = (url, cf.get("functionName") or "(anonymous)")
        samples = profile.get("samples", [])
        deltas = data.get("timeDeltas", [])
        for node, dt in zip(samples, deltas, strict=False):
            url, fn = nodes.get(node, ("?", "?"))
            if fn in ("(idle)", "(program)", "(root)"):
                continue
            files[url] += dt / 1e6
            funcs[f"{fn} ({url})"] += dt / 1e6
    return files, funcs


def summarise(path: Path, top: int = 8) -> str:
    """A few lines: self time per kind of work, then the busiest script files and functions."""
    raw = json.loads(path.read_text())
    events = raw["traceEvents"] if isinstance(raw, dict) else raw
    thread = _main_thread(events)
    if thread is None:
        return "    (no renderer main thread in the trace)"
    kinds = self_times(events, thread)
    lines = ["    main thread: " + ", ".join(
        f"{k} {v:.2f} s" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1]) if v >= 0.005)]
    files, funcs = js_functions(events, thread)
    if files:
        lines.append("    script by file: " + ", ".join(
            f"{f} {s:.2f} s" for f, s in files.most_common(top)))
        lines.append("    script by function: " + ", ".join(
            f"{f} {s:.2f} s" for f, s in funcs.most_common(top)))
    return "\n".join(lines)

"""The session object (ui.state.Session): new data reset everything that depends on the data
in one place, the view switches survive, and every field has a kind (what a saved analysis
keeps)."""

from __future__ import annotations

from dataclasses import fields

import pandas as pd

from hlm_core.formula import parse_formula
from hlm_core.io import Table
from ui.state import KINDS, Session, field_names, kind_of


def table(name: str) -> Table:
    return Table(frame=pd.DataFrame({"y": [1.0, 2.0], "g": ["a", "b"]}), name=name,
                 fingerprint=f"fp:{name}")


def test_new_data_forget_everything_that_came_from_the_old_data():
    s = Session()
    s.new_data(table("one.csv"), raw=("one.xlsx", b"bytes"))
    s.upload_id, s.workshop, s.large_font = "file-1", True, True
    s.types, s.missing, s.levels = {"g": "categorical"}, {"y": [99]}, ["g"]
    s.spec = parse_formula("y ~ 1 + (1 | g)")
    s.fits[(s.data_key(), s.spec)] = "a fit"
    s.fit_key, s.fit_error, s.example = (s.data_key(), s.spec), "failed", "classroom"
    s.memo["x"] = (1, 2)
    s.saved.append(("m", s.spec))
    s.new_data(table("two.csv"))
    fresh = Session()
    kept = {"table", "raw", "upload_id", "workshop", "large_font"}
    for f in fields(Session):
        if f.name not in kept:
            assert getattr(s, f.name) == getattr(fresh, f.name), f.name
    assert (s.table.name, s.raw) == ("two.csv", None)
    assert (s.upload_id, s.workshop, s.large_font) == ("file-1", True, True)
    assert s.current_fit() is None


def test_data_key_follows_the_users_changes_and_finds_the_fit():
    s = Session()
    assert s.data_key() is None
    s.new_data(table("one.csv"))
    assert s.data_key() == ("fp:one.csv", (), ())
    spec = parse_formula("y ~ 1 + (1 | g)")
    s.fit_key = (s.data_key(), spec)
    s.fits[s.fit_key] = "the fit"
    assert s.current_fit() == "the fit"
    s.missing = {"y": [99.0]}
    assert s.data_key() == ("fp:one.csv", (), (("y", (99.0,)),))
    assert s.current_fit() is None  # fitted to the data before the change


def test_every_field_has_one_kind_and_fresh_sessions_share_nothing():
    names = [f.name for f in fields(Session)]
    assert sorted(n for k in KINDS for n in field_names(k)) == sorted(names)
    assert kind_of("spec") == "user" and kind_of("fits") == "cache"
    assert kind_of("fit_error") == "message" and kind_of("workshop") == "view"
    a, b = Session(), Session()
    a.fits["k"] = 1
    a.levels.append("g")
    assert b.fits == {} and b.levels == []

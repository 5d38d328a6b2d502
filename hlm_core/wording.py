"""How a grouping column is named in a sentence: one rule for every page, report and warning.

Why a rule at all: group names come from the user's file. `class` and `school` are English
nouns and read best as "65 schools" and "between classes"; `sch`, `tch`, `schoolNR` or
`IDSCHOOL` are not, and an invented plural ("sches", "schoolNRs") reads as a typing mistake.

The rule:
* a name that is a known English noun (a list of the nouns school data use for their units,
  in lower, Title or UPPER case) gets its English plural: class -> classes, city -> cities,
  child -> children, person -> people;
* any other name is printed exactly as the file has it, followed by "groups": "65 sch groups",
  "between schoolNR groups" (one group: "sch group"). A name with spaces or symbols is quoted
  ('g 1' groups) so the sentence still reads;
* a nesting, given as its columns (class, school), reads "classes (within schools)"; a ':'
  inside one column's name is part of the name.

Only known nouns are pluralised, never guessed: a plain word not on the list ("intake" is, so
is "ward") still reads correctly as "X groups".
"""

from __future__ import annotations

import re

__all__ = ["is_noun", "label", "plural", "sentence_start"]

# Singular nouns that name units in school, health and survey data (lower case).
NOUNS = frozenset(
    """
    area batch block campus centre center child city class classroom clinic cluster cohort
    college company country county course court day department district doctor family farm
    field firm form grade group hospital house household individual institution intake item
    judge lab laboratory litter location mother municipality neighborhood neighbourhood
    nurse office parent participant patient person plot practice province pupil rater region
    respondent row school section session site state stream student study subject teacher
    team test therapist town trial tutor unit university village ward wave week worker year
    """.split()
)
# Plurals English does not form with -s / -es / -ies.
IRREGULAR = {"child": "children", "person": "people", "datum": "data", "analysis": "analyses"}

_PLAIN = re.compile(r"[\w.]+")


def is_noun(name: str) -> bool:
    """Whether `name` is one of the known English nouns (in lower, Title or UPPER case)."""
    low = name.lower()
    cased = name.islower() or name.isupper() or name == low.capitalize()
    return cased and (low in NOUNS or low in IRREGULAR)


def _english_plural(word: str) -> str:
    low = word.lower()
    if low in IRREGULAR:
        out = IRREGULAR[low]
    elif low.endswith(("s", "x", "z", "ch", "sh")):
        out = low + "es"
    elif low.endswith("y") and len(low) > 1 and low[-2] not in "aeiou":
        out = low[:-1] + "ies"
    else:
        out = low + "s"
    if word.isupper():
        return out.upper()
    return out.capitalize() if word[:1].isupper() else out


def _shown(name: str) -> str:
    """The name as printed: as in the file, quoted when it has spaces or symbols."""
    return name if _PLAIN.fullmatch(name) else f"'{name}'"


def label(name: str) -> str:
    """One unit of the group, for "each ___" / "one ___": 'class', 'sch group'."""
    return name if is_noun(name) else f"{_shown(name)} group"


def plural(name: str | tuple[str, ...], n: int = 2) -> str:
    """The group's units for "65 ___" / "between ___": 'schools', 'sch groups'.

    `name` is one column's name, taken as it is: a ':' in it is part of the name (a column
    may be called 'class:2024'), never read as nesting. A nesting is given as its columns,
    inner first, as `FitResult.group_columns` returns them: ('class', 'school') reads
    'classes (within schools)', ('class', 'school', 'district') 'classes (within schools
    within districts)'. With `n == 1` the singular: 'class', 'class (within schools)'.
    """
    if not isinstance(name, str):
        inner, *outer = name
        if not outer:
            return plural(inner, n)
        return f"{plural(inner, n)} (within {' within '.join(plural(p) for p in outer)})"
    if n == 1:
        return label(name)
    if is_noun(name):
        return _english_plural(name)
    return f"{_shown(name)} groups"


def sentence_start(name: str) -> str:
    """A group name at the start of a sentence: nouns get a capital ('Class'); a column name
    stays exactly as the file spells it ('tch', 'schoolNR')."""
    return name[:1].upper() + name[1:] if is_noun(name) else _shown(name)

"""Command line over the same functions the app uses.

    python -m hlm_core fit FILE --formula "y ~ x + (x | class)" [--ml] [--sheet S] [--ranef]
                           [--ci profile|boot [--nsim N] [--seed S]] [--json]
                           [--family binomial|poisson [--nagq K] [--success V]
                           [--threshold ">=500"]]
    python -m hlm_core fit --analysis FILE.hlm.zip [--model NAME] [DATA FILE] [--json]
    python -m hlm_core compare FILE --formula A --formula B [--family F] [--json]
    python -m hlm_core describe FILE --levels class school [--json]
    python -m hlm_core slopes FILE --formula F --predictor X --from A --to B [--step S]
                              [--hold mean|zero] [--json]
    python -m hlm_core power --design cra2|cra3|bira2 --solve power|mdes|clusters --rho2 R --n N
                           [--J J] [--K K] [--es ES] ... [--json]   (PowerUpR's names; --help)

Exit 0 on success, 2 on anything the user can fix (one or two plain lines on stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from typing import Any

from hlm_core.allocator import keep_freed_memory
from hlm_core.cli_print import (
    Plain,
    print_fit,
    print_intervals,
    print_slopes,
    say,
    write_json,
)
from hlm_core.errors import HLMError

EXIT_USER = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # plain words, exit 2, like every user error
        say(f"{message[0].upper()}{message[1:]}.\n")
        say(f"Run '{self.prog} --help' to see the options.\n")
        raise SystemExit(EXIT_USER)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m hlm_core", description="Multilevel models for school data.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    f = sub.add_parser("fit", help="fit one model")
    f.add_argument("file", nargs="?", help="the data file (with --analysis: only when the "
                   "analysis file does not hold the data)")
    f.add_argument("--formula", help='lme4 formula, e.g. "score ~ x + (1 | class)"')
    f.add_argument("--analysis", help="an analysis file saved by the app (.hlm.zip): refit its "
                   "current model")
    f.add_argument("--model", help="with --analysis: refit this saved model instead")
    f.add_argument("--ml", action="store_true", help="maximum likelihood instead of REML")
    f.add_argument("--sheet", help="worksheet name for Excel files")
    f.add_argument("--ranef", action="store_true", help="include each group's random effects")
    f.add_argument("--json", action="store_true", help="machine-readable output")
    f.add_argument("--ci", choices=["profile", "boot"],
                   help="95%% intervals for the SDs, correlations and ICC: likelihood profile "
                   "(as lme4's confint) or parametric bootstrap")
    f.add_argument("--nsim", type=int, help="bootstrap draws (default 500)")
    f.add_argument("--seed", type=int, help="bootstrap seed (default 2024)")
    _family_options(f)
    c = sub.add_parser("compare", help="likelihood-ratio test of two nested models")
    c.add_argument("file")
    c.add_argument("--formula", action="append", required=True, help="give exactly two")
    c.add_argument("--sheet")
    c.add_argument("--json", action="store_true")
    _family_options(c)
    d = sub.add_parser("describe", help="check the nesting of grouping columns")
    d.add_argument("file")
    d.add_argument("--levels", nargs="+", required=True, help="grouping columns, inner first")
    d.add_argument("--sheet")
    d.add_argument("--json", action="store_true")
    s = sub.add_parser("slopes", help="each group's predicted line (the tutorial's pred.slope)")
    s.add_argument("file")
    s.add_argument("--formula", required=True)
    s.add_argument("--predictor", required=True, help="the number predictor that varies")
    s.add_argument("--from", dest="lo", type=float, required=True)
    s.add_argument("--to", dest="hi", type=float, required=True)
    s.add_argument("--step", type=float, help="default 1 for whole-number predictors")
    s.add_argument("--hold", choices=("mean", "zero"), default="mean",
                   help="other predictors at their mean, or at 0 (lme4's coef())")
    s.add_argument("--sheet")
    s.add_argument("--json", action="store_true")
    from hlm_core.power_cli import add_parser

    add_parser(sub)
    return p


def _family_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--family", choices=["gaussian", "binomial", "poisson"], default="gaussian",
                   help="outcome type: gaussian (scores), binomial (yes/no), poisson (counts)")
    p.add_argument("--nagq", type=int, default=1,
                   help="quadrature points (1 = Laplace; more only with one random intercept)")
    p.add_argument("--success", help="binomial: the outcome value that counts as success")
    p.add_argument("--threshold", help='binomial from a score: a pass mark such as ">=500"')


def _with_family(spec, args: argparse.Namespace):
    """The spec with the outcome type options applied (a plain error for a bad pass mark)."""
    if args.family == "gaussian":
        if args.nagq != 1 or args.success or args.threshold:
            raise HLMError("--nagq, --success and --threshold need --family binomial or poisson.")
        return spec
    from hlm_core.families import parse_threshold

    threshold = parse_threshold(args.threshold) if args.threshold else None
    return spec.with_(family=args.family, nagq=args.nagq, success=args.success,
                      threshold=threshold, reml=False)


def _read(args: argparse.Namespace) -> tuple[Any, float]:
    from hlm_core.io import read_table

    t = time.perf_counter()
    if getattr(args, "analysis", None):
        return _read_analysis(args), time.perf_counter() - t
    if args.command == "fit" and args.formula is None:
        raise HLMError("Give the model with --formula, or an analysis file with --analysis.")
    if args.file is None:
        raise HLMError("Give the data file to read.")
    table = read_table(args.file, sheet=args.sheet)
    return table, time.perf_counter() - t


def _read_analysis(args: argparse.Namespace):
    """The analysis file's data, read and changed as saved; its model goes to args.spec."""
    from hlm_core.analysis_file import chosen_model, data_mismatch, read_analysis
    from hlm_core.columns import apply_choices
    from hlm_core.io import read_table

    if args.formula:
        raise HLMError("Give either --formula or --analysis, not both.")
    with open(args.analysis, "rb") as f:
        a = read_analysis(f.read())
    args.spec = chosen_model(a, args.model)
    if args.file is not None:
        with open(args.file, "rb") as f:
            data = f.read()
    elif a.data is not None:
        data = a.data
    else:
        raise HLMError(f"The analysis file does not hold the data: give the data file "
                       f"({a.data_name}) after 'fit'.")
    table = read_table(data, name=a.data_name, sheet=args.sheet or a.sheet)
    table.frame, problems = apply_choices(table.frame, a.types, a.missing, a.stray)
    table.notes = [*table.notes, *problems]
    mismatch = data_mismatch(a, data)
    if mismatch:
        table.notes.append(mismatch)
    return table


def _intervals(res, args: argparse.Namespace):
    """--ci profile|boot: the intervals, or None without --ci."""
    if args.ci is None:
        if args.nsim is not None or args.seed is not None:
            raise HLMError("--nsim and --seed go with --ci boot.")
        return None
    from hlm_core.ci_output import compute_intervals

    return compute_intervals(res, args.ci, nsim=args.nsim, seed=args.seed)


_ROUTINE_NOTES = {"Text encoding: UTF-8.", "Columns are separated by commas."}


def _read_notes(table) -> list[str]:
    """What the reader decided (trimmed IDs, cells read as missing, codes kept as text,
    renamed columns ...) and numbers that look like missing-value codes, as the app's Data
    page shows them: in the text output and in the JSON's `notes`."""
    from hlm_core.io import detect_missing_codes

    notes = [n for n in table.notes if n not in _ROUTINE_NOTES]
    codes = detect_missing_codes(table.frame)
    if codes:
        listing = "; ".join(
            f"{col}: {', '.join(f'{v:g}' for v in vals)}" for col, vals in codes.items()
        )
        notes.append(
            f"Some numbers look like codes for a missing answer ({listing}). They are "
            "used as real values; blank them out in the file to leave them out."
        )
    return notes


def _parse(text: str, frame, reml: bool = True):
    """parse_formula, adding a hint when a column name needing backticks was typed bare."""
    from hlm_core.design import formula_name_hint
    from hlm_core.errors import FormulaError
    from hlm_core.formula import parse_formula

    try:
        return parse_formula(text, reml=reml)
    except FormulaError as exc:
        hint = formula_name_hint(text, frame.columns)
        if hint is None:
            raise
        raise FormulaError(f"{exc} {hint}", exc.position, exc.text) from None


def _slopes(args: argparse.Namespace, res, out) -> None:
    """The tutorial's pred.slope table: one row per group per step, as `{group, x, prediction}`."""
    from hlm_core.effects import default_step, held_values, pred_slope

    step = args.step if args.step is not None else default_step(res, args.predictor) \
        if args.predictor in res.model_frame.variables else 1.0
    table = pred_slope(res, args.predictor, args.lo, args.hi, step=step, hold=args.hold)
    rows = [{"group": str(g), "x": float(x), "prediction": float(p)} for x, g, p in
            table.itertuples(index=False, name=None)]
    held = held_values(res, args.predictor, args.hold)
    if args.json:
        json.dump({"predictor": args.predictor, "hold": args.hold, "step": step, "held": held,
                   "rows": rows}, out, indent=1)
        out.write("\n")
        return
    print_slopes(res, args, step, held, rows, out)


def run(argv: list[str] | None = None, out=None) -> int:
    out = out or sys.stdout
    args = _parser().parse_args(argv)
    if not getattr(args, "json", False):
        out = Plain(out)
    if args.command == "power":  # no file to read
        from hlm_core import power_cli

        return power_cli.run(args, out)
    table, read_s = _read(args)  # read first: an unreadable file is refused before slow imports
    read_notes = _read_notes(table)
    if not getattr(args, "json", False):
        for note in read_notes:
            print(f"Note: {note}", file=out)
    command = {"fit": _run_fit, "compare": _run_compare, "slopes": _run_slopes}.get(
        args.command, _run_describe
    )
    return command(args, table.frame, read_notes, read_s, out)


def _run_fit(args: argparse.Namespace, frame, read_notes: list[str], read_s: float, out) -> int:
    from hlm_core.fit import fit
    from hlm_core.result import result_to_dict

    spec = getattr(args, "spec", None)  # from --analysis, with its family, if any
    if spec is None:
        spec = _with_family(_parse(args.formula, frame, reml=not args.ml), args)
    elif args.ml and spec.reml:
        spec = spec.with_(reml=False)
    t = time.perf_counter()
    res = fit(frame, spec)
    payload = result_to_dict(res, ranef=args.ranef) if args.json else None
    fit_s = time.perf_counter() - t
    iv = _intervals(res, args)
    if args.json:
        payload["notes"] = read_notes + payload["notes"]
        payload["timing"] = {"read_s": read_s, "fit_s": fit_s}
        if iv is not None:
            from hlm_core.ci_output import add_to_dict

            add_to_dict(payload, iv)
            payload["timing"]["ci_s"] = iv.seconds
        write_json(payload, out)
        return 0
    print_fit(res, out)
    if iv is not None:
        print_intervals(res, iv, out)
    if args.ranef:
        for g, tab in res.ranef.items():
            print(f"\nRandom effects for {g}:", file=out)
            print(tab.to_string(index=False), file=out)
    return 0


def _run_compare(
    args: argparse.Namespace, frame, read_notes: list[str], read_s: float, out
) -> int:
    from hlm_core.compare import lrt
    from hlm_core.fit import fit
    from hlm_core.result import records

    if len(args.formula) != 2:
        raise HLMError("Give exactly two --formula options: the smaller and the larger model.")
    t = time.perf_counter()
    a = fit(frame, _with_family(_parse(args.formula[0], frame, reml=False), args))
    b = fit(frame, _with_family(_parse(args.formula[1], frame, reml=False), args))
    cmp = lrt(a, b, frame)
    fit_s = time.perf_counter() - t
    if args.json:
        payload = {
            "family": args.family,
            "models": records(cmp.table),
            "chisq": cmp.chisq,
            "df": cmp.df,
            "p_value": cmp.p_value,
            "refit_ml": cmp.refit_ml,
            "notes": read_notes,
            "timing": {"read_s": read_s, "fit_s": fit_s},
        }
        json.dump(payload, out, indent=1)
        out.write("\n")
    else:
        print(cmp.table.to_string(index=False), file=out)
        print(f"\nChi-square {cmp.chisq:.4f} on {cmp.df} df, p = {cmp.p_value:.4g}", file=out)
    return 0


def _run_slopes(args: argparse.Namespace, frame, read_notes: list[str], read_s: float, out) -> int:
    from hlm_core.fit import fit

    _slopes(args, fit(frame, _parse(args.formula, frame)), out)
    return 0


def _run_describe(
    args: argparse.Namespace, frame, read_notes: list[str], read_s: float, out
) -> int:
    from hlm_core.structure import describe_structure

    st = describe_structure(frame, args.levels)
    if args.json:
        json.dump({**st.to_dict(), "notes": read_notes}, out, indent=1, default=str)
        out.write("\n")
    else:
        for line in st.summary_lines():
            print(line, file=out)
        for w in st.warnings:
            print(f"Warning: {w}", file=out)
    return 0


def main(argv: list[str] | None = None) -> int:
    keep_freed_memory()  # one command, then the process ends (hlm_core/allocator.py)
    try:
        # numpy's and pandas' own warnings ("overflow encountered in square") are no message
        # for people: every problem a user can fix is an HLMError in plain words
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return run(argv)
    except HLMError as exc:
        say(f"{exc}\n")
        return EXIT_USER
    except FileNotFoundError as exc:
        say(f"Can't find the file '{exc.filename}'. Check the path.\n")
        return EXIT_USER
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into a program that stopped reading (`| head`)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:  # a bug of ours: still no traceback for the user
        sys.stderr.write(
            f"Something went wrong inside hlm_core ({type(exc).__name__}). "
            "Please report it with the command you ran.\n"
        )
        return 1


if __name__ == "__main__":
    raise SystemExit(main())

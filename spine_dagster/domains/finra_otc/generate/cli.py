"""The command line: ``python -m spine_dagster.domains.finra_otc.generate --help``.

Exit status 0 on success, 1 when the files cannot be written, 2 for bad usage (the message, no traceback).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .args import GeneratorUsageError, bounded_int, split_items, tier_code
from .reference import DEFAULT_DE_MINIMIS_SHARE, DEFAULT_SYMBOLS_PER_TIER, MAX_SYMBOLS
from .writer import generate

_PROG = "python -m spine_dagster.domains.finra_otc.generate"
_EPILOG = """\
files (pipe-delimited, header row, LF, no quoting):
  full   finra_otc_weekly_{weekStartDate}_pub{YYYYMMDD}.psv: every tier and summary type of one week
         (the pub date is the latest initialPublishedDate of its tiers); with --split-tiers one file per
         tier, finra_otc_weekly_{T1|T2|OTCE|NA}_{weekStartDate}_pub{YYYYMMDD}.psv
  ats8   finra_otc_ats_{T1|T2|OTCE}_{weekStartDate}_pub{YYYYMMDD}.psv: FINRA's 8-column ATS export
  a restatement adds finra_otc_weekly_{tier}_{weekStartDate}_pub{later}.psv (and the ats8 twin)
  manifest.json: files, row counts per summary type, sha256, where each defect was put (file, line),
                 and events (venue entries/exits, the June T1/T2 reclassification)

defects (--inject NAME[,NAME]; each placed deterministically, one per layout, and listed in manifest.json):
  invalid_symbol   a row whose symbol has a character no symbol has (BAD$YM, B@D, AB#C)
  invalid_mpid     an ATS row whose MPID has 3 or 5 characters or a non-alphanumeric one
  negative_volume  a row with negative shares
  zero_volume      a row with 0 shares and 0 trades
  parse_error      a row with non-numeric shares, and one with an impossible lastUpdateDate (YYYY-02-30)
  invalid_tier     a row with tier T9 / NMS Tier 9
  wrong_week       (full only) a row whose weekStartDate is a Tuesday, one with the previous Monday
  duplicate        one SMBL_FIRM row repeated verbatim
  restatement      a later vintage file of one (week, tier): a few rows' shares and trades changed by
                   1-10%%, lastUpdateDate/lastReportedDate bumped, totals kept exact
  two_tiers        one symbol present in both T1 and T2 one week
  de_minimis       non-ATS 'De Minimis Firms' rows (CRD 0) with --de-minimis-share of the volume
  monday_holiday   record the requested weeks whose Monday is a market holiday (e.g. 2026-09-07);
                   nothing is added when there is none (the manifest says so)
  The reject defects add rows; every other row stays clean and consistent.

exit status: 0 success, 1 the files could not be written, 2 bad usage.

example:
  %(prog)s --out /tmp/finra --first-week 2025-11-17 --num-weeks 6 --symbols-per-tier T1=40,T2=60,OTCE=30
"""


def _symbols_arg(text: str) -> int | dict[str, int]:
    """``--symbols-per-tier``: one number for every tier, or ``T1=N,T2=N,...``."""
    text = text.strip()
    if "=" not in text:
        return bounded_int(text, "--symbols-per-tier", 1, MAX_SYMBOLS)
    out = {}
    for item in split_items(text):
        key, sep, value = item.partition("=")
        if not sep:
            raise GeneratorUsageError(f"--symbols-per-tier: expected TIER=N, got {item!r}")
        out[tier_code(key.strip())] = bounded_int(value.strip(), f"symbols for {key.strip()}", 1, MAX_SYMBOLS)
    return out


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the command line (its ``--help`` documents every option and defect)."""
    parser = argparse.ArgumentParser(
        prog=_PROG,
        description="Write deterministic synthetic FINRA OTC Transparency weekly files (ATS and non-ATS "
        "volume per symbol and participant) in FINRA's layouts, with optional defects.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="output directory (created if missing)")
    when = parser.add_argument_group("weeks (give --weeks, or --first-week with --num-weeks)")
    when.add_argument("--weeks", metavar="DATE[,DATE]", help="weekStartDate Mondays, YYYY-MM-DD")
    when.add_argument("--first-week", metavar="DATE", help="the first weekStartDate (a Monday)")
    when.add_argument(
        "--num-weeks", type=int, metavar="N", help="consecutive weeks from --first-week (default 1)"
    )
    what = parser.add_argument_group("data")
    what.add_argument("--tiers", default="T1,T2,OTCE", metavar="T[,T]", help="T1, T2, OTCE (default: all)")
    what.add_argument(
        "--symbols-per-tier", metavar="N|T1=N,..",
        help="symbols in each tier's universe: one number for all tiers or per tier "
        f"(default {DEFAULT_SYMBOLS_PER_TIER['T1']}/{DEFAULT_SYMBOLS_PER_TIER['T2']}/"
        f"{DEFAULT_SYMBOLS_PER_TIER['OTCE']} x --scale, about 260k rows a week)",
    )  # fmt: skip
    what.add_argument("--scale", type=float, default=1.0, metavar="F",
                      help="multiplies the default universe sizes (e.g. 0.01, 0.1, 1; default 1)")  # fmt: skip
    what.add_argument("--seed", type=int, default=0, metavar="N", help="random seed (default 0)")
    what.add_argument("--fractional", action=argparse.BooleanOptionalAction, default=True,
                      help="6-decimal fractional shares on some non-ATS rows (default on)")  # fmt: skip
    what.add_argument("--de-minimis-share", type=float, default=DEFAULT_DE_MINIMIS_SHARE, metavar="F",
                      help="mean share of non-ATS volume in the De Minimis bucket, with --inject de_minimis "
                      f"(default {DEFAULT_DE_MINIMIS_SHARE})")  # fmt: skip
    what.add_argument("--inject", action="append", default=[], metavar="NAME[,NAME]",
                      help="add defects (repeatable; see below)")  # fmt: skip
    how = parser.add_argument_group("output")
    how.add_argument("--layouts", "--layout", default="full,ats8", metavar="L[,L]",
                     help="full and/or ats8 (default both)")  # fmt: skip
    how.add_argument(
        "--ats8-weeks", metavar="DATE[,DATE]", help="weeks that get ats8 files (default: every week)"
    )
    how.add_argument(
        "--split-tiers", action="store_true", help="one full file per (week, tier) instead of per week"
    )
    how.add_argument("--quiet", action="store_true", help="do not list the files written")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        symbols = _symbols_arg(args.symbols_per_tier) if args.symbols_per_tier is not None else None
        paths = generate(
            args.out, weeks=args.weeks, first_week=args.first_week, num_weeks=args.num_weeks, tiers=args.tiers,
            symbols_per_tier=symbols, scale=args.scale, layouts=args.layouts, ats8_weeks=args.ats8_weeks,
            split_tiers=args.split_tiers, seed=args.seed, inject=args.inject, fractional=args.fractional,
            de_minimis_share=args.de_minimis_share,
        )  # fmt: skip
    except GeneratorUsageError as exc:
        parser.print_usage(sys.stderr)
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"{parser.prog}: error: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    if not args.quiet:
        for path in [*paths, Path(args.out) / "manifest.json"]:
            print(path)
    return 0

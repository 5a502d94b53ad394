"""Deterministic synthetic FINRA OTC Transparency weekly data, in FINRA's real layouts.

Run ``python -m spine_dagster.domains.finra_otc.generate --help`` for the command line. The public API:

* :func:`generate` writes pipe-delimited files plus ``manifest.json`` and returns the data file paths;
* :func:`generate_frame` returns the ``full`` records as a text DataFrame without writing (benchmarks);
* :func:`ats8_frame` turns such a frame into FINRA's 8-column ATS export.

What is generated (``reference/finra-otc.md`` §1 and §4):

* every summary type of the ``weeklySummary`` record, per tier ``T1``/``T2``/``OTCE``: ``ATS_W_SMBL_FIRM``,
  ``ATS_W_SMBL``, ``ATS_W_FIRM``, ``OTC_W_SMBL_FIRM``, ``OTC_W_SMBL``, ``OTC_W_FIRM``; plus the market-wide
  ``ATS_W_VOL_STATS`` and ``OTC_W_VOL_STATS`` rows (tier ``NA``, ``Not Applicable``: one of each per week,
  the totals over the tiers generated, published with the latest of those tiers);
* ``*_SMBL`` rows are the exact sums of their ``*_SMBL_FIRM`` rows and ``*_FIRM`` rows the exact sums over
  symbols, as printed: quantities are fixed-point integers (micro-shares, cents) summed before printing;
* ATS rows carry the real MPIDs with FINRA's ``"<MPID> <ATS NAME>"`` names and the operator's CRD;
  non-ATS rows a blank MPID, the firm's legal name and a CRD (synthetic, except Citadel's 116797), and
  optionally the ``De Minimis Firms`` bucket (CRD ``0``);
* volumes: split-lognormal symbol levels with AR(1) weekly dynamics, a market factor and holiday-week
  dips; persistent Dirichlet venue/firm splits over the real MPID sets and weights; trades from each
  venue's average trade size (floor 1); non-ATS volume about 2.5 times ATS; fractional shares (6 decimals)
  on retail-wholesaler non-ATS rows (about 13% of all rows); ``totalNotionalSum`` = shares x price
  (2 decimals); late ``lastReportedDate`` (before publication) on about 20% of symbols; symbol presence
  churn (OTCE about 25% a week); tail-venue entries and exits; the annual June T1/T2 reclassification.

Files (LF, trailing newline, no quoting; the data never contains ``|``):

* ``full``: header :data:`..layouts.FULL_COLUMNS`; one file per week with every tier,
  ``finra_otc_weekly_{weekStartDate}_pub{YYYYMMDD}.psv`` (the latest publication date among its tiers), or
  with ``split_tiers`` one per (week, tier) ``finra_otc_weekly_{T1|T2|OTCE|NA}_{weekStartDate}_pub{YYYYMMDD}.psv``;
* ``ats8``: header :data:`..layouts.ATS8_COLUMNS`, the ``ATS_W_SMBL_FIRM`` rows of one (tier, week) sorted by
  symbol then participant name, ``finra_otc_ats_{T1|T2|OTCE}_{weekStartDate}_pub{YYYYMMDD}.psv``;
* ``manifest.json``: files, weeks, tiers, row counts per file and summary type, sha256, and every
  injected defect with its file and line (line 1 is the header).

The same arguments give byte-identical files. Simulation starts at the first requested week, so a week's
numbers depend on the seed, the universe sizes and the first week (not on the output layout).

Modules (each imports only what it needs; nothing runs at import time):

* :mod:`.reference`: tier codes, layouts, defect names, limits, the ATS venues and non-ATS firms;
  :mod:`.participants`: those as arrays, with synthetic CRDs; :mod:`.calibration`: the model's parameters
  and seeded random streams; :mod:`.symbols`: tickers and issue names;
* :mod:`.weeks`: the calendar of a week; :mod:`.universe`: a tier's symbols and initial state;
  :mod:`.market`: one tier's weekly dynamics and rows; :mod:`.simulation`: all tiers over the weeks;
  :mod:`.rows`: typed rows and exact sums;
* :mod:`.render`: FINRA's text layouts and the file being assembled; :mod:`.defects` and
  :mod:`.restatement`: the injected defects; :mod:`.writer`: :func:`generate` and the manifest;
  :mod:`.frames`: the in-memory frames; :mod:`.args`: argument checks; :mod:`.cli`: the command line.
"""

from __future__ import annotations

from .args import GeneratorUsageError
from .cli import build_parser, main
from .frames import ats8_frame, generate_frame
from .reference import (
    DEFAULT_DE_MINIMIS_SHARE,
    DEFAULT_SYMBOLS_PER_TIER,
    DEFECTS,
    LAYOUTS,
    MAX_SYMBOLS,
    MAX_WEEKS,
    REJECT_DEFECTS,
    TIER_CODES,
)
from .writer import generate

__all__ = [
    "DEFAULT_DE_MINIMIS_SHARE",
    "DEFAULT_SYMBOLS_PER_TIER",
    "DEFECTS",
    "LAYOUTS",
    "MAX_SYMBOLS",
    "MAX_WEEKS",
    "REJECT_DEFECTS",
    "TIER_CODES",
    "GeneratorUsageError",
    "ats8_frame",
    "build_parser",
    "generate",
    "generate_frame",
    "main",
]

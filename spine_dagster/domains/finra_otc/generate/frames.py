"""In-memory data for benchmarks: :func:`generate_frame` (the ``full`` records as a text DataFrame, nothing
written) and :func:`ats8_frame` (FINRA's 8-column ATS export of such a frame).

pandas is imported when a frame is made, not with this module.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from ..layouts import ATS8_COLUMNS, FULL_COLUMNS
from .args import normalize
from .reference import DEFAULT_DE_MINIMIS_SHARE, TIER_CODES
from .render import full_text
from .simulation import simulate

if TYPE_CHECKING:
    import pandas as pd


def generate_frame(
    *,
    weeks: Sequence[dt.date | str] | None = None,
    first_week: dt.date | str | None = None,
    num_weeks: int | None = None,
    tiers: Sequence[str] | str = TIER_CODES,
    symbols_per_tier: int | Mapping[str, int] | None = None,
    scale: float = 1.0,
    seed: int = 0,
    fractional: bool = True,
    de_minimis: bool = False,
    de_minimis_share: float = DEFAULT_DE_MINIMIS_SHARE,
) -> pd.DataFrame:
    """The clean ``full`` records of the requested weeks as text (str) columns, without writing files.

    Same rows, order and text as the week files :func:`generate` writes for the same arguments (without
    ``split_tiers``): per week the T1, T2, OTCE rows and then the week's ``NA`` rows. Memory grows with the
    weeks (a full-size week is about 260k rows).
    """
    import pandas as pd

    cfg = normalize(
        weeks=weeks, first_week=first_week, num_weeks=num_weeks, tiers=tiers, symbols_per_tier=symbols_per_tier,
        scale=scale, layouts=("full",), ats8_weeks=None, split_tiers=False, seed=seed, inject=(),
        fractional=fractional, de_minimis_share=de_minimis_share,
    )  # fmt: skip
    cols: list[list[str]] = [[] for _ in FULL_COLUMNS]
    for sw in simulate(cfg, de_minimis=de_minimis, two_tiers=False):
        for block in [*sw.blocks.values(), sw.na]:
            for acc, col in zip(cols, full_text(block), strict=True):
                acc.extend(col)
    return pd.DataFrame(
        {name: pd.array(col, dtype="str") for name, col in zip(FULL_COLUMNS, cols, strict=True)}
    )


def ats8_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """FINRA's 8-column ATS export of a ``full`` text frame: its ``ATS_W_SMBL_FIRM`` rows, same order."""
    rows = frame[frame["summaryTypeCode"] == "ATS_W_SMBL_FIRM"]
    return rows.loc[:, list(ATS8_COLUMNS)].reset_index(drop=True)

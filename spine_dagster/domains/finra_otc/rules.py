"""Normalize: raw text rows of one capture -> typed weekly_volume rows, rejects, and rows of other partitions.

Every raw row lands in exactly one bucket, decided by the first rule that applies:

=================  ==============================================================================
PARSE_ERROR        wrong number of fields; a number or date that does not parse; an unknown summary type
INVALID_TIER       the tier is none of NMS Tier 1, NMS Tier 2, OTC (in any of FINRA's spellings)
other partition    a valid row of another tier, or (directory and API sources) of another week
WRONG_WEEK         weekStartDate not a Monday / WeekEnding not a Friday, or (a single source_path file)
                   a row of another week than the one requested
INVALID_SYMBOL     after trim and upper-case the symbol must match ``^[A-Z][A-Z0-9.\\-/]{0,19}$``
INVALID_MPID       ATS venue rows need a 4-character alphanumeric MPID
NEGATIVE_VOLUME    shares or trades below zero
ZERO_VOLUME        0 shares and 0 trades
accepted           everything else
=================  ==============================================================================

So raw rows = accepted + rejected + other-partition rows, for every capture.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .calendar import week_ending_of
from .layouts import SUMMARY_TYPES
from .sources import row_tiers, row_weeks

SYMBOL_PATTERN = r"^[A-Z][A-Z0-9.\-/]{0,19}$"
MPID_PATTERN = r"^[A-Z0-9]{4}$"
_NUMBER = r"^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$"
_INTEGER = r"^[-+]?\d+(\.0*)?$"
_DATE = r"^\d{4}-\d{2}-\d{2}$"


@dataclass
class NormalizeResult:
    accepted: pd.DataFrame
    rejects: pd.DataFrame
    raw_rows: int
    other_rows: int

    @property
    def counts(self) -> dict[str, int]:
        return {
            "rows_raw": self.raw_rows,
            "rows_accepted": len(self.accepted),
            "rows_rejected": len(self.rejects),
            "rows_other_partitions": self.other_rows,
        }


class _Verdicts:
    """First-rule-wins bookkeeping of a reason (or ``other``) per row."""

    def __init__(self, index: pd.Index) -> None:
        self.reason = pd.Series(None, index=index, dtype=object)
        self.detail = pd.Series(None, index=index, dtype=object)

    def flag(self, mask: pd.Series, reason: str, detail: Callable[[pd.Series], pd.Series] | str) -> None:
        """Give ``reason`` to the rows of ``mask`` that have none yet; ``detail`` is a text, or a function
        of the flagged rows' mask that builds their texts (only for those rows: most rows are never
        flagged, and building a message for every row cost more than the rules themselves)."""
        mask = mask.fillna(False).astype(bool) & self.reason.isna()
        if not mask.any():
            return
        self.reason[mask] = reason
        self.detail[mask] = detail if isinstance(detail, str) else detail(mask)


def _floats(text: pd.Series) -> pd.Series:
    """Text already checked against :data:`_NUMBER` (or missing) as float64: Arrow's parser in bulk,
    pandas' when Arrow refuses a value (an exponent beyond the float range, which pandas makes inf)."""
    try:
        return text.astype("float64")
    except ValueError:
        return pd.to_numeric(text, errors="coerce")


def _dates(text: pd.Series) -> pd.Series:
    """ISO dates parsed (NaT when not a valid ``YYYY-MM-DD``); a week's rows share a handful of dates, so
    each distinct text is parsed once."""
    distinct = pd.Series(text.unique(), dtype="str")
    good = distinct.str.match(_DATE, na=False)
    parsed = pd.to_datetime(distinct.where(good), format="%Y-%m-%d", errors="coerce")
    return text.map(pd.Series(parsed.to_numpy(), index=distinct.to_numpy())).astype("datetime64[us]")


def normalize(raw: pd.DataFrame, week_start: dt.date, tier: str, source_kind: str) -> NormalizeResult:
    """Classify one capture's raw rows (see the module docstring for the rules, in order)."""
    rows = raw.reset_index(drop=True)
    verdict = _Verdicts(rows.index)
    layout = rows["source_layout"]

    def text(column: str) -> Callable[[pd.Series], pd.Series]:  # a column of the flagged rows
        return lambda mask: rows.loc[mask, column].astype(str)

    bad_width = rows["src_shares"].eq("") & rows["src_trades"].eq("") & rows["src_symbol"].eq("")
    if bad_width.any():  # an empty line read as fields; the regex runs on the few candidates only
        bad_width[bad_width] = rows.loc[bad_width, "raw"].astype(str).str.count(r"[|,]") > 0
    verdict.flag(
        bad_width,
        "PARSE_ERROR",
        lambda m: "wrong number of fields: '" + text("raw")(m).str.slice(0, 200) + "'",
    )

    tiers = row_tiers(rows)
    tier_text = rows["src_tier_id"].where(rows["src_tier_id"] != "", rows["src_tier_description"])
    verdict.flag(tiers.isna(), "INVALID_TIER", lambda m: "unknown tier '" + tier_text[m].astype(str) + "'")
    other = tiers.notna() & (tiers != tier)
    verdict.flag(other, "OTHER", "")

    weeks = pd.Series(None, index=rows.index, dtype=object)
    for (source_file, source_layout), group in rows.groupby(["source_file", "source_layout"], sort=False):
        weeks[group.index] = row_weeks(
            group, str(source_layout), str(source_file).rsplit("/", 1)[-1], tiers[group.index]
        )
    week_text = np.where(layout == "spine", rows["src_week_ending"], rows["src_week_start"])
    week_text = pd.Series(week_text, index=rows.index)
    has_week_text = layout.isin(["full", "spine"])
    verdict.flag(
        has_week_text & weeks.isna(), "PARSE_ERROR", lambda m: "unparseable week date '" + week_text[m] + "'"
    )
    verdict.flag(
        weeks.isna(),
        "PARSE_ERROR",
        "cannot tell the week of this row (no date in the file name or lastUpdateDate)",
    )

    given = _dates(week_text)
    not_monday = (layout == "full") & given.notna() & (given.dt.day_of_week != 0)
    verdict.flag(not_monday, "WRONG_WEEK", lambda m: "weekStartDate " + week_text[m] + " is not a Monday")
    not_friday = (layout == "spine") & given.notna() & (given.dt.day_of_week != 4)
    verdict.flag(not_friday, "WRONG_WEEK", lambda m: "WeekEnding " + week_text[m] + " is not a Friday")
    other_week = weeks.notna() & (weeks != week_start)
    if source_kind == "path":
        verdict.flag(
            other_week,
            "WRONG_WEEK",
            lambda m: "row of week " + weeks[m].astype(str) + f", not the requested week {week_start}",
        )
    else:
        verdict.flag(other_week, "OTHER", "")

    summary = rows["src_summary_type"].where(layout == "full", "ATS_W_SMBL_FIRM")
    verdict.flag(
        ~summary.isin(SUMMARY_TYPES), "PARSE_ERROR", lambda m: "unknown summaryTypeCode '" + summary[m] + "'"
    )
    shares_ok = rows["src_shares"].str.match(_NUMBER, na=False)
    verdict.flag(
        ~shares_ok, "PARSE_ERROR", lambda m: "shares '" + text("src_shares")(m) + "' is not a number"
    )
    trades_ok = rows["src_trades"].str.match(_INTEGER, na=False)
    verdict.flag(
        ~trades_ok, "PARSE_ERROR", lambda m: "trades '" + text("src_trades")(m) + "' is not a whole number"
    )
    notional_ok = rows["src_notional"].eq("") | rows["src_notional"].str.match(_NUMBER, na=False)
    verdict.flag(
        ~notional_ok, "PARSE_ERROR", lambda m: "notional '" + text("src_notional")(m) + "' is not a number"
    )
    updated = _dates(rows["src_last_update_date"])
    bad_update = rows["src_last_update_date"].ne("") & updated.isna()
    verdict.flag(
        bad_update,
        "PARSE_ERROR",
        lambda m: "lastUpdateDate '" + text("src_last_update_date")(m) + "' is not a date",
    )

    symbol = rows["src_symbol"].str.strip().str.upper()
    needs_symbol = summary.str.contains("_SMBL", na=False)
    bad_symbol = needs_symbol & ~symbol.str.match(SYMBOL_PATTERN, na=False)
    verdict.flag(
        bad_symbol,
        "INVALID_SYMBOL",
        lambda m: "symbol '" + text("src_symbol")(m) + "' does not match " + SYMBOL_PATTERN,
    )
    mpid = rows["src_mpid"].str.strip().str.upper()
    needs_mpid = summary.isin(["ATS_W_SMBL_FIRM", "ATS_W_FIRM"])
    bad_mpid = needs_mpid & ~mpid.str.match(MPID_PATTERN, na=False)
    verdict.flag(
        bad_mpid,
        "INVALID_MPID",
        lambda m: "ATS MPID '" + text("src_mpid")(m) + "' is not 4 letters or digits",
    )
    participant = rows["src_participant_name"].str.strip()
    crd = rows["src_firm_crd"].str.strip()
    firm_row = summary.isin(["OTC_W_SMBL_FIRM", "OTC_W_FIRM"])
    verdict.flag(firm_row & participant.eq("") & crd.eq(""), "PARSE_ERROR", "non-ATS firm row without a firm")

    shares = _floats(rows["src_shares"].where(shares_ok))
    trades = _floats(rows["src_trades"].where(trades_ok))
    verdict.flag(
        (shares < 0) | (trades < 0),
        "NEGATIVE_VOLUME",
        lambda m: "shares=" + text("src_shares")(m) + " trades=" + text("src_trades")(m),
    )
    verdict.flag((shares == 0) & (trades == 0), "ZERO_VOLUME", "0 shares and 0 trades")

    is_other = verdict.reason == "OTHER"
    rejected = verdict.reason.notna() & ~is_other
    accepted = verdict.reason.isna()
    friday = week_ending_of(week_start)

    # The output frames are built from their own rows only (most rows are accepted, few rejected).
    capture_columns = ["capture_id", "captured_at", "source_file", "row_number"]
    bad = rows.loc[rejected, [*capture_columns, "raw"]]
    rejects = pd.DataFrame(
        {
            "week_start": week_start,
            "week_ending": friday,
            "tier": tier,
            "capture_id": bad["capture_id"],
            "captured_at": bad["captured_at"],
            "source_file": bad["source_file"],
            "row_number": bad["row_number"],
            "reason_code": verdict.reason[rejected],
            "detail": verdict.detail[rejected],
            "raw": bad["raw"],
        }
    ).reset_index(drop=True)

    good = rows.loc[accepted, [*capture_columns, "src_issue_name", "src_product_type", "src_notional"]]
    summary, symbol, mpid = summary[accepted], symbol[accepted], mpid[accepted]
    participant, crd = participant[accepted], crd[accepted]
    needs_symbol, needs_mpid, firm_row = needs_symbol[accepted], needs_mpid[accepted], firm_row[accepted]
    kind = pd.Series(np.where(summary.str.startswith("ATS").to_numpy(), "ATS", "NON_ATS"), index=good.index)
    unattributed = (
        (kind == "NON_ATS") & firm_row & (participant.str.lower().eq("de minimis firms") | crd.isin(["0"]))
    )
    firm_venue = participant.where(participant.ne(""), "CRD " + crd)
    venue = pd.Series(
        np.where(needs_mpid, mpid, np.where(firm_row, firm_venue, None)), index=good.index, dtype=object
    )
    volume = pd.DataFrame(
        {
            "week_start": week_start,
            "week_ending": friday,
            "tier": tier,
            "summary_type": summary,
            "venue_kind": kind,
            "symbol": symbol.where(needs_symbol & symbol.ne(""), None),
            "issue_name": good["src_issue_name"].where(good["src_issue_name"].ne(""), None),
            "mpid": mpid.where(mpid.ne(""), None),
            "firm_crd": crd.where(crd.ne(""), None),
            "participant_name": participant.where(participant.ne(""), None),
            "venue": venue,
            "product_type": good["src_product_type"].where(good["src_product_type"].ne(""), None),
            "is_unattributed": unattributed,
            "shares": shares[accepted].astype("float64"),
            "trades": trades[accepted].astype("int64"),
            "notional": _floats(good["src_notional"].where(good["src_notional"].ne(""))),
            "last_update_date": updated[accepted].dt.date,
            "capture_id": good["capture_id"],
            "captured_at": good["captured_at"],
            "row_number": good["row_number"],
            "source_file": good["source_file"],
        }
    ).reset_index(drop=True)
    return NormalizeResult(volume, rejects, len(rows), int(is_other.sum()))

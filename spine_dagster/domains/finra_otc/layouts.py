"""The three input layouts, recognised by their header and read by column name (never by position).

1. ``full``: FINRA's weeklySummary record (API CSV or our pipe files): every summary type mixed.
2. ``ats8``: FINRA's 8-column ATS export; the week comes from the file name or the publication date.
3. ``spine``: spine-core's simplified ``WeekEnding|Tier|Symbol|MPID|TotalShares|TotalTrades`` (ATS venue rows).

Every layout is mapped onto the same text columns (:data:`RAW_COLUMNS`), so the raw table keeps every
source row as text whatever its layout.
"""

from __future__ import annotations

FULL_COLUMNS = (
    "issueSymbolIdentifier", "issueName", "firmCRDNumber", "MPID", "marketParticipantName",
    "tierIdentifier", "tierDescription", "summaryStartDate", "totalWeeklyTradeCount",
    "totalWeeklyShareQuantity", "productTypeCode", "summaryTypeCode", "weekStartDate",
    "lastUpdateDate", "initialPublishedDate", "lastReportedDate", "totalNotionalSum",
)  # fmt: skip
ATS8_COLUMNS = (
    "tierDescription", "issueSymbolIdentifier", "issueName", "marketParticipantName", "MPID",
    "totalWeeklyShareQuantity", "totalWeeklyTradeCount", "lastUpdateDate",
)  # fmt: skip
SPINE_COLUMNS = ("WeekEnding", "Tier", "Symbol", "MPID", "TotalShares", "TotalTrades")

# Our raw text columns, and the source column that fills each one in each layout.
RAW_COLUMNS = (
    "symbol", "issue_name", "firm_crd", "mpid", "participant_name", "tier_id", "tier_description",
    "summary_start_date", "trades", "shares", "product_type", "summary_type", "week_start",
    "week_ending", "last_update_date", "initial_published_date", "last_reported_date", "notional",
)  # fmt: skip
SOURCE_FIELDS: dict[str, dict[str, str]] = {
    "full": {
        "symbol": "issueSymbolIdentifier", "issue_name": "issueName", "firm_crd": "firmCRDNumber",
        "mpid": "MPID", "participant_name": "marketParticipantName", "tier_id": "tierIdentifier",
        "tier_description": "tierDescription", "summary_start_date": "summaryStartDate",
        "trades": "totalWeeklyTradeCount", "shares": "totalWeeklyShareQuantity", "product_type": "productTypeCode",
        "summary_type": "summaryTypeCode", "week_start": "weekStartDate", "last_update_date": "lastUpdateDate",
        "initial_published_date": "initialPublishedDate", "last_reported_date": "lastReportedDate",
        "notional": "totalNotionalSum",
    },
    "ats8": {
        "tier_description": "tierDescription", "symbol": "issueSymbolIdentifier", "issue_name": "issueName",
        "participant_name": "marketParticipantName", "mpid": "MPID", "shares": "totalWeeklyShareQuantity",
        "trades": "totalWeeklyTradeCount", "last_update_date": "lastUpdateDate",
    },
    "spine": {
        "week_ending": "WeekEnding", "tier_description": "Tier", "symbol": "Symbol", "mpid": "MPID",
        "shares": "TotalShares", "trades": "TotalTrades",
    },
}  # fmt: skip
REQUIRED_FIELDS = {
    "full": set(FULL_COLUMNS) - {"totalNotionalSum"},
    "ats8": set(ATS8_COLUMNS),
    "spine": set(SPINE_COLUMNS),
}

SUMMARY_TYPES = (
    "ATS_W_SMBL_FIRM", "ATS_W_SMBL", "ATS_W_FIRM", "ATS_W_VOL_STATS",
    "OTC_W_SMBL_FIRM", "OTC_W_SMBL", "OTC_W_FIRM", "OTC_W_VOL_STATS",
)  # fmt: skip


def detect_layout(header: list[str]) -> str | None:
    """The layout whose required columns the header carries (extra columns are allowed), or None."""
    names = {h.strip() for h in header}
    for layout in ("full", "ats8", "spine"):
        if REQUIRED_FIELDS[layout] <= names:
            return layout
    return None

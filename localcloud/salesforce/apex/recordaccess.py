"""``UserRecordAccess`` from Apex: the view is computed by the data layer when any SOQL reads it
(``localcloud/salesforce/data/recordaccess.py``: object permissions, ownership, org-wide defaults and share
rows), so Apex and REST answer the same. This module keeps the names Apex code of the org used."""
from __future__ import annotations

from localcloud.salesforce.data.recordaccess import LEVELS, MISSING_FILTER, compute, prepare  # noqa: F401

__all__ = ["compute", "prepare", "MISSING_FILTER"]

"""Every table of the hub's database on one metadata: the core tables, and those defined
beside their own stores (canned replies, invitation rules, service rules), which register when
imported.

The migrations and the schema test read the metadata from here, so no table is left out.
"""

from __future__ import annotations

from adapters.db import canned_replies, invitation_rules, service_rules
from adapters.db.tables import metadata

__all__ = ["canned_replies", "invitation_rules", "metadata", "service_rules"]

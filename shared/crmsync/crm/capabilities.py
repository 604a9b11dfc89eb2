"""What crmsync switches off when the CRM declares it does not offer something (``GET /capabilities``):
the matching kind is not synced and the settings page says why, instead of every run failing on a 404."""

from __future__ import annotations

import logging
from datetime import timedelta

from ..model.kinds import KINDS, Kind
from .port import CrmConnector, CrmError

log = logging.getLogger(__name__)

# The CRM Sync API kind each crmsync kind reads and writes (model/kinds.py).
CRM_KIND: dict[Kind, str] = {k: info.crm_kind for k, info in KINDS.items()}
SPOKEN_MAJOR = "1"  # the contract version this crmsync speaks (see docs/crm-sync-api.md#versioning)
WHAT = {k: info.crm_what for k, info in KINDS.items()}


def kinds_off(connector: CrmConnector) -> dict[Kind, str]:
    """crmsync kinds the CRM does not offer, each with the explanation shown to users. A CRM whose
    capabilities cannot be read now is taken to offer everything (its runs report what fails)."""
    try:
        caps = connector.capabilities()
    except CrmError as err:
        log.warning("could not read the CRM's capabilities (%s); assuming it offers everything", err)
        return {}
    major = caps.api_version.split(".", 1)[0]
    if major != SPOKEN_MAJOR:
        why = (
            f"Your CRM speaks version {caps.api_version} of the CRM Sync API; this crmsync speaks version "
            f"{SPOKEN_MAJOR}. Ask your administrator to point crmsync at the CRM's v{SPOKEN_MAJOR} address."
        )
        return dict.fromkeys(CRM_KIND, why)
    return {
        kind: f"Your CRM does not offer {WHAT[kind]} to sync (it declares no {crm_kind} in its capabilities)."
        for kind, crm_kind in CRM_KIND.items()
        if not caps.offers(crm_kind)
    }


def companies_offered(connector: CrmConnector) -> bool:
    """Whether contacts can be linked to CRM companies (False: organisation names are not synced to the CRM)."""
    try:
        return connector.capabilities().offers("companies")
    except CrmError:
        return True


def key_retention(connector: CrmConnector) -> timedelta | None:
    """How long the CRM keeps create idempotency keys, if it declares a limit (None: forever)."""
    try:
        days = connector.capabilities().idempotency_key_retention_days
    except CrmError:
        return None
    return timedelta(days=days) if days else None


class DeclaresKeyRetention:
    """A CRM side's ``ports.ForgetsKeys``: the retention its CRM declares."""

    connector: CrmConnector

    def key_retention(self) -> timedelta | None:
        """How long the CRM keeps create keys (None: forever)."""
        return key_retention(self.connector)


def exceptions_offered(connector: CrmConnector) -> bool:
    """Whether activities keep per-occurrence exceptions (False: crmsync sends none; moved and
    retitled occurrences are held in Google)."""
    try:
        return connector.capabilities().recurrence_exceptions
    except CrmError:
        return True

"""An update of a CRM record deleted since the engine read it is a conflict, as in every Google
adapter (and the port fakes): the engine re-reads it, finds it gone, and the delete rule decides."""

from __future__ import annotations

import pytest

from crmsync.crm.contacts_side import CrmContacts
from crmsync.crm.fake import FakeCrm
from crmsync.model.contact import canonical_contact
from crmsync.model.settings import KindSettings
from crmsync.ports import WriteOp

pytestmark = pytest.mark.unit


def test_an_update_of_a_contact_deleted_in_the_crm_since_read_is_a_conflict() -> None:
    crm = FakeCrm()
    crm.add_user("anna@corp.example", "Anna", user_id="u1")
    side = CrmContacts(crm, "conn1", "u1", KindSettings(google_group=None))
    canon = canonical_contact({"given": "Anna", "family": "Schmidt"})
    [made] = side.create([WriteOp("k", None, canon, canon, crm_id=None)])
    assert made.ok and made.id and made.version
    crm.delete("contacts", made.id, int(made.version), on_behalf_of="u1")
    [result] = side.update([WriteOp("k", made.id, {"given": "Ben"}, {**canon, "given": "Ben"}, made.version)])
    assert result.conflict and not result.ok, result
    assert side.get([made.id]) == {}  # the engine's re-read: gone, so the delete rule decides

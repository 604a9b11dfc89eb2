"""Real Google names the failing contacts of a batch update (BatchUpdateContactsErrorDetails);
the emulator does not, so this path runs on googleapiclient's own HttpMockSequence."""

from __future__ import annotations

import json

import pytest
from googleapiclient.discovery import build
from googleapiclient.http import HttpMockSequence

from crmsync.google.people import GooglePeople
from crmsync.model.contact import canonical_contact
from crmsync.model.settings import ContactOptions
from crmsync.ports import OpCounter, WriteOp

pytestmark = pytest.mark.unit


def test_named_contact_errors_skip_the_probe() -> None:
    stale_msg = "Request person.etag is different than the current person.etag."
    failure = {
        "error": {
            "code": 400,
            "message": stale_msg,
            "status": "FAILED_PRECONDITION",
            "details": [
                {
                    "@type": "type.googleapis.com/google.apps.people.v1.BatchUpdateContactsErrorDetails",
                    "contactErrors": {"people/c2": {"code": 9, "message": stale_msg}},
                }
            ],
        }
    }
    person = {"resourceName": "people/c1", "etag": "%new", "names": [{"givenName": "Ann"}]}
    # The contacts as Google holds them, read once before the update (it is laid over them).
    held = {
        "responses": [
            {"requestedResourceName": f"people/c{i}", "httpStatusCode": 200,
             "person": {"resourceName": f"people/c{i}", "etag": "%old", "names": [{"givenName": "Ann"}]}}
            for i in (1, 2)
        ]
    }  # fmt: skip
    http = HttpMockSequence(
        [
            ({"status": "200"}, json.dumps(held)),
            ({"status": "400"}, json.dumps(failure)),
            ({"status": "200"}, json.dumps({"updateResult": {"people/c1": {"httpStatusCode": 200, "person": person}}})),
        ]
    )
    service = build("people", "v1", http=http, static_discovery=True)
    counter = OpCounter()
    side = GooglePeople(service, options=ContactOptions(), counter=counter, group_name=None)
    canon = canonical_contact({"given": "Ann"})
    ops = [WriteOp(f"people/c{i}", f"people/c{i}", {"given": "Ann"}, canon, "%old") for i in (1, 2)]
    ok, stale = side.update(ops)
    assert ok.ok
    assert ok.version == "%new"
    assert ok.canon == canon
    assert stale.conflict
    assert not stale.ok
    assert counter.counts == {"people.getBatchGet": 1, "people.batchUpdateContacts": 2}
    first, second = (json.loads(req[2]) for req in http.request_sequence[1:])  # (uri, method, body, headers)
    assert set(first["contacts"]) == {"people/c1", "people/c2"}
    assert set(second["contacts"]) == {"people/c1"}  # only the contact Google did not name is sent again

"""Creates that converge after a lost reply.

crmsync keys each CRM create by the Google record it copies, so a retry replays instead of
duplicating. If that record changed between the lost reply and the retry, the retry's body
differs and the CRM refuses the reused key (422) — and naming it afresh would create a second
record next to the first. The CRM's refusal carries the record the key created (contract: the
problem's ``record_id`` and ``record``, given to its owner): that record is ours, so it is the
create's answer — as first created (``replayed_other``: the engine merges both sides' edits from
it), or, from a CRM that gives only the id, as it is now (``unconfirmed``: re-read and merged);
it is never overwritten blindly. If the user deleted it meanwhile, a new record is created under
a key derived from the deleted one (stable, so a retry of that replays too)."""

from __future__ import annotations

from collections.abc import Sequence

from .models import Kind
from .port import BulkCreate, BulkOp, BulkResult, CrmConnector, CrmIdempotencyReuse
from .replies import parse_record

MAX_ROUNDS = 3  # a derived key may itself have been used by a lost attempt


def bulk_converging(
    connector: CrmConnector, kind: Kind, ops: Sequence[BulkOp], *, on_behalf_of: str | None = None
) -> list[BulkResult]:
    """``connector.bulk`` whose creates refused for a reused key land on the record that key made."""
    current = list(ops)
    results = connector.bulk(kind, current, on_behalf_of=on_behalf_of)
    for _ in range(MAX_ROUNDS):
        reused = _reused(current, results)
        if not reused:
            break
        found = {r.id: r for r in connector.get_many(kind, sorted(set(reused.values())), on_behalf_of=on_behalf_of)}
        retry: list[BulkOp] = []
        where: list[int] = []
        for i, rid in reused.items():
            op = current[i]
            assert isinstance(op, BulkCreate)
            rec = found.get(rid)
            if rec is not None:
                error = results[i].error
                first = error.original if isinstance(error, CrmIdempotencyReuse) else None
                if first is not None:
                    results[i] = BulkResult(results[i].index, 200, parse_record(kind, first), replayed_other=True)
                else:
                    results[i] = BulkResult(results[i].index, 200, rec, unconfirmed=True)
                continue
            retry.append(BulkCreate(op.record, f"{op.idempotency_key}-after-{rid}"[:255]))
            where.append(i)
        if not retry:
            break
        answers = connector.bulk(kind, retry, on_behalf_of=on_behalf_of)
        for i, new_op, res in zip(where, retry, answers, strict=True):
            current[i] = new_op
            results[i] = BulkResult(results[i].index, res.status, res.record, res.error)
    return results


def _reused(ops: Sequence[BulkOp], results: Sequence[BulkResult]) -> dict[int, str]:
    out = {}
    for i, (op, res) in enumerate(zip(ops, results, strict=True)):
        if isinstance(op, BulkCreate) and isinstance(res.error, CrmIdempotencyReuse) and res.error.record_id:
            out[i] = res.error.record_id
    return out

"""What every CRM-side record adapter shares when it writes: bulk calls of at most 500 (creates
that converge after a lost reply, see ``converge.py``) and one reading of their per-item results."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from ..ports import Change as SideChange
from ..ports import OpCounter, WriteOp, WriteResult
from .converge import bulk_converging
from .feed import guard
from .models import Kind, Record
from .port import BulkOp, BulkResult, CrmConnector, CrmValidation

BULK_MAX = 500
R = TypeVar("R", bound=Record)


def write_result(
    op: WriteOp,
    res: BulkResult,
    record_type: type[R],
    record_change: Callable[[R], SideChange],
    *,
    missing_ok: bool,
    what: str,
) -> WriteResult:
    """One bulk item as the engine's ``WriteResult``: the record as the CRM now holds it, a
    conflict (412, or an update of a record gone since), a delete of a record already gone
    (``missing_ok``), or an error."""
    if res.ok:
        if isinstance(res.record, record_type):
            if res.unconfirmed:  # see converge.py: ours, possibly edited since; re-read it
                return WriteResult(op.key, True, res.record.id, None, None, unconfirmed=True)
            change = record_change(res.record)
            return WriteResult(
                op.key, True, res.record.id, str(res.record.version), change.canon, replayed_other=res.replayed_other
            )
        return WriteResult(op.key, True, op.target_id)
    if res.status in (404, 410) and op.target_id is not None:
        if missing_ok:
            return WriteResult(op.key, True, op.target_id)
        # An update of a record deleted since it was read: re-read, then the delete rule decides
        # (as every Google adapter answers it), never a permanent error.
        return WriteResult(op.key, False, conflict=True, error=f"the CRM {what} was deleted since it was read")
    if res.status == 412:
        return WriteResult(op.key, False, conflict=True, error=f"the CRM {what} changed since it was read")
    transient = res.status == 429 or res.status >= 500
    return WriteResult(op.key, False, error=refusal(res), transient=transient)


def refusal(res: BulkResult) -> str:
    """Why the CRM refused one write, naming each refused field and the reason."""
    err = res.error
    if isinstance(err, CrmValidation) and err.errors:
        return f"{err} — " + "; ".join(f"{e.path}: {e.message}" for e in err.errors)
    return str(err or res.status)


def bulk_write(
    connector: CrmConnector,
    kind: Kind,
    ops: Sequence[WriteOp],
    bulk: Sequence[BulkOp],
    *,
    crm_user_id: str,
    counter: OpCounter,
    record_type: type[R],
    record_change: Callable[[R], SideChange],
    missing_ok: bool = False,
    what: str,
) -> list[tuple[WriteResult, BulkResult]]:
    """Send ``bulk`` (one operation per op) in calls of at most 500; per op, its result and the
    CRM's own answer (which says what a refusal was about)."""
    out: list[tuple[WriteResult, BulkResult]] = []
    for start in range(0, len(bulk), BULK_MAX):
        with guard(counter, "crm.bulk"):
            results = bulk_converging(connector, kind, bulk[start : start + BULK_MAX], on_behalf_of=crm_user_id)
        out.extend(
            (write_result(op, res, record_type, record_change, missing_ok=missing_ok, what=what), res)
            for op, res in zip(ops[start : start + BULK_MAX], results, strict=True)
        )
    return out

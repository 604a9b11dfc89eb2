"""The CRM side: the connector port, the CRM Sync API wire models, the REST connector and an in-memory fake."""

from __future__ import annotations

from .models import KINDS, Activity, Company, Contact, Kind, Record, Task, User
from .port import (
    BulkCreate,
    BulkDelete,
    BulkOp,
    BulkResult,
    BulkUpdate,
    Change,
    ChangePage,
    CrmAuthError,
    CrmConflict,
    CrmConnector,
    CrmError,
    CrmIdempotencyReuse,
    CrmNotFound,
    CrmTransient,
    CrmValidation,
)
from .validation import FieldError

__all__ = [
    "KINDS",
    "Activity",
    "BulkCreate",
    "BulkDelete",
    "BulkOp",
    "BulkResult",
    "BulkUpdate",
    "Change",
    "ChangePage",
    "Company",
    "Contact",
    "CrmAuthError",
    "CrmConflict",
    "CrmConnector",
    "CrmError",
    "CrmIdempotencyReuse",
    "CrmNotFound",
    "CrmTransient",
    "CrmValidation",
    "FieldError",
    "Kind",
    "Record",
    "Task",
    "User",
]

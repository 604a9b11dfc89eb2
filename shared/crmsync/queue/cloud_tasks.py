"""Cloud Tasks TaskQueue: one named HTTP task per connection and due time, spread over shard queues."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from google.api_core import exceptions as api_exceptions
from google.cloud import tasks_v2
from google.protobuf import duration_pb2, timestamp_pb2

from crmsync.errors import TransientError

# Cloud Tasks: task ids are [A-Za-z0-9_-]{1,500}; schedule_time at most 30 days ahead;
# an HTTP task's dispatch deadline is 15 s to 30 min.
_TASK_ID = re.compile(r"[A-Za-z0-9_-]{1,500}")
_QUEUE_ID = re.compile(r"[A-Za-z0-9-]{1,100}")
MAX_DELAY_SECONDS = 30 * 24 * 3600
MIN_DEADLINE_SECONDS, MAX_DEADLINE_SECONDS = 15, 1800
_RETRYABLE = (
    api_exceptions.ServiceUnavailable,
    api_exceptions.DeadlineExceeded,
    api_exceptions.TooManyRequests,
    api_exceptions.ResourceExhausted,
    api_exceptions.InternalServerError,
    api_exceptions.Aborted,
)


class QueueConfigError(ValueError):
    """The queue settings are missing or invalid; the message names the variable."""


class QueueUnavailable(TransientError):
    """Cloud Tasks could not take the task now (5xx, quota, timeout): try again later."""


@dataclass(frozen=True)
class CloudTasksSettings:
    """Where tasks go and how they call the worker."""

    project: str
    location: str
    queues: tuple[str, ...]  # queue ids, e.g. crmsync-sync-0..N-1
    worker_url: str
    service_account_email: str | None = None  # None: no OIDC token (the emulator cannot mint one)
    audience: str | None = None  # defaults to worker_url
    dispatch_deadline_seconds: int = 540
    headers: Mapping[str, str] = field(default_factory=dict)  # extra headers on every task

    def __post_init__(self) -> None:
        if not self.queues:
            raise QueueConfigError("CRMSYNC_TASKS_QUEUES must list at least one queue id")
        for queue in self.queues:
            if not _QUEUE_ID.fullmatch(queue):
                raise QueueConfigError(f"CRMSYNC_TASKS_QUEUES: {queue!r} is not a queue id (letters, digits, '-')")
        if not self.worker_url.startswith(("http://", "https://")):
            raise QueueConfigError(f"CRMSYNC_WORKER_URL must be an http(s) URL, got {self.worker_url!r}")
        if not MIN_DEADLINE_SECONDS <= self.dispatch_deadline_seconds <= MAX_DEADLINE_SECONDS:
            raise QueueConfigError(
                f"CRMSYNC_TASKS_DISPATCH_DEADLINE_SECONDS must be {MIN_DEADLINE_SECONDS}-{MAX_DEADLINE_SECONDS}, "
                f"got {self.dispatch_deadline_seconds}"
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> CloudTasksSettings:
        """Read CRMSYNC_PROJECT, CRMSYNC_REGION, CRMSYNC_TASKS_QUEUES, CRMSYNC_WORKER_URL and the OIDC account."""
        env = os.environ if env is None else env

        def need(name: str) -> str:
            value = (env.get(name) or "").strip()
            if not value:
                raise QueueConfigError(f"{name} is not set; it is needed to enqueue sync tasks (see README)")
            return value

        deadline = (env.get("CRMSYNC_TASKS_DISPATCH_DEADLINE_SECONDS") or "540").strip()
        if not deadline.isdigit():
            raise QueueConfigError(f"CRMSYNC_TASKS_DISPATCH_DEADLINE_SECONDS must be whole seconds, got {deadline!r}")
        return cls(
            project=need("CRMSYNC_PROJECT"),
            location=need("CRMSYNC_REGION"),
            queues=tuple(q.strip() for q in need("CRMSYNC_TASKS_QUEUES").split(",") if q.strip()),
            worker_url=need("CRMSYNC_WORKER_URL"),
            service_account_email=(env.get("CRMSYNC_TASKS_SERVICE_ACCOUNT") or "").strip() or None,
            audience=(env.get("CRMSYNC_WORKER_AUDIENCE") or "").strip() or None,
            dispatch_deadline_seconds=int(deadline),
        )


def shard_of(connection_id: str, shards: int) -> int:
    """A stable shard index for a connection (the same on every instance and every deploy)."""
    digest = hashlib.sha256(connection_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % shards


def task_id(name: str) -> str:
    """A valid Cloud Tasks task id for ``name`` (hashed when it has characters Cloud Tasks refuses)."""
    if _TASK_ID.fullmatch(name):
        return name
    return "h-" + hashlib.sha256(name.encode("utf-8")).hexdigest()


class CloudTasksQueue:
    """Creates HTTP tasks that POST the JSON payload to the worker with an OIDC token."""

    def __init__(
        self,
        client: tasks_v2.CloudTasksClient,
        settings: CloudTasksSettings,
        *,
        now: Callable[[], datetime] | None = None,
        timeout_seconds: float = 10.0,
    ) -> None:
        self._client = client
        self.settings = settings
        self._now = now or (lambda: datetime.now(UTC))
        self._timeout = timeout_seconds
        self.queue_paths = tuple(client.queue_path(settings.project, settings.location, q) for q in settings.queues)

    def queue_path(self, connection_id: str) -> str:
        """The full path of the shard queue that carries this connection's tasks."""
        return self.queue_paths[shard_of(connection_id, len(self.queue_paths))]

    def build_task(
        self, connection_id: str, *, name: str | None, delay_seconds: float, payload: dict[str, Any]
    ) -> tasks_v2.Task:
        """The task that would be created (public so tests can inspect it)."""
        s = self.settings
        request = tasks_v2.HttpRequest(
            url=s.worker_url,
            http_method=tasks_v2.HttpMethod.POST,
            headers={**s.headers, "Content-Type": "application/json"},
            body=json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8"),
        )
        if s.service_account_email:
            request.oidc_token = tasks_v2.OidcToken(
                service_account_email=s.service_account_email, audience=s.audience or s.worker_url
            )
        task = tasks_v2.Task(
            http_request=request, dispatch_deadline=duration_pb2.Duration(seconds=s.dispatch_deadline_seconds)
        )
        if name is not None:
            task.name = f"{self.queue_path(connection_id)}/tasks/{task_id(name)}"
        if delay_seconds > 0:
            when = timestamp_pb2.Timestamp()
            when.FromDatetime(self._now() + timedelta(seconds=delay_seconds))
            task.schedule_time = when
        return task

    def enqueue(
        self, connection_id: str, *, name: str | None, delay_seconds: float = 0, payload: dict[str, Any]
    ) -> bool:
        """Create the task; False when a task of that name exists (or ran within the last ~hour)."""
        if not connection_id:
            raise ValueError("connection_id must be a non-empty string")
        if not 0 <= delay_seconds <= MAX_DELAY_SECONDS:
            raise ValueError(f"delay_seconds must be from 0 to {MAX_DELAY_SECONDS} (30 days), got {delay_seconds}")
        task = self.build_task(connection_id, name=name, delay_seconds=delay_seconds, payload=payload)
        try:
            self._client.create_task(parent=self.queue_path(connection_id), task=task, timeout=self._timeout)
        except api_exceptions.AlreadyExists:
            return False
        except _RETRYABLE as err:
            raise QueueUnavailable(
                f"Cloud Tasks refused the task for now: {type(err).__name__}: {err.message}"
            ) from err
        return True


def cloud_tasks_queue_from_env(env: Mapping[str, str] | None = None) -> CloudTasksQueue:
    """A CloudTasksQueue from CRMSYNC_* variables; CLOUD_TASKS_EMULATOR_HOST points it at an emulator."""
    env = os.environ if env is None else env
    settings = CloudTasksSettings.from_env(env)
    emulator = (env.get("CLOUD_TASKS_EMULATOR_HOST") or "").strip()
    if not emulator:
        return CloudTasksQueue(tasks_v2.CloudTasksClient(), settings)
    import grpc
    from google.cloud.tasks_v2.services.cloud_tasks.transports import CloudTasksGrpcTransport

    transport = CloudTasksGrpcTransport(channel=grpc.insecure_channel(emulator))
    return CloudTasksQueue(tasks_v2.CloudTasksClient(transport=transport), settings)

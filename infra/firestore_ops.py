"""Count Firestore operations on the wire, the way Firestore bills them, independent of our stores.

``counting_client(host_port)`` is a real ``firestore.Client`` on the emulator whose gRPC channel passes
through an interceptor that reads every RPC the client library sends and every answer it gets back:

- ``BatchGetDocuments``: one read per document asked for (found or missing), one answer each;
- ``RunQuery``: one read per document returned, at least one per query;
- ``RunAggregationQuery`` (count()): one read per answer (at most 1,000 index entries each, as billed);
- ``Commit``: one write per document written (a transform rides with its write), one delete per delete.

The stores' own ``OpCounter`` counts the same things where the store makes the call; this one sees
every call the process makes through the client, so a read the store forgot to count still shows.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import grpc
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore

READS, WRITES, DELETES, COMMITS, QUERIES = "reads", "writes", "deletes", "commits", "queries"


class WireCounts:
    """Thread-safe counts of billed Firestore operations and of RPCs by method."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.ops: Counter[str] = Counter()
        self.rpcs: Counter[str] = Counter()

    def add(self, name: str, n: int = 1) -> None:
        """Add ``n`` billed operations of one kind."""
        with self._lock:
            self.ops[name] += n

    def rpc(self, method: str) -> None:
        """Count one RPC of ``method`` (its last path segment)."""
        with self._lock:
            self.rpcs[method] += 1

    def snapshot(self) -> dict[str, int]:
        """The billed counts so far."""
        with self._lock:
            return dict(self.ops)

    def since(self, before: dict[str, int]) -> dict[str, int]:
        """The billed counts added since ``before`` (a snapshot), zeros left out."""
        now = self.snapshot()
        return {k: v - before.get(k, 0) for k, v in sorted(now.items()) if v != before.get(k, 0)}


def _raw(message: Any) -> Any:
    """The protobuf message behind a proto-plus one (the gapic stubs pass proto-plus)."""
    pb = getattr(type(message), "pb", None)
    return pb(message) if callable(pb) else message


class _Answers:
    """A streaming call whose answers are counted as they are read; everything else is the call's."""

    def __init__(self, call: Any, each: Callable[[Any], None], done: Callable[[], None]) -> None:
        self._call = call
        self._each = each
        self._done = done

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        try:
            answer = next(self._call)
        except StopIteration:
            self._done()
            raise
        self._each(answer)
        return answer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._call, name)


class _Interceptor(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):  # type: ignore[misc]
    def __init__(self, counts: WireCounts) -> None:
        self.counts = counts

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        method = str(details.method).rsplit("/", 1)[-1]
        self.counts.rpc(method)
        if method == "Commit":
            kinds = [w.WhichOneof("operation") for w in _raw(request).writes]
            self.counts.add(COMMITS)
            self.counts.add(DELETES, sum(k == "delete" for k in kinds))
            self.counts.add(WRITES, sum(k != "delete" for k in kinds))
        return continuation(details, request)

    def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        method = str(details.method).rsplit("/", 1)[-1]
        self.counts.rpc(method)
        call = continuation(details, request)
        if method == "BatchGetDocuments":
            return _Answers(call, self._document_answer, lambda: None)
        if method in ("RunQuery", "RunAggregationQuery"):
            self.counts.add(QUERIES)
            seen = [0]

            def each(answer: Any) -> None:
                raw = _raw(answer)
                has = raw.HasField("document") if method == "RunQuery" else raw.HasField("result")
                if has:
                    seen[0] += 1
                    self.counts.add(READS)

            def done() -> None:
                if not seen[0]:
                    self.counts.add(READS)  # a query that returns nothing is billed one read

            return _Answers(call, each, done)
        return call

    def _document_answer(self, answer: Any) -> None:
        raw = _raw(answer)
        if raw.HasField("found") or raw.HasField("missing"):
            self.counts.add(READS)


class _CountingClient(firestore.Client):
    """A firestore.Client whose emulator channel is intercepted by a counter."""

    wire_counts: WireCounts

    def _emulator_channel(self, transport: Any) -> Any:
        channel = super()._emulator_channel(transport)  # type: ignore[no-untyped-call]
        return grpc.intercept_channel(channel, _Interceptor(self.wire_counts))


def counting_client(host_port: str, project: str | None = None) -> tuple[firestore.Client, WireCounts]:
    """A real firestore.Client on the emulator (a fresh project unless one is given) and its wire counts."""
    previous = os.environ.get("FIRESTORE_EMULATOR_HOST")
    os.environ["FIRESTORE_EMULATOR_HOST"] = host_port  # the client reads it once, when constructed
    try:
        client = _CountingClient(
            project=project or f"test-{uuid.uuid4().hex[:12]}",
            credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        )
    finally:
        if previous is None:
            os.environ.pop("FIRESTORE_EMULATOR_HOST", None)
        else:
            os.environ["FIRESTORE_EMULATOR_HOST"] = previous
    client.wire_counts = WireCounts()
    return client, client.wire_counts

"""One sync run as its own process (the soak kills it at random): the worker's task handler with
the configuration from the environment, as the deployed worker function runs it.

    python -m bench.soak_worker CONNECTION_ID TASK_NAME   -> prints the result as one JSON line
"""

from __future__ import annotations

import json
import sys

from crmsync.bootstrap import bootstrap
from crmsync.config import Config
from crmsync.queue.memory import MemoryTaskQueue
from crmsync.services.sync_task import SyncTask
from crmsync.services.worker import handle_task, worker_deps


def main(argv: list[str]) -> int:
    connection_id, task = argv
    app = bootstrap(Config.from_env(), queue=MemoryTaskQueue())
    result = handle_task(SyncTask(connection_id, "tick", task), worker_deps(app))
    print(json.dumps({"outcome": result.outcome.value, "detail": result.detail, "run_id": result.run_id}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

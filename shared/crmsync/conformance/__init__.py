"""The CRM Sync API conformance kit: run the contract's rules against any server.

``python -m crmsync.conformance --url URL --api-key KEY [--user ID] [--other-user ID] [--json FILE]``

Every rule names the section of ``docs/crm-sync-api.md`` it comes from; a failure shows the request
that exposed it and the reply. The kit creates its own records, tagged with a run tag, reads feeds
filtered by that tag (so a CRM full of real data is neither read nor touched), and deletes what it
created at the end. Exit code: 0 every rule passed, 1 a rule failed, 2 the server could not be used.
"""

from . import rules  # noqa: F401  (registers the rules)
from .runner import RULES, Outcome, Report, RuleResult, run_suite

__all__ = ["RULES", "Outcome", "Report", "RuleResult", "run_suite"]

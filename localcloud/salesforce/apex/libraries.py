"""Loads the Apex libraries: importing a library fills the tables and sets the hooks of `tables.py`
that the interpreter and the runtime read (they never import a library themselves).

The package's `__init__` imports this module, so any use of `localcloud.salesforce.apex` has them
(`triggers` and `asyncjobs`, of the runtime layer, are listed too: they fill `Trigger.*` and set the
`future_body` hook). A new library module is added here, after `stdlib` (whose tables and helpers the
libraries build on); `tests/test_import_cycles.py` fails for a library module missing from MODULES.
The order is the registration order: a later module's entry for the same key wins, and builtin class
installers (`tables.BUILTIN_INSTALLERS`) run in it.
"""

from __future__ import annotations

from . import stdlib  # first: the core library (String, List, Map, Math, Date, ...) and its builtin classes
from . import jsonlib, schemalib, fieldsetlib, sobjects, dml, testlib, triggers, soql, batchlib  # noqa: E401
from . import restlib, systemlib  # noqa: E401 - systemlib's builtin classes install after stdlib's
from . import asyncjobs, compoundlib, leadconvertlib, settingslib, sosl, stubs, access  # noqa: E401
from . import formulalib, invocable, invocablelib, changeeventlib  # noqa: E401
from . import cachevalues, cachepartitions, cachelib  # noqa: E401
from . import connecttypes, connectbody, connectrate, connectlib, connectgroups  # noqa: E401
from . import vflib  # noqa: E401 - ApexPages controllers, PageReference, Page.X
from . import recordaccess  # noqa: E401 - UserRecordAccess rows, computed before Apex queries them
from . import flowlib  # noqa: E401 - Flow.Interview, flow actions, record-triggered flows (localcloud.salesforce.flow)
from . import approvallib  # noqa: E401 - Approval.lock/unlock/isLocked over the data layer's record locks
from . import listviewlib  # noqa: E401 - list views for StandardSetController (vflib calls it when run)
from . import approvalprocesslib  # noqa: E401 - Approval.process over deployed approval processes
from . import cron, schedulelib  # noqa: E401 - System.schedule/scheduleBatch/abortJob and the org's scheduler
from . import eventretry  # noqa: E401 - event triggers as subscribers: RetryableException, TriggerContext
from . import flowtriggerlib  # noqa: E401 - scheduled-trigger and platform-event-triggered flows

MODULES = (stdlib, jsonlib, schemalib, fieldsetlib, sobjects, dml, testlib, triggers, soql, batchlib, restlib, systemlib,
           asyncjobs, compoundlib, leadconvertlib, settingslib, sosl, stubs, access, formulalib,
           invocable, invocablelib, changeeventlib, cachevalues, cachepartitions, cachelib, connecttypes,
           connectbody, connectrate, connectlib, connectgroups,
           vflib, recordaccess, flowlib, approvallib, listviewlib, approvalprocesslib,
           cron, schedulelib, eventretry, flowtriggerlib)

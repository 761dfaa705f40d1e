"""Platform event and change event triggers as subscribers: ``EventBus.RetryableException``,
``EventBus.TriggerContext`` (``retries``, ``lastError``, ``setResumeCheckpoint``/``getResumeCheckpoint``)
and the error state, as the Platform Events Developer Guide describes them.

Each event trigger is a subscriber with its own state (``Subscriber``): a batch of events runs the
trigger under a savepoint of the delivering transaction.

* The trigger throws ``EventBus.RetryableException``: its work is rolled back and the same batch is
  redelivered later (with any newer events after it), ``retries`` counting the retries and
  ``lastError`` holding the exception's message. The run after the ninth retry that throws it again
  puts the trigger in the error state: it receives no more events (those published meanwhile are not
  resent) until the org's Apex is deployed again.
* ``setResumeCheckpoint(replayId)`` (a ReplayId of the current batch, else
  ``EventBus.InvalidReplayIdException``) makes the events after it a new batch when the trigger stops,
  normally or by an uncaught exception; the work done is kept ("DML operations performed are
  committed", the guide's comparison with RetryableException, which rolls back even after a
  checkpoint). Without a checkpoint an uncaught exception rolls the trigger's work back and drops the
  batch for that trigger (written to the debug log and the server log).
* When "later" is: in an Apex test, the next ``Test.getEventBus().deliver()`` (or ``Test.stopTest()``),
  as Salesforce documents for tests; in the org, the scheduler's next tick (``schedulelib``: every
  ``ECBRIDGE_ORG_SCHEDULER_SECONDS``), each redelivery in its own transaction.
"""
from __future__ import annotations

import itertools
import logging
from typing import Any, Callable, Iterable

from . import asyncjobs, ops
from .compiler import KNOWN_TYPES
from .dataport import automated_process_user
from .stdlib import STATIC_METHODS, Native
from .tables import BUILTIN_INSTALLERS, NAMESPACES, provide
from .values import ApexList, SObject, TypeRef

log = logging.getLogger(__name__)
MAX_RETRIES = 9
RETRYABLE = "EventBus.RetryableException"
INVALID_REPLAY = "EventBus.InvalidReplayIdException"
_replay_ids = itertools.count(1)
#: other subscribers run after the Apex triggers at each delivery (``flowtriggerlib``: platform-event-triggered
#: flows): ``(prog, event_type, events) -> failures``
FLOW_DELIVERY: list[Callable[[Any, str, list[SObject]], list[str]]] = []


class Subscriber:
    """One event trigger's delivery state."""

    def __init__(self, trigger: Any) -> None:
        self.trigger = trigger
        self.event_type = trigger.sobject
        self.retries = 0
        self.last_error: str | None = None
        self.pending: list[SObject] = []
        self.error = False


class TriggerContext(Native):
    apex_type = "EventBus.TriggerContext"

    def __init__(self, subscriber: Subscriber, batch: list[SObject]) -> None:
        self.subscriber = subscriber
        self.replay_ids = [str(e.fields.get("replayid")) for e in batch]
        self.checkpoint: str | None = None

    def p_retries(self):
        return self.subscriber.retries

    def p_lasterror(self):
        return self.subscriber.last_error

    def m_setresumecheckpoint(self, a):
        replay = a[0]
        if replay is None or str(replay) not in self.replay_ids:
            ops.throw(INVALID_REPLAY, f"Invalid replay ID: {replay}. The replay ID must be the ReplayId of an "
                                      "event message in the current trigger batch.")
        self.checkpoint = str(replay)
        return None

    def m_getresumecheckpoint(self, a):
        return self.checkpoint

    def apex_str(self) -> str:
        return f"TriggerContext:[lastError={self.subscriber.last_error}, retries={self.subscriber.retries}]"


def _current_context(a):
    return getattr(ops.CURRENT.prog.tx, "event_context", None)


STATIC_METHODS[("eventbus.triggercontext", "currentcontext")] = _current_context
KNOWN_TYPES.add("eventbus.triggercontext")
NAMESPACES.add("eventbus.triggercontext")


def install(p: Any) -> None:
    """``EventBus.RetryableException`` and ``EventBus.InvalidReplayIdException``."""
    from .model import ApexClass
    base = p.builtins["exception"]
    for name in (RETRYABLE, INVALID_REPLAY):
        c = ApexClass(name, "class")
        c.builtin = True
        c.superclass = base
        c.modifiers = {"virtual"}
        p.builtins[name.lower()] = c


BUILTIN_INSTALLERS.append(install)


# -- the subscribers' states ---------------------------------------------------------------------
def subscribers(prog: Any) -> dict[str, Subscriber]:
    """The running test's subscribers (rolled back with it), else the org's (one set per store)."""
    test = prog.tx.test
    if test is not None:
        owner: Any = test
    elif prog.data is not None:
        owner = prog.data
    else:
        owner = prog
    states = getattr(owner, "_apex_event_subscribers", None)
    if states is None:
        states = {}
        owner._apex_event_subscribers = states
    return states


def _subscriber(prog: Any, trigger: Any) -> Subscriber:
    states = subscribers(prog)
    state = states.get(trigger.lname)
    if state is None or state.trigger is not trigger:  # new, or the org's Apex was deployed again
        state = states[trigger.lname] = Subscriber(trigger)
    return state


def event_triggers(prog: Any, event_type: str) -> list[Any]:
    return [t for t in prog.triggers.values() if t.sobject.lower() == event_type.lower() and "after insert" in t.events]


def stamp_replay_ids(events: Iterable[SObject]) -> None:
    """Platform events get their ReplayId when they are delivered (in publishing order)."""
    for event in events:
        if event.fields.get("replayid") is None:
            event.fields["replayid"] = str(next(_replay_ids))
            event.names["replayid"] = "ReplayId"


# -- delivering ----------------------------------------------------------------------------------
def deliver(prog: Any, event_type: str, events: list[SObject]) -> list[str]:
    """Deliver ``events`` to every trigger of the type. A trigger with a batch waiting for redelivery
    gets them after that batch (they wait with it: events are processed in order). Returns the
    failures (uncaught exceptions, a trigger entering the error state)."""
    failures = []
    for trigger in event_triggers(prog, event_type):
        state = _subscriber(prog, trigger)
        if state.error:
            continue
        if state.pending:
            state.pending.extend(events)
            continue
        failure = run_subscriber(prog, state, events)
        if failure:
            failures.append(failure)
    for subscriber in FLOW_DELIVERY:
        failures.extend(subscriber(prog, event_type, events))
    return failures


def waiting(prog: Any) -> list[Subscriber]:
    """The subscribers with a batch to redeliver (a retry, the events after a checkpoint)."""
    return [s for key, s in subscribers(prog).items()
            if s.pending and not s.error and prog.triggers.get(key) is s.trigger]


def deliver_pending(prog: Any) -> int:
    """Redeliver, in the running transaction, every waiting batch (Apex tests: each
    ``Test.getEventBus().deliver()`` and ``Test.stopTest()``); how many."""
    states = waiting(prog)
    for state in states:
        run_subscriber(prog, state, [])
    return len(states)


def redeliver_in_org(prog: Any, store: Any, user_id: str) -> int:
    """The org's waiting batches, each redelivered in its own transaction as ``user_id`` (the scheduler's
    tick calls this); how many."""
    from .dataport import Session
    done = 0
    for state in waiting(org_view(prog)):
        data = Session(store, store.transaction(user_id=user_id), True)
        tx = prog.new_transaction(data=data, user={"userid": user_id, "organizationid": store.org_id})
        res = prog.run_in(lambda state=state: run_subscriber(prog, state, []), tx=tx, commit=True)
        if not res.success:
            log.warning("event redelivery to %s failed: %s: %s", state.trigger.name, res.exception_type,
                        res.exception_message)
        done += 1
    return done




@provide("publish_events")
def publish_after_commit(prog: Any, transaction: Any, sobject: str, events: list[SObject]) -> None:
    """Platform events saved outside Apex (REST ``POST /sobjects/X__e``): after the save commits, their
    triggers get them in a transaction of their own, as the Automated Process user (a rollback
    publishes nothing)."""
    def run() -> None:
        from .dataport import Session
        store = transaction.store
        runner = automated_process_user(store) or store.user_id
        stamp_replay_ids(events)
        tx = prog.new_transaction(data=Session(store, store.transaction(user_id=runner), True),
                                  user={"userid": runner, "organizationid": store.org_id})
        res = prog.run_in(lambda: deliver(prog, sobject, events), tx=tx, commit=True)
        if not res.success:
            log.warning("%s delivery failed: %s: %s", sobject, res.exception_type, res.exception_message)
    transaction.on_commit(run)


class _OrgView:
    """``prog`` as seen outside any transaction: its triggers and the org's subscribers."""

    def __init__(self, prog: Any) -> None:
        self.triggers = prog.triggers
        self.data = prog.data
        self.tx = type("NoTx", (), {"test": None})()


def org_view(prog: Any) -> Any:
    """``prog`` outside any transaction, for ``waiting``: the org's subscribers."""
    return _OrgView(prog)


class PendingDelivery:
    """A test's waiting batches, redelivered after the round's new events joined them (queued last by
    ``Test.getEventBus().deliver()`` / ``Test.stopTest()``)."""

    counts_as_queueable = False
    is_event_delivery = True  # Test.getEventBus().deliver() runs it (systemlib)

    def __init__(self, states: list[Subscriber]) -> None:
        self.states = states
        self.events: list[SObject] = []
        self.cls = type("PlatformEvent", (), {"name": "EventBus"})

    def run(self, prog: Any) -> None:
        for state in self.states:
            if state.pending and not state.error:
                run_subscriber(prog, state, [])


def _before_test_delivery(prog: Any) -> None:
    if prog.tx.test is None:
        return
    states = waiting(prog)
    if states:
        prog.tx.queue.append(PendingDelivery(states))


asyncjobs.BEFORE_TEST_DELIVERY.append(_before_test_delivery)


def run_subscriber(prog: Any, state: Subscriber, events: list[SObject]) -> str | None:
    """One run of a trigger on its batch: pending events first, then ``events``; the failure, if any."""
    if state.error:
        return None
    batch = state.pending + list(events)
    state.pending = []
    if not batch:
        return None
    from .triggers import ApexTriggerHook, TriggerFrame
    tx = prog.tx
    dtx = tx.data.tx if tx.data is not None else None
    savepoint = dtx.savepoint() if dtx is not None else None
    context = TriggerContext(state, batch)
    saved = getattr(tx, "event_context", None)
    tx.event_context = context
    trigger = state.trigger
    try:
        new = ApexList(list(batch), TypeRef(prog.sobject_name(state.event_type)))
        ApexTriggerHook(prog)._run(prog, [trigger], TriggerFrame("insert", "after", new.etype.name, new, None))
    except ops.ApexThrown as error:
        obj = error.obj
        name, message = obj.cls.name, obj.fields.get("__message")
        if tx.test is not None and name == "System.AssertException":
            raise
        retry = name.lower() == RETRYABLE.lower()
        if savepoint is not None and (retry or context.checkpoint is None):
            dtx.rollback_to(savepoint)  # with a checkpoint, the work done is kept (Salesforce's table)
        if retry:
            return _retry(tx, state, batch, message)
        state.pending = _after_checkpoint(batch, context.checkpoint)
        return _note(tx, f"{trigger.name}: event trigger failed: {name}: {message}")
    else:
        state.retries, state.last_error = 0, None
        state.pending = _after_checkpoint(batch, context.checkpoint)
        return None
    finally:
        tx.event_context = saved


def _retry(tx: Any, state: Subscriber, batch: list[SObject], message: str | None) -> str | None:
    if state.retries >= MAX_RETRIES:
        state.error, state.pending = True, []
        return _note(tx, f"{state.trigger.name}: EventBus.RetryableException after {MAX_RETRIES} retries: the "
                         "trigger is in the error state and receives no more events")
    state.retries += 1
    state.last_error = message
    state.pending = batch
    return None


def _after_checkpoint(batch: list[SObject], checkpoint: str | None) -> list[SObject]:
    if checkpoint is None:
        return []
    ids = [str(e.fields.get("replayid")) for e in batch]
    return batch[ids.index(checkpoint) + 1:]


def _note(tx: Any, text: str) -> str:
    tx.debug_log.append(text)
    if tx.test is None:
        log.warning("%s", text)
    return text


__all__ = ["MAX_RETRIES", "Subscriber", "TriggerContext", "deliver", "deliver_pending", "redeliver_in_org",
           "run_subscriber", "stamp_replay_ids", "subscribers", "waiting"]

"""Apex triggers: the data layer's trigger hook implemented by running the program's triggers.

`ApexTriggerHook(program)` is registered with `Store.set_trigger_hook`. For each chunk event it runs
every trigger on that SObject whose events match, with Trigger.new/old/newMap/oldMap/is*/size/
operationType, writes before-trigger field changes back into the event, and turns addError into
`event.add_error`.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

from . import ops
from .compiler import POS
from .tables import HOOKS, STATIC_PROPS, STR
from .values import ApexList, ApexMap, IdValue, SObject, TypeRef


class TriggerFrame:
    def __init__(self, op: str, timing: str, sobject: str, new: Any, old: Any) -> None:
        self.op = op
        self.timing = timing
        self.sobject = sobject
        self.new = new
        self.old = old

    def new_map(self):
        if self.new is None or self.op == "insert" and self.timing == "before":
            return None
        return ApexMap(((r.fields.get("id"), r) for r in self.new), TypeRef("Id"), TypeRef(self.sobject))

    def old_map(self):
        if self.old is None:
            return None
        return ApexMap(((r.fields.get("id"), r) for r in self.old), TypeRef("Id"), TypeRef(self.sobject))


def _top() -> TriggerFrame | None:
    st = ops.CURRENT.prog.tx.trigger_stack
    return st[-1] if st else None


def _prop(fn):
    def g():
        t = _top()
        if t is None:
            return None if fn.__name__ in ("new", "old", "newmap", "oldmap", "size", "operationtype") else False
        return fn(t)
    return g


def _op_type(t: TriggerFrame):
    name = f"{t.timing}_{t.op}".upper()
    enum = ops.CURRENT.prog.builtins["triggeroperation"]
    return enum.enum_values[name.lower()]


for key, fn in {
    "new": lambda t: t.new,
    "old": lambda t: t.old,
    "newmap": lambda t: t.new_map(),
    "oldmap": lambda t: t.old_map(),
    "isinsert": lambda t: t.op == "insert",
    "isupdate": lambda t: t.op == "update",
    "isdelete": lambda t: t.op == "delete",
    "isundelete": lambda t: t.op == "undelete",
    "isbefore": lambda t: t.timing == "before",
    "isafter": lambda t: t.timing == "after",
    "isexecuting": lambda t: True,
    "size": lambda t: len(t.new if t.new is not None else t.old or []),
    "operationtype": _op_type,
}.items():
    fn.__name__ = key
    STATIC_PROPS[("trigger", key)] = _prop(fn)


@contextlib.contextmanager
def apex_context(prog: Any) -> Iterator[None]:
    """Mark that DML is issued from Apex (the hook then runs inside the same Apex transaction)."""
    yield


class ApexTriggerHook:
    """Implements localcloud.salesforce.data.TriggerHook by running Apex triggers."""

    def __init__(self, program: Any) -> None:
        self.program = program

    def before(self, event: Any) -> None:
        self._flows(event, "before")  # before-save flows run before the before triggers (order of execution)
        self._fire(event, "before")

    def after(self, event: Any) -> None:
        self._fire(event, "after")
        self._flows(event, "after")  # after-save flows run after the after triggers

    def _flows(self, event: Any, timing: str) -> None:
        """The org's active record-triggered flows for this event (``HOOKS.record_flows``, flowlib)."""
        runner = HOOKS.record_flows(self.program, event, timing)
        if runner is None:
            return
        from localcloud.salesforce.data import TriggerException
        if self._standalone():
            res = self._run_standalone(event, runner)
            if not res.success:
                raise TriggerException(f"{res.exception_type}: {res.exception_message}")
            fault = res.value
        else:
            try:
                fault = runner()
            except ops.ApexThrown as e:
                obj = e.obj
                if obj.cls.name in ("System.LimitException", "System.AssertException"):
                    raise
                raise TriggerException(f"{obj.cls.name}: {obj.fields.get('__message')}") from None
        if fault:
            raise TriggerException(fault, "CANNOT_EXECUTE_FLOW_TRIGGER")

    def _standalone(self) -> bool:
        prog = self.program
        return ops.CURRENT.prog is not prog or not prog.tx.stack

    def _run_standalone(self, event: Any, fn: Any) -> Any:
        """DML from outside Apex (REST, data loads): run ``fn`` as its own Apex execution on the data layer's
        transaction. Statics and governor limits live for the whole data transaction (several DML calls of
        one request share them)."""
        prog = self.program
        from .dataport import Session
        last = getattr(self, "_last", None)
        same = last is not None and last[0] is event.transaction
        if same:
            tx = last[1]
        else:  # the data transaction's user (a REST caller, the Automated Process user of a scheduled flow)
            user_id = getattr(event.transaction, "user_id", None)
            org_id = getattr(getattr(event.transaction, "store", None), "org_id", None)
            tx = prog.new_transaction(data=Session(None, event.transaction, False),
                                      user={k: v for k, v in (("userid", user_id), ("organizationid", org_id)) if v})
        tx.debug_log = []
        self._last = (event.transaction, tx)
        res = prog.run_in(fn, tx=tx, commit=False, reset=not same)
        if res.success and tx.queue and not getattr(tx, "runs_queue_after_commit", False):
            tx.runs_queue_after_commit = True  # type: ignore[attr-defined]
            # Jobs enqueued by triggers of a REST data call run after that call's data
            # transaction commits, each in its own transaction; a rollback drops them.
            from . import asyncjobs
            event.transaction.on_commit(lambda: asyncjobs.after_commit(prog, tx))
        return res

    def _fire(self, event: Any, timing: str) -> None:
        prog = self.program
        wanted = f"{timing} {event.op}"
        trigs = [t for t in prog.triggers.values()
                 if t.sobject.lower() == event.sobject.lower() and wanted in t.events]
        # published platform events are delivered even without Apex triggers (event-triggered flows subscribe)
        if not trigs and not (wanted == "after insert" and event.sobject.lower().endswith("__e")):
            return
        sname = prog.sobject_name(event.sobject)
        new = ApexList([_rec(prog, d, sname) for d in event.new], TypeRef(sname)) if event.new is not None else None
        old = ApexList([_rec(prog, d, sname) for d in event.old], TypeRef(sname)) if event.old is not None else None
        if timing == "after" and new is not None:
            for so in new:
                so.readonly = True
        if old is not None:
            for so in old:
                so.readonly = True
        if new is not None and timing == "after" and sname.lower().endswith("__e"):
            # platform events: their triggers run as subscribers (eventretry), after the save commits
            capture = getattr(prog.tx, "capture_events", None) if ops.CURRENT.prog is prog else None
            if capture is not None:
                capture.extend(new)
            else:
                HOOKS.publish_events(prog, event.transaction, sname, list(new))
            return
        frame = TriggerFrame(event.op, timing, sname, new, old)
        if self._standalone():
            res = self._run_standalone(event, lambda: self._run(prog, trigs, frame))
            if not res.success:
                from localcloud.salesforce.data import TriggerException
                raise TriggerException(f"{trigs[0].name}: execution of {wanted.title().replace(' ', '')} caused by: "
                                       f"{res.exception_type}: {res.exception_message}")
        else:
            try:
                self._run(prog, trigs, frame)
            except ops.ApexThrown as e:
                obj = e.obj
                if obj.cls.name in ("System.LimitException", "System.AssertException"):
                    raise
                from localcloud.salesforce.data import TriggerException
                first = (obj.fields.get("__stack") or "").split("\n")[0].replace(": line", ": line")
                raise TriggerException(
                    f"{self._current}: execution of {timing.title()}{event.op.title()} caused by: "
                    f"{obj.cls.name}: {obj.fields.get('__message')}: {first}") from None
        # write back before-trigger changes and collect addError
        if timing == "before" and event.new is not None:
            for d, so in zip(event.new, new):
                for low, v in so.fields.items():
                    if isinstance(v, (SObject, ApexList)):
                        continue
                    name = so.names[low]
                    if low == "id":
                        continue
                    existing = next((k for k in d if k.lower() == low), name)
                    d[existing] = str(v) if type(v) is IdValue else (int(v) if type(v).__name__ == "Long" else v)
        for i, so in enumerate(new if new is not None else old or []):
            for msg, field in so.errors:
                event.add_error(i, msg, field)

    def _run(self, prog: Any, trigs: list[Any], frame: TriggerFrame) -> None:
        tx = prog.tx
        tx.trigger_stack.append(frame)
        try:
            for t in trigs:
                self._current = t.name
                pos = [_Label(f"Trigger.{t.name}"), 1]
                fr = {POS: pos}
                tx.stack.append(pos)
                try:
                    t.body(fr)
                finally:
                    tx.stack.pop()
        finally:
            tx.trigger_stack.pop()


class _Label:
    def __init__(self, label: str) -> None:
        self.label = label
        self.name = label
        self.cls = None


def _rec(prog: Any, d: dict[str, Any], sname: str) -> SObject:
    so = HOOKS.to_sobject(prog, d, sname)
    so.queried = None
    return so


_ = STR

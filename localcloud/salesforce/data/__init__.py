"""The local org's data side: schema/describe, ids, SQLite storage, DML rules, transactions,
the trigger hook and the SOQL engine. Pure Python, no HTTP.

Typical use (HTTP layer, one transaction per request)::

    store = open_store(".ecbridge/org.sqlite3")
    with store.transaction() as tx:
        results = tx.insert("Contact", [{"LastName": "Ito", "Email": "a@b.jp"}], all_or_none=False)
        page = tx.query("SELECT Id, Email FROM Contact")
    body = page.to_json()            # {"totalSize", "done", "records", "nextRecordsUrl"?}
    more = store.query_more(page.next_records_locator)

See README.md in this package for the full API and the rules it enforces.
"""

from .errors import (InvalidFieldError, InvalidQueryLocatorError, InvalidTypeError,
                     LimitExceededError, MalformedIdError, MalformedQueryError, NotFoundError,
                     RecordError, SalesforceError, TriggerException)
from .ids import is_valid_id, key_prefix, make_id, same_id, to15, to18
from .results import QueryResult, SaveResult
from .schema import FieldDef, ObjectDef, Schema
from .soql import SoqlQuery, parse_soql, soql_from_node
from .specs import (CustomFieldSpec, CustomObjectSpec, PicklistValue, field_spec_from_dict,
                    object_spec_from_dict)
from .store import BindResolver, Limits, Savepoint, Store, Transaction, open_store
from .triggers import TriggerEvent, TriggerHook

__all__ = [
    "open_store", "Store", "Transaction", "Savepoint", "Limits", "BindResolver",
    "Schema", "ObjectDef", "FieldDef", "CustomObjectSpec", "CustomFieldSpec", "PicklistValue",
    "object_spec_from_dict", "field_spec_from_dict",
    "SaveResult", "QueryResult", "RecordError",
    "SalesforceError", "MalformedQueryError", "InvalidFieldError", "InvalidTypeError",
    "NotFoundError", "MalformedIdError", "InvalidQueryLocatorError", "LimitExceededError",
    "TriggerException", "TriggerEvent", "TriggerHook",
    "parse_soql", "soql_from_node", "SoqlQuery",
    "to18", "to15", "is_valid_id", "same_id", "key_prefix", "make_id",
]

"""The local services of the push and dedupe tests (tests/push/conftest.py, tests/dedupe/conftest.py),
shared with the consent tests."""
from tests.dedupe.conftest import local_marketo, marketo_client  # noqa: F401  (shared fixtures)
from tests.push.conftest import push_certs, services, trust_local  # noqa: F401  (shared fixtures)

"""What the resilience benchmarks share: a scratch folder whose CA the process trusts, a patient Marketo
export, and the lost / doubled comparison of an export against a clean push's."""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from localcloud.common.tls import CertificateFiles, ensure_certificates
from python_tasks.marketo import RetryPolicy
from tests.resilience.world import marketo_export


@contextmanager
def trusted_scratch() -> Iterator[tuple[Path, CertificateFiles]]:
    """A temporary folder with certificates in `tls/`, trusted through REQUESTS_CA_BUNDLE as clients do."""
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        certificates = ensure_certificates(base / "tls")
        os.environ["REQUESTS_CA_BUNDLE"] = str(certificates.bundle)
        yield base, certificates


def patient_client(services: Any) -> Any:
    """A client that waits out whatever the last faults or kills left behind."""
    return services.new_client(retry=RetryPolicy(max_attempts=10, base_delay=2.0, max_delay=6.0))


def patient_export(services: Any, emails: list[str]) -> dict[str, Any]:
    client = patient_client(services)
    try:
        return marketo_export(client, emails)
    finally:
        client.close()


def lost_and_doubled(reference: dict[str, Any], export: dict[str, Any]) -> dict[str, Any]:
    """Persons (by email) and orders (by number) the export lost or holds twice, against a clean push."""
    persons = [p["email"] for p in export["persons"]]
    numbers = [o["orderNumber"] for o in export["orders"]]
    return {
        "persons_lost": len({p["email"] for p in reference["persons"]} - set(persons)),
        "persons_doubled": len(persons) - len(set(persons)),
        "orders_lost": len({o["orderNumber"] for o in reference["orders"]} - set(numbers)),
        "orders_doubled": len(numbers) - len(set(numbers)),
        "equals_clean_push": export == reference,
    }


def shown_path(path: Path, root: Path) -> str:
    """`path` relative to the repository when it is inside it, else as given (--out may point anywhere)."""
    resolved = path.resolve()
    return str(resolved.relative_to(root)) if resolved.is_relative_to(root) else str(path)

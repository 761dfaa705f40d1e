"""Test helper: a real data-layer store with the project's custom objects from force-app applied."""

from __future__ import annotations

from pathlib import Path

from localcloud.salesforce.data import open_store
from localcloud.salesforce.metadata.objects import field_spec, object_spec
from localcloud.salesforce.metadata.package import Component, parse_xml

ROOT = Path(__file__).resolve().parents[2]
FORCE_APP = ROOT / "force-app" / "main" / "default"


def apply_force_app_objects(store) -> None:
    objects = FORCE_APP / "objects"
    if not objects.is_dir():
        return
    pending = []
    for obj_dir in sorted(objects.iterdir()):
        name = obj_dir.name
        meta = obj_dir / f"{name}.object-meta.xml"
        field_files = sorted((obj_dir / "fields").glob("*.field-meta.xml")) if (obj_dir / "fields").is_dir() else []
        specs = [field_spec(parse_xml(f.read_bytes(), f.name)) for f in field_files]
        if name.endswith("__c"):
            comp = Component("CustomObject", name, f"objects/{name}.object", meta.read_bytes())
            spec = object_spec(comp)
            spec.fields = []
            store.apply_custom_object(spec)
        pending.extend((name, s) for s in specs if s.full_name.endswith("__c"))
    for name, s in pending:
        store.apply_custom_field(name, s)


def force_app_sources() -> dict[str, str]:
    out: dict[str, str] = {}
    for pattern in ("classes/*.cls", "triggers/*.trigger"):
        for f in sorted(FORCE_APP.glob(pattern)):
            out[f.name] = f.read_text()
    return out


def make_store(tmp_path: Path):
    store = open_store(tmp_path / "org.sqlite3", reset=True)
    apply_force_app_objects(store)
    with store.transaction() as tx:
        for f in sorted((FORCE_APP / "permissionsets").glob("*.permissionset-meta.xml")):
            name = f.name.split(".")[0]
            tx.insert("PermissionSet", [{"Name": name, "Label": name.replace("_", " ")}])
    return store


def run_test_methods(store, sources: dict[str, str]) -> dict[str, tuple[str, str | None]]:
    """Deploy ``sources`` on ``store`` and run every Apex test method: name -> (outcome, message)."""
    from localcloud.salesforce.apex.orgruntime import ApexRuntime

    return {r.method_name: (r.outcome, r.message) for r in ApexRuntime(store, sources).run_tests()}

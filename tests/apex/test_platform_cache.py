"""Platform Cache (issue 18): ``Cache.Org`` / ``Cache.Session`` / partitions / ``Cache.CacheBuilder`` on
partitions from deployed ``PlatformCachePartition`` metadata, with Salesforce's key rules, limits, ttls,
LRU eviction, copies on get, rollback of a failed request and a fresh cache per Apex test."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from localcloud.salesforce.apex import cachelib
from localcloud.salesforce.apex.cachelib import PartitionSpec
from localcloud.salesforce.apex.orgruntime import ApexRuntime
from localcloud.salesforce.data import open_store
from tests.mdapi import package_xml, zip_files

MD = "http://soap.sforce.com/2006/04/metadata"
LOADER = """public class Loader implements Cache.CacheBuilder {
    public static Integer calls = 0;
    public Object doLoad(String key) { calls++; return 'loaded ' + key; }
}"""
BOX = "public class Box { public List<String> items = new List<String>(); }"
NOT_A_BUILDER = "public class NotABuilder { public Object doLoad(String key) { return key; } }"


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[ApexRuntime]:
    cachelib.reset_clock()
    store = open_store(tmp_path / "org.sqlite3")
    cachelib.register_partitions(store, lambda: [PartitionSpec("Main", True, 1, 1), PartitionSpec("Side", False, 1, 0)])
    yield ApexRuntime(store, sources={"Loader.cls": LOADER, "Box.cls": BOX, "NotABuilder.cls": NOT_A_BUILDER})
    cachelib.reset_clock()
    store.close()


def run(runtime: ApexRuntime, source: str, user: str | None = None) -> list[str]:
    prog = runtime.program
    tx = prog.new_transaction(user={"userid": user}) if user else None
    result = prog.execute_anonymous(source, tx=tx)
    assert result.success, f"{result.exception_type}: {result.exception_message}\n{result.stack_trace}"
    return [m for _, level, m in result.transaction.debug_entries if level == "DEBUG"]


def test_put_and_get_on_default_and_named_partitions_return_copies(runtime: ApexRuntime) -> None:
    assert run(runtime, """
        Box b = new Box();
        b.items.add('one');
        Cache.Org.put('box', b);
        b.items.add('two');
        Box got = (Box) Cache.Org.get('box');
        System.debug(got.items + ' ' + (got === b) + ' ' + ((Box) Cache.Org.get('local.Main.box')).items);
        got.items.add('changed');
        System.debug(((Box) Cache.Org.get('box')).items);
        Cache.OrgPartition side = Cache.Org.getPartition('local.Side');
        side.put('count', 5, 600, Cache.Visibility.NAMESPACE, true);
        System.debug(side.get('count') + ' ' + Cache.Org.get('local.Side.count') + ' ' + side.getKeys() + ' '
            + side.contains('count') + ' ' + Cache.Org.contains('count') + ' ' + side.getName());
        System.debug(Cache.Org.getPartition('Side').remove('count') + ' ' + side.remove('count') + ' ' + side.get('count'));
        System.debug(Cache.Org.getKeys() + ' ' + Cache.Org.getNumKeys() + ' ' + Cache.Org.MAX_TTL_SECS + ' '
            + Cache.Session.MAX_TTL_SECS);
        System.debug(Cache.Org.get(new Set<String>{'box', 'missing'}).keySet());
    """) == ["(one) false (one)", "(one)", "5 5 {count} true false local.Side", "true false null",
             "{box} 1 172800 28800", "{box, missing}"]


def test_org_cache_is_shared_by_transactions_and_users_session_cache_is_per_user(runtime: ApexRuntime) -> None:
    run(runtime, "Cache.Org.put('greeting', 'hi'); Cache.Session.put('mine', 'alice');", user="005000000000001AAA")
    assert run(runtime, "System.debug(Cache.Org.get('greeting') + ' ' + Cache.Session.get('mine'));",
               user="005000000000002AAA") == ["hi null"]
    assert run(runtime, "System.debug(Cache.Session.get('mine') + ' ' + Cache.Session.isAvailable());",
               user="005000000000001AAA") == ["alice true"]


def test_cache_builder_loads_once_and_refuses_other_classes(runtime: ApexRuntime) -> None:
    assert run(runtime, """
        System.debug(Cache.Org.get(Loader.class, 'abc') + ' / ' + Cache.Org.get(Loader.class, 'abc') + ' / ' + Loader.calls);
        System.debug(Cache.Session.get(Loader.class, 'x') + ' / ' + Loader.calls);
        System.debug(Cache.Org.remove(Loader.class, 'abc') + ' ' + Cache.Org.get(Loader.class, 'abc') + ' ' + Loader.calls);
        try { Cache.Org.get(NotABuilder.class, 'abc'); } catch (Cache.InvalidCacheBuilderException e) { System.debug(e.getMessage()); }
    """) == ["loaded abc / loaded abc / 1", "loaded x / 2", "true loaded abc 3",
             "NotABuilder does not implement the Cache.CacheBuilder interface"]


def test_key_value_ttl_and_size_rules_throw_cache_exceptions(runtime: ApexRuntime) -> None:
    out = run(runtime, """
        List<String> bad = new List<String>{'bad-key', '', 'a.b', 'x'.repeat(51)};
        for (String k : bad) {
            try { Cache.Org.put(k, 1); System.debug('no error'); } catch (Cache.InvalidParamException e) { System.debug(e.getMessage()); }
        }
        try { Cache.Org.put('k', null); } catch (Cache.InvalidParamException e) { System.debug(e.getMessage()); }
        try { Cache.Org.put('k', 1, 299); } catch (Cache.InvalidParamException e) { System.debug(e.getMessage()); }
        try { Cache.Org.put('k', 1, 172801); } catch (Cache.InvalidParamException e) { System.debug(e.getMessage()); }
        try { Cache.Session.put('k', 1, 28801); } catch (Cache.InvalidParamException e) { System.debug(e.getMessage()); }
        try { Cache.Org.put('big', 'x'.repeat(110000)); } catch (Cache.ItemSizeLimitExceededException e) { System.debug(e.getMessage()); }
        try { Cache.Org.getPartition('local.Nope'); } catch (Cache.Org.OrgCacheException e) { System.debug(e.getMessage()); }
        try { Cache.Session.getPartition('Nope'); } catch (Cache.Session.SessionCacheException e) { System.debug(e.getMessage()); }
        Set<String> many = new Set<String>();
        for (Integer i = 0; i < 11; i++) { many.add('k' + i); }
        try { Cache.Org.get(many); } catch (Cache.BulkApiKeysLimitExceededException e) { System.debug(e.getMessage()); }
        System.debug(Cache.Org.contains('big') + ' ' + Cache.Org.contains('k'));
    """)
    assert out == [
        "Invalid key: bad-key. A key must be alphanumeric", "Invalid key: the key is null or empty",
        "Invalid key: a.b. Qualify a key as namespace.partition.key (local.partition.key in this org) or give the key alone",
        f"Invalid key: {'x' * 51}. A key can have at most 50 characters",
        "Invalid value: a cached value cannot be null",
        "Invalid ttlSecs: 299. The time-to-live must be between 300 and 172800 seconds",
        "Invalid ttlSecs: 172801. The time-to-live must be between 300 and 172800 seconds",
        "Invalid ttlSecs: 28801. The time-to-live must be between 300 and 28800 seconds",
        "Item big is 110002 bytes: the maximum size of a cached item is 102400 bytes (100 KB)",
        "Partition not found: local.Nope", "Partition not found: Nope",
        "Too many keys: 11. A bulk call takes at most 10 keys", "false false"]


def test_ttl_defaults_and_explicit_ttls_expire_on_the_moved_clock(runtime: ApexRuntime) -> None:
    run(runtime, "Cache.Org.put('day', 1); Cache.Org.put('short', 2, 600); Cache.Session.put('eight', 3);")
    cachelib.advance_clock(601)
    assert run(runtime, "System.debug(Cache.Org.get('day') + ' ' + Cache.Org.get('short') + ' ' + Cache.Session.get('eight'));") \
        == ["1 null 3"]
    cachelib.advance_clock(8 * 3600)
    assert run(runtime, "System.debug(Cache.Org.get('day') + ' ' + Cache.Session.get('eight'));") == ["1 null"]
    cachelib.advance_clock(16 * 3600)
    assert run(runtime, "System.debug(Cache.Org.get('day') + ' ' + Cache.Org.getKeys());") == ["null {}"]


def test_a_full_partition_evicts_the_least_recently_used_items(runtime: ApexRuntime) -> None:
    # 1 MB org capacity: ten 99 KB items fit, the eleventh evicts the least recently used
    out = run(runtime, """
        String chunk = 'x'.repeat(99000);
        for (Integer i = 0; i < 10; i++) { Cache.Org.put('item' + i, chunk); }
        System.debug(Cache.Org.getNumKeys());
        Cache.Org.get('item0');
        Cache.Org.put('item10', chunk);
        System.debug(Cache.Org.contains('item0') + ' ' + Cache.Org.contains('item1') + ' ' + Cache.Org.getNumKeys());
        System.debug(Cache.Org.getCapacity() > 90);
    """)
    assert out == ["10", "true false 10", "true"]


def test_cache_operations_of_a_failed_request_are_rolled_back(runtime: ApexRuntime) -> None:
    run(runtime, "Cache.Org.put('kept', 'before');")
    failed = runtime.program.execute_anonymous("Cache.Org.put('kept', 'after'); Cache.Org.put('added', 1); "
                                               "Cache.Org.remove('kept'); Integer x = 1 / 0;")
    assert not failed.success and failed.exception_type == "System.MathException"
    assert run(runtime, "System.debug(Cache.Org.get('kept') + ' ' + Cache.Org.contains('added'));") == ["before false"]


def test_an_org_without_capacity_drops_puts(runtime: ApexRuntime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cachelib.ENV_CAPACITY_MB, "0")
    assert run(runtime, """
        Cache.Org.put('k', 1);
        Cache.OrgPartition p = Cache.Org.getPartition('local.Main');
        p.put('k', 1);
        System.debug(Cache.Org.isAvailable() + ' ' + p.isAvailable() + ' ' + Cache.Org.get('k') + ' ' + p.contains('k'));
    """) == ["false false null false"]


def test_a_partition_without_session_capacity_is_not_available_for_sessions(runtime: ApexRuntime) -> None:
    assert run(runtime, """
        Cache.SessionPartition p = Cache.Session.getPartition('local.Side');
        p.put('k', 1);
        System.debug(p.isAvailable() + ' ' + p.get('k') + ' ' + Cache.Session.getPartition('Main').isAvailable());
    """) == ["false null true"]


def test_async_apex_has_no_session_cache(runtime: ApexRuntime) -> None:
    runtime.deploy({"Probe.cls": """public class Probe implements Queueable {
        public void execute(QueueableContext ctx) {
            String seen = String.valueOf(Cache.Session.isAvailable());
            try { Cache.Session.put('k', 1); } catch (Cache.Session.SessionCacheNoSessionException e) { seen += ' no session'; }
            Cache.Org.put('probe', seen);
        }
    }"""})
    run(runtime, "System.enqueueJob(new Probe());")
    assert run(runtime, "System.debug(Cache.Org.get('probe'));") == ["false no session"]


def test_each_apex_test_starts_with_an_empty_cache(runtime: ApexRuntime) -> None:
    run(runtime, "Cache.Org.put('orgValue', 'org');")
    runtime.deploy({"CacheTest.cls": """@IsTest private class CacheTest {
        @IsTest static void first() {
            Assert.isNull(Cache.Org.get('orgValue'));
            Assert.isNull(Cache.Org.get('testValue'));
            Cache.Org.put('testValue', 1);
            Assert.areEqual(1, Cache.Org.get('testValue'));
        }
        @IsTest static void second() {
            Assert.isNull(Cache.Org.get('testValue'));
            Cache.Org.put('testValue', 2);
        }
    }"""})
    results = runtime.run_tests(["CacheTest"], isolated=False)
    assert [(r.method_name, r.outcome, r.message) for r in results] == [("first", "Pass", None), ("second", "Pass", None)]
    assert run(runtime, "System.debug(Cache.Org.get('orgValue') + ' ' + Cache.Org.get('testValue'));") == ["org null"]


def test_an_org_with_no_default_partition_needs_qualified_keys(tmp_path: Path) -> None:
    store = open_store(tmp_path / "org.sqlite3")
    cachelib.register_partitions(store, lambda: [PartitionSpec("Only", False, 1, 1)])
    rt = ApexRuntime(store)
    assert run(rt, """
        try { Cache.Org.put('k', 1); } catch (Cache.Org.OrgCacheException e) { System.debug(e.getMessage()); }
        Cache.Org.put('local.Only.k', 1);
        System.debug(Cache.Org.get('local.Only.k') + ' ' + Cache.Org.isAvailable());
    """) == ["No default cache partition: use a fully qualified key (namespace.partition.key) or mark a partition as "
             "the default", "1 false"]
    store.close()


# ------------------------------------------------------------------------------------------ metadata deploy
def _partition_xml(default: bool, org_mb: str, session_mb: str = "0", cache_type: str = "Organization") -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<PlatformCachePartition xmlns="{MD}">\n'
            f"    <isDefaultPartition>{str(default).lower()}</isDefaultPartition>\n"
            "    <masterLabel>Part</masterLabel>\n"
            "    <platformCachePartitionTypes>\n"
            f"        <allocatedCapacity>{org_mb}</allocatedCapacity>\n"
            f"        <cacheType>{cache_type}</cacheType>\n"
            "    </platformCachePartitionTypes>\n"
            "    <platformCachePartitionTypes>\n"
            f"        <allocatedCapacity>{session_mb}</allocatedCapacity>\n"
            "        <cacheType>Session</cacheType>\n"
            "    </platformCachePartitionTypes>\n"
            "</PlatformCachePartition>\n")


def _zip(files: dict[str, str]) -> bytes:
    names = [path.split("/")[1].split(".")[0] for path in files]
    return zip_files({**files, "package.xml": package_xml({"PlatformCachePartition": names})})


@pytest.fixture
def org(tmp_path: Path) -> Iterator[Any]:
    from localcloud.salesforce.server import start_local_org
    running = start_local_org(tmp_path / "org", tls_dir=None)
    yield running
    running.stop()


def test_deployed_partitions_are_stored_and_used_by_apex(org: Any) -> None:
    job = org.deployer.deploy_zip(_zip({"cachePartitions/Main.cachePartition": _partition_xml(True, "2", "1")}))
    assert job.status == "Succeeded", [f.problem for f in job.failures] or job.error_message
    assert org.repository.cache_partitions() == [{"name": "Main", "is_default": True, "org_mb": 2, "session_mb": 1}]
    runtime = org.context.extras["apex_runtime"]
    first = runtime.execute_anonymous("Cache.Org.put('shared', 'across requests');")
    assert first.success, first.exception_message
    second = runtime.execute_anonymous("System.debug(Cache.Org.get('local.Main.shared') + ' ' + Cache.Org.getName());")
    assert second.success, second.exception_message
    assert [m for _, level, m in second.transaction.debug_entries if level == "DEBUG"] == [
        "across requests local.Main"]


@pytest.mark.parametrize("files, words, line", [
    ({"cachePartitions/Bad.cachePartition": _partition_xml(False, "-1")}, "allocatedCapacity must be a whole number", 6),
    ({"cachePartitions/Bad.cachePartition": _partition_xml(False, "1", cache_type="Platform")},
     "cacheType must be Organization or Session", 7),
    ({"cachePartitions/A.cachePartition": _partition_xml(True, "1"),
      "cachePartitions/B.cachePartition": _partition_xml(True, "1")}, "Only one cache partition can be the default", 3),
])
def test_bad_partitions_fail_the_deploy_with_file_and_line(org: Any, files: dict[str, str], words: str,
                                                          line: int) -> None:
    job = org.deployer.deploy_zip(_zip(files))
    assert job.status == "Failed"
    failure = job.failures[0]
    assert words in failure.problem and failure.file_name.startswith("cachePartitions/") and failure.line == line
    assert org.repository.cache_partitions() == []


def test_a_deploys_own_tests_use_the_partitions_it_deploys(org: Any) -> None:
    from localcloud.salesforce.metadata import DeployOptions
    test_class = """@IsTest private class PartitionTest {
    @IsTest static void usesTheNewPartition() {
        Cache.OrgPartition part = Cache.Org.getPartition('local.Fresh');
        part.put('k', 'v');
        Assert.areEqual('v', part.get('k'));
        Assert.isTrue(part.isAvailable());
    }
}"""
    meta = (f'<?xml version="1.0" encoding="UTF-8"?><ApexClass xmlns="{MD}"><apiVersion>62.0</apiVersion>'
            "<status>Active</status></ApexClass>")
    files = {"cachePartitions/Fresh.cachePartition": _partition_xml(False, "1"),
             "classes/PartitionTest.cls": test_class, "classes/PartitionTest.cls-meta.xml": meta}
    package = package_xml({"PlatformCachePartition": ["Fresh"], "ApexClass": ["PartitionTest"]})
    job = org.deployer.deploy_zip(zip_files({**files, "package.xml": package}),
                                  DeployOptions(test_level="RunSpecifiedTests", run_tests=["PartitionTest"]))
    assert job.status == "Succeeded", [f.problem for f in job.failures] or job.tests.failures or job.error_message
    assert job.tests.num_tests_run == 1 and not job.tests.failures

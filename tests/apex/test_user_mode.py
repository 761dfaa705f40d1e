"""USER_MODE enforcement: a Standard User holding a permission set is refused, in user mode only,
the objects and fields the profile baseline and the permission set do not grant (WITH USER_MODE,
Database.query(..., AccessLevel.USER_MODE), `insert as user`, Database.*(..., AccessLevel.USER_MODE));
a System Administrator and system mode are not checked. Then the real proof: the project's own Apex
tests pass with the checks on and the generated ECBridge_Integration permission set's definition."""

from __future__ import annotations

import pytest

from localcloud.salesforce.apex import access, install_local_org
from localcloud.salesforce.apex.orgruntime import ApexRuntime
from localcloud.salesforce.metadata.objects import field_spec, object_spec
from localcloud.salesforce.metadata.package import Component, parse_xml
from localcloud.salesforce.metadata.permissionsets import permission_set_definition

from .orgfixture import FORCE_APP, make_store

NS = 'xmlns="http://soap.sforce.com/2006/04/metadata"'


def _object_xml(label: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><CustomObject {NS}><deploymentStatus>Deployed</deploymentStatus>'
            f'<label>{label}</label><nameField><label>Name</label><type>Text</type></nameField>'
            f'<pluralLabel>{label}s</pluralLabel><sharingModel>ReadWrite</sharingModel></CustomObject>').encode()


def _text_field(name: str) -> bytes:
    return (f'<CustomField {NS}><fullName>{name}</fullName><label>{name}</label><length>80</length>'
            f'<required>false</required><type>Text</type></CustomField>').encode()


def _lookup(name: str, target: str, child: str) -> bytes:
    return (f'<CustomField {NS}><fullName>{name}</fullName><label>{name}</label><referenceTo>{target}</referenceTo>'
            f'<relationshipName>{child}</relationshipName><deleteConstraint>SetNull</deleteConstraint>'
            f'<required>false</required><type>Lookup</type></CustomField>').encode()


def _add_object(store, name: str) -> None:
    spec = object_spec(Component("CustomObject", name, f"objects/{name}.object", _object_xml(name)))
    spec.fields = []
    store.apply_custom_object(spec)


def _add_field(store, sobject: str, body: bytes) -> None:
    store.apply_custom_field(sobject, field_spec(parse_xml(body, "f.field-meta.xml")))


LIMITED = {
    "name": "Limited_Access", "label": "Limited Access",
    "objectPermissions": [{"object": "Widget__c", "allowCreate": True, "allowRead": True, "allowEdit": True,
                           "allowDelete": True, "viewAllRecords": False, "modifyAllRecords": False}],
    "fieldPermissions": [
        {"field": "Contact.Open__c", "readable": True, "editable": True},
        {"field": "Widget__c.A__c", "readable": True, "editable": True},
        {"field": "Widget__c.Contact__c", "readable": True, "editable": True},
        {"field": "Widget__c.ReadOnly__c", "readable": True, "editable": False},
    ],
}

USER_MODE_TEST = """
@IsTest
private class UserModeTest {
    @TestSetup
    static void makeUsers() {
        Profile standard = [SELECT Id FROM Profile WHERE Name = 'Standard User' LIMIT 1];
        List<User> users = new List<User>();
        for (String name : new List<String>{'Limited', 'Bare'}) {
            users.add(new User(ProfileId = standard.Id, LastName = name, Email = name + '@example.com',
                Username = name + '.usermode@example.com', Alias = name.left(5), TimeZoneSidKey = 'Asia/Tokyo',
                LocaleSidKey = 'ja_JP', EmailEncodingKey = 'UTF-8', LanguageLocaleKey = 'en_US'));
        }
        insert users;
        PermissionSet limitedAccess = [SELECT Id FROM PermissionSet WHERE Name = 'Limited_Access' LIMIT 1];
        insert new PermissionSetAssignment(AssigneeId = users[0].Id, PermissionSetId = limitedAccess.Id);
        Contact seen = new Contact(LastName = 'Seen', Open__c = 'o', Secret__c = 's');
        insert seen;
        insert new Widget__c(Name = 'w', A__c = 'a', B__c = 'b', Contact__c = seen.Id);
    }

    static User user(String name) {
        return [SELECT Id FROM User WHERE LastName = :name LIMIT 1];
    }

    static Set<String> denied(QueryException e, String sobject) {
        return e.getInaccessibleFields().get(sobject);
    }

    @IsTest
    static void queryOfAGrantedFieldWorks() {
        System.runAs(user('Limited')) {
            List<Contact> rows = [SELECT Id, LastName, Open__c FROM Contact WITH USER_MODE ORDER BY LastName];
            Assert.areEqual('o', rows[0].Open__c, 'the granted custom field is readable');
            List<Widget__c> widgets = Database.query('SELECT Name, A__c FROM Widget__c', AccessLevel.USER_MODE);
            Assert.areEqual('a', widgets[0].A__c, 'dynamic SOQL in user mode reads the granted field');
        }
    }

    @IsTest
    static void describesAnswerForTheRunningUser() {
        System.runAs(user('Limited')) {
            Assert.isTrue(Schema.SObjectType.Contact.fields.Open__c.isAccessible(), 'a granted field is accessible');
            Assert.isTrue(Schema.SObjectType.Contact.fields.Open__c.isUpdateable(), 'a granted field is editable');
            Assert.isFalse(Schema.SObjectType.Contact.fields.Secret__c.isAccessible(), 'a denied field is not');
            Assert.isFalse(Schema.SObjectType.Widget__c.fields.ReadOnly__c.isUpdateable(), 'read-only is not editable');
            Assert.isTrue(Schema.SObjectType.Widget__c.fields.ReadOnly__c.isAccessible(), 'read-only is readable');
            Assert.isTrue(Schema.SObjectType.Contact.fields.LastName.isAccessible(), 'standard fields follow the object');
            Assert.isTrue(Schema.SObjectType.Widget__c.isCreateable(), 'the permission set grants create');
        }
        System.runAs(user('Bare')) {
            Assert.isFalse(Schema.SObjectType.Widget__c.isAccessible(), 'no permission set: no Widget__c');
            Assert.isFalse(Schema.SObjectType.Widget__c.fields.A__c.isAccessible(), 'nor its fields');
            Assert.isFalse(Schema.SObjectType.Widget__c.isCreateable(), 'nor create');
        }
        Assert.isTrue(Schema.SObjectType.Contact.fields.Secret__c.isAccessible(), 'an administrator sees every field');
    }

    @IsTest
    static void queryOfADeniedFieldThrowsNamingEveryDeniedField() {
        System.runAs(user('Limited')) {
            try {
                List<Contact> rows = [SELECT Id, Open__c, Secret__c FROM Contact WHERE Other__c = null
                                      WITH USER_MODE ORDER BY Secret__c];
                Assert.fail('a denied field must fail the query');
            } catch (QueryException e) {
                Assert.areEqual('Insufficient permissions: secure query included inaccessible field', e.getMessage(),
                    'the user-mode message');
                Assert.areEqual(new Set<String>{'Secret__c', 'Other__c'}, denied(e, 'Contact'),
                    'every denied field of every clause');
                Assert.areEqual(1, e.getInaccessibleFields().size(), 'only Contact is named');
            }
        }
    }

    @IsTest
    static void aDeniedFieldOnlyInWhereThrows() {
        System.runAs(user('Limited')) {
            try {
                Integer n = [SELECT COUNT() FROM Contact WHERE Secret__c = 's' WITH USER_MODE];
                Assert.fail('a denied field in WHERE must fail the query');
            } catch (QueryException e) {
                Assert.areEqual(new Set<String>{'Secret__c'}, denied(e, 'Contact'), 'the WHERE field is named');
            }
            try {
                Database.query('SELECT Id FROM Widget__c WHERE B__c != null', AccessLevel.USER_MODE);
                Assert.fail('dynamic SOQL in user mode is checked too');
            } catch (QueryException e) {
                Assert.areEqual(new Set<String>{'B__c'}, denied(e, 'Widget__c'), 'the dynamic WHERE field is named');
            }
        }
    }

    @IsTest
    static void parentPathsAndSubqueriesAreChecked() {
        System.runAs(user('Limited')) {
            List<Widget__c> ok = [SELECT Id, Contact__r.LastName, Contact__r.Open__c FROM Widget__c WITH USER_MODE];
            Assert.areEqual('o', ok[0].Contact__r.Open__c, 'a granted parent field is readable');
            try {
                List<Widget__c> rows = [SELECT Id, Contact__r.Secret__c FROM Widget__c WITH USER_MODE];
                Assert.fail('a denied parent field must fail the query');
            } catch (QueryException e) {
                Assert.areEqual(new Set<String>{'Secret__c'}, denied(e, 'Contact'), 'the parent field is named');
            }
            try {
                List<Contact> rows = [SELECT Id, (SELECT A__c, B__c FROM Widgets__r) FROM Contact WITH USER_MODE];
                Assert.fail('a denied subquery field must fail the query');
            } catch (QueryException e) {
                Assert.areEqual(new Set<String>{'B__c'}, denied(e, 'Widget__c'), 'the subquery field is named');
            }
        }
    }

    @IsTest
    static void systemModeIsNotChecked() {
        System.runAs(user('Limited')) {
            List<Contact> rows = [SELECT Secret__c FROM Contact WHERE Secret__c = 's'];
            Assert.areEqual('s', rows[0].Secret__c, 'system mode reads any field');
            rows = [SELECT Secret__c FROM Contact WITH SYSTEM_MODE];
            Assert.areEqual(1, rows.size(), 'WITH SYSTEM_MODE is system mode');
            insert new Contact(LastName = 'System', Secret__c = 'x');
            insert as system new Contact(LastName = 'System2', Secret__c = 'x');
            Assert.areEqual(2, [SELECT COUNT() FROM Contact WHERE LastName LIKE 'System%'], 'system-mode DML writes any field');
        }
    }

    @IsTest
    static void insertAsUserSettingADeniedFieldThrows() {
        System.runAs(user('Limited')) {
            try {
                insert as user new List<Contact>{new Contact(LastName = 'Fine', Open__c = 'x'),
                                                 new Contact(LastName = 'Denied', Secret__c = 'x')};
                Assert.fail('a denied field must fail insert as user');
            } catch (DmlException e) {
                Assert.areEqual('Operation failed due to fields being inaccessible on Sobject Contact, check errors on Exception or Result!',
                    e.getMessage(), 'the user-mode DML message');
                Assert.areEqual(1, e.getNumDml(), 'one record failed');
                Assert.areEqual(1, e.getDmlIndex(0), 'the record setting the denied field');
                Assert.areEqual(new List<String>{'Secret__c'}, e.getDmlFieldNames(0), 'names the denied field');
            }
        }
        Assert.areEqual(0, [SELECT COUNT() FROM Contact WHERE LastName IN ('Fine', 'Denied')], 'nothing was inserted');
    }

    @IsTest
    static void partialUserModeInsertFailsOnlyTheRecordSettingTheDeniedField() {
        List<Database.SaveResult> results;
        System.runAs(user('Limited')) {
            results = Database.insert(new List<Contact>{new Contact(LastName = 'Fine', Open__c = 'x'),
                                                        new Contact(LastName = 'Denied', Secret__c = 'x'),
                                                        new Contact(LastName = 'Fine2')}, false, AccessLevel.USER_MODE);
        }
        Assert.isTrue(results[0].isSuccess(), 'the granted record is saved');
        Assert.isFalse(results[1].isSuccess(), 'the record setting the denied field fails');
        Assert.isTrue(results[2].isSuccess(), 'the record after it is saved');
        Database.Error error = results[1].getErrors()[0];
        Assert.areEqual(new List<String>{'Secret__c'}, error.getFields(), 'the error names the field');
        Assert.areEqual(StatusCode.INVALID_FIELD_FOR_INSERT_UPDATE, error.getStatusCode(), 'field error code');
        Assert.areEqual(2, [SELECT COUNT() FROM Contact WHERE LastName IN ('Fine', 'Fine2')], 'the good records are kept');
        Assert.areEqual(0, [SELECT COUNT() FROM Contact WHERE LastName = 'Denied'], 'the refused record is not');
    }

    @IsTest
    static void readOnlyFieldCannotBeWrittenInUserMode() {
        System.runAs(user('Limited')) {
            Widget__c w = [SELECT Id, ReadOnly__c FROM Widget__c WITH USER_MODE LIMIT 1];
            w.ReadOnly__c = 'changed';
            Database.SaveResult result = Database.update(w, false, AccessLevel.USER_MODE);
            Assert.isFalse(result.isSuccess(), 'a read-only field cannot be updated');
            Assert.areEqual(new List<String>{'ReadOnly__c'}, result.getErrors()[0].getFields(), 'names the field');
            Widget__c fine = new Widget__c(Id = w.Id, A__c = 'changed');
            Database.update(fine, AccessLevel.USER_MODE);
        }
        Assert.areEqual('changed', [SELECT A__c FROM Widget__c LIMIT 1].A__c, 'the editable field was updated');
    }

    @IsTest
    static void noObjectPermissionIsInsufficientAccess() {
        System.runAs(user('Limited')) {
            try {
                insert as user new Gadget__c(Name = 'g');
                Assert.fail('no create permission on Gadget__c');
            } catch (DmlException e) {
                Assert.areEqual(StatusCode.INSUFFICIENT_ACCESS_OR_READONLY, e.getDmlType(0), 'object permission code');
                Assert.isTrue(e.getMessage().contains('INSUFFICIENT_ACCESS_OR_READONLY'), e.getMessage());
            }
            List<Database.SaveResult> results = Database.insert(
                new List<Gadget__c>{new Gadget__c(Name = 'g1'), new Gadget__c(Name = 'g2')}, false, AccessLevel.USER_MODE);
            for (Database.SaveResult r : results) {
                Assert.areEqual(StatusCode.INSUFFICIENT_ACCESS_OR_READONLY, r.getErrors()[0].getStatusCode(), 'each record');
            }
            try {
                List<Gadget__c> rows = [SELECT Id, Name FROM Gadget__c WITH USER_MODE];
                Assert.fail('no read permission on Gadget__c');
            } catch (QueryException e) {
                Assert.isTrue(e.getInaccessibleFields().containsKey('Gadget__c'), 'the object is named');
            }
            insert new Gadget__c(Name = 'system');
        }
        Assert.areEqual(1, [SELECT COUNT() FROM Gadget__c], 'only the system-mode insert saved a Gadget__c');
    }

    @IsTest
    static void aPermissionSetAssignedInTheTransactionGrantsAtOnce() {
        User bare = user('Bare');
        System.runAs(bare) {
            try {
                List<Contact> rows = [SELECT Open__c FROM Contact WITH USER_MODE];
                Assert.fail('without the permission set Open__c is denied');
            } catch (QueryException e) {
                Assert.areEqual(new Set<String>{'Open__c'}, denied(e, 'Contact'), 'Open__c is denied');
            }
            List<Contact> standardFields = [SELECT LastName, Email FROM Contact WITH USER_MODE];
            Assert.areEqual(1, standardFields.size(), 'standard fields come with the profile');
        }
        PermissionSet limitedAccess = [SELECT Id FROM PermissionSet WHERE Name = 'Limited_Access' LIMIT 1];
        insert new PermissionSetAssignment(AssigneeId = bare.Id, PermissionSetId = limitedAccess.Id);
        System.runAs(bare) {
            Assert.areEqual('o', [SELECT Open__c FROM Contact WITH USER_MODE LIMIT 1].Open__c, 'granted now');
        }
    }

    @IsTest
    static void theAdministratorIsNotChecked() {
        Assert.areEqual('s', [SELECT Secret__c FROM Contact WITH USER_MODE LIMIT 1].Secret__c, 'admin reads anything');
        insert as user new Contact(LastName = 'AdminWrite', Secret__c = 'x');
        insert as user new Gadget__c(Name = 'admin');
        Assert.areEqual(1, [SELECT COUNT() FROM Gadget__c WITH USER_MODE], 'admin writes anything');
    }
}
"""

METHODS = ["queryOfAGrantedFieldWorks", "queryOfADeniedFieldThrowsNamingEveryDeniedField", "aDeniedFieldOnlyInWhereThrows",
           "parentPathsAndSubqueriesAreChecked", "systemModeIsNotChecked", "insertAsUserSettingADeniedFieldThrows",
           "partialUserModeInsertFailsOnlyTheRecordSettingTheDeniedField", "readOnlyFieldCannotBeWrittenInUserMode",
           "noObjectPermissionIsInsufficientAccess", "aPermissionSetAssignedInTheTransactionGrantsAtOnce",
           "theAdministratorIsNotChecked", "describesAnswerForTheRunningUser"]


def _user_mode_store(directory):
    store = make_store(directory)
    for name in ("Widget__c", "Gadget__c"):
        _add_object(store, name)
    for sobject, body in (("Contact", _text_field("Open__c")), ("Contact", _text_field("Secret__c")),
                          ("Contact", _text_field("Other__c")), ("Widget__c", _text_field("A__c")),
                          ("Widget__c", _text_field("B__c")), ("Widget__c", _text_field("ReadOnly__c")),
                          ("Widget__c", _lookup("Contact__c", "Contact", "Widgets"))):
        _add_field(store, sobject, body)
    with store.transaction() as tx:
        tx.insert("PermissionSet", [{"Name": "Limited_Access", "Label": "Limited Access"}])
    return store


@pytest.fixture(scope="module", autouse=True)
def checks_on():
    """These tests are about the checks: the default setting (on), whatever the environment says."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(access.ENV_ENFORCE, raising=False)
        yield


@pytest.fixture(scope="module")
def user_mode_store(tmp_path_factory):
    store = _user_mode_store(tmp_path_factory.mktemp("usermode"))
    access.register_definitions(store, {"Limited_Access": LIMITED}.get)
    yield store
    store.close()


@pytest.fixture(scope="module")
def outcomes(user_mode_store):
    rt = ApexRuntime(user_mode_store, {"UserModeTest.cls": USER_MODE_TEST})
    return {r.method_name: r for r in rt.run_tests()}


@pytest.mark.parametrize("method", METHODS)
def test_user_mode_behaviour(outcomes, method: str) -> None:
    result = outcomes[method]
    assert result.outcome == "Pass", (result.message, result.stack_trace)


def test_every_user_mode_test_method_ran(outcomes) -> None:
    assert sorted(outcomes) == sorted(METHODS)


def _source_with_lowercase_names(definitions: dict) -> object:
    by_name = {k.lower(): v for k, v in definitions.items()}
    return lambda name: by_name.get(name.lower())


def test_without_registered_definitions_user_mode_is_not_checked(tmp_path) -> None:
    """A store the org gave no permission set definitions keeps the old behaviour (documented)."""
    store = _user_mode_store(tmp_path)
    try:
        rt = ApexRuntime(store, {"UserModeTest.cls": USER_MODE_TEST})
        method = "queryOfADeniedFieldThrowsNamingEveryDeniedField"
        [result] = rt.run_tests(methods={"UserModeTest": [method]})
        assert result.method_name == method and result.outcome == "Fail"
        assert "a denied field must fail the query" in result.message
    finally:
        store.close()


def test_the_setting_turns_the_checks_off(user_mode_store, monkeypatch) -> None:
    monkeypatch.setenv(access.ENV_ENFORCE, "off")
    rt = ApexRuntime(user_mode_store, {"UserModeTest.cls": USER_MODE_TEST})
    [result] = rt.run_tests(methods={"UserModeTest": ["aDeniedFieldOnlyInWhereThrows"]})
    assert result.outcome == "Fail" and "a denied field in WHERE must fail the query" in result.message


def test_the_local_org_plugin_hook_reads_definitions_from_the_metadata_repository(tmp_path) -> None:
    from types import SimpleNamespace
    store = make_store(tmp_path)
    try:
        repository = SimpleNamespace(permission_set={"Limited_Access": LIMITED}.get)
        assert install_local_org(SimpleNamespace(data=store, extras={"metadata_repository": repository})) == []
        assert access.definitions_of(store)("Limited_Access") is LIMITED
    finally:
        store.close()


# ------------------------------------------------------------------------------------------------ the real proof


def _force_app_definitions() -> dict:
    out = {}
    for f in sorted((FORCE_APP / "permissionsets").glob("*.permissionset-meta.xml")):
        name = f.name.split(".")[0]
        out[name] = permission_set_definition(Component("PermissionSet", name, f"permissionsets/{name}.permissionset",
                                                        f.read_bytes()))
    return out


def _project_runtime(directory, definitions: dict):
    from .test_force_app import loadable_sources
    store = make_store(directory)
    access.register_definitions(store, _source_with_lowercase_names(definitions))
    return store, ApexRuntime(store, loadable_sources())


@pytest.mark.skipif(not (FORCE_APP / "permissionsets").is_dir(), reason="force-app has no permission set yet")
def test_project_apex_tests_pass_with_user_mode_enforced(tmp_path) -> None:
    """The generated permission set covers every field and object the generated Apex touches in user
    mode: the project's Apex tests (which run as the integration user) pass with the checks on."""
    store, rt = _project_runtime(tmp_path, _force_app_definitions())
    try:
        results = rt.run_tests()
        assert results
        failed = [(r.class_name, r.method_name, r.message) for r in results if r.outcome != "Pass"]
        assert not failed, failed
    finally:
        store.close()


@pytest.mark.skipif(not (FORCE_APP / "permissionsets").is_dir(), reason="force-app has no permission set yet")
def test_project_apex_tests_fail_when_the_permission_set_lacks_a_field(tmp_path) -> None:
    """The control for the proof above: take one field the Apex reads away and the tests notice."""
    definitions = _force_app_definitions()
    definition = definitions["ECBridge_Integration"]
    definition["fieldPermissions"] = [p for p in definition["fieldPermissions"]
                                      if p["field"] != "EC_Order__c.EC_Member_Id__c"]
    store, rt = _project_runtime(tmp_path, definitions)
    try:
        results = rt.run_tests(class_names=["ECBridgeTriggerHandlerTest"])
        failed = [r for r in results if r.outcome != "Pass"]
        assert failed, "removing EC_Order__c.EC_Member_Id__c from the permission set must fail a test"
        assert any("EC_Member_Id__c" in (r.message or "") or "inaccessible" in (r.message or "") for r in failed), \
            [r.message for r in failed]
    finally:
        store.close()


@pytest.mark.skipif(not (FORCE_APP / "permissionsets").is_dir(), reason="force-app has no permission set yet")
def test_every_user_mode_query_of_the_generated_apex_is_readable_for_the_integration_user(tmp_path) -> None:
    """Statically, whether or not a test reaches it: each inline WITH USER_MODE query of force-app
    reads only what a Standard User holding ECBridge_Integration may read."""
    from tree_sitter_language_pack import get_parser

    from localcloud.salesforce.data.soql.parser import soql_from_node
    store = make_store(tmp_path)
    definitions = _force_app_definitions()
    integration = access.build_access("integration", "Standard User", ["ECBridge_Integration"], definitions.get)
    parser = get_parser("apex")
    checked, problems = 0, []
    try:
        for f in sorted((FORCE_APP / "classes").glob("*.cls")):
            source = f.read_bytes()
            stack = [parser.parse(source).root_node]
            while stack:
                node = stack.pop()
                stack.extend(node.children)
                if node.type != "query_expression":
                    continue
                query = soql_from_node(node, source)
                if query.security != "USER_MODE":
                    continue
                checked += 1
                bad = access.inaccessible_in_query(integration, store.schema, query)
                if bad:
                    problems.append((f.name, node.start_point[0] + 1, bad))
    finally:
        store.close()
    assert checked > 0
    assert not problems, problems


@pytest.mark.skipif(not (FORCE_APP / "permissionsets").is_dir(), reason="force-app has no permission set yet")
def test_deploy_time_run_checks_user_mode_with_the_deploys_own_permission_sets(tmp_path) -> None:
    """run_tests_for_deploy(..., permission_sets=...): the deploy's own (not yet committed) permission
    set definitions decide; the project's tests pass with them and fail without the field they need."""
    from types import SimpleNamespace

    from localcloud.salesforce.apex import run_tests_for_deploy

    from .test_force_app import loadable_sources
    store = make_store(tmp_path)
    sources = [SimpleNamespace(kind="ApexTrigger" if n.endswith(".trigger") else "ApexClass", name=n.rsplit(".", 1)[0],
                               body=b) for n, b in loadable_sources().items()]
    try:
        good = run_tests_for_deploy("RunSpecifiedTests", ["ECBridgeTriggerHandlerTest"], sources, store=store,
                                    permission_sets=_force_app_definitions())
        assert good.num_tests_run > 0 and good.failures == [], good.failures
        lacking = _force_app_definitions()
        integration = lacking["ECBridge_Integration"]
        integration["fieldPermissions"] = [p for p in integration["fieldPermissions"]
                                           if p["field"] != "EC_Order__c.EC_Member_Id__c"]
        bad = run_tests_for_deploy("RunSpecifiedTests", ["ECBridgeTriggerHandlerTest"], sources, store=store,
                                   permission_sets=lacking)
        assert bad.failures and any("inaccessible" in (f.get("message") or "") for f in bad.failures), bad.failures
    finally:
        store.close()


# ------------------------------------------------------------------------------------------------ the local org


ORG_TEST = """
@IsTest
private class OrgUserModeTest {
    @IsTest
    static void theDeployedPermissionSetDecides() {
        Profile standard = [SELECT Id FROM Profile WHERE Name = 'Standard User' LIMIT 1];
        User u = new User(ProfileId = standard.Id, LastName = 'Integration', Email = 'i@example.com',
            Username = 'i.usermode@example.com', Alias = 'integ', TimeZoneSidKey = 'Asia/Tokyo',
            LocaleSidKey = 'ja_JP', EmailEncodingKey = 'UTF-8', LanguageLocaleKey = 'en_US');
        insert u;
        PermissionSet ps = [SELECT Id FROM PermissionSet WHERE Name = 'Test_Integration' LIMIT 1];
        insert new PermissionSetAssignment(AssigneeId = u.Id, PermissionSetId = ps.Id);
        insert new Test_Order__c(Name = 'T-1', Total__c = 5, Status__c = 'New');
        System.runAs(u) {
            Assert.areEqual(5, [SELECT Total__c FROM Test_Order__c WITH USER_MODE LIMIT 1].Total__c, 'granted');
            try {
                List<Test_Order__c> rows = [SELECT Total__c, Status__c FROM Test_Order__c WITH USER_MODE];
                Assert.fail('Status__c is not in Test_Integration');
            } catch (QueryException e) {
                Assert.areEqual(new Set<String>{'Status__c'}, e.getInaccessibleFields().get('Test_Order__c'), 'named');
            }
        }
    }
}
"""


def test_the_local_org_checks_user_mode_with_its_deployed_permission_set(tmp_path) -> None:
    """A real local org: the permission set's definition comes from the deploy (metadata repository)
    and an Apex test run from the org's runtime checks USER_MODE with it."""
    from localcloud.salesforce.metadata import DeployOptions
    from localcloud.salesforce.server import start_local_org
    from tests.localorg_http.fixtures import FIXTURE_MEMBERS, meta, mdapi_files
    from tests.mdapi import package_xml, zip_files

    files = mdapi_files()
    files["classes/OrgUserModeTest.cls"] = ORG_TEST
    files["classes/OrgUserModeTest.cls-meta.xml"] = meta("ApexClass")
    files["package.xml"] = package_xml({**FIXTURE_MEMBERS, "ApexClass": ["TestOrderService", "OrgUserModeTest"]})
    org = start_local_org(tmp_path / "org", tls=False)
    try:
        job = org.deployer.deploy_zip(zip_files(files), DeployOptions(test_level="NoTestRun"))
        assert job.status == "Succeeded", job.failures
        runtime = org.context.extras["apex_runtime"]
        [result] = runtime.run_tests(["OrgUserModeTest"])
        assert result.outcome == "Pass", (result.message, result.stack_trace)
    finally:
        org.stop()

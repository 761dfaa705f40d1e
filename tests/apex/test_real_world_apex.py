"""Constructs real-world Apex codebases use (issue 18): stubs, Batch and Schedulable Apex, platform
events, overloads chosen by declared types, safe navigation chains, Checkbox reads, describe maps."""
from __future__ import annotations

from localcloud.salesforce.apex import ApexProgram
from tests.apex.orgfixture import run_test_methods as run_tests


def test_create_stub_routes_every_overload_to_the_provider(store) -> None:
    results = run_tests(store, {
        "Svc.cls": "public class Svc { public Integer add(Integer a, Integer b) { return a + b; }"
                   " public String add(String a, String b) { return a + b; } }",
        "Prov.cls": "public class Prov implements System.StubProvider { public List<String> calls = new List<String>();"
                    " public Object handleMethodCall(Object stub, String name, Type returnType, List<Type> types,"
                    " List<String> names, List<Object> args) { calls.add(name + ':' + types + ':' + names + ':' + args);"
                    " return returnType == Integer.class ? (Object) 42 : (Object) 'stubbed'; } }",
        "StubTest.cls": "@IsTest private class StubTest { @IsTest static void stubs() { Prov p = new Prov();"
                        " Svc s = (Svc) Test.createStub(Svc.class, p);"
                        " Assert.areEqual(42, s.add(1, 2)); Assert.areEqual('stubbed', s.add('a', 'b'));"
                        " Assert.areEqual('add:(Integer, Integer):(a, b):(1, 2)', p.calls[0]);"
                        " Assert.isTrue(String.valueOf(s).startsWith('Svc__sfdc_ApexStub')); } }",
    })
    assert results == {"stubs": ("Pass", None)}


def test_batch_runs_start_execute_finish_at_stop_test_and_schedule_runs_its_job(store) -> None:
    results = run_tests(store, {
        "B.cls": "public class B implements Database.Batchable<SObject>, Database.Stateful { public Integer n = 0;"
                 " public static Integer finished; public Database.QueryLocator start(Database.BatchableContext bc) {"
                 " return Database.getQueryLocator('SELECT Id, LastName FROM Contact'); }"
                 " public void execute(Database.BatchableContext bc, List<Contact> scope) { n += scope.size();"
                 " for (Contact c : scope) { c.LastName += '!'; } update scope; }"
                 " public void finish(Database.BatchableContext bc) { finished = n; } }",
        "S.cls": "public class S implements Schedulable { public static Integer runs = 0;"
                 " public void execute(SchedulableContext sc) { runs++; } }",
        "BTest.cls": "@IsTest private class BTest { @IsTest static void batch() {"
                     " insert new List<Contact>{ new Contact(LastName = 'a'), new Contact(LastName = 'b') };"
                     " Test.startTest(); Database.executeBatch(new B()); Assert.isNull(B.finished); Test.stopTest();"
                     " Assert.areEqual(2, B.finished);"
                     " Assert.areEqual(2, [SELECT COUNT() FROM Contact WHERE LastName LIKE '%!']); }"
                     " @IsTest static void schedule() { Test.startTest(); System.schedule('nightly', '0 0 1 * * ?', new S());"
                     " Assert.areEqual(0, S.runs); Test.stopTest(); Assert.areEqual(1, S.runs); } }",
    })
    assert results == {"batch": ("Pass", None), "schedule": ("Pass", None)}


def test_a_batch_of_more_than_one_chunk_fails_in_a_test_as_in_salesforce(store) -> None:
    results = run_tests(store, {
        "B.cls": "public class B implements Database.Batchable<Integer> { public Iterable<Integer> start("
                 "Database.BatchableContext bc) { return new List<Integer>{ 1, 2, 3 }; }"
                 " public void execute(Database.BatchableContext bc, List<Integer> scope) {}"
                 " public void finish(Database.BatchableContext bc) {} }",
        "BTest.cls": "@IsTest private class BTest { @IsTest static void chunks() { Test.startTest();"
                     " Database.executeBatch(new B(), 2); Test.stopTest(); } }",
    })
    outcome, message = results["chunks"]
    assert outcome == "Fail" and "No more than one executeBatch" in message


def test_overloads_follow_declared_types_and_safe_navigation_ends_the_chain() -> None:
    prog = ApexProgram({"C.cls": """public class C {
        static String d(List<Integer> xs) { return 'integers'; }
        static String d(List<String> xs) { return 'strings'; }
        String g(String s) { return 'string'; }
        String g(TriggerOperation op) { return 'enum'; }
        public static String run() {
            List<String> none = null;
            String s = null;
            return d(none) + ' ' + new C().g(TriggerOperation.AFTER_INSERT) + ' ' + s?.trim().toUpperCase();
        } }"""})
    result = prog.call_static("C", "run")
    assert result.success, result.exception_message
    assert result.value == "strings enum null"


def test_collections_hash_by_content_and_inner_classes_print_their_own_name() -> None:
    prog = ApexProgram({"C.cls": """public class C { public class Inner { Integer i = 1; }
        public static String run() {
            Boolean same = new List<Integer>{ 1, 2 }.hashCode() == new List<Integer>{ 1, 2 }.hashCode();
            return same + ' ' + String.valueOf(new Inner());
        } }"""})
    result = prog.call_static("C", "run")
    assert result.value == "true Inner:[i=1]", result.exception_message


def test_properties_of_a_class_compiled_after_the_reader_run_their_accessors() -> None:
    """NebulaLogger: ``if (LoggerParameter.STORE_TRANSACTION_LIMITS)`` in a class compiled before
    LoggerParameter read the backing field (null) instead of running the lazy getter."""
    prog = ApexProgram({
        "A.cls": """public class A extends Z { public static String run() {
            Z.COUNT = 7;
            A a = new A();
            return Z.FLAG + ' ' + Z.COUNT + ' ' + a.describe(); }
            public String describe() { return label; } }""",
        "Z.cls": """public virtual class Z {
            public static final Boolean FLAG { get { if (FLAG == null) { FLAG = true; } return FLAG; } private set; }
            public static Integer COUNT { get; set { COUNT = value + 1; } }
            public String label { get { return 'lazy'; } } }""",
    })
    result = prog.call_static("A", "run")
    assert result.success, result.exception_message
    assert result.value == "true 8 lazy"


def test_results_built_from_json_keep_their_type_and_errors_and_serialize() -> None:
    """Test code mocks Database/Approval results with JSON.deserialize and logs them with JSON.serialize."""
    prog = ApexProgram({"C.cls": """public class C { public static String run() {
        String bad = '{"success":false,"id":"001000000000001AAA","errors":[{"message":"no",'
            + '"statusCode":"INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY","fields":[]}]}';
        List<String> out = new List<String>();
        Approval.LockResult lr = (Approval.LockResult) JSON.deserialize(bad, Approval.LockResult.class);
        out.add(lr.isSuccess() + ' ' + lr.getErrors()[0].getMessage() + ' ' + lr.getId());
        Object unlock = JSON.deserialize(bad, Approval.UnlockResult.class);
        out.add((unlock instanceof Approval.UnlockResult) + ' ' + (unlock instanceof Approval.LockResult));
        Database.EmptyRecycleBinResult e
            = (Database.EmptyRecycleBinResult) JSON.deserialize(bad, Database.EmptyRecycleBinResult.class);
        out.add(e.isSuccess() + ' ' + e.getErrors().size());
        out.add(JSON.serialize(JSON.deserialize(bad, Database.UndeleteResult.class)));
        Id none = null;
        Database.SaveResult saved = (Database.SaveResult) JSON.deserialize('{"success": true, "id": "' + none + '"}',
            Database.SaveResult.class);
        out.add(saved.isSuccess() + ' ' + saved.getId());
        out.add(JSON.serialize(JSON.deserialize('{"success":true,"leadId":"00Q000000000001AAA"}',
            Database.LeadConvertResult.class)));
        return String.join(out, '|'); } }"""})
    result = prog.call_static("C", "run")
    assert result.success, result.exception_message
    assert result.value.split("|") == [
        "false no 001000000000001AAA", "true false", "false 1",
        '{"id":"001000000000001AAA","success":false,"errors":[{"statusCode":'
        '"INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY","message":"no","fields":[]}]}',
        "true null",
        '{"leadId":"00Q000000000001AAA","success":true,"errors":[]}']


def test_setup_queries_of_logging_frameworks_name_real_fields(store) -> None:
    """NebulaLogger's selectors: User -> Profile -> UserLicense, User.SmallPhotoUrl, AuthSession -> LoginHistory."""
    prog = ApexProgram({"C.cls": """public class C { public static String run() {
        User u = [SELECT Profile.Name, Profile.UserLicenseId, Profile.UserLicense.LicenseDefinitionKey,
                  SmallPhotoUrl FROM User WHERE Id = :UserInfo.getUserId()];
        List<AuthSession> sessions = [SELECT Id, LoginHistoryId, LoginHistory.Application, LoginHistory.Browser,
                                      ParentId, Parent.SessionType FROM AuthSession];
        return u.Profile.Name + ' ' + u.Profile.UserLicense?.LicenseDefinitionKey + ' ' + sessions.size(); } }"""},
        data=store)
    result = prog.call_static("C", "run")
    assert result.success, result.exception_message
    assert result.value == "System Administrator SFDC 0"


def test_concatenating_null_strings_prints_null() -> None:
    prog = ApexProgram({"C.cls": """public class C { static String field;
        public static String run() { String a = null; String b = null; Integer n = null;
            return (a + b) + '|' + (field + a) + '|' + (a + n) + '|' + ('x' + n); } }"""})
    result = prog.call_static("C", "run")
    assert result.success, result.exception_message
    assert result.value == "nullnull|nullnull|nullnull|xnull"


def test_malformed_json_fails_with_the_parser_messages_salesforce_gives() -> None:
    prog = ApexProgram({"C.cls": r"""public class C { public static String run() {
        List<String> out = new List<String>();
        for (String s : new List<String>{ '{bad', '[1,', '{"a" 1}', '[1 2]', '' }) {
            try { JSON.deserializeUntyped(s); out.add('parsed'); } catch (JSONException e) { out.add(e.getMessage()); }
        }
        return String.join(out, '|'); } }"""})
    result = prog.call_static("C", "run")
    assert result.success, result.exception_message
    assert result.value.split("|") == [
        "Unexpected character ('b' (code 98)): was expecting double-quote to start field name at [line:1, column:3]",
        "Unexpected end-of-input: expected close marker for ARRAY at [line:1, column:5]",
        "Unexpected character ('1' (code 49)): was expecting a colon to separate field name and value "
        "at [line:1, column:7]",
        "Unexpected character ('2' (code 50)): was expecting comma to separate Array entries at [line:1, column:5]",
        "No content to map due to end-of-input"]


def test_counted_test_ids_with_any_last_characters_stay_distinct() -> None:
    """Test doubles count Ids into the last characters ('a01' + zeros + n, 18 long); Salesforce keeps
    each as written, so they are distinct map keys. A real 18-character Id still equals its 15."""
    prog = ApexProgram({"C.cls": """public class C { public static String run() {
        Id one = 'a01000000000000001'; Id two = 'a01000000000000002';
        Map<Id, Integer> m = new Map<Id, Integer>{ one => 1, two => 2 };
        Id real15 = '001000000000001'; Id real18 = '001000000000001AAA';
        return m.size() + ' ' + one + ' ' + (real15 == real18) + ' ' + real15; } }"""})
    result = prog.call_static("C", "run")
    assert result.success, result.exception_message
    assert result.value == "2 a01000000000000001 true 001000000000001AAA"


def test_a_null_relationship_read_as_a_value_is_null(store) -> None:
    """Apex: ``c.Account.Name`` is null when ``c.Account`` is null; writing through it still throws."""
    prog = ApexProgram({"C.cls": """public class C { public static String run() {
        Contact c = new Contact(LastName = 'x');
        insert c;
        Contact q = [SELECT Account.Name, Account.Owner.Name FROM Contact WHERE Id = :c.Id];
        String out = q.Account.Name + ' ' + q.Account.Owner.Name + ' ' + new Contact().Account.Name
            + ' ' + [SELECT Account.Name FROM Contact LIMIT 1].Account.Name;
        try { q.Account.Name = 'y'; } catch (NullPointerException e) { out += ' npe'; }
        return out; } }"""}, data=store)
    result = prog.call_static("C", "run")
    assert result.success, result.exception_message
    assert result.value == "null null null null npe"


def test_dml_on_an_empty_list_is_no_dml_statement(store) -> None:
    prog = ApexProgram({"C.cls": """public class C { public static String run() {
        List<Contact> none = new List<Contact>();
        insert none; update none; Database.insert(none, false); Database.update(none);
        Integer before = Limits.getDmlStatements();
        insert new Contact(LastName = 'x');
        return before + ' ' + Limits.getDmlStatements() + ' ' + Limits.getDmlRows(); } }"""}, data=store)
    result = prog.call_static("C", "run")
    assert result.success, result.exception_message
    assert result.value == "0 1 1"


def test_user_info_names_the_running_users_real_profile(store) -> None:
    prog = ApexProgram({"C.cls": """public class C { public static String run() {
        Profile p = [SELECT Id FROM Profile WHERE Name = 'Standard User'];
        User u = new User(Alias = 'u1', Email = 'u1@example.com', EmailEncodingKey = 'UTF-8', LastName = 'One',
            LanguageLocaleKey = 'en_US', LocaleSidKey = 'en_US', ProfileId = UserInfo.getProfileId(),
            TimeZoneSidKey = 'GMT', Username = 'u1@example.com.local');
        insert u;
        String out = [SELECT Name FROM Profile WHERE Id = :UserInfo.getProfileId()].Name;
        User other = new User(Alias = 'u2', Email = 'u2@example.com', EmailEncodingKey = 'UTF-8', LastName = 'Two',
            LanguageLocaleKey = 'en_US', LocaleSidKey = 'en_US', ProfileId = p.Id, TimeZoneSidKey = 'GMT',
            Username = 'u2@example.com.local');
        insert other;
        System.runAs(new User(Id = other.Id)) { out += ' ' + (UserInfo.getProfileId() == p.Id); }
        return out + ' ' + [SELECT Name FROM Profile WHERE Id = :UserInfo.getProfileId()].Name; } }"""}, data=store)
    result = prog.call_static("C", "run")
    assert result.success, result.exception_message
    assert result.value == "System Administrator true System Administrator"


def test_type_for_name_of_an_sobject_name_gives_the_sobject_even_if_a_class_shadows_it(store) -> None:
    prog = ApexProgram({
        "Account.cls": "public class Account { public String name = 'class'; }",
        "C.cls": """public class C { public static String run() {
            Object o = Type.forName('Account').newInstance();
            return (o instanceof SObject) + ' ' + ((SObject) o).getSObjectType()
                + ' ' + (Type.forName('C').newInstance() instanceof C); } }"""}, data=store)
    result = prog.call_static("C", "run")
    assert result.success, result.exception_message
    assert result.value == "true Account true"


def test_dynamic_soql_binds_name_class_fields_of_the_calling_class(store) -> None:
    """Database.query resolves :name against locals, then the static and instance fields in scope."""
    results = run_tests(store, {
        "Q.cls": "public class Q { private static final String WANTED = 'b'; private String mine = 'a';"
                 " public static Integer byStatic() { return Database.query('SELECT Id FROM Contact WHERE LastName = :WANTED').size(); }"
                 " public Integer byInstance() { return Database.countQuery('SELECT COUNT() FROM Contact WHERE LastName = :mine'); }"
                 " public static Integer byLocalFirst() { String wanted = 'a';"
                 " return Database.query('SELECT Id FROM Contact WHERE LastName = :wanted').size(); }"
                 " public static void unknown() { Database.query('SELECT Id FROM Contact WHERE LastName = :nope'); } }",
        "QTest.cls": "@IsTest private class QTest { @IsTest static void binds() {"
                     " insert new List<Contact>{ new Contact(LastName = 'a'), new Contact(LastName = 'b'), new Contact(LastName = 'b') };"
                     " Assert.areEqual(2, Q.byStatic()); Assert.areEqual(1, new Q().byInstance());"
                     " Assert.areEqual(1, Q.byLocalFirst());"
                     " try { Q.unknown(); Assert.fail('no such variable'); } catch (QueryException e) {"
                     " Assert.areEqual('Variable does not exist: nope', e.getMessage()); } } }",
    })
    assert results == {"binds": ("Pass", None)}


def test_sobject_equality_treats_a_field_set_to_null_as_unset(store) -> None:
    """`clone.Id = null` still equals a record that never had an Id; Set/Map keys agree with ==."""
    results = run_tests(store, {
        "EqTest.cls": "@IsTest private class EqTest { @IsTest static void eq() {"
                      " Account a = new Account(Name = 'x'); Account b = new Account(Name = 'x', Id = null);"
                      " Assert.areEqual(a, b); Assert.isTrue(a == b);"
                      " Assert.isTrue(new Set<Account>{ a }.contains(b));"
                      " Assert.areNotEqual(a, new Account(Name = 'x', Phone = '1'));"
                      " Assert.areNotEqual(new Account(Name = 'x', Phone = null), new Account(Name = 'y')); } }",
    })
    assert results == {"eq": ("Pass", None)}


def test_database_upsert_of_an_empty_list_with_an_external_id_field_returns_no_results(store) -> None:
    results = run_tests(store, {
        "UpTest.cls": "@IsTest private class UpTest { @IsTest static void empty() {"
                      " List<Database.UpsertResult> rs = Database.upsert(new List<Account>(), Account.Id, true);"
                      " Assert.areEqual(0, rs.size());"
                      " Assert.areEqual(0, Database.upsert(new List<Account>(), Account.Id, false).size());"
                      " Assert.areEqual(0, Limits.getDmlStatements()); } }",
    })
    assert results == {"empty": ("Pass", None)}


def test_every_org_has_the_minimum_access_profile_which_grants_no_object_access(store) -> None:
    results = run_tests(store, {
        "ProfTest.cls": "@IsTest private class ProfTest { @IsTest static void profile() {"
                        " Profile p = [SELECT Id, Name FROM Profile WHERE Name = 'Minimum Access - Salesforce'];"
                        " Assert.isNotNull(p.Id); } }",
    })
    assert results == {"profile": ("Pass", None)}
    from localcloud.salesforce.apex.access import PROFILE_OBJECTS
    assert "minimum access - salesforce" not in PROFILE_OBJECTS


def test_datetime_value_of_a_long_is_epoch_milliseconds(store) -> None:
    results = run_tests(store, {
        "DtTest.cls": "@IsTest private class DtTest { @IsTest static void dt() {"
                      " Datetime now = Datetime.newInstance(1700000000123L);"
                      " Assert.areEqual(now, Datetime.valueOf(Long.valueOf(String.valueOf(now.getTime()))));"
                      " Assert.areEqual(1700000000123L, Datetime.valueOf(1700000000123L).getTime()); } }",
    })
    assert results == {"dt": ("Pass", None)}


def test_share_row_cause_names_an_apex_sharing_reason(store) -> None:
    """`Schema.X__Share.RowCause.Reason__c` is the reason's API name (the String stored in RowCause)."""
    from localcloud.salesforce.metadata.objects import object_spec
    from localcloud.salesforce.metadata.package import Component
    ns = 'xmlns="http://soap.sforce.com/2006/04/metadata"'
    xml = (f'<?xml version="1.0" encoding="UTF-8"?><CustomObject {ns}><deploymentStatus>Deployed</deploymentStatus>'
           f'<label>Doc</label><nameField><label>Name</label><type>Text</type></nameField>'
           f'<pluralLabel>Docs</pluralLabel><sharingModel>Private</sharingModel></CustomObject>').encode()
    spec = object_spec(Component("CustomObject", "Doc__c", "objects/Doc__c.object", xml))
    spec.fields = []
    store.apply_custom_object(spec)
    results = run_tests(store, {
        "RcTest.cls": "@IsTest private class RcTest { @IsTest static void reason() {"
                      " Assert.areEqual('RowCause', String.valueOf(Schema.Doc__Share.RowCause));"
                      " Assert.areEqual('loggedbyuser__c', Schema.Doc__Share.RowCause.LoggedByUser__c.toLowerCase()); } }",
    })
    assert results == {"reason": ("Pass", None)}


def test_this_call_with_a_cast_argument_picks_the_overload_of_the_cast_type(store) -> None:
    """`this.run((List<SObject>) accounts)` calls run(List<SObject>), not run(List<Account>) again."""
    results = run_tests(store, {
        "Ov.cls": "public class Ov { public String last;"
                  " public void run(List<Account> accounts) { last = 'typed'; this.run((List<SObject>) accounts); }"
                  " public void run(List<SObject> records) { last = 'generic:' + records.size(); } }",
        "OvTest.cls": "@IsTest private class OvTest { @IsTest static void overload() { Ov o = new Ov();"
                      " o.run(new List<Account>{ new Account(Name = 'a') }); Assert.areEqual('generic:1', o.last); } }",
    })
    assert results == {"overload": ("Pass", None)}


def test_records_saved_inside_run_as_are_created_owned_and_modified_by_that_user(store) -> None:
    sources = {"RunAsAuditTest.cls": """@IsTest private class RunAsAuditTest {
        @IsTest static void auditFieldsFollowTheRunningUser() {
            Profile p = [SELECT Id FROM Profile WHERE Name = 'Standard User'];
            User other = new User(Alias = 'u2', Email = 'u2@example.com', EmailEncodingKey = 'UTF-8', LastName = 'Two',
                LanguageLocaleKey = 'en_US', LocaleSidKey = 'en_US', ProfileId = p.Id, TimeZoneSidKey = 'GMT',
                Username = 'runas-audit@example.com.local');
            insert other;
            Account mine = new Account(Name = 'Mine');
            insert mine;
            Test.startTest();
            System.runAs(other) {
                insert new Account(Name = 'Theirs');
                mine.Description = 'touched';
            }
            update mine;
            Test.stopTest();
            Account theirs = [SELECT CreatedById, OwnerId, LastModifiedById FROM Account WHERE Name = 'Theirs'];
            Assert.areEqual(other.Id, theirs.CreatedById, 'created by the runAs user');
            Assert.areEqual(other.Id, theirs.OwnerId, 'owned by the runAs user');
            Assert.areEqual(other.Id, theirs.LastModifiedById, 'last modified by the runAs user');
            Assert.areEqual(UserInfo.getUserId(), [SELECT LastModifiedById FROM Account WHERE Id = :mine.Id].LastModifiedById,
                'outside the block the running user is back');
        } }"""}
    assert run_tests(store, sources) == {"auditFieldsFollowTheRunningUser": ("Pass", None)}

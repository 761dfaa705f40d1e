"""Salesforce semantics the fflib corpus (fflib-apex-mocks, fflib-apex-common) relies on (issue 18):
each test pins one behaviour a corpus failure traced back to."""
from __future__ import annotations

from localcloud.salesforce.apex import access
from localcloud.salesforce.apex.orgruntime import ApexRuntime


def run_tests(store, sources: dict[str, str], **kwargs) -> dict[str, tuple[str, str | None]]:
    rt = ApexRuntime(store, sources, **kwargs)
    return {r.method_name: (r.outcome, r.message) for r in rt.run_tests()}


def test_custom_labels_stay_readable_after_the_apex_is_deployed(store) -> None:
    results = run_tests(store, {
        "LabelTest.cls": "@IsTest private class LabelTest { @IsTest static void reads() {"
                         " Assert.areEqual('Hello {0}', System.Label.Greeting); Assert.areEqual('Hello {0}', Label.greeting); } }",
    }, labels={"greeting": "Hello {0}"})
    assert results == {"reads": ("Pass", None)}


def test_list_of_schema_qualified_type_matches_the_unqualified_overload(store) -> None:
    results = run_tests(store, {
        "Pick.cls": "public class Pick { public static String f(List<String> n) { return 'strings'; }"
                    " public static String f(List<SObjectField> n) { return 'fields'; } }",
        "PickTest.cls": "@IsTest private class PickTest { @IsTest static void picks() {"
                        " Assert.areEqual('fields', Pick.f(new List<Schema.SObjectField>{ Account.Name }));"
                        " Assert.areEqual('strings', Pick.f(new List<String>{ 'Name' })); } }",
    })
    assert results == {"picks": ("Pass", None)}


def test_permission_set_rows_inserted_by_a_test_grant_access_and_describe_answers_for_the_user(store) -> None:
    access.register_definitions(store, lambda name: None)  # the org checks access; no deployed definitions
    results = run_tests(store, {
        "PermTest.cls": """@IsTest private class PermTest { @IsTest static void grants() {
            PermissionSet ps = new PermissionSet(Label = 'Read Contact', Name = 'ReadContact'); insert ps;
            insert new ObjectPermissions(ParentId = ps.Id, SobjectType = 'Contact', PermissionsRead = true,
                PermissionsCreate = false, PermissionsEdit = false, PermissionsDelete = false);
            Profile p = [SELECT Id FROM Profile WHERE Name = 'Minimum Access - Salesforce'];
            User u = new User(Username = 'ro@example.com.test', Alias = 'ro', Email = 'ro@example.com',
                EmailEncodingKey = 'UTF-8', LastName = 'Ro', LanguageLocaleKey = 'en_US', LocaleSidKey = 'en_US',
                ProfileId = p.Id, TimeZoneSidKey = 'America/Los_Angeles');
            insert u;
            System.runAs(u) {
                Assert.isFalse(Contact.SObjectType.getDescribe().isAccessible(), 'no assignment yet');
            }
            insert new PermissionSetAssignment(AssigneeId = u.Id, PermissionSetId = ps.Id);
            System.runAs(u) {
                Assert.isTrue(Contact.SObjectType.getDescribe().isAccessible());
                Assert.isFalse(Contact.SObjectType.getDescribe().isCreateable());
                Assert.isTrue(Contact.LastName.getDescribe().isAccessible());
                Assert.isFalse(Contact.LastName.getDescribe().isCreateable(), 'no Create on Contact');
                Assert.isFalse(Contact.LastName.getDescribe().isUpdateable(), 'no Edit on Contact');
                Assert.isFalse(Account.SObjectType.getDescribe().isAccessible());
            }
        } }""",
    })
    assert results == {"grants": ("Pass", None)}


def test_a_date_assigned_passed_or_cast_to_datetime_becomes_midnight_gmt(store) -> None:
    results = run_tests(store, {
        "When.cls": "public class When { public Object at; public When(Datetime at) { this.at = at; } }",
        "WhenTest.cls": "@IsTest private class WhenTest { @IsTest static void converts() {"
                        " Date d = Date.newInstance(2020, 1, 2);"
                        " Object passed = new When(d).at; Assert.isTrue(passed instanceof Datetime);"
                        " Assert.areEqual(Datetime.newInstanceGmt(2020, 1, 2), (Datetime) passed);"
                        " Datetime assigned = d; Assert.areEqual(Datetime.newInstanceGmt(2020, 1, 2), assigned);"
                        " Object o = d; Datetime cast = (Datetime) o;"
                        " Assert.areEqual(Datetime.newInstanceGmt(2020, 1, 2), cast); } }",
    })
    assert results == {"converts": ("Pass", None)}


def test_instanceof_widens_numbers_and_dates_as_salesforce_does(store) -> None:
    results = run_tests(store, {
        "KindTest.cls": "@IsTest private class KindTest { @IsTest static void widens() {"
                        " Object i = 9; Object l = 9L; Object d = 9.99; Object today = Date.today(); Object now = Datetime.now();"
                        " Assert.isTrue(i instanceof Long); Assert.isTrue(i instanceof Decimal); Assert.isTrue(i instanceof Double);"
                        " Assert.isTrue(l instanceof Decimal); Assert.isTrue(l instanceof Double); Assert.isFalse(l instanceof Integer);"
                        " Assert.isTrue(d instanceof Double); Assert.isFalse(d instanceof Long); Assert.isFalse(d instanceof Integer);"
                        " Assert.isTrue(today instanceof Datetime); Assert.isFalse(now instanceof Date);"
                        " Object s = '9'; Assert.isFalse(s instanceof Decimal); } }",
    })
    assert results == {"widens": ("Pass", None)}


def test_json_serialize_refuses_a_schema_sobjectfield(store) -> None:
    results = run_tests(store, {
        "JsonTest.cls": "@IsTest private class JsonTest { @IsTest static void refuses() {"
                        " try { JSON.serialize(Account.Description); Assert.fail('serialized'); }"
                        " catch (JSONException e) { Assert.areEqual('Type unsupported in JSON: Schema.SObjectField', e.getMessage()); }"
                        " Assert.areEqual('Description', '' + Account.Description); } }",
    })
    assert results == {"refuses": ("Pass", None)}


def test_an_empty_list_or_set_initializer_builds_a_list_or_set(store) -> None:
    results = run_tests(store, {
        "EmptyTest.cls": "@IsTest private class EmptyTest { @IsTest static void empties() {"
                         " Object l = new List<Type>{}; Object s = new Set<String>{};"
                         " Assert.isTrue(l instanceof List<Type>); Assert.isTrue(s instanceof Set<String>);"
                         " Assert.areEqual(1, new List<Type>{}.hashCode(), 'an empty list hashes as 1');"
                         " Assert.areEqual('()', String.valueOf(new List<Integer>{})); } }",
    })
    assert results == {"empties": ("Pass", None)}


def test_string_value_of_null_is_null_so_a_missing_field_value_is_blank(store) -> None:
    results = run_tests(store, {
        "BlankTest.cls": "@IsTest private class BlankTest { @IsTest static void blank() {"
                         " Account a = new Account(Name = 'E');"
                         " Assert.isNull(String.valueOf(a.get(Account.ShippingCountry)));"
                         " Assert.isTrue(String.isBlank(String.valueOf(a.get(Account.NumberOfEmployees))));"
                         " Assert.areEqual('x null', 'x ' + a.get(Account.ShippingCountry), 'concatenation still prints null'); } }",
    })
    assert results == {"blank": ("Pass", None)}


def test_subclass_fields_are_initialized_before_the_base_constructor_calls_a_virtual_method(store) -> None:
    results = run_tests(store, {
        "Base.cls": "public virtual class Base { public Base() { onInit('base'); } public virtual void onInit(String s) {} }",
        "Derived.cls": "public class Derived extends Base { public List<String> seen = new List<String>{ 'field' };"
                       " public Derived() { super(); seen.add('ctor'); }"
                       " public override void onInit(String s) { seen.add(s); } }",
        "InitTest.cls": "@IsTest private class InitTest { @IsTest static void order() {"
                        " Assert.areEqual(new List<String>{ 'field', 'base', 'ctor' }, new Derived().seen); } }",
    })
    assert results == {"order": ("Pass", None)}


def test_a_method_implementing_an_interface_wins_when_the_two_spell_the_parameter_type_differently(store) -> None:
    results = run_tests(store, {
        "IUow.cls": "public interface IUow { void registerWork(Uow.IDoWork work); }",
        "Uow.cls": "public virtual class Uow implements IUow { public interface IDoWork { void doWork(); }"
                   " public Integer works = 0; public void registerWork(IDoWork work) { works++; } }",
        "Work.cls": "public class Work implements Uow.IDoWork { public void doWork() {} }",
        "SubUow.cls": "public class SubUow extends Uow { }",
        "UowTest.cls": "@IsTest private class UowTest { @IsTest static void dispatches() {"
                       " SubUow u = new SubUow(); u.registerWork(new Work()); Assert.areEqual(1, u.works); } }",
    })
    assert results == {"dispatches": ("Pass", None)}


def test_set_overloads_are_chosen_by_the_element_type(store) -> None:
    results = run_tests(store, {
        "Sel.cls": "public class Sel { public List<String> log = new List<String>();"
                   " public Sel f(String n) { return this; }"
                   " public Sel f(Set<String> n) { log.add('strings'); return this; }"
                   " public Sel f(Set<Schema.SObjectField> n) { log.add('fields'); return this; } }",
        "SelTest.cls": "@IsTest private class SelTest { @IsTest static void picks() { Sel s = new Sel();"
                       " s.f('x').f(new Set<String>{ 'Name' }).f(new Set<Schema.SObjectField>{ Contact.Name });"
                       " Assert.areEqual(new List<String>{ 'strings', 'fields' }, s.log); } }",
    })
    assert results == {"picks": ("Pass", None)}


def test_child_relationship_describes_of_one_relationship_are_equal_map_keys(store) -> None:
    results = run_tests(store, {
        "RelTest.cls": "@IsTest private class RelTest { @IsTest static void keys() {"
                       " Map<Schema.ChildRelationship, Integer> m = new Map<Schema.ChildRelationship, Integer>();"
                       " for (Integer i = 0; i < 2; i++) { for (Schema.ChildRelationship r : Account.SObjectType.getDescribe().getChildRelationships()) {"
                       " if (r.getRelationshipName() == 'Contacts') { m.put(r, i); } } }"
                       " Assert.areEqual(1, m.size()); Assert.areEqual(1, m.values()[0]); } }",
    })
    assert results == {"keys": ("Pass", None)}


def test_json_deserialize_of_an_sobject_reads_a_checkbox_given_as_text(store) -> None:
    results = run_tests(store, {
        "CheckTest.cls": "@IsTest private class CheckTest { @IsTest static void reads() {"
                         " List<SObject> typed = (List<SObject>) JSON.deserialize('[{\"attributes\":{\"type\":\"Contact\"},"
                         "\"DoNotCall\":\"true\",\"LastName\":\"x\"}]', List<SObject>.class);"
                         " Assert.areEqual(true, typed[0].get('DoNotCall'));"
                         " Contact c = (Contact) JSON.deserialize('{\"DoNotCall\":\"false\"}', Contact.class);"
                         " Assert.areEqual(false, c.DoNotCall); } }",
    })
    assert results == {"reads": ("Pass", None)}


def test_a_generic_sobject_list_has_no_sobject_type(store) -> None:
    results = run_tests(store, {
        "TypeTest.cls": "@IsTest private class TypeTest { @IsTest static void none() {"
                        " Assert.isNull(new List<SObject>().getSObjectType());"
                        " Assert.isNull(new Map<Id, SObject>().getSObjectType());"
                        " Assert.areEqual(Account.SObjectType, new List<Account>().getSObjectType()); } }",
    })
    assert results == {"none": ("Pass", None)}


def test_query_locator_binds_the_callers_variables_when_it_is_made(store) -> None:
    results = run_tests(store, {
        "Sel2.cls": "public class Sel2 { public Database.QueryLocator byIds(Set<Id> idSet) {"
                    " return Database.getQueryLocator('SELECT Name FROM Account WHERE Id IN :idSet ORDER BY Name'); } }",
        "LocTest.cls": "@IsTest private class LocTest { @IsTest static void binds() {"
                       " List<Account> accs = new List<Account>{ new Account(Name = 'b'), new Account(Name = 'a'), new Account(Name = 'c') };"
                       " insert accs; Set<Id> wanted = new Set<Id>{ accs[0].Id, accs[1].Id };"
                       " System.Iterator<SObject> it = new Sel2().byIds(wanted).iterator();"
                       " Assert.areEqual('a', ((Account) it.next()).Name); Assert.areEqual('b', ((Account) it.next()).Name);"
                       " Assert.isFalse(it.hasNext()); } }",
    })
    assert results == {"binds": ("Pass", None)}


def test_standard_child_relationships_users_opportunities_list_emails_tasks(store) -> None:
    results = run_tests(store, {
        "RelsTest.cls": """@IsTest private class RelsTest {
            static Schema.ChildRelationship rel(Schema.SObjectType parent, Schema.SObjectType child) {
                for (Schema.ChildRelationship r : parent.getDescribe().getChildRelationships()) {
                    if (r.getChildSObject() == child && r.getRelationshipName() != null) { return r; }
                }
                return null;
            }
            @IsTest static void children() {
                Assert.areEqual('Users', rel(Account.SObjectType, User.SObjectType).getRelationshipName());
                Assert.areEqual('Opportunities', rel(Contract.SObjectType, Opportunity.SObjectType).getRelationshipName());
                Assert.areEqual('ListEmails', rel(Opportunity.SObjectType, ListEmail.SObjectType).getRelationshipName());
                Assert.areEqual('Tasks', rel(ListEmail.SObjectType, Task.SObjectType).getRelationshipName());
                Assert.areEqual(0, [SELECT Id, (SELECT Id FROM Users) FROM Account].size());
                Assert.areEqual(0, [SELECT Id, (SELECT Id, (SELECT Id, (SELECT Id FROM Tasks) FROM ListEmails)
                                    FROM Opportunities) FROM Contract].size());
            } }""",
    })
    assert results == {"children": ("Pass", None)}


def test_permissionable_standard_fields_need_field_permissions_when_a_permission_set_opens_the_object(store) -> None:
    access.register_definitions(store, lambda name: None)
    results = run_tests(store, {
        "FlsTest.cls": """@IsTest private class FlsTest { @IsTest static void fls() {
            PermissionSet ps = new PermissionSet(Label = 'Read Account', Name = 'ReadAccount'); insert ps;
            insert new ObjectPermissions(ParentId = ps.Id, SobjectType = 'Account', PermissionsRead = true);
            insert new FieldPermissions(ParentId = ps.Id, SobjectType = 'Account', Field = 'Account.Industry',
                PermissionsRead = true, PermissionsEdit = false);
            Profile p = [SELECT Id FROM Profile WHERE Name = 'Minimum Access - Salesforce'];
            User u = new User(Username = 'fls@example.com.test', Alias = 'fls', Email = 'fls@example.com',
                EmailEncodingKey = 'UTF-8', LastName = 'Fls', LanguageLocaleKey = 'en_US', LocaleSidKey = 'en_US',
                ProfileId = p.Id, TimeZoneSidKey = 'America/Los_Angeles');
            insert u;
            insert new PermissionSetAssignment(AssigneeId = u.Id, PermissionSetId = ps.Id);
            System.runAs(u) {
                Assert.isTrue(Account.Name.getDescribe().isAccessible(), 'the name field is always readable');
                Assert.isTrue(Account.Industry.getDescribe().isAccessible(), 'granted by a field permission');
                Assert.isFalse(Account.AnnualRevenue.getDescribe().isAccessible(), 'permissionable, not granted');
                try {
                    Database.query('SELECT Name, AnnualRevenue FROM Account', AccessLevel.USER_MODE);
                    Assert.fail('AnnualRevenue is not readable');
                } catch (QueryException e) {
                    Set<String> bad = e.getInaccessibleFields().get('Account');
                    Assert.isTrue(bad.contains('AnnualRevenue')); Assert.isFalse(bad.contains('Name'));
                }
            }
        } }""",
    })
    assert results == {"fls": ("Pass", None)}

"""Flows run by the local org (issue 18): autolaunched flows from Apex (Flow.Interview, Invocable.Action),
record-triggered flows around Apex triggers, faults, limits and what fails loudly."""
from __future__ import annotations

from localcloud.salesforce.apex.dataport import register_org_source
from tests.apex.orgfixture import run_test_methods


def flow(body: str, start: str, status: str = "Active", process: str = "AutoLaunchedFlow") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><Flow xmlns="http://soap.sforce.com/2006/04/metadata">'
            f'<label>L</label><processType>{process}</processType><status>{status}</status>'
            f'<start>{start}</start>{body}</Flow>').encode()


def go(target: str) -> str:
    return f"<connector><targetReference>{target}</targetReference></connector>"


def var(name: str, data_type: str = "String", *, collection: bool = False, inp: bool = False, out: bool = False,
        obj: str = "", default: str = "") -> str:
    return (f"<variables><name>{name}</name><dataType>{data_type}</dataType><isCollection>{str(collection).lower()}"
            f"</isCollection><isInput>{str(inp).lower()}</isInput><isOutput>{str(out).lower()}</isOutput>"
            + (f"<objectType>{obj}</objectType>" if obj else "") + (f"<value>{default}</value>" if default else "")
            + "</variables>")


def assign(name: str, items: list[tuple[str, str, str]], then: str = "") -> str:
    body = "".join(f"<assignmentItems><assignToReference>{ref}</assignToReference><operator>{op}</operator>"
                   f"<value>{value}</value></assignmentItems>" for ref, op, value in items)
    return f"<assignments><name>{name}</name><label>{name}</label>{body}{go(then) if then else ''}</assignments>"


S = "<stringValue>{}</stringValue>".format
N = "<numberValue>{}</numberValue>".format
R = "<elementReference>{}</elementReference>".format

CALC = flow(
    var("name", inp=True) + var("amount", "Number", inp=True, out=True) + var("greeting", out=True)
    + var("tags", collection=True, out=True) + var("size", "String", out=True) + var("total", "Number", out=True)
    + var("item") + var("when", "Date", out=True, default="<dateValue>2024-01-31</dateValue>")
    + "<constants><name>Bonus</name><dataType>Number</dataType><value><numberValue>10</numberValue></value></constants>"
    + "<formulas><name>Doubled</name><dataType>Number</dataType><expression>{!amount} * 2 + {!Bonus}</expression>"
      "<scale>2</scale></formulas>"
    + "<textTemplates><name>Hello</name><text>Hello {!name}, you owe {!Doubled}</text></textTemplates>"
    + assign("Set_Values", [("greeting", "Assign", R("Hello")), ("tags", "Add", S("a")), ("tags", "Add", S("b")),
                            ("tags", "AddAtStart", S("z")), ("tags", "RemoveAll", S("a")), ("amount", "Add", N(5)),
                            ("amount", "Subtract", N(1)), ("when", "Add", N(1))], "Size_Check")
    + "<decisions><name>Size_Check</name><label>x</label><defaultConnector><targetReference>Small</targetReference>"
      "</defaultConnector><rules><name>Is_Big</name><conditionLogic>1 AND (2 OR 3)</conditionLogic>"
      "<conditions><leftValueReference>amount</leftValueReference><operator>GreaterThan</operator>"
      "<rightValue><numberValue>100</numberValue></rightValue></conditions>"
      "<conditions><leftValueReference>name</leftValueReference><operator>StartsWith</operator>"
      "<rightValue><stringValue>A</stringValue></rightValue></conditions>"
      "<conditions><leftValueReference>name</leftValueReference><operator>EqualTo</operator>"
      "<rightValue><stringValue>Bob</stringValue></rightValue></conditions>"
      f"{go('Big')}<label>Big</label></rules></decisions>"
    + assign("Big", [("size", "Assign", S("big"))], "Each_Tag")
    + assign("Small", [("size", "Assign", S("small"))], "Each_Tag")
    + "<loops><name>Each_Tag</name><label>x</label><collectionReference>tags</collectionReference>"
      "<iterationOrder>Asc</iterationOrder><assignNextValueToReference>item</assignNextValueToReference>"
      "<nextValueConnector><targetReference>Count</targetReference></nextValueConnector></loops>"
    + assign("Count", [("total", "Add", N(1)), ("greeting", "Add", R("item"))], "Each_Tag"),
    go("Set_Values"))


def test_an_autolaunched_flow_computes_with_every_resource_kind(store) -> None:
    register_org_source(store, "flow_definitions", lambda: {"Calc": CALC})
    results = run_test_methods(store, {"CalcTest.cls": """@IsTest private class CalcTest {
  @IsTest static void typed() {
    Flow.Interview.Calc calc = new Flow.Interview.Calc(new Map<String, Object>{'name' => 'Ann', 'amount' => 96});
    calc.start();
    Assert.areEqual(100, calc.amount);
    Assert.areEqual('Hello Ann, you owe 202zb', calc.greeting, 'the template read amount before it changed');
    Assert.areEqual(new List<Object>{'z', 'b'}, calc.getVariableValue('tags'));
    Assert.areEqual('small', calc.size, '100 is not GreaterThan 100');
    Assert.areEqual(2, calc.getVariableValue('total'));
    Assert.areEqual(Date.newInstance(2024, 2, 1), calc.getVariableValue('when'));
    Assert.isNull(calc.getVariableValue('noSuchVariable'));
  }
  @IsTest static void dynamic() {
    Flow.Interview calc = Flow.Interview.createInterview('Calc', new Map<String, Object>{'name' => 'Bob', 'amount' => 200,
      'AMOUNT' => 1, 'unknown' => 'ignored'});
    calc.start();
    Assert.areEqual('big', calc.getVariableValue('size'));
    Assert.areEqual(204, calc.getVariableValue('amount'));
  }
  @IsTest static void notAnInput() {
    try {
      Flow.Interview.createInterview('Calc', new Map<String, Object>{'greeting' => 'x'});
      Assert.fail('greeting is not an input');
    } catch (FlowException e) {
      Assert.areEqual('Flow Calc has no variable named greeting that is available for input', e.getMessage());
    }
  }
  @IsTest static void asAnAction() {
    Invocable.Action action = Invocable.Action.createCustomAction('flow', 'Calc');
    action.addInvocation().setInvocationParameter('name', 'Cy');
    action.setInvocationParameter('amount', 1);
    List<Invocable.Action.Result> results = action.invoke();
    Assert.isTrue(results[0].isSuccess());
    Assert.areEqual('small', results[0].getOutputParameters().get('size'));
    Assert.areEqual('Finished', results[0].getOutputParameters().get('Flow__InterviewStatus'));
    Assert.isFalse(results[0].getOutputParameters().containsKey('name'), 'inputs only are not outputs');
  }
}"""})
    assert results == {name: ("Pass", None) for name in ("typed", "dynamic", "notAnInput", "asAnAction")}


RECORDS = flow(
    var("accountName", inp=True) + var("accountId", out=True) + var("found", "SObject", obj="Account", out=True)
    + var("foundName", out=True) + var("contacts", "SObject", collection=True, obj="Contact", out=True)
    + var("newContact", "SObject", obj="Contact")
    + "<recordCreates><name>Create_Account</name><label>x</label><object>Account</object>"
      "<inputAssignments><field>Name</field><value><elementReference>accountName</elementReference></value>"
      "</inputAssignments><assignRecordIdToReference>accountId</assignRecordIdToReference>"
      f"{go('Build_Contact')}</recordCreates>"
    + assign("Build_Contact", [("newContact.LastName", "Assign", S("Smith")),
                               ("newContact.AccountId", "Assign", R("accountId"))], "Create_Contact")
    + f"<recordCreates><name>Create_Contact</name><label>x</label><inputReference>newContact</inputReference>"
      f"{go('Get_Account')}</recordCreates>"
    + "<recordLookups><name>Get_Account</name><label>x</label><object>Account</object>"
      "<filterLogic>and</filterLogic><filters><field>Id</field><operator>EqualTo</operator>"
      "<value><elementReference>accountId</elementReference></value></filters>"
      "<getFirstRecordOnly>true</getFirstRecordOnly><outputReference>found</outputReference>"
      "<queriedFields>Id</queriedFields><queriedFields>Name</queriedFields><queriedFields>Description</queriedFields>"
      f"{go('Get_Name')}</recordLookups>"
    + "<recordLookups><name>Get_Name</name><label>x</label><object>Account</object>"
      "<filters><field>Name</field><operator>StartsWith</operator><value><stringValue>Flow</stringValue></value>"
      "</filters><getFirstRecordOnly>true</getFirstRecordOnly><outputAssignments><assignToReference>foundName"
      "</assignToReference><field>Name</field></outputAssignments>"
      f"{go('Rename')}</recordLookups>"
    + "<recordUpdates><name>Rename</name><label>x</label><object>Contact</object><filters><field>AccountId</field>"
      "<operator>EqualTo</operator><value><elementReference>accountId</elementReference></value></filters>"
      "<inputAssignments><field>FirstName</field><value><stringValue>Jo</stringValue></value></inputAssignments>"
      f"{go('Get_Contacts')}</recordUpdates>"
    + "<recordLookups><name>Get_Contacts</name><label>x</label><object>Contact</object>"
      "<filters><field>AccountId</field><operator>EqualTo</operator><value><elementReference>accountId"
      "</elementReference></value></filters><getFirstRecordOnly>false</getFirstRecordOnly>"
      "<storeOutputAutomatically>true</storeOutputAutomatically>"
      f"{go('Keep')}</recordLookups>"
    + assign("Keep", [("contacts", "Assign", R("Get_Contacts"))], "Remove_Others")
    + "<recordDeletes><name>Remove_Others</name><label>x</label><object>Account</object><filters><field>Name</field>"
      "<operator>EqualTo</operator><value><stringValue>Doomed</stringValue></value></filters></recordDeletes>",
    go("Create_Account"))
ACCOUNT_TRIGGER = """trigger AccountStamp on Account (before insert) {
  for (Account a : Trigger.new) { a.Description = 'stamped by trigger'; }
}"""


def test_record_elements_run_through_apex_dml_and_count_toward_limits(store) -> None:
    register_org_source(store, "flow_definitions", lambda: {"Records": RECORDS})
    results = run_test_methods(store, {"AccountStamp.trigger": ACCOUNT_TRIGGER, "RecTest.cls": """@IsTest
private class RecTest {
  @IsTest static void records() {
    insert new Account(Name = 'Doomed');
    Integer queries = Limits.getQueries(), dml = Limits.getDmlStatements();
    Flow.Interview.Records f = new Flow.Interview.Records(new Map<String, Object>{'accountName' => 'Flow Co'});
    f.start();
    Assert.areEqual(queries + 5, Limits.getQueries(), 'three lookups, the update and the delete by filter');
    Assert.areEqual(dml + 4, Limits.getDmlStatements(), 'two creates, one update, one delete');
    Account found = (Account) f.getVariableValue('found');
    Assert.areEqual('Flow Co', found.Name);
    Assert.areEqual('stamped by trigger', found.Description, 'the Apex trigger ran for the flow\\'s insert');
    Assert.areEqual(f.getVariableValue('accountId'), found.Id);
    Assert.areEqual('Flow Co', f.getVariableValue('foundName'));
    List<Contact> contacts = (List<Contact>) f.getVariableValue('contacts');
    Assert.areEqual(1, contacts.size());
    Assert.areEqual('Jo', [SELECT FirstName FROM Contact WHERE Id = :contacts[0].Id].FirstName);
    Assert.areEqual(0, [SELECT COUNT() FROM Account WHERE Name = 'Doomed']);
  }
}"""})
    assert results == {"records": ("Pass", None)}


ACTION = """public with sharing class Shout {
  public class Req { @InvocableVariable public String text; }
  public class Res { @InvocableVariable public String loud; }
  public static Integer calls = 0;
  @InvocableMethod public static List<Res> shout(List<Req> reqs) {
    calls++;
    List<Res> out = new List<Res>();
    for (Req r : reqs) {
      if (r.text == 'boom') { throw new IllegalArgumentException('no boom'); }
      Res x = new Res(); x.loud = r.text.toUpperCase(); out.add(x);
    }
    return out;
  }
}"""
PARENT = flow(
    var("text", inp=True) + var("result", out=True) + var("fault", out=True)
    + "<subflows><name>Call_Child</name><label>x</label><flowName>Child</flowName><inputAssignments><name>input"
      "</name><value><elementReference>text</elementReference></value></inputAssignments><outputAssignments>"
      "<assignToReference>result</assignToReference><name>output</name></outputAssignments></subflows>",
    go("Call_Child"))
CHILD = flow(
    var("input", inp=True) + var("output", out=True)
    + "<actionCalls><name>Shout_It</name><label>x</label><actionName>Shout</actionName><actionType>apex"
      "</actionType><inputParameters><name>text</name><value><elementReference>input</elementReference></value>"
      "</inputParameters><storeOutputAutomatically>true</storeOutputAutomatically>"
      f"{go('Keep')}</actionCalls>"
    + assign("Keep", [("output", "Assign", R("Shout_It.loud"))]),
    go("Shout_It"))
FAULTY = flow(
    var("name", inp=True) + var("fault", out=True)
    + "<recordCreates><name>Create_It</name><label>x</label><object>Account</object><inputAssignments><field>Name"
      "</field><value><elementReference>name</elementReference></value></inputAssignments>"
      "<faultConnector><targetReference>Keep_Fault</targetReference></faultConnector></recordCreates>"
    + assign("Keep_Fault", [("fault", "Assign", R("$Flow.FaultMessage"))]),
    go("Create_It"))
UNHANDLED = flow(
    "<recordCreates><name>Create_Nameless</name><label>x</label><object>Account</object></recordCreates>",
    go("Create_Nameless"))


def test_actions_subflows_and_fault_paths(store) -> None:
    register_org_source(store, "flow_definitions",
                        lambda: {"Parent": PARENT, "Child": CHILD, "Faulty": FAULTY, "Unhandled": UNHANDLED})
    results = run_test_methods(store, {"Shout.cls": ACTION, "Refuse.trigger": """trigger Refuse on Account (before insert) {
  for (Account a : Trigger.new) { if (a.Name == 'bad') { a.Name.addError('bad names are refused'); } }
}""", "FlowTest.cls": """@IsTest private class FlowTest {
  @IsTest static void subflowAndAction() {
    Flow.Interview.Parent p = new Flow.Interview.Parent(new Map<String, Object>{'text' => 'hi'});
    p.start();
    Assert.areEqual('HI', p.result);
    Assert.areEqual(1, Shout.calls);
  }
  @IsTest static void actionFault() {
    try {
      new Flow.Interview.Parent(new Map<String, Object>{'text' => 'boom'}).start();
      Assert.fail('unhandled');
    } catch (FlowException e) {
      Assert.areEqual('An error occurred at element Shout_It (FlowActionCall).\\nAn Apex error occurred: '
        + 'System.IllegalArgumentException: no boom', e.getMessage());
    }
  }
  @IsTest static void faultConnector() {
    Flow.Interview f = Flow.Interview.createInterview('Faulty', new Map<String, Object>{'name' => 'bad'});
    f.start();
    Assert.areEqual('This error occurred when the flow tried to create records: FIELD_CUSTOM_VALIDATION_EXCEPTION: '
      + 'bad names are refused. You can look up ExceptionCode values in the SOAP API Developer Guide.',
      f.getVariableValue('fault'));
    Assert.areEqual(0, [SELECT COUNT() FROM Account]);
  }
  @IsTest static void unhandled() {
    try {
      Flow.Interview.createInterview('Unhandled', null).start();
      Assert.fail('unhandled');
    } catch (FlowException e) {
      Assert.isTrue(e.getMessage().startsWith('An error occurred at element Create_Nameless (FlowRecordCreate).\\n'
        + 'This error occurred when the flow tried to create records: REQUIRED_FIELD_MISSING'), e.getMessage());
    }
  }
}"""})
    assert results == {name: ("Pass", None) for name in ("subflowAndAction", "actionFault", "faultConnector",
                                                        "unhandled")}


LOOKUP_LOOP = flow(
    var("n", "Number", inp=True) + var("i", "Number", default="<numberValue>0</numberValue>")
    + "<recordLookups><name>Look</name><label>x</label><object>Account</object><getFirstRecordOnly>true"
      f"</getFirstRecordOnly><storeOutputAutomatically>true</storeOutputAutomatically>{go('Next')}</recordLookups>"
    + assign("Next", [("i", "Add", N(1))], "Again")
    + "<decisions><name>Again</name><label>x</label><rules><name>More</name><conditionLogic>and</conditionLogic>"
      "<conditions><leftValueReference>i</leftValueReference><operator>LessThan</operator><rightValue>"
      f"<elementReference>n</elementReference></rightValue></conditions>{go('Look')}<label>m</label></rules>"
      "</decisions>",
    go("Look"))


def test_a_flow_counts_toward_the_transaction_soql_limit(store) -> None:
    register_org_source(store, "flow_definitions", lambda: {"Loop": LOOKUP_LOOP})
    results = run_test_methods(store, {"LimitTest.cls": """@IsTest private class LimitTest {
  @IsTest static void underTheLimit() {
    Flow.Interview.createInterview('Loop', new Map<String, Object>{'n' => 100}).start();
    Assert.areEqual(100, Limits.getQueries());
  }
  @IsTest static void overTheLimit() {
    try {
      Flow.Interview.createInterview('Loop', new Map<String, Object>{'n' => 101}).start();
    } catch (Exception e) {
      Assert.fail('a LimitException cannot be caught');
    }
  }
}"""})
    assert results == {"underTheLimit": ("Pass", None),
                       "overTheLimit": ("Fail", "System.LimitException: Too many SOQL queries: 101")}


BEFORE_SAVE = flow(
    "<assignments><name>Mark</name><label>x</label><assignmentItems><assignToReference>$Record.Description"
    "</assignToReference><operator>Assign</operator><value><stringValue>flow</stringValue></value>"
    "</assignmentItems></assignments>",
    "<object>Account</object><recordTriggerType>CreateAndUpdate</recordTriggerType><triggerType>RecordBeforeSave"
    "</triggerType><filterLogic>and</filterLogic><filters><field>Industry</field><operator>EqualTo</operator>"
    "<value><stringValue>Energy</stringValue></value></filters>" + go("Mark"))
AFTER_SAVE = flow(
    "<recordLookups><name>Find_Contacts</name><label>x</label><object>Contact</object><filters><field>AccountId"
    "</field><operator>EqualTo</operator><value><elementReference>$Record.Id</elementReference></value></filters>"
    "<getFirstRecordOnly>false</getFirstRecordOnly><queriedFields>Id</queriedFields>"
    f"<storeOutputAutomatically>true</storeOutputAutomatically>{go('Note')}</recordLookups>"
    "<actionCalls><name>Note</name><label>x</label><actionName>Trail</actionName><actionType>apex</actionType>"
    "<inputParameters><name>text</name><value><elementReference>Said</elementReference></value></inputParameters>"
    f"{go('Touch')}</actionCalls>"
    "<formulas><name>Said</name><dataType>String</dataType><expression>'after-flow:' &amp; {!$Record.Name} &amp; ':'"
    " &amp; {!$Record__Prior.Name}</expression></formulas>"
    "<recordCreates><name>Touch</name><label>x</label><object>Contact</object><inputAssignments><field>LastName"
    "</field><value><elementReference>$Record.Name</elementReference></value></inputAssignments>"
    "<inputAssignments><field>AccountId</field><value><elementReference>$Record.Id</elementReference></value>"
    "</inputAssignments></recordCreates>",
    "<object>Account</object><recordTriggerType>Update</recordTriggerType><triggerType>RecordAfterSave"
    "</triggerType><filterLogic>and</filterLogic><filters><field>Name</field><operator>IsChanged</operator>"
    "<value><booleanValue>true</booleanValue></value></filters>" + go("Find_Contacts"))
INACTIVE = flow(
    "<assignments><name>Mark</name><label>x</label><assignmentItems><assignToReference>$Record.Description"
    "</assignToReference><operator>Assign</operator><value><stringValue>inactive</stringValue></value>"
    "</assignmentItems></assignments>",
    "<object>Account</object><recordTriggerType>CreateAndUpdate</recordTriggerType><triggerType>RecordBeforeSave"
    "</triggerType>" + go("Mark"), status="Draft")
TRAIL = """public with sharing class Trail {
  public static List<String> said = new List<String>();
  @InvocableMethod public static void add(List<String> texts) { said.add(String.join(texts, '|')); }
}"""
TRAIL_TRIGGER = """trigger AccountTrail on Account (before insert, before update, after update) {
  for (Account a : Trigger.new) {
    Trail.said.add((Trigger.isBefore ? 'before-trigger:' : 'after-trigger:') + a.Description);
  }
}"""


def test_record_triggered_flows_run_around_apex_triggers_in_salesforce_order(store) -> None:
    register_org_source(store, "flow_definitions",
                        lambda: {"Before_Save": BEFORE_SAVE, "After_Save": AFTER_SAVE, "Inactive": INACTIVE})
    results = run_test_methods(store, {"Trail.cls": TRAIL, "AccountTrail.trigger": TRAIL_TRIGGER,
                                       "OrderTest.cls": """@IsTest private class OrderTest {
  @IsTest static void order() {
    Account a = new Account(Name = 'A', Industry = 'Energy');
    insert a;
    Assert.areEqual(new List<String>{'before-trigger:flow'}, Trail.said, 'the before-save flow ran first');
    Trail.said.clear();
    a.Name = 'B';
    update a;
    Assert.areEqual(new List<String>{'before-trigger:flow', 'after-trigger:flow', 'after-flow:B:A'}, Trail.said);
    Assert.areEqual('flow', [SELECT Description FROM Account WHERE Id = :a.Id].Description);
    Assert.areEqual(a.Id, [SELECT AccountId FROM Contact WHERE LastName = 'B'].AccountId);
    Trail.said.clear();
    update a;
    Assert.areEqual(new List<String>{'before-trigger:flow', 'after-trigger:flow'}, Trail.said,
                    'the name did not change: the after-save flow\\'s entry condition is not met');
  }
  @IsTest static void entryConditions() {
    Account a = new Account(Name = 'C', Industry = 'Banking');
    insert a;
    Assert.isNull([SELECT Description FROM Account WHERE Id = :a.Id].Description, 'the inactive flow never runs');
  }
  @IsTest static void bulk() {
    List<Account> accounts = new List<Account>();
    for (Integer i = 0; i < 200; i++) { accounts.add(new Account(Name = 'N' + i)); }
    insert accounts;
    for (Account a : accounts) { a.Name = a.Name + 'x'; }
    Trail.said.clear();
    Integer dml = Limits.getDmlStatements(), queries = Limits.getQueries();
    update accounts;
    Assert.areEqual(dml + 2, Limits.getDmlStatements(), 'the update and one insert of 200 contacts by the flow');
    Assert.areEqual(queries + 1, Limits.getQueries(), 'one Get Records for the 200 interviews, each with its own filter');
    Assert.areEqual(401, Trail.said.size(), '200 before, 200 after triggers, one call of the action for 200 interviews');
    Assert.isTrue(Trail.said[400].startsWith('after-flow:N0x:N0|after-flow:N1x:N1|'), Trail.said[400]);
    Assert.areEqual(200, [SELECT COUNT() FROM Contact]);
  }
}"""})
    assert results == {name: ("Pass", None) for name in ("order", "entryConditions", "bulk")}


def test_record_triggered_flows_run_for_dml_from_outside_apex(store) -> None:
    from localcloud.salesforce.apex.orgruntime import ApexRuntime
    register_org_source(store, "flow_definitions", lambda: {"Before_Save": BEFORE_SAVE})
    ApexRuntime(store, {})
    with store.transaction() as tx:
        results = tx.insert("Account", [{"Name": "Rest", "Industry": "Energy"}, {"Name": "Other"}])
    with store.transaction() as tx:
        rows = {r["Name"]: r["Description"] for r in tx.query("SELECT Name, Description FROM Account").records}
    assert all(r.success for r in results)
    assert rows == {"Rest": "flow", "Other": None}


FAILING_AFTER_SAVE = flow(
    "<recordCreates><name>Bad_Create</name><label>x</label><object>Contact</object></recordCreates>",
    "<object>Account</object><recordTriggerType>Create</recordTriggerType><triggerType>RecordAfterSave"
    "</triggerType>" + go("Bad_Create"))
CUSTOM_ERROR = flow(
    "<customErrors><name>Refuse</name><label>x</label><customErrorMessages><errorMessage>No {!$Record.LastName} here"
    "</errorMessage><isFieldError>false</isFieldError></customErrorMessages></customErrors>",
    "<object>Contact</object><recordTriggerType>Create</recordTriggerType><triggerType>RecordBeforeSave"
    "</triggerType>" + go("Refuse"))


def test_a_failing_record_triggered_flow_fails_the_save(store) -> None:
    register_org_source(store, "flow_definitions", lambda: {"Failing": FAILING_AFTER_SAVE, "Refusing": CUSTOM_ERROR})
    results = run_test_methods(store, {"FailTest.cls": """@IsTest private class FailTest {
  @IsTest static void fault() {
    Database.SaveResult r = Database.insert(new Account(Name = 'X'), false);
    Assert.isFalse(r.isSuccess());
    Assert.areEqual(StatusCode.CANNOT_EXECUTE_FLOW_TRIGGER, r.getErrors()[0].getStatusCode());
    Assert.isTrue(r.getErrors()[0].getMessage().startsWith('We can\\'t save this record because the “L” process '
      + 'failed. Give your Salesforce admin these details. An error occurred at element Bad_Create '
      + '(FlowRecordCreate).'), r.getErrors()[0].getMessage());
    Assert.areEqual(0, [SELECT COUNT() FROM Account]);
  }
  @IsTest static void customError() {
    Database.SaveResult r = Database.insert(new Contact(LastName = 'Y'), false);
    Assert.isFalse(r.isSuccess());
    Assert.areEqual('No Y here', r.getErrors()[0].getMessage());
  }
}"""})
    assert results == {"fault": ("Pass", None), "customError": ("Pass", None)}


def test_what_the_engine_does_not_run_fails_loudly(store) -> None:
    wait = flow("<waits><name>Pause</name><label>x</label></waits>", go("Pause"))
    standard = flow("<actionCalls><name>Post</name><label>x</label><actionName>chatterPost</actionName>"
                    "<actionType>chatterPost</actionType></actionCalls>", go("Post"))
    register_org_source(store, "flow_definitions", lambda: {"Waiting": wait, "Posting": standard})
    results = run_test_methods(store, {"LoudTest.cls": """@IsTest private class LoudTest {
  @IsTest static void waits() { Flow.Interview.createInterview('Waiting', null).start(); }
  @IsTest static void standardAction() { new Flow.Interview.Posting(null).start(); }
  @IsTest static void missingTyped() { new Flow.Interview.Nope(null); }
}"""})
    assert results == {
        "waits": ("Fail", "System.UnexpectedException: FlowWait (Wait element: paused interviews) in Flow Waiting, "
                          "element Pause is not supported by the local org"),
        "standardAction": ("Fail", "System.UnexpectedException: FlowActionCall of actionType chatterPost (chatterPost; "
                                   "only apex actions run) in Flow Posting, element Post is not supported by the local org"),
        "missingTyped": ("Fail", "System.TypeException: Invalid type: Nope"),
    }


PARENT_READ = flow(
    "<assignments><name>Copy</name><label>x</label><assignmentItems><assignToReference>$Record.Description"
    "</assignToReference><operator>Assign</operator><value><elementReference>$Record.Account.Name</elementReference>"
    "</value></assignmentItems></assignments>",
    "<object>Contact</object><recordTriggerType>Create</recordTriggerType><triggerType>RecordBeforeSave"
    "</triggerType>" + go("Copy"))
BEFORE_DELETE = flow(
    "<recordCreates><name>Keep_Note</name><label>x</label><object>Account</object><inputAssignments><field>Name"
    "</field><value><elementReference>Gone</elementReference></value></inputAssignments></recordCreates>"
    "<formulas><name>Gone</name><dataType>String</dataType><expression>'deleted ' &amp; {!$Record.LastName}"
    "</expression></formulas>",
    "<object>Contact</object><recordTriggerType>Delete</recordTriggerType><triggerType>RecordBeforeDelete"
    "</triggerType>" + go("Keep_Note"))


def test_parent_fields_and_before_delete_flows(store) -> None:
    register_org_source(store, "flow_definitions", lambda: {"Parent_Read": PARENT_READ, "On_Delete": BEFORE_DELETE})
    results = run_test_methods(store, {"MoreTest.cls": """@IsTest private class MoreTest {
  @IsTest static void parentAndDelete() {
    Account a = new Account(Name = 'Acme');
    insert a;
    Contact c = new Contact(LastName = 'Doe', AccountId = a.Id);
    Integer queries = Limits.getQueries();
    insert c;
    Assert.areEqual(queries + 1, Limits.getQueries(), 'reading $Record.Account.Name is one query');
    Assert.areEqual('Acme', [SELECT Description FROM Contact WHERE Id = :c.Id].Description);
    delete c;
    Assert.areEqual(1, [SELECT COUNT() FROM Account WHERE Name = 'deleted Doe']);
  }
}"""})
    assert results == {"parentAndDelete": ("Pass", None)}

"""Invocable.Action from Apex (issue 18): Apex actions run in the calling transaction, a missing
action or flow gives unsuccessful results, flows the engine does not run and standard actions fail loudly."""
from __future__ import annotations

from localcloud.salesforce.apex.dataport import register_org_source
from tests.apex.orgfixture import run_test_methods


GREET = """public with sharing class Greet {
  public class Request { @InvocableVariable public String name; @InvocableVariable public Integer times; }
  public class Response { @InvocableVariable public String greeting; }
  @InvocableMethod(label='Greet')
  public static List<Response> greet(List<Request> requests) {
    List<Account> rows = new List<Account>();
    List<Response> out = new List<Response>();
    for (Request r : requests) {
      if (r.name == 'boom') { throw new IllegalArgumentException('bad name'); }
      Response res = new Response();
      res.greeting = 'hi ' + r.name + ' x' + r.times;
      out.add(res);
      rows.add(new Account(Name = r.name));
    }
    insert rows;
    return out;
  }
}"""
NAMES = """public with sharing class Upper {
  @InvocableMethod public static List<String> upper(List<String> names) {
    List<String> out = new List<String>();
    for (String n : names) { out.add(n.toUpperCase()); }
    return out;
  }
}"""


def test_an_apex_action_runs_every_invocation_in_one_call_inside_the_transaction(store) -> None:
    results = run_test_methods(store, {"Greet.cls": GREET, "Upper.cls": NAMES, "ActionTest.cls": """
@IsTest private class ActionTest {
  @IsTest static void apexAction() {
    Invocable.Action action = Invocable.Action.createCustomAction('apex', 'Greet');
    action.addInvocation().setInvocationParameter('name', 'Ann');
    action.setInvocationParameter('times', 2);
    action.addInvocation().setInvocationParameter('name', 'Bob');
    Integer queries = Limits.getDmlStatements();
    List<Invocable.Action.Result> results = action.invoke();
    Assert.areEqual(queries + 1, Limits.getDmlStatements(), 'one call for both invocations, counted here');
    Assert.areEqual(2, [SELECT COUNT() FROM Account], 'its DML is in this transaction');
    Assert.areEqual(2, results.size());
    Assert.isTrue(results[0].isSuccess());
    Assert.areEqual('hi Ann x2', results[0].getOutputParameters().get('greeting'));
    Assert.areEqual('hi Bob xnull', results[1].getOutputParameters().get('greeting'));
    Assert.areEqual('Ann', results[0].getInvocationParameters().get('name'));
    Assert.areEqual(action, results[0].getAction());
    Assert.areEqual(0, results[0].getErrors().size());
    Assert.areEqual('Greet', action.getName());
    Assert.areEqual('apex', action.getType());
  }
  @IsTest static void primitiveAction() {
    Invocable.Action action = Invocable.Action.createCustomAction('apex', null, 'Upper');
    action.setInvocations(new List<Map<String, Object>>{
        new Map<String, Object>{'names' => 'ann'}, new Map<String, Object>{'names' => 'bob'}});
    List<Invocable.Action.Result> results = action.invoke();
    Assert.areEqual('ANN', results[0].getOutputParameters().get('output'));
    Assert.areEqual('BOB', results[1].getOutputParameters().get('output'));
  }
  @IsTest static void aThrowingActionFailsEveryInvocation() {
    Invocable.Action action = Invocable.Action.createCustomAction('apex', 'Greet');
    action.addInvocation().setInvocationParameter('name', 'boom');
    action.addInvocation().setInvocationParameter('name', 'fine');
    List<Invocable.Action.Result> results = action.invoke();
    for (Invocable.Action.Result r : results) {
      Assert.isFalse(r.isSuccess());
      Assert.areEqual('UNKNOWN_EXCEPTION', r.getErrors()[0].getCode());
      Assert.areEqual('System.IllegalArgumentException: bad name', r.getErrors()[0].getMessage());
    }
  }
  @IsTest static void missingActionsAndFlowsGiveUnsuccessfulResults() {
    for (Invocable.Action action : new List<Invocable.Action>{
        Invocable.Action.createCustomAction('flow', 'Bogus'), Invocable.Action.createCustomAction('apex', 'Bogus')}) {
      action.setInvocations(new List<Map<String, Object>>{ new Map<String, Object>() });
      List<Invocable.Action.Result> results = action.invoke();
      Assert.areEqual(1, results.size());
      Assert.isFalse(results[0].isSuccess());
      Assert.areEqual('NOT_FOUND', results[0].getErrors()[0].getCode());
      Assert.isTrue(results[0].getErrors()[0].getMessage().contains('Bogus'));
    }
  }
  @IsTest static void resultsRoundTripThroughJson() {
    Invocable.Action.Result r = (Invocable.Action.Result) JSON.deserialize(
        '{"success": false, "errors": [{"code": "X", "message": "m"}], "outputParameters": {"a": 1}}',
        Invocable.Action.Result.class);
    Assert.isFalse(r.isSuccess());
    Assert.areEqual('X - m', r.getErrors()[0].getCode() + ' - ' + r.getErrors()[0].getMessage());
    Assert.areEqual(1, r.getOutputParameters().get('a'));
  }
}"""})
    assert results == {name: ("Pass", None) for name in (
        "apexAction", "primitiveAction", "aThrowingActionFailsEveryInvocation",
        "missingActionsAndFlowsGiveUnsuccessfulResults", "resultsRoundTripThroughJson")}


def test_flows_the_engine_does_not_run_and_standard_actions_fail_loudly(store) -> None:
    screen = (b'<Flow xmlns="http://soap.sforce.com/2006/04/metadata"><processType>Flow</processType>'
              b'<status>Active</status></Flow>')
    register_org_source(store, "flow_definitions", lambda: {"Real_Flow": screen})
    results = run_test_methods(store, {"LoudTest.cls": """
@IsTest private class LoudTest {
  @IsTest static void deployedFlow() {
    Invocable.Action.createCustomAction('flow', 'Real_Flow').addInvocation().invoke();
  }
  @IsTest static void standardAction() {
    Invocable.Action.createStandardAction('chatterPost').addInvocation().invoke();
  }
}"""})
    assert results == {
        "deployedFlow": ("Fail", "System.UnexpectedException: ScreenFlow (processType Flow) in Flow Real_Flow "
                                 "is not supported by the local org"),
        "standardAction": ("Fail", "System.UnexpectedException: Invocable.Action standard action 'chatterPost' "
                                   "(standard invocable actions) is not supported by the local org"),
    }

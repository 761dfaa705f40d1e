"""FormulaEval from Apex: Formula.builder() over Apex objects and SObjects, validation and evaluation
exceptions, globals, template mode (the local org's formula engine, localcloud.salesforce.formula)."""
from __future__ import annotations

from localcloud.salesforce.apex.orgruntime import ApexRuntime


def run_tests(store, sources: dict[str, str], labels: dict[str, str] | None = None
              ) -> dict[str, tuple[str, str | None]]:
    rt = ApexRuntime(store, sources, labels=labels)
    return {r.method_name: (r.outcome, r.message) for r in rt.run_tests()}


BASE = "global abstract class Base { global SObject newSobject; global SObject oldSobject; }"
CTX = ("global class Ctx extends Base { global Account record { get { return (Account) newSobject; } }"
       " global Account recordPrior { get { return (Account) oldSobject; } } global Integer n; public String hidden; }")
PUBLIC_CTX = "public class PublicCtx extends Base { public Account record { get { return (Account) newSobject; } } }"


def builder(rtype: str, type_expr: str, formula: str, extra: str = "") -> str:
    """Apex building ``formula`` (plain text, quoted here as an Apex string literal)."""
    literal = "'" + formula.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return (f"Formula.builder().withReturnType(FormulaEval.FormulaReturnType.{rtype}).withType({type_expr})"
            f"{extra}.withFormula({literal}).build()")


def test_formula_filters_apex_objects_through_properties_and_sobject_fields(store) -> None:
    results = run_tests(store, {
        "Base.cls": BASE, "Ctx.cls": CTX,
        "FxTest.cls": "@IsTest global class FxTest { @IsTest static void filters() {"
        " FormulaEval.FormulaInstance fx = " + builder('Boolean', 'Ctx.class', 'record.Name = "A" && n > 1 && ISBLANK(recordPrior.Name)', '.withGlobalVariables(FormulaEval.FormulaGlobal.values())') + ";"
        " List<String> kept = new List<String>();"
        " for (String name : new List<String>{ 'A', 'B', 'A' }) { Ctx c = new Ctx(); c.newSobject = new Account(Name = name);"
        " c.n = kept.size() + 2; if ((Boolean) fx.evaluate(c)) { kept.add(name); } }"
        " Assert.areEqual(new List<String>{ 'A', 'A' }, kept);"
        " Assert.areEqual(new Set<String>{ 'record.Name', 'n', 'recordPrior.Name' }, fx.getReferencedFields()); } }",
    })
    assert results == {"filters": ("Pass", None)}


def test_build_refuses_non_global_types_properties_and_bad_syntax(store) -> None:
    results = run_tests(store, {
        "Base.cls": BASE, "Ctx.cls": CTX, "PublicCtx.cls": PUBLIC_CTX,
        "FxTest.cls": "@IsTest class FxTest {"
        " static String fails(Type t, String f) { try { Formula.builder().withReturnType(FormulaEval.FormulaReturnType.Boolean)"
        " .withType(t).withFormula(f).build(); return null; } catch (System.FormulaValidationException e) { return e.getMessage(); } }"
        " @IsTest static void refuses() {"
        " Assert.isTrue(fails(PublicCtx.class, 'record.Name = \"A\"').contains('must be a global Apex class'));"
        " Assert.isTrue(fails(Ctx.class, 'hidden = \"A\"').startsWith('Field hidden does not exist. Check spelling.'));"
        " String syntax = fails(Ctx.class, 'This will not compile!!!');"
        " Assert.isTrue(syntax.startsWith('Syntax error. Found \\'will\\''), syntax);"
        " Assert.isTrue(syntax.contains('column 6'), syntax);"
        " Assert.isTrue(fails(Ctx.class, 'record.Name').startsWith('Formula result is data type (Text), incompatible'));"
        " Assert.isTrue(fails(Ctx.class, 'LEN(n) > 1').startsWith('Incorrect parameter type for function \\'LEN()\\''));"
        " } }",
    })
    assert results == {"refuses": ("Pass", None)}


def test_sobject_context_return_types_relationships_and_template(store) -> None:
    results = run_tests(store, {
        "FxTest.cls": "@IsTest class FxTest { @IsTest static void sobjects() {"
        " Account a = new Account(Name = 'Acme', NumberOfEmployees = 7, Parent = new Account(Name = 'Parent'));"
        f" Assert.areEqual(17.5, (Decimal) {builder('Decimal', 'Account.SObjectType', 'NumberOfEmployees * 2.5')}.evaluate(a));"
        f" Assert.areEqual(14, (Integer) {builder('Integer', 'Account.SObjectType', 'NumberOfEmployees * 2')}.evaluate(a));"
        " Assert.areEqual('Parent/Acme', (String) " + builder('String', 'Account.class', 'Parent.Name & "/" & Name') + ".evaluate(a));"
        f" Assert.areEqual(Date.newInstance(2024, 3, 31), (Date) {builder('Date', 'Account.SObjectType', 'ADDMONTHS(DATE(2024, 2, 29), 1)')}.evaluate(a));"
        f" Assert.areEqual('Hi Acme (7)', (String) {builder('String', 'Account.SObjectType', 'Hi {!Name} ({!NumberOfEmployees})', '.parseAsTemplate(true)')}.evaluate(a));"
        f" Assert.isNull({builder('Decimal', 'Account.SObjectType', 'AnnualRevenue + 1')}.evaluate(a));"
        f" Assert.areEqual(1, {builder('Decimal', 'Account.SObjectType', 'AnnualRevenue + 1', '.treatNumericNullAsZero(true)')}.evaluate(a));"
        " } }",
    })
    assert results == {"sobjects": ("Pass", None)}


def test_evaluation_errors_and_globals(store) -> None:
    results = run_tests(store, {
        "FxTest.cls": "@IsTest class FxTest { @IsTest static void errors() {"
        f" FormulaEval.FormulaInstance fx = {builder('Decimal', 'Account.SObjectType', '1 / (NumberOfEmployees - 1)')};"
        " try { fx.evaluate(new Account(NumberOfEmployees = 1)); Assert.fail('no exception'); }"
        " catch (System.FormulaEvaluationException e) { Assert.isTrue(e.getMessage().startsWith('Division by zero'), e.getMessage()); }"
        " try { fx.evaluate(new Contact()); Assert.fail('no exception'); }"
        " catch (System.FormulaEvaluationException e) { Assert.isTrue(e.getMessage().contains('Account'), e.getMessage()); } }"
        " @IsTest static void globals() {"
        " FormulaEval.FormulaInstance fx = " + builder('String', 'Account.SObjectType', '$User.Id & "|" & $Organization.Id', '.withGlobalVariables(new List<FormulaEval.FormulaGlobal>{ FormulaEval.FormulaGlobal.USER, FormulaEval.FormulaGlobal.ORGANIZATION })') + ";"
        " Assert.areEqual(UserInfo.getUserId() + '|' + UserInfo.getOrganizationId(), fx.evaluate(new Account()));"
        " try { " + builder('String', 'Account.SObjectType', '$User.Id') + "; Assert.fail('no exception'); }"
        " catch (System.FormulaValidationException e) { Assert.isTrue(e.getMessage().startsWith('Field $User.Id does not exist'), e.getMessage()); }"
        " FormulaEval.FormulaInstance label = " + builder('String', 'Account.SObjectType', '$Label.greeting & " " & Name', '.withGlobalVariables(FormulaEval.FormulaGlobal.values())') + ";"
        " Assert.areEqual('Hello Acme', label.evaluate(new Account(Name = 'Acme')));"
        " try { " + builder('String', 'Account.SObjectType', '$Label.nope', '.withGlobalVariables(FormulaEval.FormulaGlobal.values())') + "; Assert.fail('no exception'); }"
        " catch (System.FormulaValidationException e) { Assert.isTrue(e.getMessage().startsWith('Field $Label.nope does not exist'), e.getMessage()); }"
        " } }",
    }, labels={"greeting": "Hello"})
    assert results == {"errors": ("Pass", None), "globals": ("Pass", None)}


def test_setup_permission_and_system_globals(store) -> None:
    from localcloud.salesforce.data.specs import CustomFieldSpec, CustomObjectSpec
    with store.transaction() as tx:
        tx.apply_custom_object(CustomObjectSpec(full_name="Conf__c", label="Conf", custom_settings_type="Hierarchy",
                                                fields=[CustomFieldSpec("Conf__c.Limit__c", "Number", precision=18,
                                                                        scale=0)]))
    all_globals = ".withGlobalVariables(FormulaEval.FormulaGlobal.values())"
    results = run_tests(store, {
        "FxTest.cls": "@IsTest class FxTest { @IsTest static void setup() {"
        " insert new Conf__c(SetupOwnerId = UserInfo.getOrganizationId(), Limit__c = 5);"
        " Assert.areEqual(10, " + builder('Decimal', 'Account.SObjectType', '$Setup.Conf__c.Limit__c * 2', all_globals)
        + ".evaluate(new Account()));"
        " Assert.areEqual(false, " + builder('Boolean', 'Account.SObjectType', '$Permission.Nope', all_globals)
        + ".evaluate(new Account()));"
        " Assert.areEqual(1900, " + builder('Integer', 'Account.SObjectType', 'YEAR(DATEVALUE($System.OriginDateTime))',
                                             all_globals) + ".evaluate(new Account())); } }",
    })
    assert results == {"setup": ("Pass", None)}

"""Reading a deploy zip: components, object specs, permission sets, Apex syntax problems with line/column."""
from __future__ import annotations

import pytest

from localcloud.salesforce.metadata.apex_source import declared_name_problem, read_apex, strip_comments, syntax_problems
from localcloud.salesforce.metadata.objects import ObjectDefinitionError, object_spec
from localcloud.salesforce.metadata.package import DeployPackageError, read_deploy_zip
from localcloud.salesforce.metadata.permissionsets import permission_set_definition
from tests.localorg_http.fixtures import BAD_CLASS, GOOD_CLASS, TRIGGER, mdapi_zip


def test_zip_components_are_typed_and_named_with_their_meta_xml() -> None:
    package = read_deploy_zip(mdapi_zip(root="unpackaged/"))
    assert package.api_version == "62.0"
    assert package.declared["CustomObject"] == ["Contact", "Test_Order__c"]
    found = {(c.type, c.full_name, c.file_name) for c in package.components}
    assert ("ApexClass", "TestOrderService", "classes/TestOrderService.cls") in found
    assert ("ApexTrigger", "TestOrderTrigger", "triggers/TestOrderTrigger.trigger") in found
    assert ("PermissionSet", "Test_Integration", "permissionsets/Test_Integration.permissionset") in found
    [cls] = package.of_type("ApexClass")
    assert cls.meta_xml and b"<apiVersion>62.0</apiVersion>" in cls.meta_xml


def test_not_a_zip_and_zip_without_manifest_are_rejected() -> None:
    with pytest.raises(DeployPackageError, match="not a zip"):
        read_deploy_zip(b"hello")
    import io, zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("classes/A.cls", "public class A {}")
    with pytest.raises(DeployPackageError, match="No package.xml"):
        read_deploy_zip(buffer.getvalue())


def test_custom_object_spec_carries_field_definitions() -> None:
    package = read_deploy_zip(mdapi_zip())
    order = next(c for c in package.of_type("CustomObject") if c.full_name == "Test_Order__c")
    spec = object_spec(order)
    assert spec.label == "Test Order" and spec.name_field_label == "Test Order Name"
    fields = {f.full_name: f for f in spec.fields}
    assert fields["Order_Number__c"].external_id and fields["Order_Number__c"].unique
    assert fields["Order_Number__c"].length == 64
    assert (fields["Total__c"].type, fields["Total__c"].precision, fields["Total__c"].scale) == ("Currency", 16, 0)
    assert [v.value for v in fields["Status__c"].picklist_values] == ["New", "Shipped"]
    assert fields["Status__c"].picklist_values[0].default is True
    member = fields["Member__c"]
    assert (member.type, member.reference_to, member.relationship_name) == ("Lookup", "Contact", "Test_Orders")


def test_unsupported_field_type_names_the_field() -> None:
    package = read_deploy_zip(mdapi_zip())
    order = next(c for c in package.of_type("CustomObject") if c.full_name == "Test_Order__c")
    order.body = order.body.replace(b"<type>Currency</type>", b"<type>EncryptedText</type>")
    with pytest.raises(ObjectDefinitionError, match="Total__c.*EncryptedText"):
        object_spec(order)


def test_permission_set_definition() -> None:
    package = read_deploy_zip(mdapi_zip())
    [permset] = package.of_type("PermissionSet")
    definition = permission_set_definition(permset)
    assert definition["label"] == "Test Integration"
    assert definition["fieldPermissions"] == [{"field": "Test_Order__c.Total__c", "readable": True, "editable": True}]
    assert definition["objectPermissions"][0]["allowCreate"] is True


def test_apex_syntax_check_reports_line_and_column() -> None:
    assert syntax_problems(GOOD_CLASS) == []
    assert syntax_problems(TRIGGER) == []
    [problem] = syntax_problems(BAD_CLASS)
    assert (problem.line, problem.column) == (3, 23)  # just after "41"
    assert "Missing ';'" in problem.message


def test_declared_name_must_match_file_name() -> None:
    package = read_deploy_zip(mdapi_zip())
    [cls] = package.of_type("ApexClass")
    source = read_apex(cls)
    assert declared_name_problem(source) is None
    source.name = "OtherName"
    assert "OtherName" in declared_name_problem(source).message


def test_trigger_table_and_length_without_comments() -> None:
    package = read_deploy_zip(mdapi_zip())
    [trigger] = package.of_type("ApexTrigger")
    source = read_apex(trigger)
    assert source.table_name == "Test_Order__c" and source.status == "Active" and source.api_version == "62.0"
    assert strip_comments("a = 'x // y'; // gone\n/* gone */ b") == "a='x//y';b"


def test_a_flow_is_a_flow_component_named_by_its_api_name() -> None:
    """`flows/X.flow` is the Flow X (the org's list of deployed flows, which Flow.Interview and
    Invocable.Action read, is its Flow components)."""
    import io, zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("package.xml", '<Package xmlns="http://soap.sforce.com/2006/04/metadata">'
                         "<types><members>My_Flow</members><name>Flow</name></types><version>62.0</version></Package>")
        archive.writestr("flows/My_Flow.flow", '<Flow xmlns="http://soap.sforce.com/2006/04/metadata"/>')
    [flow] = read_deploy_zip(buffer.getvalue()).components
    assert (flow.type, flow.full_name) == ("Flow", "My_Flow")

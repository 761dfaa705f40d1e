"""Apex test classes for the fixture package's TestOrderService (tests/localorg_http/fixtures.py),
shared by the tests that run Apex tests at deploy and through CumulusCI's run_tests."""
from __future__ import annotations

# Uses Test_Order__c, which the fixture package's own deploy creates.
FINDS_RECENT_ORDERS = """    @IsTest
    static void findsRecentOrders() {
        insert new Test_Order__c(Name = 'A', Total__c = 100);
        Test.startTest();
        List<Test_Order__c> found = TestOrderService.recent();
        Test.stopTest();
        System.assertEquals(1, found.size(), 'one order is recent');
    }
"""


def apex_test_class(name: str, *methods: str) -> str:
    """An @IsTest class called ``name`` holding ``methods`` (each a block of Apex source)."""
    return f"@IsTest\nprivate class {name} {{\n{''.join(methods)}}}\n"


def failing_copy(passing: str) -> str:
    """``passing`` renamed TestOrderFailingTest, its findsRecentOrders asserting what is not so."""
    return passing.replace("private class TestOrderServiceTest", "private class TestOrderFailingTest").replace(
        "System.assertEquals(1, found.size(), 'one order is recent');",
        "System.assertEquals(2, found.size(), 'deliberately failing');",
    )

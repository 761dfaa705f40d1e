*** Settings ***
Library         cumulusci.robotframework.CumulusCI    ${ORG}
Library         cumulusci.robotframework.SalesforceAPI

*** Test Cases ***
Insert, query, update and delete a contact
    ${id} =         Salesforce Insert    Contact    LastName=Robot    Email=robot@example.jp    Test_Member_Id__c=R-1
    &{contact} =    Salesforce Get    Contact    ${id}
    Should Be Equal    ${contact}[Email]    robot@example.jp
    @{records} =    Salesforce Query    Contact    select=Id,LastName    Test_Member_Id__c=R-1
    Length Should Be    ${records}    1
    Should Be Equal    ${records}[0][Id]    ${id}
    Salesforce Update    Contact    ${id}    Email=changed@example.jp
    &{contact} =    Salesforce Get    Contact    ${id}
    Should Be Equal    ${contact}[Email]    changed@example.jp
    &{result} =     SOQL Query    SELECT Id, Email FROM Contact WHERE Test_Member_Id__c = 'R-1'
    Should Be Equal As Integers    ${result}[totalSize]    1
    Should Be Equal    ${result}[records][0][Email]    changed@example.jp
    Salesforce Delete    Contact    ${id}
    @{records} =    Salesforce Query    Contact    Test_Member_Id__c=R-1
    Length Should Be    ${records}    0

Collection insert through Salesforce Collection Insert
    @{objects} =    Generate Test Data    Contact    25    LastName=Bulk{{number}}    Email=bulk{{number}}@example.jp
    @{saved} =      Salesforce Collection Insert    ${objects}
    Length Should Be    ${saved}    25
    @{records} =    Salesforce Query    Contact    select=Id    Email=bulk7@example.jp
    Length Should Be    ${records}    1

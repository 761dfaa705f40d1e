*** Settings ***
Documentation     Seed problem 1: values from Salesforce can be used in Marketo emails. After push_marketo the
...               person carries the mapped lead fields (plain tokens) and every order is a custom object record.
Resource          ../resources/ECBridge.robot
Test Tags         ecbridge    marketo

*** Test Cases ***
Order Values Reach The Marketo Person And The Order Custom Object
    ${tag}=    Unique Run Tag
    ${email}=    Set Variable    ${tag}.yamamoto@example.com
    ${member}=    Member Event    ${tag}-M1    ${email}    山本    美咲
    ${first}=    EC Time    -120
    ${order1}=    Order Event    ${tag}-O1    ${tag}-M1    有田焼 マグカップ    occurred_at=${first}    unit_price=2750
    ${order2}=    Order Event    ${tag}-O2    ${tag}-M1    宇治抹茶 粉末 40g    江戸切子 ロックグラス    status=paid
    Send EC Events    ${member}    ${order1}    ${order2}
    Push To Marketo
    ${person}=    Marketo Person Should Exist Once    ${email}    lastName    ecMemberId    lastOrderNumber    lastProductName    lastOrderTotal
    Should Be Equal    ${person}[lastName]    山本
    Should Be Equal    ${person}[ecMemberId]    ${tag}-M1
    Should Be Equal    ${person}[lastOrderNumber]    ${tag}-O2    the newest order is the last order
    Should Be Equal    ${person}[lastProductName]    江戸切子 ロックグラス    Japanese text arrives intact
    Should Be Equal As Numbers    ${person}[lastOrderTotal]    2400
    @{orders}=    Marketo Orders    ${tag}-O1    ${tag}-O2
    Length Should Be    ${orders}    2
    FOR    ${order}    IN    @{orders}
        Should Be Equal As Integers    ${order}[leadId]    ${person}[id]
    END
    ${record}=    Member Record    ${tag}-M1
    Should Be Equal As Strings    ${record}[Marketo_Id__c]    ${person}[id]    the Marketo id is written back to Salesforce

Pushing Again Creates No Second Person And No Second Order Record
    ${tag}=    Unique Run Tag
    ${email}=    Set Variable    ${tag}.kobayashi@example.com
    ${member}=    Member Event    ${tag}-M1    ${email}    小林
    ${order}=    Order Event    ${tag}-O1    ${tag}-M1    信州りんごジュース 1L×6本
    Send EC Events    ${member}    ${order}
    Push To Marketo
    Push To Marketo    full=True
    Marketo Person Should Exist Once    ${email}
    @{orders}=    Marketo Orders    ${tag}-O1
    Length Should Be    ${orders}    1

*** Settings ***
Documentation     Seed problem 2: the EC site sends members and orders separately and out of order;
...               inside Salesforce every order still ends attached to its member, exactly once.
Resource          ../resources/ECBridge.robot
Test Tags         ecbridge    async

*** Test Cases ***
An Order That Arrives Before Its Member Is Attached When The Member Arrives
    ${tag}=    Unique Run Tag
    ${order}=    Order Event    ${tag}-O1    ${tag}-M1    今治タオル バスタオル 2枚組
    ${results}=    Send EC Events    ${order}
    Results Should Have Statuses    ${results}    created
    ${waiting}=    Order Record    ${tag}-O1
    Should Be Equal    ${waiting}[Member__c]    ${None}    the order cannot be attached before its member exists
    Should Be Equal    ${waiting}[EC_Member_Id__c]    ${tag}-M1
    ${member}=    Member Event    ${tag}-M1    ${tag}.sato@example.com    佐藤    花子
    ${results}=    Send EC Events    ${member}
    Results Should Have Statuses    ${results}    created
    Order Should Be Attached To    ${tag}-O1    ${tag}-M1

A Shopper Who Registers And Buys At Once Is Attached In The Same Call
    ${tag}=    Unique Run Tag
    ${order}=    Order Event    ${tag}-O1    ${tag}-M1    南部鉄器 急須 0.6L
    ${member}=    Member Event    ${tag}-M1    ${tag}.suzuki@example.com    鈴木    一郎
    ${results}=    Send EC Events    ${order}    ${member}
    Results Should Have Statuses    ${results}    created    created
    Order Should Be Attached To    ${tag}-O1    ${tag}-M1

The Same Event Twice Changes Nothing And An Older Event Is Stale
    ${tag}=    Unique Run Tag
    ${now}=    EC Time
    ${earlier}=    EC Time    -60
    ${member}=    Member Event    ${tag}-M1    ${tag}.takahashi@example.com    高橋    occurred_at=${now}    event_id=${tag}-e1
    ${results}=    Send EC Events    ${member}
    Results Should Have Statuses    ${results}    created
    ${results}=    Send EC Events    ${member}
    Results Should Have Statuses    ${results}    unchanged
    ${older}=    Member Event    ${tag}-M1    ${tag}.takahashi@example.com    髙橋    occurred_at=${earlier}    event_id=${tag}-e0
    ${results}=    Send EC Events    ${older}
    Results Should Have Statuses    ${results}    stale
    ${record}=    Member Record    ${tag}-M1
    Should Be Equal    ${record}[LastName]    高橋    a stale event must not change the member

A Bad Event Is Rejected With Its Field And Kept, The Good One Beside It Succeeds
    ${tag}=    Unique Run Tag
    ${good}=    Member Event    ${tag}-M1    ${tag}.ito@example.com    伊藤
    ${bad}=    Member Event    ${tag}-M2    not-an-email    伊藤    event_id=${tag}-bad
    ${results}=    Send EC Events    ${good}    ${bad}
    Results Should Have Statuses    ${results}    created    rejected
    Should Be Equal    ${results}[1][errors][0][field]    email
    Member Record    ${tag}-M1
    @{errors}=    Salesforce Query    EC_Ingest_Error__c    select=Id,Error_Code__c,Field__c,Payload__c
    ...    Event_Id__c=${tag}-bad
    Length Should Be    ${errors}    1    the rejected event is kept for replay
    Should Be Equal    ${errors}[0][Field__c]    email

More Than 200 Events In One Call Are Refused With 413
    ${tag}=    Unique Run Tag
    @{events}=    Create List
    FOR    ${index}    IN RANGE    201
        ${event}=    Member Event    ${tag}-M${index}    ${tag}.n${index}@example.com    中村
        Append To List    ${events}    ${event}
    END
    Send EC Events    @{events}    expected_status=413
    @{rows}=    Salesforce Query    Contact    where=EC_Member_Id__c LIKE '${tag}-%'
    Length Should Be    ${rows}    0    nothing of a refused call is stored

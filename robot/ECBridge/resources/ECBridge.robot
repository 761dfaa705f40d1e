*** Settings ***
Documentation     Shared settings for ECBridge's acceptance tests.
...               Only CumulusCI's API libraries are used: CumulusCI's ``Salesforce.robot`` resource also loads
...               SeleniumLibrary and the browser keyword library, and its suites open a browser in Suite Setup
...               (``Open Test Browser``); nothing here needs one. ``cci task run robot --org local`` runs them.
Library           Collections
Library           String
Library           cumulusci.robotframework.CumulusCI    ${ORG}
Library           cumulusci.robotframework.SalesforceAPI
Library           ECBridge.py

*** Variables ***
${ORG}            local
# Where push_marketo keeps its lock, notes and duplicate clusters, and marketo_dedupe its plan and audit log.
${STATE_DIR}      .ecbridge
${DEDUPE_DIR}     reports/dedupe

*** Keywords ***
Member Record
    [Documentation]    The one Contact with this member key (fails when there is none or several).
    [Arguments]    ${member_id}
    @{rows}=    Salesforce Query    Contact    select=Id,Email,LastName,FirstName,EC_Member_Id__c,Marketo_Id__c
    ...    EC_Member_Id__c=${member_id}
    Length Should Be    ${rows}    1    one Contact with EC_Member_Id__c ${member_id}
    RETURN    ${rows}[0]

Order Record
    [Documentation]    The one EC order with this order number.
    [Arguments]    ${order_number}
    @{rows}=    Salesforce Query    EC_Order__c
    ...    select=Id,Member__c,EC_Member_Id__c,Order_Number__c,Last_Product_Name__c,Total_Amount__c,Status__c
    ...    Order_Number__c=${order_number}
    Length Should Be    ${rows}    1    one EC_Order__c with Order_Number__c ${order_number}
    RETURN    ${rows}[0]

Order Should Be Attached To
    [Arguments]    ${order_number}    ${member_id}
    ${order}=    Order Record    ${order_number}
    ${member}=    Member Record    ${member_id}
    Should Be Equal    ${order}[Member__c]    ${member}[Id]    order ${order_number} is not attached to ${member_id}

Push To Marketo
    [Documentation]    Runs the project's push_marketo task against the suite's org.
    [Arguments]    &{options}
    Run Task    push_marketo    state_dir=${STATE_DIR}    &{options}

Dedupe Marketo
    [Documentation]    Runs the project's marketo_dedupe task with apply (merge policy).
    Run Task    marketo_dedupe    apply=True    push_clusters=${STATE_DIR}/push_duplicate_clusters.jsonl
    ...    output_dir=${DEDUPE_DIR}

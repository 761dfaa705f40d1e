*** Settings ***
Documentation     Seed problem 3: a person who existed in Marketo before (a form fill) gets a second record when the
...               same shopper arrives through the CRM sync. ECBridge prevents a third one when pushing and repairs
...               the pair by merging, never deleting, with the old person's activity history kept.
Resource          ../resources/ECBridge.robot
Test Tags         ecbridge    duplicates

*** Test Cases ***
A Marketo-Only Person And A CRM-Synced Person Are Merged With Their History Kept
    ${tag}=    Unique Run Tag
    ${email}=    Set Variable    ${tag}.watanabe@example.com
    ${old}=    Create Marketo Form Person    ${email}    渡辺    直子
    ${member}=    Member Event    ${tag}-M1    ${email}    渡辺    直子
    Send EC Events    ${member}
    ${contact}=    Member Record    ${tag}-M1
    ${crm}=    Create CRM Synced Person    ${contact}[Id]    ${email}    渡辺    直子
    @{pair}=    Marketo Persons With Email    ${email}
    Length Should Be    ${pair}    2    the CRM sync does not deduplicate by email
    ${history}=    Marketo Activity Ids    ${old}
    Should Not Be Empty    ${history}
    Push To Marketo
    @{still}=    Marketo Persons With Email    ${email}
    Length Should Be    ${still}    2    pushing must not create a third person
    Dedupe Marketo
    ${winner}=    Marketo Person Should Exist Once    ${email}
    Should Be Equal As Integers    ${winner}[id]    ${crm}    the CRM-synced person wins over the Marketo-only one
    ${gone}=    Marketo Person By Id    ${old}
    Should Be Equal    ${gone}    ${None}    the Marketo-only person was merged into the winner
    ${after}=    Marketo Activity Ids    ${crm}    ${old}
    Activities Should Be Kept    ${history}    ${after}

A Person Who Filled A Form Is Updated, Not Duplicated, When The Shopper Is Pushed
    ${tag}=    Unique Run Tag
    ${email}=    Set Variable    ${tag}.kato@example.com
    ${old}=    Create Marketo Form Person    ${email}    加藤
    ${member}=    Member Event    ${tag}-M1    ${email}    加藤    健
    ${order}=    Order Event    ${tag}-O1    ${tag}-M1    御朱印帳 蛇腹式
    Send EC Events    ${member}    ${order}
    Push To Marketo
    ${person}=    Marketo Person Should Exist Once    ${email}    lastOrderNumber
    Should Be Equal As Integers    ${person}[id]    ${old}
    Should Be Equal    ${person}[lastOrderNumber]    ${tag}-O1

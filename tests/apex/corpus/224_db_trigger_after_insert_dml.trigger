trigger AttachOrders on EC_Order__c (before insert) {
    Set<String> keys = new Set<String>();
    for (EC_Order__c o : Trigger.new) keys.add(o.EC_Member_Id__c);
    Map<String, Id> members = new Map<String, Id>();
    for (Contact c : [SELECT Id, EC_Member_Id__c FROM Contact WHERE EC_Member_Id__c IN :keys]) members.put(c.EC_Member_Id__c, c.Id);
    for (EC_Order__c o : Trigger.new) o.Member__c = members.get(o.EC_Member_Id__c);
}

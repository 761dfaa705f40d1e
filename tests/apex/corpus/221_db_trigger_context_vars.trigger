trigger Ctx on Contact (before insert, after insert, before update, after update, before delete, after delete) {
    String timing = Trigger.isBefore ? 'before' : 'after';
    String op = Trigger.isInsert ? 'insert' : Trigger.isUpdate ? 'update' : 'delete';
    System.debug(timing + ' ' + op + ' new=' + (Trigger.new == null ? 'null' : String.valueOf(Trigger.new.size()))
        + ' old=' + (Trigger.old == null ? 'null' : String.valueOf(Trigger.old.size()))
        + ' isInsert=' + Trigger.isInsert
        + ' newMap=' + (Trigger.newMap == null ? 'null' : String.valueOf(Trigger.newMap.size())));
    if (Trigger.isUpdate && Trigger.isAfter) {
        for (Contact c : Trigger.new) System.debug('changed ' + Trigger.oldMap.get(c.Id).LastName + ' -> ' + c.LastName);
    }
}

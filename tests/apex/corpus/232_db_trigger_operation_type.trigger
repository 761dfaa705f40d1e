trigger Ops on Contact (before insert, after insert) {
    switch on Trigger.operationType {
        when BEFORE_INSERT { System.debug('BEFORE_INSERT'); }
        when AFTER_INSERT { System.debug('AFTER_INSERT'); }
        when else { System.debug('other'); }
    }
}

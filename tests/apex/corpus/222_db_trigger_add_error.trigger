trigger Block on Contact (before insert) {
    for (Contact c : Trigger.new) {
        if (c.LastName == 'blocked') c.addError('blocked names are not allowed');
    }
}

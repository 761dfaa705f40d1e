trigger CheckEmail on Contact (before insert) {
    for (Contact c : Trigger.new) {
        if (c.Email != null && !c.Email.endsWith('.jp')) c.Email.addError('Email must be a .jp address');
    }
}

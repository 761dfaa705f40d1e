trigger NormaliseEmail on Contact (before insert, before update) {
    for (Contact c : Trigger.new) {
        if (c.Email != null) c.Email = c.Email.trim().toLowerCase();
        c.Description = 'normalised by trigger';
    }
}

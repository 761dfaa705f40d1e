trigger Explode on Contact (after insert) {
    Integer z = 0;
    for (Contact c : Trigger.new) {
        if (c.LastName == 'explode') Integer x = 1 / z;
    }
}

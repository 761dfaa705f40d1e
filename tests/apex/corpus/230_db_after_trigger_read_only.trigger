trigger ReadOnly on Contact (after insert) {
    for (Contact c : Trigger.new) c.Description = 'too late';
}

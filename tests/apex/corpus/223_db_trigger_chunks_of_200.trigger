trigger Chunks on Contact (after insert) {
    System.debug('chunk of ' + Trigger.size);
}

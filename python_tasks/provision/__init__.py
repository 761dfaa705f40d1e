"""provision_marketo: create in Marketo what ecbridge.yml needs (lead fields, custom objects)."""

"""Where an address is, from an offline database file."""

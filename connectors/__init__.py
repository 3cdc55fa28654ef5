"""Channel connectors: each translates one provider's wire format to the hub's normalised types."""

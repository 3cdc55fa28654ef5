"""The channel-agnostic inbox domain: normalised types, records, errors and ports."""

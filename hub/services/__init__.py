"""The hub's use cases: accept, process, reply, deliver, update, sweep."""

"""Counting events in time windows, for throttling: in this process, or shared through Redis."""

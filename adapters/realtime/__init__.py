"""Realtime fan-out: Redis pub/sub between processes, an in-process bus within one."""

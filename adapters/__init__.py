"""Infrastructure: database, queue, realtime fan-out, storage and providers' HTTP."""

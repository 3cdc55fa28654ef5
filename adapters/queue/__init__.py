"""Job queues: arq on Redis in production, an in-process runner when embedded."""

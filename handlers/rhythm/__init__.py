"""The rhythm of the work: weekly reminders, digests, the monthly giao ban, periodic reports.

Every job here is channel-neutral: it reads storage and puts messages in the outbox with
idempotency keys; ``bot/scheduler.py`` decides when each one runs.
"""

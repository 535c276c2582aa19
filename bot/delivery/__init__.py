"""Delivery: the outbox in the database and the paced sender that drains it."""

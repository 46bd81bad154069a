"""Delivery of rendered messages: the SendGrid sender, the local outbox, the shared envelope."""

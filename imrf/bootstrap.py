"""The composition root: the only place real adapters are built from the settings."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from imrf.contacts import ContactRegistry
from imrf.delivery.base import Sender
from imrf.ledger import Ledger
from imrf.notify import Notifier
from imrf.settings import Settings, load_settings
from imrf.store import Store, open_store


def build_sender(settings: Settings) -> Sender:
    """SendGrid when a key is configured, else the local outbox of .eml files."""
    if settings.sendgrid_api_key is not None and settings.sendgrid_api_key.get_secret_value():
        from imrf.delivery.sendgrid_sender import SendGridSender

        # A connection lost after the request went out may have been accepted: never resend
        # it blindly (the recipient would get the notice twice); the ledger keeps it unknown.
        return SendGridSender(
            settings.sendgrid_api_key, from_email=str(settings.from_email),
            from_name=settings.from_name, host=settings.sendgrid_host,
            sandbox=settings.sendgrid_sandbox, retry_ambiguous=False,
        )
    from imrf.delivery.outbox import OutboxSender

    return OutboxSender(settings.outbox_dir, str(settings.from_email),
                        from_name=settings.from_name)


@dataclass
class App:
    """The adapters of one process, built lazily from one Settings."""

    settings: Settings

    @cached_property
    def store(self) -> Store:
        return open_store(self.settings)

    @cached_property
    def registry(self) -> ContactRegistry:
        return ContactRegistry(self.store)

    @cached_property
    def ledger(self) -> Ledger:
        return Ledger(self.store)

    @cached_property
    def sender(self) -> Sender:
        return build_sender(self.settings)

    @cached_property
    def notifier(self) -> Notifier:
        return Notifier(registry=self.registry, ledger=self.ledger, sender=self.sender)


def build_app(settings: Settings | None = None) -> App:
    return App(settings or load_settings())

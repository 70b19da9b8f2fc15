"""The Slack tests' fake Slack fixture, for the Publish button pressed on Slack."""

from tests.integration.slack.conftest import fake

__all__ = ["fake"]

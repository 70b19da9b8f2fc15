"""Slack: incident channels and messages out (`outbound.SlackChat`, the core `Chat` port on the
Web API, drawing cards from `blocks`), `/crisis`, reactions, buttons and thread replies in
(`inbound.slack_app`, a bolt `AsyncApp` over the narrow `inbound.SlackService`); `api` holds
the markup and the one Web API call.

Outbound calls come from the outbox worker and change things, so they never retry on their own
(no slack_sdk retry handlers on that client): a 429, a 5xx or a lost connection becomes
`RetryLater` and the outbox decides when to try again. Each post carries message metadata
naming its notice, so a retry after a crash first looks for the message it may already have
posted, and a taken channel name is first checked for the channel an earlier attempt created.
Every call is bounded by the client's timeout (`slack.timeout`).

Inbound handlers answer within Slack's 3 seconds (ack first, work after) and speak to the
sender alone (ephemeral messages). Requests are authorized from the bot's identity, fetched
once at start-up (`SlackChat.identify`), never by calling Slack on a user's request. Each
Events API delivery is handled once, remembered in the database by its `event_id`; the work a
reaction, a thread reply or an Approve press asks for is stored with it as an inbound job,
before Slack is answered, and carried out (and retried) by the `InboundWorker`.
"""

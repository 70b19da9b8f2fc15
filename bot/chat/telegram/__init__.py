"""Telegram: incident topics in a forum supergroup, the shared `/crisis` commands, draft approval
by buttons, reactions and replies.

Two halves over one python-telegram-bot `Application` built with `updater(None)` (`api`):
`outbound.TelegramChat` is the core's `Chat` port (what delivery calls), and
`inbound.TelegramUpdates` turns updates into calls of the narrow `inbound.TelegramService`
(`words` reads command text). We feed updates ourselves — from our webhook route or our own
`getUpdates` loop — so every `update_id` is claimed in the database in the same transaction as
everything its handling writes (one commit), and a re-delivery does nothing.

An incident's space is `Space("telegram", "<chat id>/<thread>")`: the thread is the forum topic,
or, in a group that is not a forum, the pinned incident message whose replies hold the
conversation. Bot API errors 429 become `RetryLater`, so the deliverer waits as told.

Answers to commands, refusals and the questions under draft cards are not sent while the
update is handled: they are queued in the outbox (`Service.answer`), so the webhook returns as
soon as the command is committed, and the outbox sends them ahead of routine notices. Only
`answerCallbackQuery` (a button's popup) is answered at once, right after the commit: it is
not a chat message.

Pacing is proactive too, in one place (`pacing`): every call that puts or changes a message in
a chat (send, edit, pin, topic create/close/reopen) takes a turn from `Pacer` first, which keeps
to Telegram's limits (about one message a second per chat, twenty a minute per group) for every
process sharing the database. 429s stay the fallback, handled as above.
"""

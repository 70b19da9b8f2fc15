"""The composition root: the only place that names concrete classes and reads settings.

`team` turns settings into the core's plain values (rules, schedule, playbooks, templates, the
team's words); `chats` builds the chat adapters and publishing destinations; `wiring` builds the
`Bot` (store, chats, outbox, service, scheduler); `intake`, `console` and `web` make the HTTP
app of `serve`, which `server` runs.
"""

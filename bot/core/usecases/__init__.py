"""Use cases, one module per area: plain async functions over a transaction (`Tx`) and the ports they need. `bot.core.service.Service` is the one entry point adapters call."""

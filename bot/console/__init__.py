"""The web console: incident list, incident rooms, sign-in by one-time link, live updates."""

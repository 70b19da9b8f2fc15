"""`python -m bot` is the same as the `crisisbot` console script."""

from bot.cli import main

raise SystemExit(main())

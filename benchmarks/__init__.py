"""`make bench`: an Alertmanager alert storm against `crisisbot serve` and two baselines."""

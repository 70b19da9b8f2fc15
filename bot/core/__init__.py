"""The crisis domain: pure Python, standard library only, no I/O, no clock."""

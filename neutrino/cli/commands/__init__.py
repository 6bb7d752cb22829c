"""The `neutrino` sub-commands, one module per resource or extension."""

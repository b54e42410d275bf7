"""The command-line interface: the only layer that prints, colours, shows progress and exits."""

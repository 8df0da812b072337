"""The `kebas` command: the only place that prints and picks exit codes."""

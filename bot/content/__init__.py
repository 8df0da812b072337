"""Content: reading the YAML dialogs and locales, checking them, scenarios and sign-off."""

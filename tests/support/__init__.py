"""Helpers the tests share: the fake Bot API, the bot harness, database backends, chaos."""

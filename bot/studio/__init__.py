"""`kebas studio`: a local web page where a clinician edits the dialog in their own editor and
sees at once what it does (docs/studio.md). Above the channels: its chat panel renders as the
Telegram channel does, with that channel's own code."""

"""The Telegram channel: app wiring, update processing, the durable inbox, webhook."""

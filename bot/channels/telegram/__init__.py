"""The Telegram channel, one job a module.

app: the Application `kebas run` runs (wiring only). handler: every update's road, typed text.
commands: the command table. presses: button presses. replies: what a chat is sent. messages:
HTML within Telegram's limits, keyboards. chats: who an update comes from. erasure: /hapus
confirmations. reload: hot reload of content. ordering: each chat's updates in turn. inbox:
the durable inbox. flood: chats that flood. ratelimit: sending within Telegram's limits.
polling: long polling that cannot wedge. webhook: webhook workers. bounded: memory per chat.
store: the database as the channel uses it.
"""

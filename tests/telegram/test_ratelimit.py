"""Telegram's limits are kept, and no message is ever dropped for going too fast.

`outgoing_limiter` spaces Kebas's requests to KEBAS_SEND_RATE a second, and waits out every
429 (flood wait) before sending the request again, however often Telegram refuses.
"""

from __future__ import annotations

import datetime as dtm

from telegram.error import RetryAfter

from bot.channels.telegram.ratelimit import outgoing_limiter

from support.harness import Runner, running_bot

FLOOD_WAIT = (429, "Too Many Requests: retry after 1", {"retry_after": 1})


async def test_a_request_is_sent_again_after_every_flood_wait_however_many():
    limiter = outgoing_limiter(30)
    refusals = 40  # far beyond any fixed number of retries a limiter might give up after
    calls = []

    async def send() -> str:
        calls.append(len(calls))
        if len(calls) <= refusals:
            raise RetryAfter(dtm.timedelta(milliseconds=1))
        return "sent"

    result = await limiter.process_request(send, (), {}, "sendMessage", {"chat_id": 42}, None)
    assert result == "sent"
    assert len(calls) == refusals + 1


async def test_flood_waits_delay_the_replies_but_every_one_arrives(fake, shipped, tmp_path):
    fake.fail_next["sendMessage"] = [FLOOD_WAIT] * 3
    async with running_bot(fake, shipped, tmp_path / "kebas.sqlite3"):
        runner = Runner(fake, 301)
        await runner.agree()
        refused = [call for call in fake.calls_of("sendMessage") if call.status == 429]
        assert len(refused) == 3
        texts = [message.text for message in runner.sent]
        assert any("Sebelum mulai" in text for text in texts), "the consent request came"
        assert runner.question(), "and after consent, the first question"
        first_sent = next(call for call in fake.calls_of("sendMessage") if call.status == 200)
        assert first_sent.at - refused[0].at >= 3 * 1.0, "each flood wait was waited out"


async def test_many_runners_at_once_are_answered_at_the_set_rate_and_none_is_dropped(
        fake, shipped, tmp_path):
    rate, runners = 5, 12
    async with running_bot(fake, shipped, tmp_path / "kebas.sqlite3", kebas_send_rate=rate):
        for chat_id in range(400, 400 + runners):
            fake.send_text(chat_id, "/start")
        await fake.wait_for(lambda: len(fake.calls_of("sendMessage")) >= 2 * runners,
                            timeout=30)
        await fake.settled()
    sends = fake.calls_of("sendMessage")
    assert len(sends) == 2 * runners, "a welcome and a consent request each, nothing dropped"
    for chat_id in range(400, 400 + runners):
        assert any("k:agree" in str(m.reply_markup) for m in fake.sent(chat_id))
    # The limiter lets `rate` through at once, then `rate` a second: 24 sends take >= 3.8 s.
    spread = sends[-1].at - sends[0].at
    assert spread >= (len(sends) - rate) / rate * 0.95

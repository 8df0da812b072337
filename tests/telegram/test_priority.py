"""When Telegram's budget is short, the most urgent request goes first.

Red-flag advice, then results, then next questions, then the cosmetic edit that turns an
answered question into a record of its answer (`UrgentFirst`, `Replies.recorded`).
"""

from __future__ import annotations

import asyncio

import pytest
from aiolimiter import AsyncLimiter

from bot.channels.telegram.outgoing import Priority
from bot.channels.telegram.ratelimit import UrgentFirst

from support.harness import Runner, running_bot


async def queued(sending: UrgentFirst, priorities: list[Priority]) -> list[str]:
    """Ask for one request per priority, in this order, each while the earlier ones still
    wait; the order in which they were sent."""
    sent: list[str] = []

    async def request(name: str, priority: Priority) -> None:
        async def send() -> bool:
            sent.append(name)
            return True
        await sending.process_request(send, (), {}, "sendMessage", {"chat_id": 7},
                                      int(priority))

    tasks = []
    for number, priority in enumerate(priorities):
        tasks.append(asyncio.create_task(request(f"{priority.name}-{number}", priority)))
        await asyncio.sleep(0)  # it joins the queue before the next is asked for
    await asyncio.gather(*tasks)
    return sent


async def test_red_flag_advice_goes_ahead_of_every_reply_queued_before_it():
    sending = UrgentFirst(per_second=20)
    await sending.initialize()
    order = [Priority.COSMETIC] * 5 + [Priority.REPLY] * 40 + [Priority.RESULT,
                                                                 Priority.RED_FLAG]
    sent = await queued(sending, order)
    # A second's budget (20) goes at once, in the order asked; of the requests still
    # waiting, the red flag goes first, then the result, then the replies in the order
    # asked, and the cosmetic edits only when nothing else waits.
    assert sent[:20] == [f"{p.name}-{n}" for n, p in enumerate(order[:20])]
    assert sent[20:] == ["RED_FLAG-46", "RESULT-45", *(f"REPLY-{n}" for n in range(20, 45))]


async def test_a_request_given_up_while_waiting_does_not_stall_the_queue():
    sending = UrgentFirst(per_second=1)
    await sending.initialize()
    sent: list[int] = []

    async def request(number: int) -> None:
        async def send() -> bool:
            sent.append(number)
            return True
        await sending.process_request(send, (), {}, "editMessageText", {"chat_id": 7},
                                      int(Priority.COSMETIC))

    first = asyncio.create_task(request(0))   # through at once
    second = asyncio.create_task(request(1))  # waiting a second for budget
    third = asyncio.create_task(request(2))
    await asyncio.sleep(0.05)
    assert sending.waiting() == 2 and not sending.spare()
    second.cancel()
    third.cancel()
    await asyncio.gather(first, second, third, return_exceptions=True)
    fourth = asyncio.create_task(request(3))
    await asyncio.wait_for(fourth, 5)
    assert sent == [0, 3]


async def test_emergency_advice_goes_out_ahead_of_a_queue_of_ordinary_replies(
        fake, shipped, tmp_path):
    async with running_bot(fake, shipped, tmp_path / "kebas.sqlite3") as app:
        ordinary = [Runner(fake, 600 + number) for number in range(8)]
        in_danger = Runner(fake, 650)
        for runner in [*ordinary, in_danger]:
            await runner.agree()
            await runner.choose_many("none")  # the next question is a3_saddle
        # Telegram's budget falls to two requests a second: replies must queue.
        sending = app.bot_data["kebas"].sending
        sending.per_second, sending.budget = 2, AsyncLimiter(2, 1)
        asked = len(fake.calls)
        pressed = {(runner.chat_id, runner.question().message_id)
                   for runner in [*ordinary, in_danger]}
        for runner in ordinary:
            fake.press(runner.chat_id, runner.question().message_id, runner.data_for("no"))
        await fake.wait_for(lambda: sending.waiting() >= 5)
        danger = fake.press(in_danger.chat_id, in_danger.question().message_id,
                            in_danger.data_for("saddle"))
        await fake.wait_for(lambda: all(asked_about("a45_leg", runner) for runner in ordinary)
                            and any("DARURAT" in m.text for m in in_danger.sent), timeout=30)
        # the records of all nine answers come last, once nothing else waits
        await fake.wait_for(lambda: len(records_of(pressed, fake.calls[asked:])) == 9,
                            timeout=30)
        await fake.settled()
    calls = fake.calls[asked:]
    danger_answered = next(n for n, call in enumerate(calls)
                           if call.method == "answerCallbackQuery"
                           and call.params["callback_query_id"] == fake.callback_id(danger))
    advice = next(n for n, call in enumerate(calls) if "DARURAT" in call.params.get("text", ""))
    replies = [n for n, call in enumerate(calls) if call.method == "sendMessage"
               and fake.chat_of(call) != in_danger.chat_id]
    assert len([n for n in replies if danger_answered < n < advice]) <= 1, \
        "the advice went at the next moment of budget after the runner's answer"
    assert len([n for n in replies if n > advice]) >= 3, "ahead of the replies queued before it"
    assert len(replies) == len(ordinary), "and every ordinary reply still went out"
    records = [n for n, call in enumerate(calls) if call in records_of(pressed, calls)
               and fake.chat_of(call) != ordinary[0].chat_id]
    assert len(records) == 8 and all(n > max(replies) for n in records), \
        "the answered questions' records waited until every reply was out"

def records_of(pressed: set[tuple[int, int]], calls: list) -> list:
    """The edits of the pressed questions into records of their answers."""
    return [call for call in calls if call.method == "editMessageText"
            and (int(call.params["chat_id"]), int(call.params["message_id"])) in pressed]


def asked_about(node_id: str, runner: Runner) -> bool:
    return any(f":{node_id}:" in str(message.buttons) for message in runner.sent)


def test_a_result_just_reached_costs_few_messages_and_keeps_every_word(shipped):
    """Each message costs Telegram's budget: a result goes in as few as fit before its
    disclaimer, which stays its own message, as do red-flag advice and the buttons."""
    from bot.channels.telegram.messages import render_html
    from bot.channels.telegram.outgoing import step_messages
    from bot.core import engine, inputs
    from bot.core.render import compose

    dialog, locale = shipped.dialog(), shipped.locales["id"]
    step = engine.start(dialog)
    answers = {"a12_alarm": ("none",), "a3_saddle": "no", "a45_leg": ("none",),
               "a7_weakness": ("none",), "a8_now": "gone"}
    while step.prompt is not None:  # the first option, or no screening sign, to a result
        node = dialog.node(step.prompt.node_id)
        wanted = answers.get(node.id)
        if step.prompt.kind == "number":
            given: inputs.Input = inputs.Typed("35")
        elif step.prompt.kind == "multi":
            given = inputs.ChooseMany(wanted or (step.prompt.choices[0].id,))
        else:
            given = inputs.Choose(wanted or step.prompt.choices[0].id)
        step = engine.step(dialog, step.state, given)
    messages, _ = compose(step, locale)
    sent = step_messages(step, locale, 1)
    assert len(messages) >= 6 and len(sent) <= 4, "a dozen messages' worth in a few"
    assert sent[-2].html == render_html(messages[-1]), "the disclaimer on its own"
    assert sent[-1].markup is not None
    assert all(out.urgent in (Priority.RED_FLAG, Priority.RESULT) for out in sent), sent
    everything = "\n".join(out.html for out in sent)
    assert all(render_html(message) in everything for message in messages), "every word"
    assert all(len(out.html) <= 4096 for out in sent)


def test_a_check_in_due_now_queues_behind_replies_but_its_urgent_advice_does_not():
    from bot.channels.telegram.replies import background, priority

    assert priority() == Priority.REPLY
    with background():  # the follow-up sender sends a check-in inside this block
        assert priority() == Priority.BACKGROUND
        assert priority(Priority.RED_FLAG) == Priority.RED_FLAG
        assert priority(Priority.RESULT) == Priority.RESULT
    assert priority() == Priority.REPLY


async def test_a_record_made_at_once_never_holds_up_the_runner_behind_other_chats(shipped):
    """Found by an outside review: the record edited 'at once' (the budget looked spare)
    still queued as cosmetic, so a burst from other chats in the same moment held the
    runner's next message, red-flag advice included, for as long as the burst lasted."""
    from bot.channels.telegram.bounded import BoundedDict
    from bot.channels.telegram.chats import Chat
    from bot.channels.telegram.metrics import BotMetrics
    from bot.channels.telegram.replies import Replies

    sending = UrgentFirst(per_second=4)
    await sending.initialize()
    sent: list[str] = []

    class Bot:
        async def edit_message_text(self, text, chat_id, message_id, rate_limit_args=None):
            async def edit() -> bool:
                sent.append("record")
                return True
            return await sending.process_request(edit, (), {}, "editMessageText",
                                                 {"chat_id": chat_id}, rate_limit_args)

    async def other(number: int) -> None:
        async def send() -> bool:
            sent.append(f"other-{number}")
            return True
        await sending.process_request(send, (), {}, "sendMessage", {"chat_id": 99},
                                      int(Priority.REPLY))

    replies = Replies(None, None, BoundedDict(10), 90, BotMetrics(shipped.dialog()), sending)
    here = Chat(7, "tg:7", shipped.locales["id"], consented=True)
    assert sending.spare()
    recording = asyncio.create_task(replies.recorded(Bot(), here, 42, "Q\n\n✅ A"))
    burst = [asyncio.create_task(other(number)) for number in range(12)]
    await asyncio.wait_for(recording, 2.0)
    assert sent.index("record") <= 1
    await asyncio.gather(*burst)


@pytest.mark.parametrize("command", ["/hapus", "/kembali", "/ulang", "/batal"])
async def test_records_still_waiting_are_given_up_when_the_answer_no_longer_stands(
        fake, shipped, tmp_path, command):
    """Found by an outside review: a record waiting for spare budget landed after /hapus,
    writing the erased answer back into the chat, and after /kembali it put the withdrawn
    answer on the question asked again."""
    async with running_bot(fake, shipped, tmp_path / "kebas.sqlite3") as app:
        kebas = app.bot_data["kebas"]
        runner = Runner(fake, 670)
        await runner.agree()
        await runner.choose_many("none")
        question = runner.question()
        # the budget is short: records wait for half of it to be free, which never comes
        budget = kebas.sending.budget
        kebas.sending.spare = lambda: False
        budget.has_capacity = lambda amount=1: amount <= 1
        await runner.choose("no")
        assert len(kebas.replies.later.waiting) == 1, "the record of a3_saddle waits"
        if command == "/hapus":
            await runner.type("/hapus", expect="Hapus semua data Anda")
            await runner.tap(runner.sent[-1], runner.sent[-1].buttons[0]["callback_data"])
        else:  # /batal sends no question, the others ask one
            await runner.type(command, expect="/mulai" if command == "/batal" else None)
        await fake.wait_for(lambda: not kebas.replies.later.waiting, timeout=5)
        del budget.has_capacity, kebas.sending.spare  # plenty of budget again
        await asyncio.sleep(0.3)
        await fake.settled()
    records = [call for call in fake.calls if call.method == "editMessageText"
               and call.params.get("message_id") == question.message_id]
    assert records == [], "no record of an answer that no longer stands"


def test_packing_cuts_only_between_messages_never_under_a_heading():
    """Found by an outside review: packing cut where 4096 characters fell, so a heading
    ('When to seek help urgently') could end one Telegram message and its text start the
    next."""
    from bot.channels.telegram.messages import packed, render_html
    from bot.core.render import Line, Message

    first = Message((Line("Ringkasan", strong=True), Line("a" * 3500)))
    second = Message((Line("Kapan harus segera mencari pertolongan", strong=True),
                      Line("b" * 900)))
    third = Message((Line("c" * 100),))
    parts = packed([first, second, third])
    assert parts == [render_html(first), f"{render_html(second)}\n\n{render_html(third)}"]
    alone = Message((Line("d" * 5000),))
    assert [len(part) for part in packed([alone, third])] == [4096, 904, 100] or \
        len(packed([alone, third])) == 3, "a message too long alone is still split"

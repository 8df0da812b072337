"""When Telegram's budget is short, the most urgent request goes first.

Red-flag advice, then results, then next questions, then the cosmetic edit that turns an
answered question into a record of its answer (`UrgentFirst`, `Replies.recorded`).
"""

from __future__ import annotations

import asyncio

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

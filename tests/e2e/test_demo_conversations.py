"""The demo hairdresser bot end to end over HTTP: book, view, cancel, answers by number or title."""

from __future__ import annotations

from demo_chat import (
    MENU_TEXT,
    book,
    is_menu,
    option_ids,
    option_titles,
    texts,
)

from botfleet.adapters.connectors.calendar.memory import InMemoryCalendar
from botfleet.testing.runtime import ChatClient

MONDAY = "day_2024-05-06"
TEN = "hour_2024-05-06_1000"
BOOKED_TEXT = "✅ Booked: Haircut on Mon 6 May at 10:00. See you then!"


def calendar_of(chat: ChatClient) -> InMemoryCalendar:
    calendar = chat.runtime.connectors.get("calendar")  # type: ignore[attr-defined]
    assert isinstance(calendar, InMemoryCalendar)
    return calendar


async def test_a_first_message_gets_the_menu(chat: ChatClient) -> None:
    replies = await chat.say("+34600000001", "hello")
    assert len(replies) == 1
    assert replies[0]["text"] == MENU_TEXT
    assert option_ids(replies[0]) == ["menu_book", "menu_view", "menu_cancel"]


async def test_booking_by_pressing_walks_service_day_time_and_confirms(chat: ChatClient) -> None:
    contact = "+34600000001"
    await chat.say(contact, "hi")
    services = await chat.press(contact, "menu_book")
    assert services[0]["text"] == "Which service would you like?"
    assert option_ids(services[0]) == ["service_haircut", "service_colour", "service_beard"]

    days = await chat.press(contact, "service_haircut", kind="list_reply")
    assert days[0]["text"] == "Which day works for you for a haircut?"
    # Monday 6 May 09:00: today is still bookable; Sunday (no schedule) is skipped.
    assert option_ids(days[0])[:7] == [
        "day_2024-05-06",
        "day_2024-05-07",
        "day_2024-05-08",
        "day_2024-05-09",
        "day_2024-05-10",
        "day_2024-05-11",
        "day_2024-05-13",
    ]
    assert option_titles(days[0])[0] == "Mon 6 May"

    times = await chat.press(contact, MONDAY, kind="list_reply")
    assert times[0]["text"] == "What time on Mon 6 May?"
    assert option_ids(times[0])[:2] == [TEN, "hour_2024-05-06_1030"]

    confirm = await chat.press(contact, TEN, kind="list_reply")
    assert texts(confirm) == ["Haircut on Mon 6 May at 10:00 (18 €). Shall I book it?"]
    assert option_ids(confirm[0]) == ["confirm_yes", "confirm_no"]

    booked = await chat.press(contact, "confirm_yes")
    assert booked[0] == {"type": "text", "text": BOOKED_TEXT}
    assert is_menu(booked)
    [appointment] = calendar_of(chat).appointments
    assert appointment.contact_id == contact
    assert appointment.start.isoformat() == "2024-05-06T10:00:00+02:00"
    assert appointment.service_key == "haircut"


async def test_numbered_answers_work_like_pressing(chat: ChatClient) -> None:
    contact = "c-numbers"
    await chat.say(contact, "hi")
    assert texts(await chat.say(contact, "1")) == ["Which service would you like?"]
    assert texts(await chat.say(contact, "2")) == ["Which day works for you for a colour?"]
    assert texts(await chat.say(contact, "1")) == ["What time on Mon 6 May?"]
    assert texts(await chat.say(contact, " 1 ")) == [
        "Colour on Mon 6 May at 10:00 (45 €). Shall I book it?"
    ]
    booked = await chat.say(contact, "1")
    assert texts(booked)[0] == "✅ Booked: Colour on Mon 6 May at 10:00. See you then!"
    assert [a.service_key for a in calendar_of(chat).appointments] == ["colour"]


async def test_option_titles_work_like_pressing(chat: ChatClient) -> None:
    contact = "c-titles"
    await chat.say(contact, "hi")
    assert texts(await chat.say(contact, "Book appointment")) == ["Which service would you like?"]
    await chat.say(contact, "haircut")  # titles match without regard to case
    await chat.say(contact, "Tue 7 May")
    assert texts(await chat.say(contact, "17:30")) == [
        "Haircut on Tue 7 May at 17:30 (18 €). Shall I book it?"
    ]
    booked = await chat.say(contact, "Yes, book it")
    assert texts(booked)[0] == "✅ Booked: Haircut on Tue 7 May at 17:30. See you then!"


async def test_a_number_out_of_range_is_not_a_choice(chat: ChatClient) -> None:
    contact = "c-range"
    await chat.say(contact, "hi")
    again = await chat.say(contact, "7")
    assert texts(again) == [MENU_TEXT]
    assert calendar_of(chat).appointments == ()


async def test_unknown_text_shows_the_menu_again(chat: ChatClient) -> None:
    contact = "c-unknown"
    await chat.say(contact, "hi")
    assert texts(await chat.say(contact, "what's the weather like?")) == [MENU_TEXT]
    # In a list state the fallback says so and shows that list again.
    await chat.press(contact, "menu_book")
    again = await chat.say(contact, "a perm, please")
    assert texts(again) == [
        "Sorry, that is not one of our services. Please pick one from the list"
        " (or type 'menu' to start again).",
        "Which service would you like?",
    ]


async def test_viewing_appointments_lists_own_bookings_only(chat: ChatClient) -> None:
    contact = "c-view"
    await chat.say(contact, "hi")
    empty = await chat.press(contact, "menu_view")
    assert texts(empty)[0] == "You have no upcoming appointments."
    assert is_menu(empty)

    await book(chat, contact, day=MONDAY, slot=TEN)
    await book(chat, "someone-else", day=MONDAY, slot="hour_2024-05-06_1100")
    mine = await chat.press(contact, "menu_view")
    assert texts(mine)[0] == "Your upcoming appointments:\n• Mon 6 May · 10:00 · Haircut"
    assert is_menu(mine)


async def test_cancelling_an_appointment_frees_it(chat: ChatClient) -> None:
    contact = "c-cancel"
    await book(chat, contact, day=MONDAY, slot=TEN)
    [appointment] = calendar_of(chat).appointments

    choose = await chat.press(contact, "menu_cancel")
    assert choose[0]["text"] == "Which appointment do you want to cancel?"
    assert option_ids(choose[0]) == [f"cancel_appt_{appointment.event_id}"]
    confirm = await chat.say(contact, "1")
    assert texts(confirm) == ["Cancel your appointment on Mon 6 May · 10:00 · Haircut?"]
    done = await chat.press(contact, "cancel_yes")
    assert texts(done)[0] == "✅ Your appointment is cancelled."
    assert is_menu(done)
    assert calendar_of(chat).appointments == ()

    nothing = await chat.press(contact, "menu_cancel")
    assert texts(nothing)[0] == "You have no upcoming appointments to cancel."
    assert is_menu(nothing)


async def test_keeping_an_appointment_changes_nothing(chat: ChatClient) -> None:
    contact = "c-keep"
    await book(chat, contact, day=MONDAY, slot=TEN)
    await chat.press(contact, "menu_cancel")
    await chat.say(contact, "1")
    kept = await chat.press(contact, "cancel_no")
    assert texts(kept) == [MENU_TEXT]
    assert len(calendar_of(chat).appointments) == 1


async def test_a_slot_taken_between_listing_and_confirming_offers_the_rest(
    chat: ChatClient,
) -> None:
    slow, fast = "c-slow", "c-fast"
    await chat.say(slow, "hi")
    await chat.press(slow, "menu_book")
    await chat.press(slow, "service_haircut", kind="list_reply")
    await chat.press(slow, MONDAY, kind="list_reply")
    await chat.press(slow, TEN, kind="list_reply")  # the slow contact sees "Shall I book it?"

    assert texts(await book(chat, fast, day=MONDAY, slot=TEN))[0] == BOOKED_TEXT

    taken = await chat.press(slow, "confirm_yes")
    assert taken[0]["text"] == (
        "Sorry, that time was just taken by someone else. Here are the times still free:"
    )
    assert taken[1]["text"] == "What time on Mon 6 May?"
    remaining = option_ids(taken[1])
    assert TEN not in remaining
    assert remaining[0] == "hour_2024-05-06_1030"
    [appointment] = calendar_of(chat).appointments
    assert appointment.contact_id == fast

    # The slow contact can still book one of the times offered.
    await chat.press(slow, remaining[0], kind="list_reply")
    booked = await chat.press(slow, "confirm_yes")
    assert texts(booked)[0] == "✅ Booked: Haircut on Mon 6 May at 10:30. See you then!"


async def test_declining_the_confirmation_books_nothing(chat: ChatClient) -> None:
    contact = "c-no"
    await chat.say(contact, "hi")
    await chat.press(contact, "menu_book")
    await chat.press(contact, "service_beard", kind="list_reply")
    await chat.press(contact, MONDAY, kind="list_reply")
    await chat.press(contact, TEN, kind="list_reply")
    back = await chat.press(contact, "confirm_no")  # "No, go back": the times again
    assert texts(back) == ["What time on Mon 6 May?"]
    assert calendar_of(chat).appointments == ()


async def test_back_to_menu_and_menu_words_leave_any_state(chat: ChatClient) -> None:
    contact = "c-global"
    await chat.say(contact, "hi")
    await chat.press(contact, "menu_book")
    await chat.press(contact, "service_haircut", kind="list_reply")
    assert texts(await chat.press(contact, "back_to_menu")) == [MENU_TEXT]

    for word in ("menu", "  MENU ", "start", "Restart"):
        await chat.press(contact, "menu_book")
        assert texts(await chat.say(contact, word)) == [MENU_TEXT], word


async def test_every_reply_is_also_in_the_outbox_in_order(chat: ChatClient) -> None:
    contact = "c-outbox"
    first = await chat.say(contact, "hi")
    second = await chat.press(contact, "menu_book")
    rows = await chat.messages(contact)
    assert [r["output"] for r in rows] == [*first, *second]
    assert [r["contact_id"] for r in rows] == [contact] * len(rows)
    later = await chat.messages(contact, since=rows[0]["seq"])
    assert [r["output"] for r in later] == second

"""Provider error texts lose every number that may be a phone number, however it is written, and
keep what an operator needs to read: error codes, HTTP statuses, dates, ids with letters."""

from __future__ import annotations

import pytest

from botfleet.adapters.channels.log_contacts import LogContacts
from botfleet.contact_hash import hash_contact, scrub_numbers

TENANT = "salon"
CONTACT = "34600111222"


@pytest.mark.parametrize(
    "written",
    [
        "34600111222",
        "+34600111222",
        "+34 600 111 222",
        "+34-600-111-222",
        "+34.600.111.222",
        "(+34) 600 111 222",
        "+34 (600) 111-222",
    ],
)
def test_the_known_contact_is_named_by_its_hash_however_its_number_is_written(
    written: str,
) -> None:
    text = f"Message failed while sending to {written}."
    scrubbed = LogContacts(TENANT).scrub(text, CONTACT)
    assert scrubbed == f"Message failed while sending to <contact {hash_contact(TENANT, CONTACT)}>."


@pytest.mark.parametrize(
    ("written", "digits"),
    [
        ("(650) 555-1234", "6505551234"),
        ("+1 650 555 1234", "16505551234"),
        ("5551234", "5551234"),
    ],
)
def test_another_number_gets_the_hash_a_contact_with_those_digits_has(
    written: str, digits: str
) -> None:
    scrubbed = LogContacts(TENANT).scrub(f"recipient {written} refused", CONTACT)
    assert scrubbed == f"recipient <number {hash_contact(TENANT, digits)}> refused"


def test_without_a_tenant_a_number_is_only_removed() -> None:
    assert scrub_numbers("while sending to 34600111222") == "while sending to <number>"


@pytest.mark.parametrize(
    "text",
    [
        "(#131000) Something went wrong",  # a Graph code: six digits
        "HTTP 503",
        "code 131047, subcode 2494",
        "Session has expired on Friday, 07-Jun-24 10:00:00 PDT.",
        "valid until 2024-05-06",
        "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI2RUQ2NkE5NzdDNDY1MTQ0ODYA",
        "token EAAG1234567890abc is invalid",  # digits inside a word
        "Min length: 1, Max length: 20",
    ],
)
def test_codes_statuses_dates_and_ids_stay_readable(text: str) -> None:
    assert scrub_numbers(text, TENANT, [CONTACT]) == text


def test_a_hash_put_in_is_not_taken_for_a_number() -> None:
    # A hash can be twelve digits; scrubbing the text again must leave it.
    placed = "<contact 123456789012> and <number 000000000001>"
    assert scrub_numbers(placed, TENANT) == placed


def test_a_telegram_topic_id_is_replaced_whole_before_numbers_are() -> None:
    topic, chat = "-1001234567890:topic:42", "-1001234567890"
    text = f"chat {topic} and chat {chat}"
    scrubbed = LogContacts(TENANT).scrub(text, topic, chat)
    topic_hash, chat_hash = hash_contact(TENANT, topic), hash_contact(TENANT, chat)
    assert scrubbed == f"chat <contact {topic_hash}> and chat <contact {chat_hash}>"


def test_a_number_in_parentheses_keeps_the_texts_closing_one() -> None:
    assert scrub_numbers("(call 600 111 222)") == "(call <number>)"
    assert scrub_numbers("(+34) 600 111 222 refused") == "<number> refused"

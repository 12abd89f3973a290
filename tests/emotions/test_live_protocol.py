"""The live protocol's parsing and bad-message count, without a socket."""

import pytest

from emotions.live_protocol import MAX_CONTROL_CHARS, BadMessageCounter, ProtocolError, parse_control


@pytest.mark.parametrize(("text", "reason"), [
    ("[" * 5000, "at most"), ("[" * 1100, "nested too deeply"),
    ("{", "invalid JSON"), ("", "invalid JSON"), ("1" * 4500, "at most"), ('"\\ud800"', '"type"'),
    ("[]", '"type"'), ('{"type": 7}', '"type"'),
])
def test_refusals_name_the_reason(text, reason):
    with pytest.raises(ProtocolError, match=reason):
        parse_control(text)


def test_a_control_message_at_the_limit_is_parsed():
    padding = MAX_CONTROL_CHARS - len('{"type": "start", "pad": ""}')
    assert parse_control('{"type": "start", "pad": "' + "x" * padding + '"}')["type"] == "start"


def test_the_counter_says_close_once_past_the_limit_and_starts_again_after_a_good_message():
    counter = BadMessageCounter(2)
    assert [counter.refused() for _ in range(4)] == [False, False, True, False]
    counter.accepted()
    assert [counter.refused() for _ in range(3)] == [False, False, True]

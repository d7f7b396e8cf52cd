"""Answer normalisation, visible format checks and hidden-test helpers."""

import numpy as np
import pytest

from lmmcourse.grading import (
    assert_close,
    check_format,
    decode_text,
    encode_text,
    grade_choice,
    normalise_choice,
)

FEEDBACK = {"a": "A is the pooled slope.", "b": "B is right: the variance ratio.",
            "c": "C confuses SD and variance.", "d": "D ignores the residual."}


@pytest.mark.parametrize("raw", ["b", "B", " b ", "(b)", "b)", "'b'", '"B"', "b.", "(B) ",
                                 "option b", "Answer: b", "\u2018b\u2019"])
def test_normalise_choice_accepts_common_spellings(raw):
    assert normalise_choice(raw) == "b"


@pytest.mark.parametrize("raw", [None, 2, "e", "", "ab", "bb", ["b"], b"b"])
def test_normalise_choice_rejects_everything_else(raw):
    assert normalise_choice(raw) is None


def test_yes_no_options():
    assert normalise_choice(" Yes ", options=("yes", "no")) == "yes"
    assert normalise_choice("maybe", options=("yes", "no")) is None


def test_check_format_messages():
    with pytest.raises(AssertionError, match="No answer yet"):
        check_format(None)
    with pytest.raises(AssertionError, match="not one of"):
        check_format("e")
    with pytest.raises(AssertionError, match="single finite number"):
        check_format("0.2", kind="number")
    with pytest.raises(AssertionError, match="single finite number"):
        check_format(True, kind="number")
    with pytest.raises(AssertionError, match="single finite number"):
        check_format(float("nan"), kind="number")
    assert check_format(np.float64(0.25), kind="number") == 0.25
    assert check_format(np.array(3), kind="number") == 3.0
    with pytest.raises(ValueError, match="unknown kind"):
        check_format(1, kind="colour")


def test_grade_choice_right_and_wrong(capsys):
    grade_choice("q1_1", "(b)", key="b", feedback=FEEDBACK)
    assert "B is right" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="C confuses SD and variance"):
        grade_choice("q1_1", "c", key="b", feedback=FEEDBACK)
    with pytest.raises(ValueError, match="feedback needed for every option"):
        grade_choice("q1_1", "b", key="b", feedback={"b": "only one"})


def test_assert_close_bounds_and_direction():
    assert_close(0.182, 0.18, tol=0.005)
    with pytest.raises(AssertionError, match="too high"):
        assert_close(0.19, 0.18, tol=0.005)
    with pytest.raises(AssertionError, match="too low"):
        assert_close(60.0, 65.0, tol=0.01, relative=True)
    assert_close(65.5, 65.0, tol=0.01, relative=True)
    # the message never shows the expected value
    with pytest.raises(AssertionError) as info:
        assert_close(1.0, 0.123456, tol=0.001)
    assert "0.123" not in str(info.value)


def test_encoding_round_trip_and_no_clear_text():
    text = "Model answer: shrinkage is σ²g/(σ²g + σ²/m)."
    blob = encode_text(text, "salt", "r1:answer")
    assert "shrinkage" not in blob
    assert decode_text(blob, "salt", "r1:answer") == text
    assert encode_text(text, "other", "r1:answer") != blob


def test_check_format_model_kind():
    with pytest.raises(AssertionError, match="No answer yet: fit the model"):
        check_format(None, kind="model")
    with pytest.raises(AssertionError, match="is text"):
        check_format("sbp ~ age", kind="model")

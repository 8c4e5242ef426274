"""The whole-run time forecast's parts: a step's cost as a line in its tokens, timed at two sizes."""

from __future__ import annotations

import pytest

from engine.forecast import load_shape
from engine.timing import EVAL_BATCH, Measured, StepCost, forecast_run_time, grouped_width, measure_steps


def test_the_line_through_two_timings_has_a_fixed_part_and_a_part_per_token():
    line = StepCost.through((100, 0.3), (200, 0.5))
    assert line.fixed == pytest.approx(0.1) and line.per_token == pytest.approx(0.002)
    assert line.seconds(400) == pytest.approx(0.9)  # not 1.0, as scaling the larger timing would say


def test_timings_too_noisy_for_a_line_are_read_as_proportional_to_tokens():
    assert StepCost.through((100, 0.6), (200, 0.5)) == StepCost(0.0, 0.5 / 200)  # the smaller step took longer
    assert StepCost.through((100, 0.0), (200, 0.5)) == StepCost(0.0, 0.5 / 200)  # a negative fixed part


def test_an_evaluation_file_smaller_than_a_batch_costs_its_own_tokens_not_a_full_batch(tiny_encoder):
    shape = load_shape(tiny_encoder)
    measured = Measured(train=StepCost(0.01, 1e-4), evaluate=StepCost(0.02, 1e-5), train_tokens=512, train_seconds=0.06)

    def evaluation(rows: int) -> float:
        return forecast_run_time(shape, "full", device_type="cpu", steps=10, batch=16, micro=16, seq_len=64, mean_length=32,
                                 rows=160, eval_rows=rows, eval_length=40, evaluations=3, weights_bytes=1e6,
                                 measured=measured).parts["evaluation"]

    assert evaluation(9) == pytest.approx(3 * (0.02 + 1e-5 * 9 * 40))
    assert evaluation(EVAL_BATCH + 1) == pytest.approx(3 * (2 * 0.02 + 1e-5 * (EVAL_BATCH + 1) * 40))


def test_batches_of_similar_length_are_as_wide_as_their_longest():
    assert grouped_width([5, 50, 6, 49], limit=64, batch=2) == pytest.approx((6 + 50) / 2)  # in order: 50 and 49
    assert grouped_width([5, 500], limit=64, batch=1) == pytest.approx((5 + 64) / 2)


def test_steps_timed_on_this_processor_give_a_line_that_agrees_with_the_step_timed(tiny_encoder):
    measured = measure_steps(tiny_encoder, "full", micro=8, width=32, eval_length=24, classifier=True)
    assert measured is not None and measured.train_tokens == 8 * 32
    assert measured.train.per_token > 0 and measured.train.fixed >= 0
    assert measured.train.seconds(8 * 32) == pytest.approx(measured.train_seconds, rel=1e-6)
    assert measured.evaluate.per_token > 0

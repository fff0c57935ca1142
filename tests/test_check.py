import math

import numpy as np
import pytest

from streamsr._check import is_int, is_number


@pytest.mark.parametrize(
    ("value", "integer", "number"),
    [
        (0, True, True),
        (-3, True, True),
        (10**400, True, True),  # too large for a float, still a number
        (1.5, False, True),
        (np.float64(2.0), False, True),
        (True, False, False),  # bools are ints to Python, not to options
        (math.nan, False, False),
        (math.inf, False, False),
        ("1", False, False),
        (None, False, False),
    ],
)
def test_is_int_and_is_number(value: object, integer: bool, number: bool) -> None:
    assert is_int(value) is integer
    assert is_number(value) is number

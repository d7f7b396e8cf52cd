"""Session-wide fixtures shared by several test modules (the helpers are in ``_reference.py``)."""

import pytest


@pytest.fixture(scope="session")
def zero_data():
    """10 clusters x 5 with no cluster effect: the REML estimate of sigma2_u is 0."""
    from _reference import zero_variance_data  # imported here: tests/browser need no statsmodels

    return zero_variance_data()

"""Conformance checks for methods, fake generators and datasets — nearbench's contract as tests.

In the style of scikit-learn's `parametrize_with_checks`: each check is a plain function
`check_<what>(case)`, and `method_checks`, `generator_checks` and `dataset_checks` yield
`(check, bound)` pairs, where `bound()` runs the check on one plug-in (it raises
AssertionError when the plug-in breaks the contract, and `unittest.SkipTest` when the check
does not apply). `parametrize_with_checks` turns them into pytest cases with ids such as
`dn2-check_fit_returns_self`, so `pytest -k check_fit_returns_self` runs one check everywhere
and `pytest -k dn2` one plug-in. nearbench's own tests apply them to everything registered
(`tests/test_conformance.py`); a plug-in author applies them to their own classes:

    from bench.context import RunContext
    from bench.testing import dataset_checks, method_checks, parametrize_with_checks

    @parametrize_with_checks(method_checks(MyMethod))
    def test_my_method(check):
        check()

    @parametrize_with_checks(dataset_checks(MyDataset(), RunContext(data_root=ROOT), classes=[0, 1]))
    def test_my_dataset(check):
        check()

What each check asserts is its docstring; the lists are `METHOD_CHECKS`, `GENERATOR_CHECKS`
and `DATASET_CHECKS`. A method (or generator) expected to fail a check declares it in its
`tags.expected_failures` (check name → reason), next to its code; the check then becomes a
strict xfail. Methods and generators are checked on tiny data (`tiny_digits`: 8×8 digits and
noise images) with their `smoke` profile, each (class, parameters, seed) fitted once and
shared by the checks that need a fitted instance.

pytest is not needed to run a check, only to parametrize; nothing here imports torch until
a check runs.
"""

from bench.testing.base import BoundCheck, parametrize_with_checks
from bench.testing.datasets import DATASET_CHECKS, DatasetCase, dataset_checks
from bench.testing.generators import GENERATOR_CHECKS, GeneratorCase, generator_checks
from bench.testing.methods import METHOD_CHECKS, MethodCase, method_checks
from bench.testing.tiny import TinyData, tiny_digits

__all__ = [
    "BoundCheck", "parametrize_with_checks",
    "METHOD_CHECKS", "MethodCase", "method_checks",
    "GENERATOR_CHECKS", "GeneratorCase", "generator_checks",
    "DATASET_CHECKS", "DatasetCase", "dataset_checks",
    "TinyData", "tiny_digits",
]

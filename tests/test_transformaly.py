"""Transformaly: students regress the teacher's blocks, the loss falls, and the two-Gaussian
score matches an independent computation."""

import numpy as np
import pytest
import torch

from bench import registry
from bench.context import RunContext
from bench.methods.transformaly import fresh_student, teacher_and_students, whitening_components
from bench.seeding import seed_everything

TRANSFORMALY = registry.methods.get("transformaly").factory
SMOKE = TRANSFORMALY.profiles["smoke"]


@pytest.fixture(scope="module")
def split():
    return registry.datasets.get("digits").factory().split(0, RunContext())


@pytest.fixture(scope="module")
def fitted(split):
    seed_everything(0)
    return TRANSFORMALY(**SMOKE).fit(split.train, RunContext(seed=0))


def test_student_loss_falls_and_only_students_train(fitted):
    history = fitted.loss_history_
    assert len(history) == SMOKE["epochs"] and history[-1] < 0.5 * history[0]
    assert not any(p.requires_grad for p in fitted.teacher_.parameters())
    teacher = TRANSFORMALY(**SMOKE)._teacher(RunContext(seed=0))
    for (name, before), after in zip(teacher.state_dict().items(), fitted.teacher_.state_dict().values()):
        assert torch.equal(before, after), f"the teacher's {name} changed"


def test_the_reference_dropout_sites(fitted):
    block = fitted.teacher_.blocks[0]
    assert (block.attn.attn_drop.p, block.attn.proj_drop.p, block.mlp.drop1.p, block.mlp.drop2.p) == (0.1, 0.1, 0.0, 0.1)
    assert fitted.teacher_.pos_drop.p == 0.0


def test_student_i_sees_the_teacher_input_to_block_i(fitted):
    """A student that is an exact copy of its teacher block has zero error, whatever the block."""
    teacher = fitted.teacher_.eval()
    copies = torch.nn.ModuleList(block for block in teacher.blocks).eval()  # the teacher's own blocks
    images = torch.rand(3, 3, 16, 16)
    target, predicted, cls = teacher_and_students(teacher, copies, images)
    assert target.shape == predicted.shape == (4, 3, 17, 64) and cls.shape == (3, 64)
    assert torch.allclose(target, predicted, atol=1e-6)
    assert torch.allclose(cls, teacher(images), atol=1e-6)  # the CLS after the final norm, as timm pools it
    students = torch.nn.ModuleList(fresh_student(block) for block in teacher.blocks).eval()
    _, fresh, _ = teacher_and_students(teacher, students, images)
    assert not torch.allclose(target, fresh)
    linear = students[0].attn.qkv
    bound = (6.0 / (linear.in_features + linear.out_features)) ** 0.5  # Xavier-uniform
    assert float(linear.weight.detach().abs().max()) <= bound and float(linear.bias.detach().abs().max()) < 1e-4


def test_whitening_keeps_one_component_fewer_than_reaching_the_threshold():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(500, 4)) * np.array([3.0, 2.0, 1.0, 0.5])  # variances 9, 4, 1, 0.25
    variances = np.sort(np.linalg.eigvalsh(np.cov(features.T)))[::-1]
    shares = np.cumsum(variances) / variances.sum()  # about 0.63, 0.90, 0.98, 1
    threshold = (shares[1] + shares[2]) / 2  # reached by the third component
    assert whitening_components(features, threshold) == 2  # the reference's loop stops at index 2
    assert whitening_components(features, 0.0) == 1  # never zero components


def test_score_is_minus_the_sum_of_two_independent_gaussian_log_likelihoods(fitted, split):
    from scipy.stats import multivariate_normal
    from sklearn.decomposition import PCA

    test = split.test.subset(range(40))
    cls_train, errors_train = fitted._features(split.train, RunContext(), "train")
    cls_test, errors_test = fitted._features(test, RunContext(), "test")
    assert errors_train.shape[1] == 4 - 2  # blocks 2.. of the smoke network's 4
    pca = PCA(n_components=whitening_components(cls_train, 0.9), svd_solver="full", whiten=True).fit(cls_train)
    white_train, white_test = pca.transform(cls_train), pca.transform(cls_test)
    expected = np.zeros(len(test))
    for train, scored, reg in ((white_train, white_test, 1e-6), (errors_train, errors_test, 1e-6)):
        mean = train.mean(axis=0)
        covariance = np.cov(train.T, bias=True) + reg * np.eye(train.shape[1])  # a 1-component GMM is the MLE Gaussian
        expected += multivariate_normal(mean, covariance).logpdf(scored)
    np.testing.assert_allclose(fitted.score(test, RunContext()), -expected, rtol=1e-5, atol=1e-5)


def test_smoke_beats_chance_on_digits(fitted, split):
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(split.is_anomaly, fitted.score(split.test, RunContext())) > 0.7

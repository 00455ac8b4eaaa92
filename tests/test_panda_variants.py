"""PANDA-EWC and PANDA-OE: the penalty and the Fisher against brute force, losses that fall,
and the inputs only the user can provide checked before anything runs."""

import numpy as np
import pytest
import torch
from PIL import Image

from bench import registry
from bench.backbones import build_backbone, build_classifier
from bench.context import RunContext
from bench.errors import UserError
from bench.methods.panda_ewc import ewc_penalty, fisher_diagonal, load_fisher
from bench.plan import make_plan
from bench.seeding import seed_everything
from bench.transforms import eval_transform
from tests.conftest import run_cli

EWC = registry.methods.get("panda-ewc").factory
OE = registry.methods.get("panda-oe").factory


@pytest.fixture(scope="module")
def train():
    return registry.datasets.get("digits").factory().split(1, RunContext()).train


def outlier_folder(root, n=24, seed=0):
    """An ImageFolder of noise images in two class folders."""
    rng = np.random.default_rng(seed)
    for index in range(n):
        folder = root / ("a" if index % 2 else "b")
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(folder / f"{index}.png")
    return root


def test_ewc_penalty_is_zero_at_the_pretrained_weights_and_matches_its_formula():
    model = build_backbone("resnet18", "random", seed=0)
    trainable = {n: p for n, p in model.named_parameters() if n.startswith("layer4")}
    anchor = {n: p.detach().clone() for n, p in trainable.items()}
    fisher = {n: torch.rand_like(p) for n, p in trainable.items()}
    assert float(ewc_penalty(trainable, anchor, fisher, 1e4).detach()) == 0.0
    with torch.no_grad():
        for p in trainable.values():
            p.add_(0.01 * torch.randn_like(p))
    brute = sum(float((fisher[n].double() * (p.detach().double() - anchor[n].double()) ** 2).sum())
                for n, p in trainable.items())
    assert float(ewc_penalty(trainable, anchor, fisher, 1e4).detach()) == pytest.approx(1e4 * brute / 2, rel=1e-5)


def test_fisher_is_the_mean_of_squared_batch_gradients(train):
    images = train.subset(range(10))
    labels = np.arange(10) % 3
    classifier = build_classifier("resnet18", "random", seed=0)
    names = {"layer4.1.conv2.weight": None, "fc.weight": None}
    transform = eval_transform(32)
    fisher = fisher_diagonal(classifier, images, labels, names, transform, RunContext(), batch_size=4)
    # brute force: the three batches (4, 4, 2) one at a time
    expected = {name: 0.0 for name in names}
    batch_inputs = torch.stack([transform(image) for image in images])
    for start in range(0, 10, 4):
        classifier.zero_grad()
        loss = torch.nn.functional.cross_entropy(classifier(batch_inputs[start:start + 4]), torch.as_tensor(labels[start:start + 4]))
        loss.backward()
        for name, parameter in classifier.named_parameters():
            if name in names:
                expected[name] = expected[name] + parameter.grad.detach() ** 2
    for name in names:
        torch.testing.assert_close(fisher[name], expected[name] / 3, rtol=1e-4, atol=1e-10)
    assert set(fisher) == set(names)


def test_a_fisher_file_is_loaded_checked_and_refused_when_foreign(tmp_path):
    shapes = {"layer3.0.conv1.weight": (256, 128, 3, 3)}
    good = tmp_path / "fisher.pth"
    torch.save({"layer3.0.conv1.weight": torch.ones(256, 128, 3, 3), "fc.weight": torch.ones(2, 2)}, good)
    assert load_fisher(good, shapes)["layer3.0.conv1.weight"].shape == (256, 128, 3, 3)
    wrong = tmp_path / "wrong.pth"
    torch.save({"layer3.0.conv1.weight": torch.ones(3)}, wrong)
    with pytest.raises(UserError, match="does not fit the network.*wrong shape"):
        load_fisher(wrong, shapes)
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a torch file")
    with pytest.raises(UserError, match="cannot be read"):
        load_fisher(garbage, shapes)


def test_ewc_fit_with_the_authors_file_format(train, tmp_path):
    """A Fisher file in the authors' format (dict of parameter name → tensor, every parameter)."""
    classifier = build_classifier("resnet18", "random", seed=0)
    path = tmp_path / "panda" / "fisher_diagonal.pth"
    path.parent.mkdir()
    torch.save({name: torch.full_like(p, 1e-4 * (i + 1)) for i, (name, p) in enumerate(classifier.named_parameters())},
               path)
    params = {**EWC.profiles["smoke"], "fisher_source": "file", "fisher_path": "panda/fisher_diagonal.pth"}
    seed_everything(0)
    detector = EWC(**params).fit(train, RunContext(seed=0, data_root=tmp_path))
    saved = torch.load(path, weights_only=True)
    assert set(detector.fisher_) == {n for n, _ in classifier.named_parameters() if n.startswith(("layer3", "layer4"))}
    assert all(torch.equal(detector.fisher_[name], saved[name]) for name in detector.fisher_)
    assert np.isfinite(detector.score(train, RunContext())).all()


def test_ewc_smoke_loss_falls(train):
    seed_everything(0)
    detector = EWC(**EWC.profiles["smoke"]).fit(train, RunContext(seed=0))
    assert detector.loss_history_[-1] < detector.loss_history_[0]


def test_ewc_holds_the_weights_nearer_the_pretrained_ones(train):
    def distance(strength):
        seed_everything(0)
        detector = EWC(**{**EWC.profiles["smoke"], "ewc_lambda": strength}).fit(train, RunContext(seed=0))
        start = build_backbone("resnet18", "random", seed=0).state_dict()
        after = detector.network_.state_dict()
        return sum(float((after[k] - start[k]).pow(2).sum()) for k in after if k.startswith("layer4") and "running" not in k)

    assert distance(1e8) < distance(0.0)


def test_ewc_plan_time_checks(tmp_path):
    with pytest.raises(UserError, match=r"PANDA's diagonal Fisher .* not found at .*fisher_diagonal.pth: download it"):
        make_plan("panda-ewc", "digits", profile="smoke", data_root=tmp_path, overrides=["panda-ewc.fisher_source=file"])
    with pytest.raises(UserError, match="fisher_source must be one of file, folder, train"):
        make_plan("panda-ewc", "digits", data_root=tmp_path, overrides=["panda-ewc.fisher_source=imagenet"])
    with pytest.raises(UserError, match="fisher_source=folder needs fisher_images"):
        make_plan("panda-ewc", "digits", data_root=tmp_path, overrides=["panda-ewc.fisher_source=folder"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="empty is not usable .expected one subfolder per class"):
        make_plan("panda-ewc", "digits", data_root=tmp_path,
                  overrides=["panda-ewc.fisher_source=folder", "panda-ewc.fisher_images=empty"])


def test_ewc_folder_fisher_needs_the_classifiers_classes(train, tmp_path):
    folder = outlier_folder(tmp_path / "imagenet")  # two classes, but the classifier has 1,000
    params = {**EWC.profiles["smoke"], "fisher_source": "folder", "fisher_images": str(folder)}
    with pytest.raises(UserError, match="2 class folders, but the classifier has 1000 classes"):
        EWC(**params).fit(train, RunContext(seed=0))


def test_oe_loss_falls_and_outliers_score_higher(train, tmp_path):
    folder = outlier_folder(tmp_path / "tiny")
    seed_everything(0)
    detector = OE(**{**OE.profiles["smoke"], "outlier_images": str(folder)}).fit(train, RunContext(seed=0))
    history = detector.loss_history_
    assert len(history) == OE.profiles["smoke"]["epochs"] and history[-1] < history[0]
    from bench.imagefolder import read_image_folder

    outliers = read_image_folder(folder, "test").images
    held_out = registry.datasets.get("digits").factory().split(1, RunContext()).test
    normal = detector.score(held_out.subset(range(len(held_out))), RunContext())
    assert detector.score(outliers, RunContext()).mean() > np.median(normal)


def test_oe_plan_skips_it_through_a_group_and_fails_when_named(tmp_path):
    plan = make_plan("all", "digits", classes="0", data_root=tmp_path)
    assert "panda-oe" in plan.skipped_methods and "80M Tiny Images" in plan.skipped_methods["panda-oe"]
    assert "panda-oe" not in {cell.method for cell in plan.cells}
    with pytest.raises(UserError, match=r"outlier image folder .* for panda-oe not found at .*panda/tiny: download tiny.zip"):
        make_plan("panda-oe", "digits", classes="0", data_root=tmp_path)
    (tmp_path / "panda" / "tiny").mkdir(parents=True)
    with pytest.raises(UserError, match="is not usable"):
        make_plan("panda-oe", "digits", classes="0", data_root=tmp_path)
    outlier_folder(tmp_path / "panda" / "tiny")
    assert {cell.method for cell in make_plan("panda-oe", "digits", classes="0", data_root=tmp_path).cells} == {"panda-oe"}


def test_bench_data_list_shows_the_inputs_only_the_user_can_provide(tmp_path):
    status, out, _ = run_cli("data", "--data-root", str(tmp_path), "list")
    assert status == 0
    assert "panda-oe" in out and "panda/tiny" in out and "missing" in out
    assert "panda-ewc" in out and "fisher_diagonal.pth" in out

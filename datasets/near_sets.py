"""Near-distribution sets made from any dataset: `D-fsde`, `D-fsgan` and `D-worst`.

For every registered dataset D — built in or a plug-in, with no code of its own — these
names resolve (`bench.registry.Registry.derive`); globs find them (`--datasets '*-fsde'`),
the `all` and `near` groups do not list them.

- `D-fsde`, `D-fsgan` — FITYMI's CIFAR-10-FSDE / -FSGAN protocol on D: normal class c trains on
  D's training images of c; the test set is D's held-out normal test images of c against as
  many fakes of c (anomaly class "fake") from nearbench's score-based diffusion model (FSDE)
  or DCGAN (FSGAN) trained on those same training images. The fakes come from the
  "benchmark" stream under `generator_seed`, so they are never a bank a method trains on,
  even with the same generator and seed. The generator is `generator_profile` (None: the
  run's profile) with `generator_steps` and `generator_params` on top; it works at D's
  resolution (at most its `max_image_size`), and its fakes are resized to D's `image_size`
  where D declares one, so size alone never gives them away. Each bank is built once per
  (class, configuration), cached with the other fake banks, and measured
  (`bench.generators.quality`: FID/KID when the Inception weights are there, the Fréchet
  distance in a backbone, nearness); the cells' records carry all of it under `test_fakes`.
  `bench prepare` builds the banks of a sweep beforehand, as jobs. With `bank_path`, the fakes
  come instead from a class-ordered file (FITYMI's layout: class c is `[n·c, n·(c+1))`, n the
  number of normal test images of c) — FITYMI's released CIFAR-10-FSDE is one.
- `D-worst` — D's own split reported as the worst AUROC over its anomaly classes (FITYMI's
  CIFAR-10-vs-CIFAR-100 aggregation), for every D whose anomalies come in classes.

D's parameters stay D's (`--set cifar100-fsde.split_seed=...` where D has one); the near
parameters are added to them. A dataset chooses other defaults for its near sets with
`near_set_defaults` (the embedded digits build theirs with the CPU-sized smoke generator).
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, ClassVar, Mapping

import numpy as np

from bench import registry
from bench.benchmark import NORMAL, Benchmark, OneClassSplit
from bench.context import RunContext
from bench.datafiles import DataFile
from bench.digest import digest
from bench.generators import generator_params
from bench.generators.bank import BankRequest, bank_info, class_slice, fake_bank, load_fake_bank, provenance
from bench.generators.base import follow_data
from bench.images import ArrayImages, ConcatImages, ImageSet
from bench.params import parameter_defaults

GENERATORS = {"fsde": "diffusion", "fsgan": "dcgan"}
NEAR_PARAMETERS = {  # the parameters a fakes set adds to its base dataset's, with their defaults
    "generator_profile": None,
    "generator_steps": None,
    "generator_params": None,
    "generator_seed": 0,
    "bank_path": None,
    "quality": True,
}


class FakesNearSet(Benchmark):
    """Held-out normal test images of D's class c against fakes of c (see the module docstring)."""

    base: ClassVar[type]  # the dataset D
    generator: ClassVar[str]  # the generator the fakes come from
    tests_on_fakes: ClassVar[bool] = True  # `bench prepare` builds its banks and fetches the FID weights
    anomaly_classes: ClassVar[bool] = False  # one anomaly class, "fake": no worst-class variant

    def __init__(self, **params):
        values = {**parameter_defaults(type(self)), **params}
        for name, value in values.items():
            setattr(self, name, value)

    # -- the base dataset ---------------------------------------------------------------------
    def base_params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in parameter_defaults(self.base)}

    def based(self) -> Benchmark:
        return self.base(**self.base_params())

    def data_files(self) -> list:
        base = self.based()
        files = [DataFile(f"{base.folder}/{f.path}" if base.folder else f.path, md5=f.md5, sha256=f.sha256,
                          normal_class=f.normal_class) for f in base.data_files()]
        if self.bank_path is not None and not Path(self.bank_path).is_absolute():
            files.append(DataFile(self.bank_path))
        return files

    @property
    def archives(self):
        return self.based().archives

    def class_names(self, root: Path) -> tuple[str, ...]:
        return self.based().class_names(root)

    def train_size(self, normal_class: int, ctx: RunContext) -> int | None:
        return self.based().train_size(normal_class, ctx)

    # -- the fakes ------------------------------------------------------------------------------
    @classmethod
    def check_params(cls, params: Mapping[str, Any], profile: str) -> None:
        cls.base.check_params({k: params[k] for k in parameter_defaults(cls.base)}, profile)
        cls.generator_params_for(params, profile)

    @classmethod
    def generator_params_for(cls, params: Mapping[str, Any], profile: str) -> dict[str, Any]:
        """The generator's resolved parameters (UserError for a typo), its resolution following D."""
        steps = {} if params["generator_steps"] is None else {"train_steps": params["generator_steps"]}
        resolved = generator_params(cls.generator, params["generator_profile"] or profile,
                                    {**steps, **(params["generator_params"] or {})})
        return follow_data(resolved, cls.base.image_size)

    def bank_request(self, n: int, profile: str) -> BankRequest:
        """The test bank of `n` fakes: the benchmark stream, never a method's."""
        params = self.generator_params_for(self.get_params(), profile)
        return BankRequest(self.generator, params, n, self.generator_seed, stream="benchmark",
                           profile=self.generator_profile or profile)

    def split(self, normal_class: int, ctx: RunContext) -> OneClassSplit:
        real = self.based().split(normal_class, ctx)
        normal = real.test.subset(np.flatnonzero(~real.is_anomaly))
        anomalies = real.test.subset(np.flatnonzero(real.is_anomaly))
        if self.bank_path is not None:
            fakes, origin = self.file_fakes(normal_class, len(normal), ctx)
        else:
            request = self.bank_request(len(normal), ctx.profile)
            quality = self.quality_measure(real.train, normal, anomalies, request, ctx) if self.quality else None
            bank, path = fake_bank(real.train, request, ctx, quality=quality)
            fakes, origin = bank, provenance(path, request.following(real.train))
        fakes = self.as_test_images(fakes, normal)
        is_anomaly = np.arange(len(normal) + len(fakes)) >= len(normal)
        name = f"{self.name}/test/c{normal_class}"
        if isinstance(normal, ArrayImages) and normal.array.shape[1:] == fakes.array.shape[1:]:
            test = ArrayImages(np.concatenate([normal.array, fakes.array]), name=name)  # one array, as D's own
        else:
            test = ConcatImages([normal, fakes], name=name)
        return OneClassSplit(
            train=real.train,
            test=test,
            is_anomaly=is_anomaly,
            anomaly_class=np.where(is_anomaly, "fake", NORMAL),
            class_name=real.class_name,
            metadata={**real.metadata, "test_fakes": origin},
        )

    def fingerprint(self, normal_class: int, ctx: RunContext, split: OneClassSplit | None = None) -> str | None:
        """Made from what determines the split, so that checking a record never trains a
        generator: D's split (its own fingerprint), the number of held-out normal images, and
        the fakes — a file's SHA-256 and slice, or the bank's identity (generator, parameters,
        seed, stream, size, training images' content) and the generator's code. The same with
        or without `split`."""
        from bench.code_identity import plugin_identity
        from bench.digest import file_digest
        from bench.generators import generators

        based = self.based()
        real = based.split(normal_class, ctx)
        base = based.fingerprint(normal_class, ctx, real)
        if base is None:
            return None
        n = int((~real.is_anomaly).sum())
        if self.bank_path is not None:
            path = Path(self.bank_path).expanduser()
            path = path if path.is_absolute() else Path(ctx.data_root) / path
            fakes = {"file": file_digest(path) if path.exists() else None, "slice": [normal_class * n, n]}
        else:
            request = self.bank_request(n, ctx.profile).following(real.train)
            entry = generators.get(self.generator)
            fakes = {"bank": request.identity(real.train), "generator": plugin_identity(entry.factory, entry.distribution)}
        return digest({"base": base, "fakes": fakes, "image_size": self.base.image_size, "name": self.name})

    def file_fakes(self, normal_class: int, n: int, ctx: RunContext) -> tuple[np.ndarray, dict]:
        from bench.digest import file_digest

        path = Path(self.bank_path).expanduser()
        path = path if path.is_absolute() else Path(ctx.data_root) / path
        fakes = class_slice(load_fake_bank(path), normal_class, n, path)
        info = bank_info(path)
        return fakes, {"path": str(path), "sha256": file_digest(path), "slice": [normal_class * n, n],
                       **{k: info[k] for k in ("generator", "config_hash", "stream", "seed", "profile") if k in info}}

    def quality_measure(self, train: ImageSet, normal: ImageSet, anomalies: ImageSet, request: BankRequest,
                        ctx: RunContext):
        from bench.generators.quality import QualityBackbone, measure

        backbone = QualityBackbone.for_profile(request.profile)
        return lambda bank: measure(bank, train, ctx, backbone=backbone, normal_test=normal, anomalies=anomalies)

    def as_test_images(self, fakes: np.ndarray, normal: ImageSet) -> ArrayImages:
        """The fakes as test images like D's: D's side where it declares one, and grayscale
        where D's images are (the generator then learned one channel, repeated three times)."""
        from PIL import Image

        size = self.base.image_size
        if size is not None and fakes.shape[1:3] != (size, size):
            fakes = np.stack([np.asarray(Image.fromarray(f).resize((size, size), Image.BILINEAR)) for f in fakes])
        if len(normal) and normal[0].mode == "L":
            fakes = fakes[..., 0]
        return ArrayImages(np.ascontiguousarray(fakes))


class WorstClassSet(Benchmark):
    """D's split, reported as the worst AUROC over its anomaly classes."""

    base: ClassVar[type]
    headline = "auroc-worst"

    def __init__(self, **params):
        values = {**parameter_defaults(type(self)), **params}
        for name, value in values.items():
            setattr(self, name, value)

    def based(self) -> Benchmark:
        return self.base(**self.get_params())

    def data_files(self) -> list:
        return self.based().data_files()

    @property
    def archives(self):
        return self.based().archives

    def data_dir(self, root: Path) -> Path:
        return self.based().data_dir(root)

    @classmethod
    def check_params(cls, params: Mapping[str, Any], profile: str) -> None:
        cls.base.check_params(params, profile)

    def class_names(self, root: Path) -> tuple[str, ...]:
        return self.based().class_names(root)

    def train_size(self, normal_class: int, ctx: RunContext) -> int | None:
        return self.based().train_size(normal_class, ctx)

    def split(self, normal_class: int, ctx: RunContext) -> OneClassSplit:
        return self.based().split(normal_class, ctx)


def _signature(base: type, extra: Mapping[str, Any]) -> inspect.Signature:
    """A keyword-only `__init__` signature: the base dataset's parameters, then `extra`."""
    parameters = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    for name, default in {**parameter_defaults(base), **extra}.items():
        parameters.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default))
    return inspect.Signature(parameters)


def _copied(base: type) -> dict[str, Any]:
    """What a derived set takes over from its base dataset as class attributes."""
    return {"classes": base.classes, "image_size": base.image_size,
            "max_train_images": base.max_train_images, "tags": base.tags, "fetch_hint": base.fetch_hint,
            "base": base, "__module__": __name__}


def fakes_set(base: type, kind: str, **defaults) -> type:
    """The `D-fsde` (kind "fsde") or `D-fsgan` ("fsgan") class of dataset class `base`, its
    near parameters defaulting to `defaults` over `base.near_set_defaults` over the module's."""
    extra = {**NEAR_PARAMETERS, **getattr(base, "near_set_defaults", {}), **defaults}
    generator = GENERATORS[kind]
    cls = type(f"{base.__name__}{kind.upper()}", (FakesNearSet,), {
        **_copied(base), "generator": generator,
        "__doc__": f"{base.__name__}'s held-out normal test images of a class vs {generator} fakes of it "
                   f"(near-distribution, {kind.upper()} protocol)",
    })
    init = FakesNearSet.__init__
    cls.__init__ = lambda self, **params: init(self, **params)
    cls.__init__.__signature__ = _signature(base, extra)
    return cls


def worst_set(base: type) -> type:
    """The `D-worst` class of dataset class `base`."""
    cls = type(f"{base.__name__}Worst", (WorstClassSet,), {
        **_copied(base), "__doc__": f"{base.__name__}, reported as the worst AUROC over its anomaly classes",
    })
    init = WorstClassSet.__init__
    cls.__init__ = lambda self, **params: init(self, **params)
    cls.__init__.__signature__ = _signature(base, {})
    return cls


def _derivable(entry) -> bool:
    """Sets derive from real datasets, not from fakes sets or worst-class views themselves."""
    return not issubclass(entry.factory, (FakesNearSet, WorstClassSet))


def _derive_fakes(kind: str):
    def make(entry):
        return fakes_set(entry.factory, kind) if _derivable(entry) else None

    return make


def _derive_worst(entry):
    cls = entry.factory
    has_classes = getattr(cls, "anomaly_classes", True) and cls.headline == "auroc"
    return worst_set(cls) if _derivable(entry) and has_classes else None


registry.datasets.derive("-fsde", _derive_fakes("fsde"))
registry.datasets.derive("-fsgan", _derive_fakes("fsgan"))
registry.datasets.derive("-worst", _derive_worst)

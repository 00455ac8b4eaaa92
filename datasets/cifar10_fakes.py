"""CIFAR-10-FSDE and CIFAR-10-FSGAN: real CIFAR-10 images of a class against generated ones,
registered in the `near` group as instances of the sets every dataset has
(`bench.datasets.near_sets`).

Protocol (inferred from FITYMI's release; the paper's evaluation code is not public): normal
class c trains on its 5,000 CIFAR-10 training images; the test set is the 1,000 real CIFAR-10
test images of c (normal) against 1,000 fakes of class c (anomalous).

- `cifar10-fsde`: by default FITYMI's released CIFAR-10-FSDE test fakes (one uint8 `.npy`
  array, 1,000 per class in class order, from a score-based diffusion model; `bank_path`),
  loaded with `allow_pickle=False`. No download link works without a browser: see
  `fetch_hint`. `--set cifar10-fsde.bank_path=null` tests on nearbench's own diffusion
  fakes instead, built as for every `D-fsde`.
- `cifar10-fsgan`: the paper's files were never released; the fakes are nearbench's DCGAN's,
  built as for every `D-fsgan`. `bank_path` takes a class-ordered file made elsewhere (or by
  `bench fakes --stream benchmark --export`).
"""

from __future__ import annotations

from bench.datasets.cifar import CIFAR10
from bench.datasets.near_sets import fakes_set
from bench.registry import register_dataset

FSDE_FILE = "fitymi/cifar10_fsde.npy"

CIFAR10FSDE = fakes_set(CIFAR10, "fsde", bank_path=FSDE_FILE)
CIFAR10FSDE.__doc__ = "CIFAR-10 class c vs FITYMI's released diffusion fakes of class c (near-distribution)"
CIFAR10FSDE.fetch_hint = (
    "download FITYMI's CIFAR-10-FSDE file from https://drive.google.com/file/d/1_sKwq1yG-0zdvUHBRXItJ6Cib6lpQJja "
    f"(a browser is needed), save the .npy as <data root>/{FSDE_FILE}, and `bench data fetch cifar10`; or test on "
    "nearbench's own diffusion fakes: --set cifar10-fsde.bank_path=null"
)
register_dataset("cifar10-fsde", groups=("near",))(CIFAR10FSDE)

CIFAR10FSGAN = fakes_set(CIFAR10, "fsgan")
CIFAR10FSGAN.__doc__ = "CIFAR-10 class c vs DCGAN fakes of class c trained on its images (near-distribution)"
register_dataset("cifar10-fsgan", groups=("near",))(CIFAR10FSGAN)

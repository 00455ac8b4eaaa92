"""The embedded near-distribution sets — `digits-fsde`, `digits-fsgan`, `digits-worst` — as
instances of the sets every dataset has (`bench.datasets.near_sets`), registered by name so
that they belong to the `near` and `embedded` groups. Like `digits`, they need no download.

`digits-fsde` / `digits-fsgan` are the small CIFAR-10-FSDE / -FSGAN: class c's held-out real
digits against as many fakes of c from a diffusion model / DCGAN trained on c's training
digits. `Digits.near_set_defaults` builds them with the generator's `smoke` profile (these
sets are embedded and built on any CPU) trained for 600 steps — several times the diffusion
smoke profile's, so the fakes are closer to the class than those the methods' smoke profiles
make in seconds — whatever the run's profile.

`digits-worst` — the `digits` split with FITYMI's CIFAR-10-vs-CIFAR-100 aggregation: an
AUROC per anomaly class (held-out normals against one other digit at a time), and the
minimum over the nine reported (`headline` auroc-worst).
"""

from __future__ import annotations

from bench.datasets.digits import Digits
from bench.datasets.near_sets import fakes_set, worst_set
from bench.registry import register_dataset

DigitsFSDE = register_dataset("digits-fsde", groups=("near", "embedded"))(fakes_set(Digits, "fsde"))
DigitsFSGAN = register_dataset("digits-fsgan", groups=("near", "embedded"))(fakes_set(Digits, "fsgan"))
DigitsWorst = register_dataset("digits-worst", groups=("near", "embedded"))(worst_set(Digits))

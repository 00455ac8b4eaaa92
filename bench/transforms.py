"""The image transform path every image takes on its way to a network.

Any image (8×8 grayscale digit, 32×32 CIFAR, 1024×1024 MVTec) becomes a 3-channel tensor the
same way: RGB → Resize(resize) → crop to `image_size` (centre; random when training) → tensor
→ Normalize (skipped with `mean=None`: CSI and Deep SVDD normalise inside their networks).
The paper recipes use resize 256 → crop 224 with ImageNet statistics.
"""

from __future__ import annotations

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def to_rgb(image):
    return image if image.mode == "RGB" else image.convert("RGB")


def _pipeline(resize: int, crop: list, mean, std):
    """RGB → Resize(resize) → `crop` steps → tensor → Normalize (unless `mean` is None)."""
    from torchvision import transforms as T

    normalize = [] if mean is None else [T.Normalize(mean, std)]
    return T.Compose(
        [
            T.Lambda(to_rgb),
            T.Resize(resize, interpolation=T.InterpolationMode.BILINEAR, antialias=True),
            *crop,
            T.ToTensor(),
            *normalize,
        ]
    )


def eval_transform(image_size: int, resize: int | None = None, mean=IMAGENET_MEAN, std=IMAGENET_STD):
    """Deterministic test-time transform (float tensor 3×S×S): the feature bank and the test
    images both use it. With `mean=None` pixels stay in [0, 1]."""
    from torchvision import transforms as T

    return _pipeline(resize or image_size, [T.CenterCrop(image_size)], mean, std)


def train_transform(image_size: int, resize: int | None = None, flip: bool = True, mean=IMAGENET_MEAN, std=IMAGENET_STD):
    """Augmenting training transform (FITYMI's): RGB → Resize(resize) → RandomCrop(image_size)
    → optional horizontal flip → tensor → Normalize."""
    from torchvision import transforms as T

    return _pipeline(resize or image_size, [T.RandomCrop(image_size), *([T.RandomHorizontalFlip()] if flip else [])], mean, std)

"""The image transform path every dataset goes through on its way to a network.

Any image (8×8 grayscale digit, 32×32 CIFAR, 1024×1024 MVTec) becomes a normalised
3-channel tensor the same way: RGB → Resize(resize) → CenterCrop(image_size) → tensor →
Normalize. The paper recipes use resize 256 → crop 224 with ImageNet statistics.
"""

from __future__ import annotations

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def to_rgb(image):
    return image if image.mode == "RGB" else image.convert("RGB")


def _pipeline(resize: int, crop: list, mean, std):
    """RGB → Resize(resize) → `crop` steps → tensor → Normalize: the one path every image takes."""
    from torchvision import transforms as T

    return T.Compose(
        [
            T.Lambda(to_rgb),
            T.Resize(resize, interpolation=T.InterpolationMode.BILINEAR, antialias=True),
            *crop,
            T.ToTensor(),
            T.Normalize(mean, std),
        ]
    )


def eval_transform(image_size: int, resize: int | None = None, mean=IMAGENET_MEAN, std=IMAGENET_STD):
    """Deterministic test-time transform: the feature bank and the test images both use it."""
    from torchvision import transforms as T

    return _pipeline(resize or image_size, [T.CenterCrop(image_size)], mean, std)


def train_transform(image_size: int, resize: int | None = None, flip: bool = True, mean=IMAGENET_MEAN, std=IMAGENET_STD):
    """Augmenting training transform (FITYMI's): RGB → Resize(resize) → RandomCrop(image_size)
    → optional horizontal flip → tensor → Normalize."""
    from torchvision import transforms as T

    return _pipeline(resize or image_size, [T.RandomCrop(image_size), *([T.RandomHorizontalFlip()] if flip else [])], mean, std)

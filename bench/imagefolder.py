"""Image folders a user provides (outlier images, a pretraining set for a Fisher), read the
way torchvision's `ImageFolder` reads them: one subfolder per class, sorted by name, whose
image files (`.jpg`, `.png`, ... in any letter case) are that class's images.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.errors import UserError
from bench.images import FileImages

LAYOUT = "one subfolder per class holding its images (.jpg, .png, ...), as torchvision's ImageFolder reads them"


@dataclass(frozen=True)
class ImageFolder:
    """The images of a folder (read on demand), their class indices (int64) and class names."""

    images: FileImages
    labels: np.ndarray
    classes: tuple[str, ...]


def resolve(path: str | Path, data_root: Path) -> Path:
    """`path` as given when absolute (or starting with ~), else under the data root."""
    path = Path(path).expanduser()
    return path if path.is_absolute() else Path(data_root) / path


def read_image_folder(folder: Path, what: str) -> ImageFolder:
    """The images of `folder` in ImageFolder order; a UserError naming the folder and the
    expected layout when it has no class subfolder or no image (`what` says what it is for)."""
    from torchvision.datasets.folder import IMG_EXTENSIONS, find_classes, make_dataset

    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{what}: {folder} is not a folder; expected {LAYOUT}")
    try:
        classes, class_to_index = find_classes(str(folder))
        samples = make_dataset(str(folder), class_to_index, extensions=IMG_EXTENSIONS, allow_empty=True)
    except FileNotFoundError:
        raise UserError(f"{what}: {folder} has no class subfolder; expected {LAYOUT}") from None
    if not samples:
        raise UserError(f"{what}: no image files under {folder}; expected {LAYOUT}")
    return ImageFolder(
        images=FileImages([Path(path) for path, _ in samples], name=f"imagefolder/{folder.name}"),
        labels=np.array([label for _, label in samples], dtype=np.int64),
        classes=tuple(classes),
    )


def has_images(folder: Path) -> bool:
    """Whether `folder` holds at least one image in a class subfolder (cheap: stops at the first)."""
    folder = Path(folder)
    if not folder.is_dir():
        return False
    from torchvision.datasets.folder import IMG_EXTENSIONS

    for child in folder.iterdir():
        if child.is_dir() and any(f.suffix.lower() in IMG_EXTENSIONS for f in child.rglob("*") if f.is_file()):
            return True
    return False

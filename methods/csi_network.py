"""CSI's networks: a ResNet-18 trunk with CSI's projection and rotation heads.

Two trunks, as alinlab/CSI's `--model` option:

- `resnet18` (`models/resnet.py`, its CIFAR protocol): 3×3 stride-1 first convolution, no
  max-pool; PyTorch's default initialisation;
- `resnet18_imagenet` (`models/resnet_imagenet.py`, its ImageNet-30 protocol at 224 px):
  torchvision's layout — 7×7 stride-2 first convolution and a 3×3 stride-2 max-pool — and
  its initialisation (Kaiming-normal, fan-out, on every convolution).

Both: four stages of two basic blocks (`width`, 2, 4, 8 × `width` channels; 64 in the paper),
global average pool, inputs in [0, 1] normalised inside as (x − 0.5)/0.5; heads on the pooled
feature: projection 8w → 8w → 128 (ReLU between) and a 4-way rotation classifier. Nothing here
imports torch until a network is built.
"""

from __future__ import annotations

NETWORKS = ("resnet18", "resnet18_imagenet")


def csi_network(network: str = "resnet18", width: int = 64, projection_dim: int = 128, rotations: int = 4):
    """The network (a torch Module mapping N×3×H×W images in [0, 1] to (N×projection_dim
    projections, N×rotations logits)); ValueError for an unknown `network`."""
    import torch
    from torch import nn
    import torch.nn.functional as F

    if network not in NETWORKS:
        raise ValueError(f"network must be one of {', '.join(NETWORKS)}, not {network!r}")

    class BasicBlock(nn.Module):
        def __init__(self, inputs: int, outputs: int, stride: int):
            super().__init__()
            self.conv1 = nn.Conv2d(inputs, outputs, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(outputs)
            self.conv2 = nn.Conv2d(outputs, outputs, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(outputs)
            self.shortcut = nn.Sequential()
            if stride != 1 or inputs != outputs:
                self.shortcut = nn.Sequential(nn.Conv2d(inputs, outputs, 1, stride, bias=False), nn.BatchNorm2d(outputs))

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))

    class CSINetwork(nn.Module):
        def __init__(self):
            super().__init__()
            imagenet = network == "resnet18_imagenet"
            widths = [width, 2 * width, 4 * width, 8 * width]
            if imagenet:
                self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
                self.pool = nn.MaxPool2d(3, 2, 1)
            else:
                self.conv1 = nn.Conv2d(3, width, 3, 1, 1, bias=False)
                self.pool = nn.Identity()
            self.bn1 = nn.BatchNorm2d(width)
            stages, inputs = [], width
            for index, outputs in enumerate(widths):
                stride = 1 if index == 0 else 2
                stages.append(nn.Sequential(BasicBlock(inputs, outputs, stride), BasicBlock(outputs, outputs, 1)))
                inputs = outputs
            self.stages = nn.Sequential(*stages)
            self.projection = nn.Sequential(nn.Linear(inputs, inputs), nn.ReLU(), nn.Linear(inputs, projection_dim))
            self.rotation = nn.Linear(inputs, rotations)
            if imagenet:
                for module in self.modules():
                    if isinstance(module, nn.Conv2d):
                        nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

        def forward(self, x):
            x = (x - 0.5) / 0.5
            features = self.stages(self.pool(F.relu(self.bn1(self.conv1(x)))))
            features = torch.flatten(F.adaptive_avg_pool2d(features, 1), 1)
            return self.projection(features), self.rotation(features)

    return CSINetwork()

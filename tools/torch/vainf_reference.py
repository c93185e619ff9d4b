"""A PyTorch reference of VainF/DeepLabV3Plus-Pytorch's DeepLabV3+ models, written from reading
its network/ code (modeling.py, _deeplab.py, backbone/mobilenetv2.py, utils.py), not copied.

VainF's ResNet (network/backbone/resnet.py) is torchvision's ResNet class as is, so the ResNet
backbones are torchvision's resnet50/101 with replace_stride_with_dilation [False, False, True] at
output stride 16 and [False, True, True] at 8; its MobileNetV2 differs from torchvision's and is
written out here. State-dict names are VainF's:

  backbone.conv1.weight ... backbone.layer4.2.bn3.*            (ResNet; layer1 is the low level)
  backbone.low_level_features.{0..3}.*, backbone.high_level_features.{4..17}.*   (MobileNetV2)
  classifier.project.{0,1}.*     1x1 conv of the low-level features to 48, BN (ReLU)
  classifier.aspp.*              ASPP(in, rates): torchvision's ASPP has the same modules
  classifier.classifier.{0,1,3}.*  3x3 conv 304 -> 256, BN, (ReLU), 1x1 conv with bias

Forward: ASPP of the high-level features resized (bilinear, align_corners=False) to the low-level
size, concatenated after the projected low-level features, the classifier, then resized to the
input size. ASPP rates (6, 12, 18) at output stride 16, (12, 24, 36) at 8.
"""

from collections import OrderedDict

import torch
import torchvision
from torch import nn
from torch.nn import functional as F
from torchvision.models._utils import IntermediateLayerGetter
from torchvision.models.segmentation.deeplabv3 import ASPP


def _conv_bn_relu6(cin, cout, kernel, stride=1, dilation=1, groups=1):
    # VainF's ConvBNReLU: no padding of its own
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, 0, dilation=dilation, groups=groups,
                                   bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU6())


class _InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, dilation, expand):
        super().__init__()
        hidden = int(round(cin * expand))
        self.residual = stride == 1 and cin == cout
        self.pad = dilation            # fixed_padding of the dilated 3x3 kernel: d on each side
        layers = []
        if expand != 1:
            layers.append(_conv_bn_relu6(cin, hidden, 1))
        layers += [_conv_bn_relu6(hidden, hidden, 3, stride, dilation, groups=hidden),
                   nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        y = self.conv(F.pad(x, (self.pad,) * 4))
        return x + y if self.residual else y


class _MobileNetV2Features(nn.Module):
    """VainF's MobileNetV2 split into low_level_features (0..3) and high_level_features (4..17)."""

    SETTING = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
               (6, 160, 3, 2), (6, 320, 1, 1)]

    def __init__(self, output_stride):
        super().__init__()
        blocks = [_conv_bn_relu6(3, 32, 3, stride=2)]
        cin, current, dilation = 32, 2, 1
        for t, c, n, s in self.SETTING:
            previous = dilation
            if current == output_stride:
                stride, dilation = 1, dilation * s
            else:
                stride, current = s, current * s
            for i in range(n):
                blocks.append(_InvertedResidual(cin, c, stride if i == 0 else 1,
                                                previous if i == 0 else dilation, t))
                cin = c
        self.low_level_features = nn.Sequential(OrderedDict(
            (str(i), b) for i, b in enumerate(blocks[:4])))
        self.high_level_features = nn.Sequential(OrderedDict(
            (str(i + 4), b) for i, b in enumerate(blocks[4:])))

    def forward(self, x):
        low = self.low_level_features(x)
        return {"low_level": low, "out": self.high_level_features(low)}


class _HeadV3Plus(nn.Module):
    def __init__(self, in_channels, low_channels, num_classes, rates):
        super().__init__()
        self.project = nn.Sequential(nn.Conv2d(low_channels, 48, 1, bias=False),
                                     nn.BatchNorm2d(48), nn.ReLU())
        self.aspp = ASPP(in_channels, rates)
        self.classifier = nn.Sequential(nn.Conv2d(304, 256, 3, padding=1, bias=False),
                                        nn.BatchNorm2d(256), nn.ReLU(),
                                        nn.Conv2d(256, num_classes, 1))

    def forward(self, features):
        low = self.project(features["low_level"])
        high = F.interpolate(self.aspp(features["out"]), size=low.shape[2:], mode="bilinear",
                             align_corners=False)
        return self.classifier(torch.cat([low, high], dim=1))


class VainfDeepLabV3Plus(nn.Module):
    def __init__(self, backbone, num_classes, output_stride):
        super().__init__()
        rates = [12, 24, 36] if output_stride == 8 else [6, 12, 18]
        if backbone == "mobilenet":
            self.backbone = _MobileNetV2Features(output_stride)
            self.classifier = _HeadV3Plus(320, 24, num_classes, rates)
        else:
            resnet = getattr(torchvision.models, backbone)(
                weights=None, replace_stride_with_dilation=[False, output_stride == 8, True])
            self.backbone = IntermediateLayerGetter(
                resnet, return_layers={"layer4": "out", "layer1": "low_level"})
            self.classifier = _HeadV3Plus(2048, 256, num_classes, rates)

    def forward(self, x):
        y = self.classifier(self.backbone(x))
        return F.interpolate(y, size=x.shape[2:], mode="bilinear", align_corners=False)


def vainf_deeplabv3plus(backbone, num_classes=21, output_stride=16):
    """backbone: "resnet50", "resnet101" or "mobilenet"."""
    return VainfDeepLabV3Plus(backbone, num_classes, output_stride)

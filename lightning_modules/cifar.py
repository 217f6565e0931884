"""CIFAR-10 constants, defined once for every floor (pure: no torch)."""

from __future__ import annotations

CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)  # the standard label order 0-9

IMAGE_SIDE = 32  # pixels, height and width of every image and of the networks' input

# train statistics in [0,1] units (torchvision's published values); networks normalise inside
CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)

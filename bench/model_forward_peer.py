#!/usr/bin/env python3
"""Forward time of torchvision's DeepLabV3-ResNet50 (the model atrous trains), the yardstick the
loss benchmark is compared with until atrous's own model exists.

usage: model_forward_peer.py --threads T [--batch 4] [--crop 513] [--classes 21] [--repetitions 3]
Prints `forward_seconds <median>`: training mode, autograd recording, as in a training step."""
import argparse
import statistics
import time

import torch
import torchvision


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--crop", type=int, default=513)
    parser.add_argument("--classes", type=int, default=21)
    parser.add_argument("--repetitions", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = torchvision.models.segmentation.deeplabv3_resnet50(
        weights=None, weights_backbone=None, num_classes=args.classes, aux_loss=False).train()
    images = torch.randn(args.batch, 3, args.crop, args.crop)
    times = []
    for repetition in range(args.repetitions + 1):
        start = time.perf_counter()
        model(images)["out"]
        if repetition > 0:  # the first one warms up
            times.append(time.perf_counter() - start)
    print(f"forward_seconds {statistics.median(times):.4f}")


if __name__ == "__main__":
    main()

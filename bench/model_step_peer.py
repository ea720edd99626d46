#!/usr/bin/python3
"""The peer of atrous_model_step_bench: one training step (forward, cross-entropy at full resolution,
backward) of torchvision's DeepLabV3-ResNet50. Saves its initial weights to --weights so that the
atrous model starts from the very same ones.

usage: model_step_peer.py --threads T --weights FILE [--batch 2] [--crop 321] [--classes 21] [--repetitions 3]
Prints `step_seconds <median>` (the first step warms up and is not counted)."""
import argparse
import statistics
import time

import torch
import torch.nn.functional as F
import torchvision


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--weights", required=True)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--crop", type=int, default=321)
    parser.add_argument("--classes", type=int, default=21)
    parser.add_argument("--repetitions", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = torchvision.models.segmentation.deeplabv3_resnet50(
        weights=None, weights_backbone=None, num_classes=args.classes, aux_loss=False).train()
    torch.save({k: v for k, v in model.state_dict().items()}, args.weights)
    images = torch.rand(args.batch, 3, args.crop, args.crop)
    labels = torch.randint(0, args.classes, (args.batch, args.crop, args.crop))
    times = []
    for repetition in range(args.repetitions + 1):
        start = time.perf_counter()
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(images)["out"], labels).backward()
        if repetition > 0:
            times.append(time.perf_counter() - start)
    print(f"step_seconds {statistics.median(times):.4f}")


if __name__ == "__main__":
    main()

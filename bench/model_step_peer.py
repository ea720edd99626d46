#!/usr/bin/python3
"""The peer of atrous_model_step_bench: one training step (forward, cross-entropy at full resolution,
backward) of torchvision's DeepLabV3-ResNet50. Saves its initial weights to --weights so that the
atrous model starts from the very same ones.

usage: model_step_peer.py --threads T --weights FILE [--batch 2] [--crop 321] [--classes 21] [--repetitions 3]
                          [--precision fp32|bf16] [--memory-format contiguous|channels_last]
--precision bf16 runs the model under torch.autocast("cpu", torch.bfloat16) and the loss on the
float32 logits, as bench/training_peer.py does.
Prints `step_seconds <median> forward <median> backward <median>` (the first step warms up and is
not counted)."""
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
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument("--memory-format", choices=["contiguous", "channels_last"], default="contiguous")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = torchvision.models.segmentation.deeplabv3_resnet50(
        weights=None, weights_backbone=None, num_classes=args.classes, aux_loss=False).train()
    torch.save({k: v for k, v in model.state_dict().items()}, args.weights)
    channels_last = args.memory_format == "channels_last"
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    images = torch.rand(args.batch, 3, args.crop, args.crop)
    if channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    labels = torch.randint(0, args.classes, (args.batch, args.crop, args.crop))
    times, forward_times, backward_times = [], [], []
    for repetition in range(args.repetitions + 1):
        start = time.perf_counter()
        model.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16"):
            logits = model(images)["out"]
        loss = F.cross_entropy(logits.float(), labels)
        forward_end = time.perf_counter()
        loss.backward()
        if repetition > 0:
            end = time.perf_counter()
            times.append(end - start)
            forward_times.append(forward_end - start)
            backward_times.append(end - forward_end)
    print(f"step_seconds {statistics.median(times):.4f} forward {statistics.median(forward_times):.4f} "
          f"backward {statistics.median(backward_times):.4f}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The peer of the training benchmark: what a user writes instead of atrous.

torchvision's DeepLabV3-ResNet50 (output stride 8, torchvision's head, no auxiliary head) under
torch.nn.parallel.DistributedDataParallel (gloo on the CPU, NCCL on GPUs), reading an atrous pack
through an h5py Dataset with a DistributedSampler and a DataLoader, random crop + left-right flip,
cross-entropy with the ignore label, SGD with momentum. Optional bf16/fp16 autocast and
channels_last. Batch norm is per rank (DDP's default; run atrous with --dist.sync_bn false to match).

One process per rank: `mpirun -np R python3 bench/training_peer.py ...` (the rank and size come
from Open MPI's or SLURM's environment), or plain `python3 ...` for one rank. Prints, on rank 0,
one line: `images/s <global images per second over the timed steps>  step_s <mean step seconds>`.
"""
import argparse
import os
import time

import h5py
import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
import torchvision

def rank_and_size():
    for rank_key, size_key in (("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"), ("PMI_RANK", "PMI_SIZE"),
                               ("SLURM_PROCID", "SLURM_NTASKS"), ("RANK", "WORLD_SIZE")):
        if rank_key in os.environ:
            return int(os.environ[rank_key]), int(os.environ[size_key])
    return 0, 1


class PackDataset(torch.utils.data.Dataset):
    """The samples of an atrous pack (/images [N,H,W,3] uint8, /labels [N,H,W] uint8)."""

    def __init__(self, path, crop):
        self.path, self.crop, self.file = path, crop, None
        with h5py.File(path, "r") as f:
            self.length = f["images"].shape[0]
            self.num_classes = int(f.attrs["num_classes"])
            self.ignore_label = int(f.attrs["ignore_label"])
            self.mean = torch.tensor(np.asarray(f.attrs["mean_rgb"]), dtype=torch.float32).view(3, 1, 1)

    def __len__(self):
        return self.length

    def __getitem__(self, index):
        if self.file is None:  # one handle per worker process
            self.file = h5py.File(self.path, "r")
        image = torch.from_numpy(np.asarray(self.file["images"][index])).permute(2, 0, 1).float()
        label = torch.from_numpy(np.asarray(self.file["labels"][index])).long()
        # pad to the crop (the mean pixel for the image, the ignore label for the label), random crop
        _, h, w = image.shape
        ph, pw = max(0, self.crop - h), max(0, self.crop - w)
        if ph or pw:
            image = F.pad(image - self.mean, (0, pw, 0, ph)) + self.mean
            label = F.pad(label, (0, pw, 0, ph), value=self.ignore_label)
        _, h, w = image.shape
        top = np.random.randint(0, h - self.crop + 1)
        left = np.random.randint(0, w - self.crop + 1)
        image = image[:, top:top + self.crop, left:left + self.crop]
        label = label[top:top + self.crop, left:left + self.crop]
        if np.random.rand() < 0.5:
            image, label = image.flip(-1), label.flip(-1)
        return image / 127.5 - 1.0, label


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pack", required=True)
    parser.add_argument("--batch", type=int, default=2, help="per rank")
    parser.add_argument("--crop", type=int, default=129)
    parser.add_argument("--steps", type=int, default=20, help="timed steps")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads per rank (CPU)")
    parser.add_argument("--workers", type=int, default=1, help="DataLoader workers per rank")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--precision", choices=("fp32", "bf16", "fp16"), default="fp32")
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--port", type=int, default=29517)
    args = parser.parse_args()

    rank, size = rank_and_size()
    torch.set_num_threads(args.threads)
    torch.manual_seed(rank)
    np.random.seed(rank)
    cuda = args.device == "cuda"
    if cuda:
        # ranks share the GPUs round robin (one per rank on a machine with enough of them)
        device = torch.device("cuda", rank % torch.cuda.device_count())
        torch.cuda.set_device(device)
        torch.backends.cudnn.benchmark = True
    else:
        device = torch.device("cpu")
    if size > 1:
        dist.init_process_group("nccl" if cuda else "gloo", init_method=f"tcp://127.0.0.1:{args.port}",
                                rank=rank, world_size=size)

    dataset = PackDataset(args.pack, args.crop)
    sampler = torch.utils.data.DistributedSampler(dataset, num_replicas=size, rank=rank, shuffle=True, seed=0)
    loader = torch.utils.data.DataLoader(dataset, batch_size=args.batch, sampler=sampler, drop_last=True,
                                         num_workers=args.workers, pin_memory=cuda,
                                         persistent_workers=args.workers > 0)
    model = torchvision.models.segmentation.deeplabv3_resnet50(weights=None, weights_backbone=None,
                                                               num_classes=dataset.num_classes, aux_loss=False)
    memory_format = torch.channels_last if args.channels_last else torch.contiguous_format
    model = model.to(device, memory_format=memory_format)
    if size > 1:
        model = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if cuda else None)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    dtype = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[args.precision]
    scaler = torch.amp.GradScaler(args.device) if args.precision == "fp16" else None

    def batches():
        epoch = 0
        while True:
            sampler.set_epoch(epoch)
            yield from loader
            epoch += 1

    stream = batches()
    total = args.warmup + args.steps
    for step in range(total):
        if step == args.warmup:
            if cuda:
                torch.cuda.synchronize()
            if size > 1:
                dist.barrier()
            start = time.perf_counter()
        image, label = next(stream)
        image = image.to(device, non_blocking=True).contiguous(memory_format=memory_format)
        label = label.to(device, non_blocking=True)
        with torch.autocast(args.device, dtype=dtype, enabled=dtype is not None):
            logits = model(image)["out"]
        loss = F.cross_entropy(logits.float(), label, ignore_index=dataset.ignore_label)
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()
    loss.item()
    if cuda:
        torch.cuda.synchronize()
    if size > 1:
        dist.barrier()
    seconds = time.perf_counter() - start
    if rank == 0:
        print(f"images/s {args.steps * args.batch * size / seconds:.3f}  step_s {seconds / args.steps:.4f}", flush=True)
    if size > 1:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()

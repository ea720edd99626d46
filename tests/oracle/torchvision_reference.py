#!/usr/bin/python3
"""Writes torchvision reference models and their outputs for tests/oracle/model_oracle_test.cpp.

For each network: <name>.pt, its state dict (torch.save of a plain dict, as users export weights),
and <name>_io.pt: the input (RGB 0..255), the outputs torchvision computes in eval mode and the
parameter count. Random weights, and random batch-norm statistics so that every norm matters.
deeplabv3_resnet50_prediction_io.pt: the whole prediction path, model(x)["out"], at an odd image size;
torchvision upsamples its logits to the image with F.interpolate(align_corners=False).
Usage: torchvision_reference.py OUT_DIR
"""
import pathlib
import sys

import torch
import torchvision

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def randomise_batch_norms(model):
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 1.5)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
    return model.eval()


def save(out, name, model, tensors):
    torch.save({k: v for k, v in model.state_dict().items()}, out / f"{name}.pt")
    tensors["parameter_count"] = torch.tensor(sum(p.numel() for p in model.parameters()))
    torch.save(tensors, out / f"{name}_io.pt")


def main():
    out = pathlib.Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    images = torch.rand(2, 3, 65, 81) * 255
    normalised = (images / 255 - MEAN) / STD

    with torch.no_grad():
        model = randomise_batch_norms(torchvision.models.segmentation.deeplabv3_resnet50(
            weights=None, weights_backbone=None, num_classes=21, aux_loss=True))
        features = model.backbone(normalised)
        save(out, "deeplabv3_resnet50", model, {
            "input": images, "out": model.classifier(features["out"]),
            "aux": model.aux_classifier(features["aux"])})
        odd_images = torch.rand(1, 3, 217, 301) * 255
        torch.save({"input": odd_images, "out": model((odd_images / 255 - MEAN) / STD)["out"]},
                   out / "deeplabv3_resnet50_prediction_io.pt")

        resnet = randomise_batch_norms(torchvision.models.resnet50(
            weights=None, replace_stride_with_dilation=[False, False, True]))
        x = resnet.maxpool(resnet.relu(resnet.bn1(resnet.conv1(normalised))))
        layer1 = resnet.layer1(x)
        layer3 = resnet.layer3(resnet.layer2(layer1))
        save(out, "resnet50_os16", resnet, {
            "input": images, "low_level": layer1, "aux": layer3, "out": resnet.layer4(layer3)})

        mobilenet = randomise_batch_norms(torchvision.models.mobilenet_v2(weights=None))
        low_level = mobilenet.features[:4](normalised)
        save(out, "mobilenet_v2_os32", mobilenet, {
            "input": images, "low_level": low_level, "out": mobilenet.features[4:18](low_level)})


if __name__ == "__main__":
    main()

"""The published BraTS19 3D UNet and ACDC 2D UNet in PyTorch (GUIDE §5b), for interop tests.

  forward --checkpoint C.safetensors --input X.safetensors --output L.safetensors
      builds the network the checkpoint's metadata names (`architecture`, widths, classes),
      loads its state_dict with strict=True and writes the eval-mode logits of input "x"
      (NCDHW for unet3d, NCHW for unet2d); prints {"missing", "unexpected", "architecture"}.
"""
import argparse
import json
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_vnet import read_safetensors, write_safetensors  # noqa: E402


class UnetConv3(nn.Module):
    def __init__(self, in_size, out_size):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv3d(in_size, out_size, 3, 1, 1), nn.InstanceNorm3d(out_size), nn.ReLU(inplace=True))
        self.conv2 = nn.Sequential(nn.Conv3d(out_size, out_size, 3, 1, 1), nn.InstanceNorm3d(out_size), nn.ReLU(inplace=True))

    def forward(self, x):
        return self.conv2(self.conv1(x))


class UnetUp3(nn.Module):
    def __init__(self, in_size, out_size):
        super().__init__()
        self.conv = UnetConv3(in_size + out_size, out_size)
        self.up = nn.Upsample(scale_factor=(2, 2, 2), mode="trilinear")

    def forward(self, skip, below):
        return self.conv(torch.cat([skip, self.up(below)], 1))


class UNet3D(nn.Module):
    def __init__(self, in_channels, n_classes, filters):
        super().__init__()
        ch = [filters * k for k in (1, 2, 4, 8, 16)]
        self.conv1 = UnetConv3(in_channels, ch[0])
        self.conv2 = UnetConv3(ch[0], ch[1])
        self.conv3 = UnetConv3(ch[1], ch[2])
        self.conv4 = UnetConv3(ch[2], ch[3])
        self.center = UnetConv3(ch[3], ch[4])
        self.up_concat4 = UnetUp3(ch[4], ch[3])
        self.up_concat3 = UnetUp3(ch[3], ch[2])
        self.up_concat2 = UnetUp3(ch[2], ch[1])
        self.up_concat1 = UnetUp3(ch[1], ch[0])
        self.final = nn.Conv3d(ch[0], n_classes, 1)
        self.pool = nn.MaxPool3d(2)
        self.dropout1 = nn.Dropout(p=0.3)
        self.dropout2 = nn.Dropout(p=0.3)

    def forward(self, x):
        c1 = self.conv1(x)
        c2 = self.conv2(self.pool(c1))
        c3 = self.conv3(self.pool(c2))
        c4 = self.conv4(self.pool(c3))
        center = self.dropout1(self.center(self.pool(c4)))
        up = self.up_concat1(c1, self.up_concat2(c2, self.up_concat3(c3, self.up_concat4(c4, center))))
        return self.final(self.dropout2(up))


class ConvBlock(nn.Module):
    def __init__(self, in_channels, out_channels, dropout_p):
        super().__init__()
        self.conv_conv = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.BatchNorm2d(out_channels), nn.LeakyReLU(), nn.Dropout(dropout_p),
            nn.Conv2d(out_channels, out_channels, 3, padding=1), nn.BatchNorm2d(out_channels), nn.LeakyReLU(),
        )

    def forward(self, x):
        return self.conv_conv(x)


class DownBlock(nn.Module):
    def __init__(self, in_channels, out_channels, dropout_p):
        super().__init__()
        self.maxpool_conv = nn.Sequential(nn.MaxPool2d(2), ConvBlock(in_channels, out_channels, dropout_p))

    def forward(self, x):
        return self.maxpool_conv(x)


class UpBlock(nn.Module):
    def __init__(self, in_channels1, in_channels2, out_channels):
        super().__init__()
        self.conv1x1 = nn.Conv2d(in_channels1, in_channels2, kernel_size=1)
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
        self.conv = ConvBlock(in_channels2 * 2, out_channels, 0.0)

    def forward(self, below, skip):
        return self.conv(torch.cat([skip, self.up(self.conv1x1(below))], dim=1))


class Encoder(nn.Module):
    def __init__(self, in_chns, ft, dropout):
        super().__init__()
        self.in_conv = ConvBlock(in_chns, ft[0], dropout[0])
        self.down1 = DownBlock(ft[0], ft[1], dropout[1])
        self.down2 = DownBlock(ft[1], ft[2], dropout[2])
        self.down3 = DownBlock(ft[2], ft[3], dropout[3])
        self.down4 = DownBlock(ft[3], ft[4], dropout[4])

    def forward(self, x):
        x0 = self.in_conv(x)
        x1 = self.down1(x0)
        x2 = self.down2(x1)
        x3 = self.down3(x2)
        return [x0, x1, x2, x3, self.down4(x3)]


class Decoder(nn.Module):
    def __init__(self, ft, n_class):
        super().__init__()
        self.up1 = UpBlock(ft[4], ft[3], ft[3])
        self.up2 = UpBlock(ft[3], ft[2], ft[2])
        self.up3 = UpBlock(ft[2], ft[1], ft[1])
        self.up4 = UpBlock(ft[1], ft[0], ft[0])
        self.out_conv = nn.Conv2d(ft[0], n_class, kernel_size=3, padding=1)

    def forward(self, f):
        x = self.up4(self.up3(self.up2(self.up1(f[4], f[3]), f[2]), f[1]), f[0])
        return self.out_conv(x)


class UNet2D(nn.Module):
    def __init__(self, in_chns, n_class, channels, dropout):
        super().__init__()
        self.encoder = Encoder(in_chns, channels, dropout)
        self.decoder = Decoder(channels, n_class)

    def forward(self, x):
        return self.decoder(self.encoder(x))


def model_from_metadata(metadata):
    arch = metadata.get("architecture")
    if arch == "unet3d":
        return UNet3D(int(metadata["n_channels"]), int(metadata["n_classes"]), int(metadata["n_filters"]))
    if arch == "unet2d":
        channels = [int(c) for c in metadata["channels"].split(",")]
        dropout = [float(p) for p in metadata["dropout"].split(",")]
        return UNet2D(int(metadata["n_channels"]), int(metadata["n_classes"]), channels, dropout)
    raise SystemExit(f"not a UNet checkpoint: architecture {arch!r}")


def cmd_forward(args):
    state, metadata = read_safetensors(args.checkpoint)
    model = model_from_metadata(metadata)
    result = model.load_state_dict(state, strict=False)
    report = {"missing": list(result.missing_keys), "unexpected": list(result.unexpected_keys), "architecture": metadata.get("architecture")}
    if not report["missing"] and not report["unexpected"]:
        model.load_state_dict(state, strict=True)
        model.eval()
        inputs, _ = read_safetensors(args.input)
        with torch.no_grad():
            write_safetensors(args.output, {"logits": model(inputs["x"].float())})
    print(json.dumps(report))


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    fwd = sub.add_parser("forward")
    fwd.add_argument("--checkpoint", required=True)
    fwd.add_argument("--input", required=True)
    fwd.add_argument("--output", required=True)
    args = parser.parse_args(argv)
    {"forward": cmd_forward}[args.command](args)


if __name__ == "__main__":
    main(sys.argv[1:])

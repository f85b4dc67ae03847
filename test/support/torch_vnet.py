"""Reference PyTorch VNet for tracoco's interop tests (run with /usr/bin/python3, which has torch).

The model is the reference definition (GUIDE section 5); safetensors files are read and written
with the small helpers below because the `safetensors` package is not installed.

  torch_vnet.py forward --checkpoint M.safetensors --input X.safetensors --output Y.safetensors
      loads M into VNet(strict=True) from its __metadata__, eval forward of tensor "x" (NCDHW),
      writes tensor "logits"; prints {"missing": [], "unexpected": [], "config": {...}} as JSON.
  torch_vnet.py save-pth --output M.pth [--filters 4] [--classes 2] [--normalization batchnorm]
      [--seed 0] [--double] [--strided] [--wrap KEY] [--train-steps N] [--reference R.safetensors]
      writes a random VNet state_dict with torch.save; --double stores float64 tensors, --strided
      stores every weight as a non-contiguous view with a storage offset, --wrap nests it as
      {KEY: state_dict, "epoch": 3}, --train-steps runs N train-mode forwards to move BN buffers,
      --reference also writes the same state_dict (float32, contiguous) as safetensors.
  torch_vnet.py grads --checkpoint M.safetensors --input X.safetensors --output G.safetensors
      train-mode forward (no dropout) of "x", loss 0.5*(CE + dice) against "labels", writes
      "grad/<key>" for every parameter (PyTorch layout), "logits", and every BN buffer after it.
"""
import argparse
import json
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


def norm_layer(normalization, channels):
    if normalization == "batchnorm":
        return [nn.BatchNorm3d(channels)]
    if normalization == "groupnorm":
        return [nn.GroupNorm(num_groups=16, num_channels=channels)]
    if normalization == "instancenorm":
        return [nn.InstanceNorm3d(channels)]
    if normalization == "none":
        return []
    raise ValueError(normalization)


class ConvBlock(nn.Module):
    def __init__(self, n_stages, n_filters_in, n_filters_out, normalization="none"):
        super().__init__()
        ops = []
        for i in range(n_stages):
            cin = n_filters_in if i == 0 else n_filters_out
            ops.append(nn.Conv3d(cin, n_filters_out, 3, padding=1))
            ops += norm_layer(normalization, n_filters_out)
            ops.append(nn.ReLU(inplace=True))
        self.conv = nn.Sequential(*ops)

    def forward(self, x):
        return self.conv(x)


class DownsamplingConvBlock(nn.Module):
    def __init__(self, n_filters_in, n_filters_out, stride=2, normalization="none"):
        super().__init__()
        ops = [nn.Conv3d(n_filters_in, n_filters_out, stride, padding=0, stride=stride)]
        ops += norm_layer(normalization, n_filters_out)
        ops.append(nn.ReLU(inplace=True))
        self.conv = nn.Sequential(*ops)

    def forward(self, x):
        return self.conv(x)


class UpsamplingDeconvBlock(nn.Module):
    def __init__(self, n_filters_in, n_filters_out, stride=2, normalization="none"):
        super().__init__()
        ops = [nn.ConvTranspose3d(n_filters_in, n_filters_out, stride, padding=0, stride=stride)]
        ops += norm_layer(normalization, n_filters_out)
        ops.append(nn.ReLU(inplace=True))
        self.conv = nn.Sequential(*ops)

    def forward(self, x):
        return self.conv(x)


class VNet(nn.Module):
    def __init__(self, n_channels=1, n_classes=2, n_filters=16, normalization="batchnorm", has_dropout=False):
        super().__init__()
        f, n = n_filters, normalization
        self.has_dropout = has_dropout
        self.block_one = ConvBlock(1, n_channels, f, n)
        self.block_one_dw = DownsamplingConvBlock(f, 2 * f, normalization=n)
        self.block_two = ConvBlock(2, 2 * f, 2 * f, n)
        self.block_two_dw = DownsamplingConvBlock(2 * f, 4 * f, normalization=n)
        self.block_three = ConvBlock(3, 4 * f, 4 * f, n)
        self.block_three_dw = DownsamplingConvBlock(4 * f, 8 * f, normalization=n)
        self.block_four = ConvBlock(3, 8 * f, 8 * f, n)
        self.block_four_dw = DownsamplingConvBlock(8 * f, 16 * f, normalization=n)
        self.block_five = ConvBlock(3, 16 * f, 16 * f, n)
        self.block_five_up = UpsamplingDeconvBlock(16 * f, 8 * f, normalization=n)
        self.block_six = ConvBlock(3, 8 * f, 8 * f, n)
        self.block_six_up = UpsamplingDeconvBlock(8 * f, 4 * f, normalization=n)
        self.block_seven = ConvBlock(3, 4 * f, 4 * f, n)
        self.block_seven_up = UpsamplingDeconvBlock(4 * f, 2 * f, normalization=n)
        self.block_eight = ConvBlock(2, 2 * f, 2 * f, n)
        self.block_eight_up = UpsamplingDeconvBlock(2 * f, f, normalization=n)
        self.block_nine = ConvBlock(1, f, f, n)
        self.out_conv = nn.Conv3d(f, n_classes, 1, padding=0)
        self.dropout = nn.Dropout3d(p=0.5, inplace=False)

    def forward(self, x):
        x1 = self.block_one(x)
        x2 = self.block_two(self.block_one_dw(x1))
        x3 = self.block_three(self.block_two_dw(x2))
        x4 = self.block_four(self.block_three_dw(x3))
        x5 = self.block_five(self.block_four_dw(x4))
        if self.has_dropout:
            x5 = self.dropout(x5)
        x6 = self.block_six(self.block_five_up(x5) + x4)
        x7 = self.block_seven(self.block_six_up(x6) + x3)
        x8 = self.block_eight(self.block_seven_up(x7) + x2)
        x9 = self.block_nine(self.block_eight_up(x8) + x1)
        if self.has_dropout:
            x9 = self.dropout(x9)
        return self.out_conv(x9)


DTYPES = {"F32": (torch.float32, 4), "F64": (torch.float64, 8), "I64": (torch.int64, 8), "I32": (torch.int32, 4)}
NAMES = {v[0]: k for k, v in DTYPES.items()}


def read_safetensors(path):
    with open(path, "rb") as fh:
        data = fh.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {})
    base = 8 + n
    tensors = {}
    for name, entry in header.items():
        dtype, size = DTYPES[entry["dtype"]]
        begin, end = entry["data_offsets"]
        raw = bytearray(data[base + begin : base + end])
        flat = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
        tensors[name] = flat.reshape(entry["shape"]).clone()
    return tensors, metadata


def write_safetensors(path, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        raw = t.numpy().tobytes()
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def model_from_metadata(metadata):
    return VNet(
        n_channels=int(metadata.get("n_channels", "1")),
        n_classes=int(metadata["n_classes"]),
        n_filters=int(metadata["n_filters"]),
        normalization=metadata.get("normalization", "batchnorm"),
        has_dropout=False,
    )


def cmd_forward(args):
    state, metadata = read_safetensors(args.checkpoint)
    model = model_from_metadata(metadata)
    result = model.load_state_dict(state, strict=False)
    report = {"missing": list(result.missing_keys), "unexpected": list(result.unexpected_keys), "config": metadata}
    if not report["missing"] and not report["unexpected"]:
        model.load_state_dict(state, strict=True)
        model.eval()
        inputs, _ = read_safetensors(args.input)
        with torch.no_grad():
            logits = model(inputs["x"].float())
        write_safetensors(args.output, {"logits": logits})
    print(json.dumps(report))


def cmd_save_pth(args):
    torch.manual_seed(args.seed)
    model = VNet(n_channels=1, n_classes=args.classes, n_filters=args.filters, normalization=args.normalization)
    model.train()
    for _ in range(args.train_steps):
        with torch.no_grad():
            model(torch.randn(2, 1, 16, 16, 16))
    state = model.state_dict()
    if args.reference:
        metadata = {"n_filters": str(args.filters), "n_classes": str(args.classes), "normalization": args.normalization}
        write_safetensors(args.reference, state, metadata)
    if args.double:
        state = type(state)((k, v.double() if v.is_floating_point() else v) for k, v in state.items())
    if args.strided:
        strided = type(state)()
        for k, v in state.items():
            if v.dim() == 0:
                strided[k] = v
                continue
            # A transposed copy with a leading pad: non-contiguous strides and a storage offset.
            base = torch.zeros(v.numel() + 3, dtype=v.dtype)
            view = base[3:].view(*reversed(v.shape)).permute(*reversed(range(v.dim())))
            view.copy_(v)
            strided[k] = view
        state = strided
    obj = {args.wrap: state, "epoch": 3} if args.wrap else state
    torch.save(obj, args.output)
    print(json.dumps({"keys": len(state)}))


def cmd_grads(args):
    state, metadata = read_safetensors(args.checkpoint)
    inputs, _ = read_safetensors(args.input)
    model = model_from_metadata(metadata)
    model.load_state_dict(state, strict=True)
    model.train()
    logits = model(inputs["x"].float())
    labels = inputs["labels"].long()
    ce = F.cross_entropy(logits, labels)
    p = torch.softmax(logits, dim=1)[:, 1]
    t = (labels == 1).float()
    dice = 1 - (2 * (p * t).sum() + 1e-5) / ((p * p).sum() + (t * t).sum() + 1e-5)
    loss = 0.5 * (ce + dice)
    loss.backward()
    out = {f"grad/{k}": v.grad for k, v in model.named_parameters()}
    out.update({f"buffer/{k}": v for k, v in model.named_buffers()})
    out["logits"] = logits
    write_safetensors(args.output, out)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    fwd = sub.add_parser("forward")
    fwd.add_argument("--checkpoint", required=True)
    fwd.add_argument("--input", required=True)
    fwd.add_argument("--output", required=True)
    save = sub.add_parser("save-pth")
    save.add_argument("--output", required=True)
    save.add_argument("--filters", type=int, default=4)
    save.add_argument("--classes", type=int, default=2)
    save.add_argument("--normalization", default="batchnorm")
    save.add_argument("--seed", type=int, default=0)
    save.add_argument("--double", action="store_true")
    save.add_argument("--strided", action="store_true")
    save.add_argument("--wrap", default=None)
    save.add_argument("--train-steps", type=int, default=1)
    save.add_argument("--reference", default=None)
    grads = sub.add_parser("grads")
    grads.add_argument("--checkpoint", required=True)
    grads.add_argument("--input", required=True)
    grads.add_argument("--output", required=True)
    args = parser.parse_args(argv)
    {"forward": cmd_forward, "save-pth": cmd_save_pth, "grads": cmd_grads}[args.command](args)


if __name__ == "__main__":
    torch.set_num_threads(1)
    main(sys.argv[1:])

"""example_module.py - the converter framework's test module (model kind `example`, weights/FORMAT.md).

A tiny seeded network with one of each layer kind the real converters meet: a Conv2d with bias, a
BatchNorm2d with non-trivial affine parameters and running statistics, a ConvTranspose2d (whose weight
is (in, out, kH, kW), the transposed layout) and a Linear. It exists so that tests/ can prove the whole
path checkpoint -> tools/convert_example.py -> .p3dw -> host/nn/weights.c without the real models.

    /usr/bin/python3 tools/example_module.py tests/data/example.pth

writes the checkpoint (a plain state_dict) that is committed as tests/data/example.pth.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import p3dw  # noqa: E402

# The model's hyper-parameters: the converter derives the expected tensor table from them and stores
# them in the blob; the C side reads them back with p3d_weights_hparam_*.
CONFIG = {
    "in_channels": 3,
    "channels": 4,
    "up_channels": 2,
    "out_features": 5,
    "bn_eps": 1e-5,
    "activation": "relu",
}
SEED = 1234


def expected_shapes(cfg):
    """{state_dict key: shape} of ExampleNet(cfg) after the converter drops num_batches_tracked."""
    c_in, c, c_up, n_out = cfg["in_channels"], cfg["channels"], cfg["up_channels"], cfg["out_features"]
    return {
        "conv.weight": (c, c_in, 3, 3),  # (out, in, kH, kW)
        "conv.bias": (c,),
        "bn.weight": (c,),
        "bn.bias": (c,),
        "bn.running_mean": (c,),
        "bn.running_var": (c,),
        "up.weight": (c, c_up, 2, 2),  # ConvTranspose2d: (in, out, kH, kW)
        "up.bias": (c_up,),
        "fc.weight": (n_out, c_up),  # (out_features, in_features)
        "fc.bias": (n_out,),
    }


def build(cfg=CONFIG, seed=SEED):
    """The seeded module in eval mode, with batch-norm statistics gathered from a few random batches."""
    import torch
    from torch import nn

    class ExampleNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(cfg["in_channels"], cfg["channels"], 3, padding=1, bias=True)
            self.bn = nn.BatchNorm2d(cfg["channels"], eps=cfg["bn_eps"])
            self.up = nn.ConvTranspose2d(cfg["channels"], cfg["up_channels"], 2, stride=2)
            self.fc = nn.Linear(cfg["up_channels"], cfg["out_features"])

        def forward(self, x):  # x: (N, in_channels, H, W) -> (N, out_features)
            x = torch.relu(self.bn(self.conv(x)))  # (N, channels, H, W)
            x = self.up(x)  # (N, up_channels, 2H, 2W)
            return self.fc(x.mean(dim=(2, 3)))

    torch.manual_seed(seed)
    net = ExampleNet()
    with torch.no_grad():
        # Away from the 1/0 defaults, so a swapped weight/bias cannot pass the C test.
        net.bn.weight.uniform_(0.5, 1.5)
        net.bn.bias.uniform_(-0.5, 0.5)
    net.train()
    with torch.no_grad():
        for _ in range(3):  # updates running_mean/running_var (and num_batches_tracked, = 3)
            net(torch.randn(2, cfg["in_channels"], 8, 8) * 2.0 + 0.5)
    return net.eval()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", help="checkpoint to write (.pth, a state_dict)")
    args = ap.parse_args(argv)
    torch = p3dw.require_torch("example_module.py")
    torch.save(build().state_dict(), args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

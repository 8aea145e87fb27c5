#!/usr/bin/python3
"""inpaint_nets.py - PyTorch reference modules of the three 3d-photo-inpainting networks.

Same structure and state_dict names as the reference networks.py (spec 3.1-3.5), so the official
checkpoints load with strict load_state_dict. With folded=True each module takes the converted p3dw
tensors instead (spec of the blob: tools/convert_inpaint.py): plain convs instead of spectral norm,
`bn.scale`/`bn.shift` instead of BatchNorm2d, no stored mask_conv; its state_dict keys are exactly the
blob's tensor names, so it is the executable description of what the C side computes.

forward_3P(...) (spec 3.5): concatenate the inputs in the order of 2.17.1, zero-pad every channel to the
next multiple of unit_length (128) with the input at (residual_h // 2, residual_w // 2), run forward,
crop the same window. pad_input()/crop_output() expose the two halves for tests.

Depth input: forward_3P of Inpaint_Depth_Net takes the ZERO-MEAN LOG DEPTH, as the reference: the log
and the mean are taken by its caller (mesh_tools.depth_inpainting / get_depth_from_nodes, spec 2.17.4):
logd = log(real_depth + 1e-8) * context, mean = mean of logd over context, input = (logd - mean) * context;
the caller maps the output back with exp(out + mean). tools/gen_inpaint_golden.py does the same.

Edge input: forward_3P divides disp by its maximum (spec 3.4) per sample, over the unpadded crop
(the reference takes one max over the whole batch; the pipeline always runs batch size 1, where both agree).

Run as a program: checks key lists, parameter counts (spec 3.8/3.9) and folded names against the converter's
tables and prints multiply-accumulate counts at 256x256 (spec 4.1).
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.spectral_norm import SpectralNorm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import convert_inpaint as conv_tables  # noqa: E402

UNIT_LENGTH = 128


# ---- padding shared by the three forward_3P wrappers ---------------------------------------------------
def pad_input(x, unit_length=UNIT_LENGTH):
    """Zero-pads (N, C, h, w) to multiples of unit_length, centred; returns (padded, (top, left, h, w))."""
    n, c, h, w = x.shape
    res_h = int(np.ceil(h / float(unit_length)) * unit_length - h)
    res_w = int(np.ceil(w / float(unit_length)) * unit_length - w)
    top, left = res_h // 2, res_w // 2
    out = torch.zeros((n, c, h + res_h, w + res_w), dtype=x.dtype, device=x.device)
    out[..., top:top + h, left:left + w] = x
    return out, (top, left, h, w)


def crop_output(y, window):
    top, left, h, w = window
    return y[..., top:top + h, left:left + w]


# ---- partial convolution (spec 3.1) -----------------------------------------------------------------------
class PartialConv(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, folded=False):
        super().__init__()
        self.input_conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias)
        ones = torch.ones(out_channels, in_channels // groups, kernel_size, kernel_size)
        if folded:
            self.register_buffer("mask_weight", ones, persistent=False)
            self.mask_conv = None
        else:
            self.mask_conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                                       False)
            with torch.no_grad():
                self.mask_conv.weight.copy_(ones)
            self.mask_conv.weight.requires_grad_(False)
        self.slide_winsize = in_channels * kernel_size * kernel_size

    def _mask_sum(self, mask):
        if self.mask_conv is not None:
            return self.mask_conv(mask)
        c = self.input_conv
        return F.conv2d(mask, self.mask_weight, None, c.stride, c.padding, c.dilation, c.groups)

    def forward(self, x, mask):
        output = self.input_conv(x * mask)
        if self.input_conv.bias is not None:
            output_bias = self.input_conv.bias.view(1, -1, 1, 1).expand_as(output)
        else:
            output_bias = torch.zeros_like(output)
        with torch.no_grad():
            mask_sum = self._mask_sum(mask)
        holes = mask_sum == 0
        mask_sum = mask_sum.masked_fill(holes, 1.0)
        output = (((output - output_bias) * self.slide_winsize) / mask_sum + output_bias).masked_fill(holes, 0.0)
        new_mask = torch.ones_like(output).masked_fill(holes, 0.0)
        return output, new_mask


class FoldedBatchNorm(nn.Module):
    """Eval-mode BatchNorm2d as y = x * scale + shift per channel (buffers `scale`, `shift`)."""

    def __init__(self, channels):
        super().__init__()
        self.register_buffer("scale", torch.ones(channels))
        self.register_buffer("shift", torch.zeros(channels))

    def forward(self, x):
        return x * self.scale.view(1, -1, 1, 1) + self.shift.view(1, -1, 1, 1)


class PCBActiv(nn.Module):
    GEOMETRY = {"down-5": (5, 2, 2), "down-7": (7, 2, 3), "down-3": (3, 2, 1)}

    def __init__(self, in_ch, out_ch, bn=True, sample="none-3", activ="relu", conv_bias=False, folded=False):
        super().__init__()
        k, s, p = self.GEOMETRY.get(sample, (3, 1, 1))
        self.conv = PartialConv(in_ch, out_ch, k, s, p, bias=conv_bias, folded=folded)
        if bn:
            self.bn = FoldedBatchNorm(out_ch) if folded else nn.BatchNorm2d(out_ch)
        if activ == "relu":
            self.activation = nn.ReLU()
        elif activ == "leaky":
            self.activation = nn.LeakyReLU(negative_slope=0.2)

    def forward(self, x, mask):
        h, h_mask = self.conv(x, mask)
        if hasattr(self, "bn"):
            h = self.bn(h)
        if hasattr(self, "activation"):
            h = self.activation(h)
        return h, h_mask


# ---- partial-conv U-Nets (spec 3.2, 3.3) ---------------------------------------------------------------------
class _PConvUNet(nn.Module):
    """Shared structure of Inpaint_Depth_Net and Inpaint_Color_Net: the layers of convert_inpaint.UNET[MODEL]
    registered in that (the reference's) order; 7 down steps, nearest x2 up steps with [upsampled, skip]
    concatenation of features and masks; mask = clamp(context + mask) replicated over all input channels.
    forward_3P(mask, context, values, edge): values = the zero-mean log depth (depth net) or rgb (colour net);
    forward() input channels [values, edge, context, mask]."""
    layer_size = 7
    upsampling_mode = "nearest"
    MODEL = None
    dec_names = None
    output_sigmoid = False

    def __init__(self, folded=False):
        super().__init__()
        for name, cin, cout, k, bias, bn in conv_tables.UNET[self.MODEL]:
            if name.startswith("enc"):
                sample = {7: "down-7", 5: "down-5"}.get(k, "down-3")
                layer = PCBActiv(cin, cout, bn=bn, sample=sample, conv_bias=bias, folded=folded)
            else:
                layer = PCBActiv(cin, cout, bn=bn, activ="leaky" if bn else None, conv_bias=bias, folded=folded)
            setattr(self, name, layer)

    @staticmethod
    def concat_inputs(mask, context, values, edge):
        return torch.cat((values, edge, context, mask), dim=1)

    def forward_3P(self, mask, context, values, edge, unit_length=UNIT_LENGTH):
        with torch.no_grad():
            padded, window = pad_input(self.concat_inputs(mask, context, values, edge), unit_length)
            return crop_output(self.forward(padded), window)

    def forward(self, x):
        mask = (x[:, -2:-1] + x[:, -1:]).clamp(0, 1).repeat(1, x.shape[1], 1, 1)
        feats, masks = [x], [mask]
        for i in range(1, self.layer_size + 1):
            h, m = getattr(self, f"enc_{i}")(feats[-1], masks[-1])
            feats.append(h)
            masks.append(m)
        h, m = feats[-1], masks[-1]
        for i in range(self.layer_size, 0, -1):
            h = F.interpolate(h, scale_factor=2, mode=self.upsampling_mode)
            m = F.interpolate(m, scale_factor=2, mode="nearest")
            h, m = getattr(self, self.dec_names[i])(torch.cat([h, feats[i - 1]], 1), torch.cat([m, masks[i - 1]], 1))
        return torch.sigmoid(h) if self.output_sigmoid else h


class Inpaint_Depth_Net(_PConvUNet):
    """4 inputs [zero-mean log depth, edge, context, mask] -> 1 linear output (log-depth residual)."""
    MODEL = "depth"
    dec_names = {i: f"dec_{i}" for i in range(1, 8)}


class Inpaint_Color_Net(_PConvUNet):
    """6 inputs [r, g, b, edge, context, mask] -> sigmoid(3 channels)."""
    MODEL = "color"
    dec_names = {7: "dec_7", 6: "dec_6", 5: "dec_5A", 4: "dec_4A", 3: "dec_3A", 2: "dec_2A", 1: "dec_1A"}
    output_sigmoid = True


# ---- EdgeConnect-style generator (spec 3.4) ---------------------------------------------------------------------
def _sn(module, folded):
    return module if folded else nn.utils.spectral_norm(module)


def _sn_in_relu(conv, folded, reflect=0):
    """[ReflectionPad2d(reflect);] spectral-normed conv; InstanceNorm2d (no affine, no running stats); ReLU."""
    pad = [nn.ReflectionPad2d(reflect)] if reflect else []
    return nn.Sequential(*pad, _sn(conv, folded), nn.InstanceNorm2d(conv.out_channels, track_running_stats=False),
                         nn.ReLU(True))


class ResnetBlock(nn.Module):
    def __init__(self, dim, dilation=1, folded=False):
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(dilation),
            _sn(nn.Conv2d(dim, dim, kernel_size=3, padding=0, dilation=dilation, bias=False), folded),
            nn.InstanceNorm2d(dim, track_running_stats=False),
            nn.LeakyReLU(negative_slope=0.2),
            nn.ReflectionPad2d(1),
            _sn(nn.Conv2d(dim, dim, kernel_size=3, padding=0, dilation=1, bias=False), folded),
            nn.InstanceNorm2d(dim, track_running_stats=False))

    def forward(self, x):
        return x + self.conv_block(x)


class Inpaint_Edge_Net(nn.Module):
    """7 inputs [r, g, b, disp / max(disp), edge, context, mask] -> sigmoid(1 channel)."""

    def __init__(self, residual_blocks=8, folded=False):
        super().__init__()
        self.encoder_0 = _sn_in_relu(nn.Conv2d(7, 64, kernel_size=7, padding=0), folded, reflect=3)
        self.encoder_1 = _sn_in_relu(nn.Conv2d(64, 128, kernel_size=4, stride=2, padding=1), folded)
        self.encoder_2 = _sn_in_relu(nn.Conv2d(128, 256, kernel_size=4, stride=2, padding=1), folded)
        self.middle = nn.Sequential(*[ResnetBlock(256, 2, folded) for _ in range(residual_blocks)])
        self.decoder_0 = _sn_in_relu(nn.ConvTranspose2d(512, 128, kernel_size=4, stride=2, padding=1), folded)
        self.decoder_1 = _sn_in_relu(nn.ConvTranspose2d(256, 64, kernel_size=4, stride=2, padding=1), folded)
        self.decoder_2 = nn.Sequential(
            nn.ReflectionPad2d(3),
            nn.Conv2d(128, 1, kernel_size=7, padding=0))

    @staticmethod
    def concat_inputs(mask, context, rgb, disp, edge):
        dmax = disp.amax(dim=(1, 2, 3), keepdim=True)
        return torch.cat((rgb, disp / dmax, edge, context, mask), dim=1)

    def forward_3P(self, mask, context, rgb, disp, edge, unit_length=UNIT_LENGTH):
        with torch.no_grad():
            padded, window = pad_input(self.concat_inputs(mask, context, rgb, disp, edge), unit_length)
            return crop_output(self.forward(padded), window)

    def forward(self, x):
        x1 = self.encoder_0(x)
        x2 = self.encoder_1(x1)
        x3 = self.encoder_2(x2)
        x4 = self.middle(x3)
        x5 = self.decoder_0(torch.cat((x4, x3), dim=1))
        x6 = self.decoder_1(torch.cat((x5, x2), dim=1))
        x7 = self.decoder_2(torch.cat((x6, x1), dim=1))
        return torch.sigmoid(x7)


NETS = {"edge": Inpaint_Edge_Net, "depth": Inpaint_Depth_Net, "color": Inpaint_Color_Net}


def build(model, folded=False):
    return NETS[model](folded=folded).eval()


def spectral_norm_weights(net):
    """{'<module>.weight': numpy} - the eval-mode weight torch's spectral norm uses (weight_orig / sigma with
    the stored u, v, no power iteration), for comparison with the converter's folded weights."""
    out = {}
    for name, mod in net.named_modules():
        for hook in mod._forward_pre_hooks.values():
            if isinstance(hook, SpectralNorm):
                with torch.no_grad():
                    out[f"{name}.weight"] = hook.compute_weight(mod, do_power_iteration=False).numpy()
    return out


def load_numpy(net, tensors):
    """Strict load of {name: numpy array} (a checkpoint state_dict, or blob tensors for folded nets)."""
    net.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in tensors.items()}, strict=True)
    return net


# ---- self-check ------------------------------------------------------------------------------------------------
SPEC = {  # spec 3.8/3.9 and 4.1: state_dict keys, learnable parameters, MAC per padded input pixel
    "edge": (70, 11_432_129, 814_656),
    "depth": (91, 25_781_925, 144_116),
    "color": (89, 25_789_285, 146_962),
}


def count_macs(net, h, w):
    """{'input': MACs of the learned convs, 'mask': MACs of the dense mask_conv} for one (h, w) forward."""
    macs = {"input": 0, "mask": 0}

    def hook(mod, inp, out):
        k = mod.kernel_size[0] * mod.kernel_size[1]
        if isinstance(mod, nn.ConvTranspose2d):
            n = inp[0][0].numel() * mod.out_channels * k // mod.groups
        else:
            n = out[0].numel() * mod.in_channels // mod.groups * k
        macs["mask" if getattr(mod, "_is_mask_conv", False) else "input"] += n

    handles = []
    for name, mod in net.named_modules():
        if isinstance(mod, (nn.Conv2d, nn.ConvTranspose2d)):
            mod._is_mask_conv = name.endswith("mask_conv")
            handles.append(mod.register_forward_hook(hook))
    cin = 7 if isinstance(net, Inpaint_Edge_Net) else net.enc_1.conv.input_conv.in_channels
    with torch.no_grad():
        net(torch.zeros(1, cin, h, w))
    for hd in handles:
        hd.remove()
    return macs


def self_check():
    ok = True
    for model, (n_keys, n_params, mac_px) in SPEC.items():
        net = build(model)
        sd = net.state_dict()
        got = {k: tuple(v.shape) for k, v in sd.items()}
        want = {k: tuple(s) for k, s in conv_tables.checkpoint_table(model).items()}
        learn = sum(p.numel() for p in net.parameters() if p.requires_grad)
        folded = {k: tuple(v.shape) for k, v in build(model, folded=True).state_dict().items()}
        blob = {k: tuple(s) for k, s in conv_tables.blob_table(model).items()}
        macs = count_macs(net, 256, 256)
        checks = [("keys", len(sd) == n_keys, f"{len(sd)} (spec {n_keys})"),
                  ("key table", list(got.items()) == list(want.items()),
                   "names, shapes and order match convert_inpaint.checkpoint_table"),
                  ("learnable", learn == n_params, f"{learn:,} (spec {n_params:,})"),
                  ("folded", folded == blob, f"{len(folded)} tensors = convert_inpaint.blob_table"),
                  ("MAC/px", macs["input"] == mac_px * 256 * 256,
                   f"{macs['input'] / 65536:,.0f} (spec {mac_px:,}); 256x256: {macs['input'] / 1e9:.2f} G"
                   + (f" + {macs['mask'] / 1e9:.2f} G dense mask_conv" if macs["mask"] else ""))]
        for what, good, text in checks:
            ok &= good
            print(f"{model:5s} {what:9s} {'ok  ' if good else 'FAIL'} {text}")
        if got != want:
            for k in sorted(set(got) ^ set(want)):
                print(f"      differs: {k}")
    return ok


if __name__ == "__main__":
    sys.exit(0 if self_check() else 1)

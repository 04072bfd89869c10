"""Parameter counts of the DDPM U-Net layout of ../shared/bench/am_unet_step_torch.py, counted
layer by layer from its description (no torch needed), for the presets the Rust U-Net offers.
The Rust test `unet_parameter_counts_match_the_reference_layout` holds the printed numbers.

  python3 benches/ref/unet_parameters.py
"""


def conv(cin, cout, k):
    return cout * cin * k * k + cout


def dense(fin, fout):
    return fin * fout + fout


def gn(c):
    return 2 * c


def res(cin, cout, temb):
    n = gn(cin) + conv(cin, cout, 3) + dense(temb, cout) + gn(cout) + conv(cout, cout, 3)
    return n + (conv(cin, cout, 1) if cin != cout else 0)


def attn(c):
    return gn(c) + conv(c, 3 * c, 1) + conv(c, c, 1)


def unet(ch, size, nf, mult, res_blocks, attention):
    temb = 4 * nf
    n = dense(nf, temb) + dense(temb, temb) + conv(ch, nf, 3)
    chans, c, side = [nf], nf, size
    for i, m in enumerate(mult):
        for _ in range(res_blocks):
            n += res(c, nf * m, temb)
            c = nf * m
            if side in attention:
                n += attn(c)
            chans.append(c)
        if i < len(mult) - 1:
            n += conv(c, c, 3)
            chans.append(c)
            side //= 2
    n += 2 * res(c, c, temb) + attn(c)
    for i in reversed(range(len(mult))):
        for _ in range(res_blocks + 1):
            n += res(c + chans.pop(), nf * mult[i], temb)
            c = nf * mult[i]
        if side in attention:
            n += attn(c)
        if i > 0:
            n += conv(c, c, 3)
            side *= 2
    return n + gn(c) + conv(c, ch, 3)


for name, args in [
    ("digits", (1, 8, 32, [1, 2], 1, {4})),
    ("mnist", (1, 28, 16, [1, 2, 2], 1, {7})),
    ("cifar10", (3, 32, 128, [1, 2, 2, 2], 2, {16, 8})),
]:
    print(name, unet(*args))

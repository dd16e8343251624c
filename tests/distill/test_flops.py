"""The FLOP estimate behind the MFU the trainer logs."""
import torch

from usad.distill.flops import train_flops


def test_full_training_is_three_forwards():
    frames = torch.tensor([100, 250])
    n, layers, dim = 1_000_000, 6, 512
    forward = 2 * n * 350 + 4 * layers * dim * (100 ** 2 + 250 ** 2)
    assert train_flops(n, layers, dim, frames) == 3 * forward
    assert train_flops(n, layers, dim, frames, trainable_params=n) == 3 * forward


def test_frozen_parameters_add_only_their_forward():
    frames = torch.tensor([200])
    n, layers, dim = 1_000_000, 6, 512
    full = train_flops(n, layers, dim, frames)
    quarter = train_flops(n, layers, dim, frames, trainable_params=n // 4)
    frozen = train_flops(n, layers, dim, frames, trainable_params=0)
    assert frozen == full / 3
    assert frozen < quarter < full
    assert quarter == frozen * 1.5

import pytest
import torch

from streamsr import ConfigError
from streamsr.enhance._srcnn import ARCHS, SRCNN, SRCNN_ARCHS, build_srcnn


@pytest.mark.parametrize(
    ("arch", "kernels", "n_params"),
    [
        ("srcnn-955", (9, 5, 5), 1 * 64 * 81 + 64 + 64 * 32 * 25 + 32 + 32 * 25 + 1),
        ("srcnn-915", (9, 1, 5), 1 * 64 * 81 + 64 + 64 * 32 * 1 + 32 + 32 * 25 + 1),
        ("srcnn-915s", (9, 1, 5), 1 * 32 * 81 + 32 + 32 * 16 * 1 + 16 + 16 * 25 + 1),
        ("srcnn-315", (3, 1, 5), 1 * 64 * 9 + 64 + 64 * 32 * 1 + 32 + 32 * 25 + 1),
    ],
)
def test_shapes_per_variant(arch: str, kernels: tuple[int, int, int], n_params: int) -> None:
    m = build_srcnn(arch)
    assert isinstance(m, SRCNN)
    assert (
        m.extract.kernel_size[0],
        m.mapping.kernel_size[0],
        m.reconstruct.kernel_size[0],
    ) == kernels
    filters = (32, 16) if arch.endswith("s") else (64, 32)
    assert (m.extract.out_channels, m.mapping.out_channels, m.reconstruct.out_channels) == (
        *filters,
        1,
    )
    assert sum(p.numel() for p in m.parameters()) == n_params
    x = torch.rand(2, 1, 37, 50)
    assert m(x).shape == x.shape  # padded: output keeps the input size
    c = m.valid_crop
    assert m.forward_valid(x).shape == (2, 1, 37 - 2 * c, 50 - 2 * c)


def test_valid_and_padded_agree_in_the_interior() -> None:
    torch.manual_seed(0)
    m = build_srcnn("srcnn-955")
    x = torch.rand(1, 1, 40, 40)
    c = m.valid_crop
    torch.testing.assert_close(m(x)[..., c:-c, c:-c], m.forward_valid(x), rtol=1e-5, atol=1e-6)


def test_relu_after_first_two_layers_only() -> None:
    m = build_srcnn("srcnn-955")
    with torch.no_grad():
        m.reconstruct.bias.fill_(-5.0)
    # No ReLU after the last layer: the residual can be negative.
    assert (m(torch.rand(1, 1, 16, 16)) < 0).all()


def test_unknown_arch_names_the_choices() -> None:
    with pytest.raises(ConfigError, match="srcnn-955"):
        build_srcnn("srcnn-999")
    assert len(SRCNN_ARCHS) == 4 and set(SRCNN_ARCHS) < set(ARCHS)

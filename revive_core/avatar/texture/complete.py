"""Complete the skin no photo saw with a small GAN trained on this very person's visible skin.

How it works:

1. A coarse fill: each unseen texel takes its left-right mirror image where the photos saw that
   (a face is nearly symmetric), with the seam between the two feathered away (the difference
   in tone along the seam is corrected there and fades with the distance, like Poisson
   blending); what is left is filled smoothly over the head's surface (``fuse.surface_fill``).
   The coarse fill is blurred slightly: it carries the tone, the generator makes the grain.
2. A generator (a small convolutional network, ``Generator``) turns the coarse fill into skin
   with the person's grain. It is trained for a few hundred steps on patches of the texture:
   - reconstruction: holes cut into seen skin must come back with the right tone (compared
     after a slight blur, so the grain itself is free);
   - adversarial: a patch discriminator (``Discriminator``) learns to tell the person's real
     skin grain from generated grain, and the generator learns to fool it, both on the holes
     and on the real unseen areas;
   - symmetry: where the mirror image was seen, the generated tone must stay close to it.
3. The trained generator runs once over the whole texture (it is fully convolutional, so any
   size works) and its output replaces the unseen texels, its grain at ``grain`` strength
   (half by default: see ``CompletionSettings``); partly seen texels are mixed by their
   confidence.

Training runs on two CPU threads (see ``_fixed_cpu_threads``): about 37 s at 1024 x 1024 on
two cores (300 steps, one generator pass each), longer on a busy machine; with a CUDA GPU it runs
there (about 10 s at 1024 and at 2048 on an H200; the steps train on patches, so the size
matters little). Seeded: the same inputs and seed give the same texture, on the CPU and on
CUDA (deterministic cuDNN; the upsampling and blur avoid ops whose gradients are not).
Pretrained weights (a state dict of ``Generator``, e.g. written by ``save_generator``) load by
path with ``weights_only=True``; nothing is ever unpickled.
"""
from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch
from scipy.spatial import cKDTree
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.parametrizations import spectral_norm

from revive_core.errors import InputError
from revive_core.formats.storage import atomic_file
from revive_core.avatar.texture.fuse import surface_fill, surface_smooth

__all__ = ["CompletionSettings", "Generator", "Discriminator", "symmetric_fill",
           "complete_texture", "load_generator", "save_generator"]

SEAM_FADE_M = 0.015  # the mirrored side's seam correction fades over about this distance
SEAM_VOXEL_M = 0.008  # the tone compared across the seam: detail finer than this is left out
FULL_EFFORT_SHARE = 0.2  # at and above this share of unseen skin, train all the steps
MIN_STEPS = 40
GAN_CPU_THREADS = 2
COARSE_BLUR = 3.0  # texels (at 1024): the coarse fill carries tone, the generator the grain
GRAIN_SCALE = 2.0  # texels (at 1024): the generator's detail finer than this is its grain


@dataclass
class CompletionSettings:
    """How to train the completion GAN.

    Attributes
    ----------
    steps : int
        Training steps (each: one discriminator and one generator update); proportionally
        fewer (at least MIN_STEPS) when less than FULL_EFFORT_SHARE of the skin is unseen.
    patch : int
        Training patch size in texels.
    batch : int
        Patches per step, for each of the two kinds (holes in seen skin, unseen skin).
    seed : int
        Seeds weights, noise and patch positions.
    device : str
        "auto" (CUDA when available, else CPU), "cpu" or "cuda".
    generator_path : Path or None
        Pretrained generator weights to start from; then a quarter of the steps fine-tunes
        them on this person.
    grain : float
        Strength of the generated grain (detail finer than about 2 texels at 1024), 0..1; the
        generated tone is always kept in full. No photo saw this grain, so any grain is
        invented: at 1 the unseen skin is as grainy as the generator made it, at 0 smooth.
        The default 0.5 keeps the skin from looking airbrushed while staying closer to the
        unknown truth (see ``revive bench texture --grain``).
    progress : bool
        Show a progress bar on stderr.
    """

    steps: int = 300
    patch: int = 64
    batch: int = 8
    seed: int = 0
    device: str = "auto"
    generator_path: Path | None = None
    grain: float = 0.5
    progress: bool = True
    history: list[dict] = field(default_factory=list)  # filled in: losses per step


class _Residual(nn.Module):
    def __init__(self, width: int, dilation: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(width, width, 3, padding=dilation, dilation=dilation)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.leaky_relu(self.conv1(x), 0.2))


class Generator(nn.Module):
    """Coarse fill (B, 3, H, W), known mask (B, 1, H, W) and noise (B, 1, H, W) -> texture.

    A small U-Net: full, half and quarter resolution, dilated residual blocks at the quarter
    (receptive field about 100 texels), skip connections back up. The output is the coarse
    fill plus a bounded correction (at most +-0.25), values 0..1 (sRGB-encoded). H and W must
    be multiples of 4.
    """

    def __init__(self, width: int = 16) -> None:
        super().__init__()
        w = width
        self.head = nn.Conv2d(5, w, 3, padding=1)
        self.down1 = nn.Conv2d(w, 2 * w, 3, stride=2, padding=1)
        self.down2 = nn.Conv2d(2 * w, 2 * w, 3, stride=2, padding=1)
        self.body = nn.Sequential(*[_Residual(2 * w, d) for d in (1, 2, 4)])
        self.up1 = nn.Conv2d(4 * w, w, 3, padding=1)
        self.up2 = nn.Conv2d(2 * w, w, 3, padding=1)
        self.tail = nn.Conv2d(w, 3, 3, padding=1)

    def forward(self, coarse: torch.Tensor, known: torch.Tensor,
                noise: torch.Tensor) -> torch.Tensor:
        full = F.leaky_relu(self.head(torch.cat([coarse * 2 - 1, known, noise], 1)), 0.2)
        half = F.leaky_relu(self.down1(full), 0.2)
        quarter = self.body(F.leaky_relu(self.down2(half), 0.2))
        h = F.leaky_relu(self.up1(torch.cat([_up(quarter), half], 1)), 0.2)
        h = F.leaky_relu(self.up2(torch.cat([_up(h), full], 1)), 0.2)
        return (coarse + 0.25 * torch.tanh(self.tail(h))).clamp(0, 1)


def _up(x: torch.Tensor) -> torch.Tensor:
    """Nearest-neighbour upsampling by 2, built from a copy and a pixel shuffle: unlike
    ``F.interpolate``, its gradient is deterministic on CUDA."""
    b, c, h, w = x.shape
    return F.pixel_shuffle(x.unsqueeze(2).expand(b, c, 4, h, w).reshape(b, c * 4, h, w), 2)


class Discriminator(nn.Module):
    """Patch discriminator over a texture's fine detail (B, 3, H, W) -> logits (B, 1, H/4, W/4).

    It sees only the high-pass part (the image minus its blur): grain, pores, fine marks. The
    tone is the reconstruction and symmetry terms' concern, and it legitimately varies over
    the head.
    """

    def __init__(self, width: int = 24) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            spectral_norm(nn.Conv2d(3, width, 4, stride=2, padding=1)), nn.LeakyReLU(0.2),
            spectral_norm(nn.Conv2d(width, 2 * width, 4, stride=2, padding=1)), nn.LeakyReLU(0.2),
            spectral_norm(nn.Conv2d(2 * width, 2 * width, 3, padding=1)), nn.LeakyReLU(0.2),
            spectral_norm(nn.Conv2d(2 * width, 1, 3, padding=1)))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.layers(8.0 * _high_pass(image))


def symmetric_fill(values: np.ndarray, known: np.ndarray, fill: np.ndarray, mirror: np.ndarray,
                   points_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The coarse fill of texels: mirror images where seen, feathered at the seam, the rest
    filled smoothly over the surface.

    Parameters
    ----------
    values : np.ndarray [shape=(N, 3)]
        Texel colours 0..1; meaningful where ``known``.
    known, fill : np.ndarray [shape=(N,)] bool
        Well-seen texels; texels to complete.
    mirror : np.ndarray [shape=(N,)] int
        Each texel's mirror image (``uv.mirror_texels``), -1 where none.
    points_m : np.ndarray [shape=(N, 3)]
        The texels on the head, metres.

    Returns
    -------
    coarse : np.ndarray [shape=(N, 3)]
        ``values`` where known, the fill elsewhere.
    mirrored : np.ndarray [shape=(N,)] bool
        Texels filled from their mirror image.
    """
    safe = np.maximum(mirror, 0)
    mirrored = fill & ~known & (mirror >= 0) & known[safe]
    base = values.copy()
    base[mirrored] = values[safe[mirrored]]
    if mirrored.any():
        # The seam: where the mirrored side meets the seen side their tones may differ (light,
        # an asymmetric face). The difference is corrected there and fades with the distance.
        direct = surface_fill(values, known, points_m)
        mirrored_tone = surface_smooth(base, points_m, voxel_m=SEAM_VOXEL_M)
        distance, _ = cKDTree(points_m[known]).query(points_m[mirrored], workers=-1)
        fade = np.exp(-distance / SEAM_FADE_M)[:, None]
        base[mirrored] += (direct[mirrored] - mirrored_tone[mirrored]) * fade
    return surface_fill(base, known | mirrored, points_m).clip(0, 1), mirrored


def complete_texture(albedo: np.ndarray, confidence: np.ndarray, fill: np.ndarray,
                     coarse: np.ndarray, mirrored: np.ndarray, level: float,
                     settings: CompletionSettings) -> np.ndarray:
    """Complete the skin texels of ``fill`` that the photos did not see well.

    Parameters
    ----------
    albedo : np.ndarray [shape=(S, S, 3)]
        sRGB-encoded 0..1, meaningful where ``confidence`` > 0.
    confidence : np.ndarray [shape=(S, S)]
        0..1 per texel, 0 where no photo saw it.
    fill : np.ndarray [shape=(S, S)] bool
        The skin: texels the GAN may complete and learns from.
    coarse : np.ndarray [shape=(S, S, 3)]
        The coarse fill (``symmetric_fill``), defined everywhere (gutter included).
    mirrored : np.ndarray [shape=(S, S)] bool
        Texels whose coarse fill is their mirror image.
    level : float
        The confidence from which a texel counts as well seen (``fuse.trusted_level``).
    settings : CompletionSettings

    Returns
    -------
    np.ndarray [shape=(S, S, 3)] 0..1: seen skin kept, unseen skin generated, the rest as given.
    """
    size = albedo.shape[0]
    if size < 2 * settings.patch:
        raise ValueError(f"texture size {size} must be at least {2 * settings.patch}")
    known = fill & (confidence >= level)
    unseen = fill & ~known
    if not unseen.any():
        return albedo
    # The coarse fill carries the tone; the generator makes the grain.
    smooth = cv2.GaussianBlur(coarse.astype(np.float32), (0, 0), COARSE_BLUR * size / 1024)
    coarse = np.where(unseen[..., None], smooth, coarse)
    generated = coarse  # too little seen skin to learn from: the coarse fill it is
    if known.sum() >= settings.patch ** 2:
        device = _device(settings.device)
        with _fixed_cpu_threads():
            generated = _train_and_generate(albedo, settings, coarse, known, unseen, mirrored,
                                            device)
        generated = _with_grain(generated, coarse, settings.grain)
    alpha = np.where(fill, np.clip(confidence / level, 0, 1), 1.0)[..., None]
    return np.where(fill[..., None], alpha * albedo + (1 - alpha) * generated, albedo).clip(0, 1)


def _with_grain(generated: np.ndarray, coarse: np.ndarray, strength: float) -> np.ndarray:
    """``generated`` with its grain (its correction of ``coarse`` finer than GRAIN_SCALE)
    scaled by ``strength``."""
    correction = (generated - coarse).astype(np.float32)
    tone = cv2.GaussianBlur(correction, (0, 0), GRAIN_SCALE * len(generated) / 1024)
    return coarse + tone + strength * (correction - tone)


def _train_and_generate(albedo, settings, coarse, known, unseen, mirrored, device) -> np.ndarray:
    """Train the GAN on this texture and return the generator's output (S, S, 3)."""
    size = albedo.shape[0]
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    noise_source = torch.Generator().manual_seed(settings.seed)
    generator = Generator().to(device)
    # The effort follows how much skin must be invented: little unseen skin, fewer steps.
    share = unseen.sum() / max(known.sum() + unseen.sum(), 1)
    steps = max(min(settings.steps, MIN_STEPS),
                round(settings.steps * min(1.0, share / FULL_EFFORT_SHARE)))
    if settings.generator_path is not None:
        generator.load_state_dict(load_generator(settings.generator_path).state_dict())
        steps = max(1, steps // 4)
    discriminator = Discriminator().to(device)
    g_opt = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.9))
    d_opt = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.9))

    tensors = _Tensors(albedo, coarse, known, unseen, mirrored, device)
    seen_corners = _patch_corners(known, settings.patch, need=0.98)
    unseen_corners = _patch_corners(unseen, settings.patch, need=0.3)
    if len(seen_corners) == 0:  # no patch of seen skin: the coarse fill it is
        return coarse
    if len(unseen_corners) == 0:
        unseen_corners = seen_corners

    from tqdm import tqdm

    bar = tqdm(range(steps), desc="Completing unseen skin (GAN)", file=sys.stderr,
               disable=not settings.progress, leave=False)
    settings.history.clear()
    for _ in bar:
        holes = tensors.hole_batch(seen_corners, settings, rng, noise_source)
        unseen_in = tensors.unseen_batch(unseen_corners, settings, rng, noise_source)
        real = tensors.real_batch(seen_corners, settings, rng)

        # One generator pass serves both updates: the discriminator's step does not change it.
        out_holes = holes.composite(generator(*holes.inputs))
        out_unseen = unseen_in.composite(generator(*unseen_in.inputs))

        # Discriminator: the person's real skin against generated skin.
        d_loss = F.relu(1 - discriminator(real)).mean() + 0.5 * (
            F.relu(1 + discriminator(out_holes.detach())).mean()
            + F.relu(1 + discriminator(out_unseen.detach())).mean())
        d_opt.zero_grad(set_to_none=True)
        d_loss.backward()
        d_opt.step()

        # Generator: fool the discriminator, keep the tone right, respect symmetry.
        adversarial = -0.5 * (discriminator(out_holes).mean() + discriminator(out_unseen).mean())
        reconstruction = _masked_l1(_blur(out_holes), _blur(holes.target), holes.hole)
        symmetry = _masked_l1(_blur(out_unseen), _blur(unseen_in.target),
                              unseen_in.hole * unseen_in.mirrored)
        g_loss = 0.05 * adversarial + 10.0 * reconstruction + 5.0 * symmetry
        g_opt.zero_grad(set_to_none=True)
        g_loss.backward()
        g_opt.step()
        losses = {"d": d_loss.item(), "adversarial": adversarial.item(),
                  "reconstruction": reconstruction.item(), "symmetry": symmetry.item()}
        settings.history.append(losses)
        bar.set_postfix(rec=f"{losses['reconstruction']:.4f}")

    generator.eval()
    with torch.no_grad():
        pad = -size % 4  # the generator works on multiples of 4
        noise = torch.randn((1, 1, size + pad, size + pad), generator=noise_source).to(device)
        inputs = [F.pad(t, (0, pad, 0, pad), mode="replicate")
                  for t in (tensors.coarse, tensors.known)]
        return generator(*inputs, noise)[0, :, :size, :size].permute(1, 2, 0).cpu().numpy()


def load_generator(path: Path) -> Generator:
    """A ``Generator`` with weights from ``path`` (a state dict saved with ``torch.save``).

    Loaded with ``weights_only=True``: a file holding anything but tensors is refused.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"The texture generator weights {path} do not exist.",
                         "Check the path given to --texture-generator.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for foreign or damaged files
        raise InputError(f"{path} can't be read as texture generator weights "
                         f"({type(exc).__name__}).",
                         "Use a state dict saved by Revive (save_generator); files that hold "
                         "code or other objects are never loaded.") from None
    generator = Generator()
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor)
                                              for v in state.values()):
        raise InputError(f"{path} does not hold texture generator weights (a dict of tensors).",
                         "Use a state dict saved by Revive (save_generator).")
    try:
        generator.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise InputError(f"The weights in {path} don't fit Revive's texture generator: {first}",
                         "They must be a state dict of revive_core.avatar.texture.complete.Generator "
                         "(width 16), e.g. written by save_generator.") from None
    return generator


def save_generator(generator: Generator, path: Path) -> None:
    """Write ``generator``'s weights to ``path`` (atomically), loadable by ``load_generator``."""
    with atomic_file(Path(path)) as tmp:
        torch.save({k: v.detach().cpu() for k, v in generator.state_dict().items()}, tmp)


@dataclass
class _Batch:
    coarse: torch.Tensor
    known: torch.Tensor
    noise: torch.Tensor
    target: torch.Tensor
    hole: torch.Tensor  # 1 where the generator's output counts
    mirrored: torch.Tensor

    @property
    def inputs(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.coarse, self.known, self.noise

    def composite(self, generated: torch.Tensor) -> torch.Tensor:
        return self.hole * generated + (1 - self.hole) * self.target


class _Tensors:
    """The whole texture as tensors, and the training batches cut from it."""

    def __init__(self, albedo, coarse, known, unseen, mirrored, device) -> None:
        def image(a):
            tensor = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
            return tensor.permute(2, 0, 1)[None].to(device)

        def plane(a):
            tensor = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
            return tensor[None, None].to(device)

        self.device = device
        self.albedo = image(albedo)
        self.coarse = image(coarse)
        self.known = plane(known)
        self.unseen = plane(unseen)
        self.mirrored = plane(mirrored)

    def _crop(self, tensor, corners, patch):
        return torch.cat([tensor[..., r:r + patch, c:c + patch] for r, c in corners])

    def real_batch(self, pool, settings, rng) -> torch.Tensor:
        corners = pool[rng.integers(len(pool), size=settings.batch)]
        return _augment(self._crop(self.albedo, corners, settings.patch), rng)

    def hole_batch(self, pool, settings, rng, noise_source) -> _Batch:
        """Seen skin with holes cut in; the coarse fill of a hole is the patch's blur."""
        p = settings.patch
        corners = pool[rng.integers(len(pool), size=settings.batch)]
        target = _augment(self._crop(self.albedo, corners, p), rng)
        holes = np.stack([_hole_mask(p, rng) for _ in corners])
        hole = torch.from_numpy(holes)[:, None].to(self.device)
        smooth = _blur(target, sigma=p / 8.0)
        coarse = hole * smooth + (1 - hole) * target
        noise = torch.randn((len(corners), 1, p, p), generator=noise_source).to(self.device)
        return _Batch(coarse, 1 - hole, noise, target, hole, torch.zeros_like(hole))

    def unseen_batch(self, pool, settings, rng, noise_source) -> _Batch:
        """Patches of the real unseen skin, as the generator will see them at the end."""
        p = settings.patch
        corners = pool[rng.integers(len(pool), size=settings.batch)]
        coarse = self._crop(self.coarse, corners, p)
        hole = self._crop(self.unseen, corners, p)
        target = coarse  # where mirrored, the coarse fill is the mirror image's tone
        noise = torch.randn((len(corners), 1, p, p), generator=noise_source).to(self.device)
        return _Batch(coarse, self._crop(self.known, corners, p), noise, target, hole,
                      self._crop(self.mirrored, corners, p))


def _patch_corners(mask: np.ndarray, patch: int, *, need: float) -> np.ndarray:
    """(M, 2) top-left corners of patches at least ``need`` covered by ``mask``, 4-texel grid."""
    integral = cv2.integral(mask.astype(np.uint8))
    sums = (integral[patch:, patch:] - integral[:-patch, patch:] - integral[patch:, :-patch]
            + integral[:-patch, :-patch])
    rows, cols = np.nonzero(sums[::4, ::4] >= need * patch * patch)
    return np.stack([rows * 4, cols * 4], 1)


def _hole_mask(patch: int, rng: np.random.Generator) -> np.ndarray:
    """(patch, patch) float32, 1 inside one to three random ellipses (20-60% of the patch)."""
    mask = np.zeros((patch, patch), np.uint8)
    for _ in range(rng.integers(1, 4)):
        centre = tuple(int(x) for x in rng.integers(patch // 4, 3 * patch // 4, size=2))
        axes = tuple(int(x) for x in rng.integers(patch // 8, patch // 3, size=2))
        cv2.ellipse(mask, centre, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
    return mask.astype(np.float32)


def _augment(batch: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """Random flips and quarter turns: skin grain has no preferred direction."""
    if rng.random() < 0.5:
        batch = batch.flip(-1)
    return torch.rot90(batch, int(rng.integers(4)), dims=(-2, -1))


def _gaussian_kernel(sigma: float, device) -> torch.Tensor:
    radius = max(1, int(3 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=torch.float32, device=device)
    kernel = torch.exp(-x ** 2 / (2 * sigma ** 2))
    return kernel / kernel.sum()


def _blur(image: torch.Tensor, sigma: float = 2.0) -> torch.Tensor:
    """Separable Gaussian blur of (B, C, H, W), normalised at the edges (no padding values:
    padding's gradient is not deterministic on CUDA)."""
    kernel = _gaussian_kernel(sigma, image.device)
    radius = len(kernel) // 2
    rows = kernel.view(1, 1, 1, -1)
    cols = kernel.view(1, 1, -1, 1)

    def smooth(x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        x = F.conv2d(x, rows.repeat(c, 1, 1, 1), padding=(0, radius), groups=c)
        return F.conv2d(x, cols.repeat(c, 1, 1, 1), padding=(radius, 0), groups=c)

    ones = torch.ones_like(image[:1, :1])
    return smooth(image) / smooth(ones)


def _high_pass(image: torch.Tensor) -> torch.Tensor:
    return image - _blur(image, sigma=2.0)


def _masked_l1(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return ((a - b).abs() * mask).sum() / (mask.sum() * a.shape[1] + 1e-6)


@contextlib.contextmanager
def _fixed_cpu_threads():
    """Run torch on GAN_CPU_THREADS threads for the duration of the block.

    A fixed count, not the machine's: sums split over another number of threads differ in the
    last bit, so the same seed gives the same texture on any machine. Two threads build a
    photo within a minute on two cores; more would spin waiting for each other when other
    processes hold the cores (the networks are small).
    """
    before = torch.get_num_threads()
    torch.set_num_threads(GAN_CPU_THREADS)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _device(name: str) -> torch.device:
    """The torch device for ``name`` ("auto", "cpu", "cuda"); on CUDA, deterministic cuDNN."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise InputError("No CUDA GPU is available for the texture GAN.",
                             "Use device 'auto' or 'cpu'.")
        torch.backends.cudnn.deterministic = True  # the same seed, the same texture
        torch.backends.cudnn.benchmark = False
    return torch.device(name)

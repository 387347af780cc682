"""Which precision a run trains and evaluates in.

`device.precision=auto` (the default) measures, because a CPU's flags do not say whether bf16 is faster: an
Intel Xeon exposing AVX512-BF16 ran bf16 GEMMs at 0.6x fp32, a Zen 4 at 2x, an AMX Xeon at 3x. A calibration
times forward and backward through the model's own layer shapes (an encoder layer's projections and
feed-forward at its hidden and intermediate sizes) in fp32 and under bf16 autocast, alternating, and picks
bf16 only where it is faster by `MARGIN`. bf16 is timed only where the hardware has it (AMX-BF16,
AVX512-BF16, a bf16 GPU): elsewhere it is emulated, about 100x slower. The figures are cached per machine
(CPU or GPU model, bf16 flags, torch version, threads, shapes), so a sweep measures once; the run logs them
and records them in results.json. An explicit `fp32`/`bf16`/`fp16` wins where the hardware can run it.

`auto` is settled before the run claims its folder (`settle_auto`): the config then names the precision the
run uses, so its config.yaml, its identity and compare's grouping say what it ran in. A folder's earlier run
keeps its precision (a re-launched sweep skips its completed jobs, a resume continues in the checkpoint's
precision) wherever this machine runs that precision natively.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from omegaconf import DictConfig

from mrpc.config.schema import Precision
from mrpc.runs.atomic import atomic_write

log = logging.getLogger(__name__)

MARGIN = 1.1  # bf16 must be at least 10% faster: below that, its rounding is not worth the gain
TOKENS = 256  # per calibration pass: a batch of 8 pairs of MRPC's typical length
PASSES = 5  # timed per precision, after one warm-up each; the median counts


def native_bf16(on_cpu: bool) -> bool:
    """bf16 matrix work in hardware: a CUDA GPU with bf16 (Ampere and later); an x86 CPU with AMX-BF16
    (Sapphire Rapids and later) or AVX512-BF16 (Cooper Lake, Zen 4). torch.cpu's checks are private, but
    they are the ones oneDNN itself uses to choose its bf16 kernels."""
    if not on_cpu:
        return torch.cuda.is_bf16_supported()
    return torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported()


def cpu_name() -> str:
    """The CPU's model name with its family and model numbers (under a hypervisor the name can be as short as
    "AMD EPYC"), and whether it has AMX-BF16 and AVX512-BF16."""
    fields: dict[str, str] = {}
    if Path("/proc/cpuinfo").exists():  # Linux: what `platform` does not give
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
    name = fields.get("model name") or platform.processor() or "unknown CPU"
    name += f" (family {fields.get('cpu family', '?')}, model {fields.get('model', '?')})"
    return f"{name}, AMX {'yes' if torch.cpu._is_amx_tile_supported() else 'no'}, " \
           f"AVX512-BF16 {'yes' if torch.cpu._is_avx512_bf16_supported() else 'no'}"  # fmt: skip


@dataclass(frozen=True)
class Calibration:
    """Milliseconds per forward and backward pass through one layer's shapes; bf16 None where not native."""

    fp32_ms: float
    bf16_ms: float | None

    @property
    def precision(self) -> Precision:
        faster = self.bf16_ms is not None and self.bf16_ms * MARGIN < self.fp32_ms
        return Precision.bf16 if faster else Precision.fp32

    def summary(self) -> str:
        bf16 = f"{self.bf16_ms:.1f} ms" if self.bf16_ms is not None else "not native"
        return f"fp32 {self.fp32_ms:.1f} ms, bf16 {bf16} per pass"


def settle_auto(cfg: DictConfig, on_cpu: bool, ran_in: str | None = None) -> Calibration | None:
    """Replace `device.precision=auto` in `cfg` by the precision the run will use: `ran_in` (the precision this
    folder's earlier run used) where this machine runs it natively, else the calibration's choice. Returns the
    calibration where one chose (results.json records it); an explicit precision is left as it is."""
    if cfg.device.precision != Precision.auto:
        return None
    if ran_in in (Precision.fp32, Precision.bf16, Precision.fp16) and runs_natively(Precision(ran_in), on_cpu):
        log.info("device.precision=auto: %s, as this folder's run used", ran_in)
        cfg.device.precision = ran_in
        return None
    from mrpc.training.model import layer_shapes  # reads the model's config through transformers: only here

    calibration = calibrate(on_cpu, *layer_shapes(cfg.model))
    log.info("device.precision=auto: %s (%s)", calibration.precision.value, calibration.summary())
    cfg.device.precision = calibration.precision.value
    return calibration


def runs_natively(precision: Precision, on_cpu: bool) -> bool:
    """fp32 everywhere, bf16 where `native_bf16`, fp16 on a GPU."""
    if precision == Precision.bf16:
        return native_bf16(on_cpu)
    return precision == Precision.fp32 or not on_cpu


def calibrate(on_cpu: bool, hidden: int, intermediate: int) -> Calibration:
    """This machine's calibration for these shapes: from the cache, or measured now and cached."""
    hardware = cpu_name() if on_cpu else torch.cuda.get_device_name()
    key = f"{hardware} | torch {torch.__version__} | {torch.get_num_threads()} threads | {hidden}x{intermediate}"
    cache = cache_file()
    try:
        known = json.loads(cache.read_text())
    except (OSError, ValueError):  # none yet, or damaged: measure again
        known = {}
    if key in known:
        return Calibration(**known[key])
    calibration = _measure(on_cpu, hidden, intermediate)
    try:
        atomic_write(cache, json.dumps({**known, key: asdict(calibration)}, indent=1) + "\n")
    except OSError as error:  # a read-only home: measure each time rather than fail the run
        log.warning("Not caching the precision calibration in %s: %s", cache, error)
    return calibration


def cache_file() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mrpc" / "precision.json"


def _measure(on_cpu: bool, hidden: int, intermediate: int) -> Calibration:
    device = torch.device("cpu" if on_cpu else "cuda")
    modes = {"fp32": None, **({"bf16": torch.bfloat16} if native_bf16(on_cpu) else {})}
    with torch.random.fork_rng(devices=[] if on_cpu else [device]):  # the run's seeded generators stay untouched
        layer = _LayerShapes(hidden, intermediate).to(device)
        inputs = torch.randn(TOKENS, hidden, device=device)
        times: dict[str, list[float]] = {mode: [] for mode in modes}
        for index in range(PASSES + 1):  # alternating: a load that comes and goes weighs on both alike
            for mode, dtype in modes.items():
                elapsed = _pass(layer, inputs, dtype, device)
                if index:  # the first pass of each warms up
                    times[mode].append(elapsed)
    medians = {mode: round(statistics.median(values) * 1000, 3) for mode, values in times.items()}
    return Calibration(fp32_ms=medians["fp32"], bf16_ms=medians.get("bf16"))


class _LayerShapes(torch.nn.Module):
    """The matrix products of one BERT-style encoder layer: query/key/value and output projections, then the
    feed-forward network up and down."""

    def __init__(self, hidden: int, intermediate: int) -> None:
        super().__init__()
        self.qkv, self.output = torch.nn.Linear(hidden, 3 * hidden), torch.nn.Linear(hidden, hidden)
        self.up, self.down = torch.nn.Linear(hidden, intermediate), torch.nn.Linear(intermediate, hidden)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        query, key, value = self.qkv(inputs).chunk(3, dim=-1)
        attended = self.output(query + key + value)
        return self.down(torch.nn.functional.gelu(self.up(attended)))


def _pass(layer: _LayerShapes, inputs: torch.Tensor, dtype: torch.dtype | None, device: torch.device) -> float:
    start = time.perf_counter()
    with torch.autocast(device.type, dtype=dtype or torch.bfloat16, enabled=dtype is not None):
        loss = layer(inputs).float().square().mean()
    loss.backward()
    if device.type == "cuda":
        torch.cuda.synchronize()
    layer.zero_grad(set_to_none=True)
    return time.perf_counter() - start

"""Fine-tune a sequence classifier on GLUE MRPC: `python run.py [group=option] [key=value] [-m]`.

The task function returns the best validation F1, so Hydra sweepers (Optuna) can maximise it.
Exit codes: 0 completed (or skipped as already completed); 2 a user error (one message, no
traceback); 128 + n stopped by signal n; 1 anything else.
"""

import logging
import math
import sys

import hydra
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from mrpc.config import resolvers, schema
from mrpc.errors import Interrupted, UserError
from mrpc.training.runner import train

log = logging.getLogger("run")
resolvers.register()
schema.register()


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> float:
    hydra_cfg = HydraConfig.get()
    in_sweep = hydra_cfg.mode == RunMode.MULTIRUN
    try:
        return train(cfg, hydra_cfg.runtime.output_dir, list(hydra_cfg.overrides.task))
    except Interrupted as error:
        if error.folder is None:  # stopped before the run claimed its folder: nothing to resume
            log.error("%s before the run started (nothing was written); run the same command again", error)
        else:
            log.error("%s. Continue with: python run.py <same overrides> resume=%s", error, error.folder)
        sys.exit(128 + error.signum)  # the shell's convention for "ended by a signal"; stops a sweep too
    except UserError as error:
        log.error("%s", error)
        if not in_sweep:
            sys.exit(2)  # the message above is the whole story: no traceback for a user's mistake
    except Exception:
        if not in_sweep:
            raise
        log.exception("Job %s failed; the sweep goes on", hydra_cfg.job.num)
    return math.nan  # a failed sweep job: recorded in its results.json, the other jobs still run


if __name__ == "__main__":
    main()
    # Under torchrun: a process group left to the interpreter's teardown lets Gloo's threads abort the
    # process at exit now and then (SIGABRT, "terminate called without an active exception"); torch
    # asks for this call. Only after a normal end, as torchtitan does: after a failure, other ranks may
    # still be inside a collective, and NCCL's teardown would wait for them.
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()

"""What every trainer here shares: the warm-up + cosine learning rate, AdamW with weight decay on
matrices only, and fitting the step count to a time budget."""
import math

import torch


def cosine_lr(step: int, total: int, lr: float, warmup_steps: int, min_lr_ratio: float) -> float:
    """Linear warm-up to `lr`, then a cosine down to min_lr_ratio·lr at step `total`."""
    if step < warmup_steps:
        return lr * (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total - warmup_steps)
    return lr * (min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def adamw(model: torch.nn.Module, lr: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW (betas 0.9, 0.95) decaying the weight matrices, not the norms and biases."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}], lr=lr, betas=(0.9, 0.95))


def fit_steps(planned: int, done: int, elapsed: float, budget: float) -> int:
    """The step count that fits the time budget at the speed of the first `done` steps (at most planned)."""
    per_step = elapsed / done
    return max(done, min(planned, done + int((budget - elapsed) / per_step)))

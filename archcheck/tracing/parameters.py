"""Counting parameters the way a budget means it: every learned tensor once, registered or not."""

from __future__ import annotations

from torch import nn

from archcheck.records import ParamCount


def count_parameters(model: nn.Module, unregistered: int = 0) -> tuple[ParamCount, dict[int, int]]:
    """Count each parameter tensor once, however often it is registered or aliased.

    ``unregistered`` is the size of the learned tensors the forward pass used
    that ``model.parameters()`` does not list (layers kept in a plain list); they
    count toward the total.  Returns the totals and, per module id, the
    parameters first owned by it (so that the layer table adds up).
    """
    seen: set[tuple] = set()
    trainable = frozen = 0
    owned: dict[int, int] = {}
    for module in model.modules():
        for parameter in module.parameters(recurse=False):
            if isinstance(parameter, nn.parameter.UninitializedParameter):
                continue
            key = (
                parameter.untyped_storage()._cdata,
                parameter.storage_offset(),
                tuple(parameter.shape),
                tuple(parameter.stride()),
            )
            if key in seen:
                continue
            seen.add(key)
            count = parameter.numel()
            owned[id(module)] = owned.get(id(module), 0) + count
            if parameter.requires_grad:
                trainable += count
            else:
                frozen += count
    return ParamCount(trainable + frozen + unregistered, trainable + unregistered, frozen, unregistered), owned

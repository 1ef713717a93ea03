"""Model files in and out of lstm-cli: Keras 3 `.keras` / `.weights.h5`, tf.keras 2 `.h5`, PyTorch
state_dicts of `nn.LSTM` (`.pt`, `.pth`), `.npz`, and YAML configs (README.md, "lstm-cli convert").

Each reader returns an lstm-cli config, which `config.load_model` checks as it checks a YAML file; each
writer starts from that config. h5py and torch are imported only when a file needs them, and no file is
ever unpickled beyond tensors (`torch.load(weights_only=True)`, `numpy.load(allow_pickle=False)`).
"""

from __future__ import annotations

from lstm_cli.modelfiles.convert import DEFAULT_INLINE_LIMIT, Converted, Report, convert, read_source

__all__ = ["DEFAULT_INLINE_LIMIT", "Converted", "Report", "convert", "read_source"]

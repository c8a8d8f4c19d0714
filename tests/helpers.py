"""Shared builders for tests: small recurrent models made with PyTorch, written as pedal ONNX."""

import numpy as np

from pedal.models.arch.recurrent import RecurrentLayer, RecurrentSpec


def spec_from_torch(rnn, lin, cell, skip, input_size, sample_rate=48000):
    layers = [RecurrentLayer(*(getattr(rnn, f"{k}_l{i}").detach().double().numpy()
                               for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")))
              for i in range(rnn.num_layers)]
    return RecurrentSpec(cell, layers, lin.weight.detach().double().numpy()[0],
                         float(lin.bias.item()), skip, input_size, sample_rate)


def torch_model(torch, cell="lstm", hidden=8, layers=1, input_size=1, skip=False, seed=0):
    torch.manual_seed(seed)
    cls = torch.nn.LSTM if cell == "lstm" else torch.nn.GRU
    rnn = cls(input_size, hidden, layers, batch_first=True)
    lin = torch.nn.Linear(hidden, 1)
    return rnn, lin, spec_from_torch(rnn, lin, cell, skip, input_size)


def torch_run(torch, rnn, lin, x, knobs=(), skip=False):
    feats = np.concatenate([x[:, None], np.tile(np.asarray(knobs, np.float64), (len(x), 1))],
                           axis=1) if len(knobs) else x[:, None]
    with torch.no_grad():
        t = torch.tensor(feats[None], dtype=torch.float64)
        y = lin.double()(rnn.double()(t)[0])[0, :, 0].numpy()
        rnn.float(), lin.float()
    return y + (x if skip else 0.0)


def random_spec(cell="lstm", hidden=8, layers=1, input_size=1, skip=False, seed=0, scale=0.4):
    g = 4 if cell == "lstm" else 3
    r = np.random.default_rng(seed)
    ls, n_in = [], input_size
    for _ in range(layers):
        ls.append(RecurrentLayer(r.standard_normal((g * hidden, n_in)) * scale,
                                 r.standard_normal((g * hidden, hidden)) * scale,
                                 r.standard_normal(g * hidden) * 0.1,
                                 r.standard_normal(g * hidden) * 0.1))
        n_in = hidden
    return RecurrentSpec(cell, ls, r.standard_normal(hidden) * scale, 0.05, skip, input_size)

"""Dequantises every tensor of the GGUF file argv[1] with llama.cpp's `gguf` python package
and saves them, f32 in torch shape, to the safetensors file argv[2]."""
import sys

import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize
from safetensors.numpy import save_file

reader = GGUFReader(sys.argv[1])
tensors = {
    t.name: np.ascontiguousarray(
        dequantize(t.data, t.tensor_type).astype(np.float32).reshape(
            [int(d) for d in reversed(t.shape)]))
    for t in reader.tensors
}
save_file(tensors, sys.argv[2])

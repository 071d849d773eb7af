"""Saves a tiny random-weight LlamaForCausalLM into argv[1] (config.json, model.safetensors)
and writes transformers' logits for the token sequences on stdin ({"sequences": [[id]]}):
{"logits": [[[float] per position] per sequence]}."""
import json
import sys

import torch
from transformers import LlamaConfig, LlamaForCausalLM

torch.manual_seed(0)
config = LlamaConfig(
    vocab_size=1024, hidden_size=64, intermediate_size=160, num_hidden_layers=2,
    num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-6, rope_theta=50000.0,
    max_position_embeddings=256, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2)
model = LlamaForCausalLM(config).eval()
model.save_pretrained(sys.argv[1], safe_serialization=True)
request = json.load(sys.stdin)
with torch.no_grad():
    logits = [model(torch.tensor([ids])).logits[0].tolist() for ids in request["sequences"]]
json.dump({"logits": logits}, sys.stdout)

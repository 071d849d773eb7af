"""Reference outputs of llama.cpp (through llama-cpp-python) for tests/local_decoder.rs.

Reads a JSON request on stdin: {"model": path, "texts": [str], "chats": [[{role, content}]],
"steps": int, "logit_steps": int}. Writes JSON: the token ids of each text (special tokens
parsed, no BOS) and, for each chat rendered with the GGUF's own chat template, the prompt,
its token ids, the greedy tokens (n_threads=1, stopping after an end-of-generation token) and
the full logits of the first `logit_steps` steps.
"""
import json
import sys

import jinja2
import numpy as np
from llama_cpp import Llama

request = json.load(sys.stdin)
llm = Llama(model_path=request["model"], n_threads=1, n_ctx=2048, verbose=False)
template = jinja2.Environment().from_string(llm.metadata["tokenizer.chat_template"])
end_of_generation = {llm.token_eos(), *[
    t for t in range(llm.n_vocab()) if llm._model.token_is_eog(t)]} if hasattr(
    llm._model, "token_is_eog") else {llm.token_eos()}


def tokenize(text):
    return llm.tokenize(text.encode(), add_bos=False, special=True)


chats = []
for messages in request["chats"]:
    prompt = template.render(messages=messages, add_generation_prompt=True)
    ids = tokenize(prompt)
    llm.reset()
    llm.eval(ids)
    generated, logits = [], []
    for step in range(request["steps"]):
        scores = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),)).copy()
        if step < request["logit_steps"]:
            logits.append([float(x) for x in scores])
        token = int(scores.argmax())
        generated.append(token)
        if token in end_of_generation:
            break
        llm.eval([token])
    chats.append({"prompt": prompt, "ids": ids, "greedy": generated, "logits": logits})

json.dump({"tokens": [tokenize(t) for t in request["texts"]], "chats": chats}, sys.stdout)

"""Answer an export check's prompts with llama.cpp itself (llama-cpp-python), greedily, beside the app's answers.

    pip install llama-cpp-python        # compiles llama.cpp: about 10 minutes on 2 cores
    python bench/gguf_in_llama_cpp.py RUNS/000NN     # the export run's folder (export/ and verification.json)

The export job checks a GGUF with transformers' GGUF reader; this is the other side of the same question,
asked of the program people actually run the file with. It uses the chat template stored in the file (as
llama.cpp and Ollama do) and the run's system prompt. Prints one JSON line per prompt with the four likeliest
first words in llama.cpp (a near tie explains a quantised file parting from the app).
"""

import json
import sys
from pathlib import Path

from llama_cpp import Llama

run_folder = Path(sys.argv[1])
verification = json.loads((run_folder / "verification.json").read_text())
gguf = next((run_folder / "export").glob("*.gguf"))
system = next(
    (line.split('"""')[1] for line in (run_folder / "export" / "Modelfile").read_text().splitlines() if line.startswith("SYSTEM")), ""
)
llm = Llama(model_path=str(gguf), n_ctx=1024, verbose=False, logits_all=True)
print(json.dumps({"file": gguf.name, "chat_template_in_file": bool(llm.metadata.get("tokenizer.chat_template"))}))
for item in verification["greedy"]:
    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": item["prompt"]}]
    out = llm.create_chat_completion(messages=messages, temperature=0.0, top_k=1, max_tokens=48, logprobs=True, top_logprobs=4)
    answer = out["choices"][0]["message"]["content"].strip()
    in_app = item["in_app"].replace("<|im_end|>", "").strip()
    line = {"prompt": item["prompt"], "in_app": in_app, "llama_cpp": answer, "same_start": answer.startswith(in_app)}
    line["first_word_choices"] = [
        (t["token"], round(float(t["logprob"]), 3)) for t in out["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
    ]
    print(json.dumps(line))

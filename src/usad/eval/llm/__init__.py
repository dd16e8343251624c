"""LLM-based evaluation (XARES-LLM style): frozen encoder -> frame downsampling -> Linear projector -> causal LM
with LoRA, trained to answer questions about audio with short text; scored by exact match."""

"""The audio LLM: projected audio frames, then the question, then the answer, into a causal LM.

Sequence per example: [BOS] audio_1..audio_T' "Question: ... Answer:" " answer" [EOS]. Only answer tokens (and
EOS) carry loss; padding is masked out of attention and loss. Trainable: the projector and the LoRA weights.
"""
from __future__ import annotations

import torch
from torch import nn

from usad.eval.llm.projector import AudioProjector


class AudioLLM(nn.Module):
    def __init__(self, lm: nn.Module, tokenizer, encoder_dim: int, factor: int = 4, mode: str = "stack") -> None:
        super().__init__()
        self.lm, self.tok = lm, tokenizer
        llm_dim = lm.get_input_embeddings().embedding_dim
        self.projector = AudioProjector(encoder_dim, llm_dim, factor, mode)

    @property
    def device(self) -> torch.device:
        return self.projector.proj.weight.device

    def _embed(self, ids: list[int]) -> torch.Tensor:
        t = torch.tensor(ids, dtype=torch.long, device=self.device)
        return self.lm.get_input_embeddings()(t)

    def _pieces(self, feats: torch.Tensor, question: str, answer: str | None):
        """feats: (T, D) valid frames of one clip -> (embeds (L, E), labels (L,)) of one example."""
        mask = torch.ones(1, feats.shape[0], dtype=torch.bool, device=self.device)
        audio, amask = self.projector(feats.unsqueeze(0).to(self.device), mask)
        audio = audio[0][amask[0]]
        bos = [self.tok.bos_token_id] if self.tok.bos_token_id is not None else []
        prompt = self.tok(f"\nQuestion: {question}\nAnswer:", add_special_tokens=False)["input_ids"]
        text = self._embed(prompt)
        parts = ([self._embed(bos)] if bos else []) + [audio.to(text.dtype), text]
        n_ctx = sum(p.shape[0] for p in parts)
        labels = [-100] * n_ctx
        if answer is not None:
            ans = self.tok(" " + answer, add_special_tokens=False)["input_ids"] + [self.tok.eos_token_id]
            parts.append(self._embed(ans))
            labels += ans
        return torch.cat(parts), torch.tensor(labels, device=self.device)

    def batch(self, feats: list[torch.Tensor], questions: list[str], answers: list[str] | None = None,
              left_pad: bool = False):
        """-> inputs_embeds (B, L, E), attention_mask (B, L), labels (B, L) (-100 = no loss)."""
        items = [self._pieces(f, q, a) for f, q, a in zip(feats, questions, answers or [None] * len(feats))]
        L = max(e.shape[0] for e, _ in items)
        E = items[0][0].shape[1]
        emb = torch.zeros(len(items), L, E, device=self.device, dtype=items[0][0].dtype)
        att = torch.zeros(len(items), L, dtype=torch.long, device=self.device)
        lab = torch.full((len(items), L), -100, dtype=torch.long, device=self.device)
        for i, (e, l) in enumerate(items):
            sl = slice(L - e.shape[0], L) if left_pad else slice(0, e.shape[0])
            emb[i, sl], att[i, sl], lab[i, sl] = e, 1, l
        return emb, att, lab

    def loss(self, feats: list[torch.Tensor], questions: list[str], answers: list[str]) -> torch.Tensor:
        """Mean cross-entropy over answer tokens. Logits are computed only where a next token is scored
        (``logits_to_keep`` as a boolean (B, L) mask): with a 262k vocabulary the full-sequence LM head would
        otherwise dominate the step. Falls back to full logits on transformers without that option."""
        emb, att, lab = self.batch(feats, questions, answers)
        keep = torch.zeros_like(lab, dtype=torch.bool)
        keep[:, :-1] = lab[:, 1:] != -100
        target = lab[:, 1:][keep[:, :-1]]
        try:
            logits = self.lm(inputs_embeds=emb, attention_mask=att, logits_to_keep=keep).logits
        except (TypeError, ValueError, IndexError, RuntimeError):
            logits = None
        if logits is None or logits.dim() != 2 or logits.shape[0] != target.numel():
            return self.lm(inputs_embeds=emb, attention_mask=att, labels=lab).loss
        return torch.nn.functional.cross_entropy(logits.float(), target)

    @torch.no_grad()
    def answer(self, feats: list[torch.Tensor], questions: list[str], max_new_tokens: int = 8) -> list[str]:
        """Greedy answers (left-padded batch)."""
        emb, att, _ = self.batch(feats, questions, None, left_pad=True)
        out = self.lm.generate(inputs_embeds=emb, attention_mask=att, max_new_tokens=max_new_tokens,
                               do_sample=False, pad_token_id=self.tok.pad_token_id,
                               eos_token_id=self.tok.eos_token_id)
        return [self.tok.decode(o, skip_special_tokens=True).strip().split("\n")[0] for o in out]

"""Multi-teacher distillation: layer mapping, heads, L1-cos loss, domain weights, data, the training recipe.

This is the only package that sees the student and the teachers together (docs/distill.md).
"""
from usad.distill.heads import HeadSet, PredictionHead
from usad.distill.loss import l1_cos_loss
from usad.distill.mapping import LayerPair, sparse_mapping
from usad.distill.weights import domain_weights

__all__ = ["HeadSet", "PredictionHead", "l1_cos_loss", "LayerPair", "sparse_mapping", "domain_weights"]

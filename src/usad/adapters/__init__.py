"""Thin adapters exposing a usad student through other projects' encoder APIs (HEAR, X-ARES, XARES-LLM,
s3prl). Each is a small wrapper over ``Encoder.forward``."""

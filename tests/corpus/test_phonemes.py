"""Phone tokens for the phonemes task: one deterministic tokenisation of espeak-ng's IPA output."""
from __future__ import annotations

from tests.conftest import require
from usad.corpus.locate import locate
from usad.corpus.sources import phonemes as ph
from usad.corpus.sources.phonemes import Phonemizer, tokens_from_ipa


def test_stress_and_ties_are_dropped_length_and_diacritics_kept_words_give_no_token():
    assert tokens_from_ipa("t_ˈo b_i") == ["t", "o", "b", "i"]
    assert tokens_from_ipa("j_ˈaː s_i") == ["j", "aː", "s", "i"]            # length mark stays in its phone
    assert tokens_from_ipa("p_r̝̊_ˈiː_tʃ_i") == ["p", "r̝̊", "iː", "tʃ", "i"]   # affricates, diacritics: one token
    assert tokens_from_ipa("t͡s_ˌo t‍s") == ["ts", "o", "ts"]                 # tie bar / joiner removed
    assert tokens_from_ipa("_ɪ_k d_ˈɛ_ŋ_k__ d_ɑ_t") == ["ɪ", "k", "d", "ɛ", "ŋ", "k", "d", "ɑ", "t"]
    assert tokens_from_ipa("m_ˈa m_ˈa") == ["m", "a", "m", "a"]            # repeats kept in order


def test_a_language_switch_leaves_the_text_out_and_results_are_cached(tmp_path, monkeypatch):
    calls = []

    def fake(text, voice):
        calls.append(text)
        return "(en)h_ˈɛ_l_oʊ(cs)" if "Hello" in text else "d_ˈo_b_r_i"
    monkeypatch.setattr(ph, "_espeak_ipa", fake)
    monkeypatch.setattr(ph, "espeak_version", lambda: "test")
    p = Phonemizer("cs", tmp_path)
    assert p("Hello") is None and p("Dobrý") == ["d", "o", "b", "r", "i"]
    p.save()
    again = Phonemizer("cs", tmp_path)
    assert again("Dobrý") == ["d", "o", "b", "r", "i"] and again("Hello") is None
    assert calls == ["Hello", "Dobrý"]                     # the second phonemizer read the cache


def test_real_espeak_czech_is_deterministic_and_clean():
    require(locate("espeak") is not None, "apt-get install espeak-ng")
    a = Phonemizer("cs")("To by měli vidět lidi z Greenpeace.")
    b = Phonemizer("cs")("To by měli vidět lidi z Greenpeace.")
    assert a == b and a[:4] == ["t", "o", "b", "i"] and "ɲ" in a
    assert not any(ch in tok for tok in a for ch in "ˈˌ_ ()")


def test_real_espeak_long_vowels_are_their_own_tokens():
    require(locate("espeak") is not None, "apt-get install espeak-ng")
    toks = Phonemizer("cs")("Já si myslím.")
    assert toks[0] == "j" and "aː" in toks and "iː" in toks and "a" not in toks

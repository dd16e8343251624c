"""Texts that come with the real recordings: Fish Fillets subtitles, asterisk transcripts, keyword labels."""
from __future__ import annotations

from usad.corpus.sources.asterisk import parse_transcript
from usad.corpus.sources.fillets import parse_dialogs
from usad.corpus.tasks.keywords import keyword_of, tts_text

LUA = '''
dialogId("bar-v-videt0", "font_big", "Somebody from Greenpeace should see this.")
dialogStr("To by měli vidět lidi z Greenpeace.")

dialogId("m-restartuj", "font_small", "Restart it, right now!")
dialogStr(
"V další místnosti \\"bude\\" čekat. C:\\\\WINDOWS")

dialogId("en-only", "font_big", "No translation here.")
'''


def test_subtitles_pair_each_line_id_with_its_translation():
    d = parse_dialogs(LUA)
    assert d["bar-v-videt0"] == ("Somebody from Greenpeace should see this.", "To by měli vidět lidi z Greenpeace.")
    assert d["m-restartuj"][1] == 'V další místnosti "bude" čekat. C:\\WINDOWS'    # multi-line, escapes undone
    assert d["en-only"] == ("No translation here.", None)


def test_transcripts_skip_comments_keep_the_first_text_and_drop_symbol_notes():
    t = parse_transcript("\ufeff; Core sounds\n\ndigits/0: cero\ndigits/0: diez\nletters/at: at [@]\nvm-intro: "
                         "Hello  there.\n")
    assert t == {"digits/0": "cero", "letters/at": "at", "vm-intro": "Hello there."}


def test_keyword_labels_are_the_symbol_whatever_the_language():
    assert keyword_of("digits/7", "семь") == ("7", "digit")
    assert keyword_of("letters/b", "би") == ("b", "letter")
    assert keyword_of("phonetic/a_p", "Alfa") == ("alfa", "nato")
    assert keyword_of("phonetic/a_p", "Альфа") == ("alfa", "nato")
    assert keyword_of("phonetic/x_p", "X-Ray") == ("xray", "nato")
    assert keyword_of("phonetic/e_p", "Eco") == ("echo", "nato")
    # not NATO words: the Spanish "Carlos" for c, the Italian city alphabet, no transcript, "niner", numbers > 9
    assert keyword_of("phonetic/c_p", "Carlos") is None
    assert keyword_of("phonetic/a_p", "a come ancona") is None
    assert keyword_of("phonetic/a_p", None) is None
    assert keyword_of("phonetic/9_p", "niner") is None
    assert keyword_of("digits/17", "seventeen") is None and keyword_of("letters/zed", "zed") is None


def test_tts_falls_back_to_the_keyword_when_no_nato_transcript_exists(monkeypatch):
    from usad.corpus.tasks import keywords
    monkeypatch.setattr(keywords.asterisk, "transcripts",
                        lambda lang: {"phonetic/c_p": "Carlos", "letters/b": "би", "phonetic/b_p": "Браво"})
    assert tts_text("charlie", "nato", "es") == "charlie"
    assert tts_text("b", "letter", "ru") == "би" and tts_text("bravo", "nato", "ru") == "Браво"
    assert tts_text("7", "digit", "ru") == "7"

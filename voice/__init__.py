"""voice: speech out and in for the kiosk, and the phone line with its IVR dialog.

    speech_text   display text -> what is said (numbers, months, money, codes); sentences
    pcm           16-bit mono PCM: resampling, WAV in/out, loudness (numpy)
    tts           TTSEngine protocol; Pyttsx3Engine (pyttsx3 over espeak-ng, Mandarin)
    prompts       the prompt catalogue and its cache; staff recordings override prompts
    phone_prompts the phone line's own prompts (PHONE_CATALOGUE = both)
    audio         kiosk playback: Player protocol, SoundDevicePlayer, NullPlayer
    asr           speech in: VoskEngine, grammar mode, phrase verified with a confidence
    record        microphone capture (Capture protocol); staff recordings of prompts
    dialog*       the IVR as a state machine with no I/O (dialog_types: events, actions)
    sip/          our asyncio SIP/RTP stack: messages, SDP, RTP, G.711, DTMF, digest auth
    phone         a call: wires the SIP endpoint's audio and keys to a dialog

Nothing here loads an engine, opens a device or creates a folder at import time.
"""

from .audio import NullPlayer, Player, SoundDevicePlayer, open_player
from .pcm import read_wav, resample
from .prompts import CATALOGUE, PrerenderReport, PromptCache, PromptInfo
from .speech_text import digits_zh, for_speech, integer_zh, money_zh, month_zh, sentences
from .tts import NATIVE_RATE, Pyttsx3Engine, TTSEngine, TTSError

__all__ = [
    "CATALOGUE", "NATIVE_RATE", "NullPlayer", "Player", "PrerenderReport", "PromptCache",
    "PromptInfo", "Pyttsx3Engine", "SoundDevicePlayer", "TTSEngine", "TTSError", "digits_zh",
    "for_speech", "integer_zh", "money_zh", "month_zh", "open_player", "read_wav", "resample",
    "sentences",
]


import av
import numpy as np
import pytest
from conftest import sine, write_audio

from bgmscope.audio.decode import load, probe
from bgmscope.errors import DecodeError, ParameterError


def dominant_freq(y, sr):
    spec = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    return np.argmax(spec) * sr / len(y)


def test_wav_resampled_to_analysis_rate(tmp_path):
    p = write_audio(tmp_path / "a.wav", sine(440, 3, 44100), 44100)
    y, sr = load(p, sr=16000)
    assert sr == 16000 and y.dtype == np.float32
    assert abs(len(y) - 48000) <= 2
    assert abs(dominant_freq(y, sr) - 440) < 2


def test_mp3_seek_matches_full_decode(tmp_path):
    sr = 44100
    t = np.arange(sr * 8) / sr
    y = (0.3 * np.sin(2 * np.pi * (200 + 40 * t) * t)).astype(np.float32)  # a chirp: every second differs
    p = write_audio(tmp_path / "c.mp3", np.stack([y, y]), sr, format="MP3")
    full, _ = load(p, sr=16000)
    part, _ = load(p, sr=16000, offset=3.0, duration=2.0)
    assert abs(len(part) - 32000) <= 2
    ref = full[48000:80000]
    lag = np.argmax(np.correlate(ref[:4000], part[:4000], "full")) - 3999
    assert abs(lag) < 1200  # mp3 decoder delay is < 2 frames, not seconds
    assert abs(dominant_freq(part, 16000) - dominant_freq(ref, 16000)) < 15


def test_multichannel_and_hires_downmixed(tmp_path):
    six = np.stack([sine(330, 1, 48000)] * 6)
    p6 = write_audio(tmp_path / "six.wav", six, 48000)
    y, sr = load(p6)
    assert y.ndim == 1 and abs(dominant_freq(y, sr) - 330) < 3
    hi = write_audio(tmp_path / "hi.wav", sine(1000, 1, 96000), 96000, subtype="PCM_24")
    y, sr = load(hi)
    assert sr == 16000 and abs(len(y) - 16000) <= 2
    assert probe(hi).sample_rate == 96000 and probe(p6).channels == 6


def test_ulaw_au_8k(tmp_path):
    p = write_audio(tmp_path / "x.au", sine(500, 2, 8000), 8000, format="AU", subtype="ULAW")
    y, sr = load(p)
    assert abs(len(y) - 32000) <= 4 and abs(dominant_freq(y, sr) - 500) < 3


def test_m4a_through_pyav(tmp_path):
    p = tmp_path / "song.m4a"
    sr = 44100
    y = sine(440, 2, sr)
    with av.open(str(p), "w") as out:
        st = out.add_stream("aac", rate=sr)
        st.layout = "mono"
        frame = av.AudioFrame.from_ndarray(y[None, :], format="fltp", layout="mono")
        frame.sample_rate = sr
        for packet in st.encode(frame):
            out.mux(packet)
        for packet in st.encode(None):
            out.mux(packet)
    info = probe(p)
    assert info.backend == "pyav" and 1.8 < info.duration_s < 2.3
    z, zsr = load(p, sr=16000, offset=0.5, duration=1.0)
    assert abs(len(z) - 16000) < 200 and abs(dominant_freq(z, zsr) - 440) < 5


@pytest.mark.parametrize("content,reason", [
    (b"", "empty file"),
    (b"this is not audio, just text pretending to be an mp3\n" * 20, "not decodable"),
])
def test_bad_files_raise_clear_errors(tmp_path, content, reason):
    p = tmp_path / "bad.mp3"
    p.write_bytes(content)
    with pytest.raises(DecodeError, match=reason):
        load(p)


def test_nan_float_wav_rejected(tmp_path):
    y = sine(440, 1)
    y[100:200] = np.nan
    p = write_audio(tmp_path / "nan.wav", y, 16000, subtype="FLOAT")
    with pytest.raises(DecodeError, match="non-finite"):
        load(p)


def test_truncated_mp3_decodes_what_is_there(tmp_path):
    p = write_audio(tmp_path / "t.mp3", sine(440, 6, 44100), 44100, format="MP3")
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    y, sr = load(p)
    assert 1.5 < len(y) / sr < 4.5


def test_bad_arguments_fail_fast(tmp_path):
    p = write_audio(tmp_path / "a.wav", sine(440, 1), 16000)
    with pytest.raises(ParameterError):
        load(p, offset=-1)
    with pytest.raises(DecodeError, match="past the end"):
        load(p, offset=5)


def test_decoder_never_uses_a_shell(tmp_path):
    # a file name that would run a command if it ever reached a shell
    canary = tmp_path / "pwned"
    name = f"$(touch {canary}) `touch {canary}`; echo 'x\".wav"
    p = write_audio(tmp_path / name, sine(440, 1), 16000)
    y, _ = load(p)
    assert len(y) == 16000 and not canary.exists()


@pytest.mark.parametrize("kw", [{"sr": 0}, {"sr": -16000}, {"offset": float("nan")}, {"offset": float("inf")},
                                {"duration": float("nan")}, {"duration": float("inf")}, {"duration": 0}])
def test_non_finite_or_non_positive_arguments_refused(tmp_path, kw):
    p = write_audio(tmp_path / "a.wav", sine(440, 1), 16000)
    with pytest.raises(ParameterError):
        load(p, **kw)


def test_clip_plan_refuses_a_nan_length():
    from bgmscope.prepare.plan import plan_clips

    for bad in (float("nan"), float("inf"), 0.0):
        with pytest.raises(ParameterError):
            plan_clips(60.0, length_s=bad)


def test_song_pass_decode_matches_load_and_rejects_nan_in_one_channel(tmp_path):
    from bgmscope.prepare.scan import decode_song

    sr = 44100
    left, right = sine(440, 30, sr), 0.5 * sine(660, 30, sr)
    p = write_audio(tmp_path / "st.wav", np.stack([left, right]), sr, subtype="FLOAT")
    whole, _ = load(p, sr=16000)
    blocks = decode_song(p, 16000)  # block by block, each block downmixed and resampled
    assert abs(len(blocks) - len(whole)) <= 2
    n = min(len(blocks), len(whole))
    assert np.max(np.abs(blocks[:n] - whole[:n])) < 1e-3
    right[sr * 20] = np.inf  # one bad sample in the right channel only, in a later block
    p = write_audio(tmp_path / "inf.wav", np.stack([left, right]), sr, subtype="FLOAT")
    with pytest.raises(DecodeError, match="non-finite"):
        decode_song(p, 16000)


@pytest.mark.parametrize("seconds", [0.05, 3.0, 70.3])  # shorter than a window; several STFT blocks
def test_song_pass_stft_equals_librosa(seconds):
    import librosa

    from bgmscope.audio.stft import N_FFT, stft_hop
    from bgmscope.prepare.scan import STFT_BLOCK, magnitude_stft

    sr = 16000
    rng = np.random.default_rng(3)
    t = np.arange(int(seconds * sr)) / sr
    y = (0.4 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(t.size)).astype(np.float32)
    want = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=stft_hop(sr), pad_mode="constant"))
    got = magnitude_stft(y, sr)
    assert got.dtype == np.float32 and got.shape == want.shape
    if seconds > 60:
        assert got.shape[1] > 2 * STFT_BLOCK
    np.testing.assert_allclose(got, want, atol=1e-5 * float(want.max()))

"""The daemon in this process on the fake audio backend: buttons on gpiozero's mock pins, the
models folder, state, reload, the control socket, and systemd's notify protocol."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from daemon_helpers import (BUNDLED, Running, drop_model, nan_model, slow_model, wait_for,
                            write_config)
from pedal.service.config import load_config
from pedal.errors import ConfigError
from pedal.service.sdnotify import Notifier

pytest.importorskip("gpiozero")


@pytest.fixture
def pedal(tmp_path):
    (tmp_path / "models").mkdir()
    drop_model(tmp_path / "models", "a.onnx")
    shutil.copy(BUNDLED, tmp_path / "models" / "b.onnx")
    r = Running(write_config(tmp_path))
    wait_for(lambda: len(r.status()["models"]) == 2, what="two models in the cycle")
    yield r
    r.stop()


def _press(r, pin, hold=0.0):
    r.daemon.controls.drive(pin, True)
    time.sleep(0.05 + hold)
    r.daemon.controls.drive(pin, False)
    time.sleep(0.15)


def test_footswitch_toggles_bypass_and_a_long_press_tunes(pedal):
    st = pedal.status()
    assert st["state"] == "playing" and st["led"] == "on"
    _press(pedal, 15)
    st = wait_for(lambda: (s := pedal.status())["bypass"] and s, what="bypass")
    assert st["led"] == "off"
    _press(pedal, 15)
    assert not pedal.status()["bypass"]
    _press(pedal, 15, hold=0.6)  # held past hold_s: tuner, and the bypass toggle is undone
    st = wait_for(lambda: (s := pedal.status())["tuner"] and s, what="tuner")
    assert not st["bypass"] and st["state"] == "tuner" and st["led"] == "blink-fast"
    assert "tuner_reading" in st
    _press(pedal, 15)  # any press leaves the tuner, without toggling bypass
    st = pedal.status()
    assert not st["tuner"] and not st["bypass"]


def test_buttons_step_through_the_models_folder(pedal):
    assert pedal.status()["model"] == "pedal_overdrive_lstm16.onnx"
    swaps = pedal.status()["swaps"]
    _press(pedal, 14)
    wait_for(lambda: pedal.status()["model"] == "a.onnx", what="next model")
    _press(pedal, 14)
    wait_for(lambda: pedal.status()["model"] == "b.onnx", what="next model")
    _press(pedal, 20)
    wait_for(lambda: pedal.status()["model"] == "a.onnx", what="previous model")
    assert pedal.status()["swaps"] == swaps + 3
    assert pedal.ask("next")["status"]["model"] == "b.onnx"  # the socket does the same


def test_dropped_files_join_the_cycle_only_when_complete_and_valid(pedal, tmp_path):
    models = tmp_path / "models"
    before = pedal.blocks()
    # a copy in progress: half the file now, the rest within the settle time
    data = BUNDLED.read_bytes()
    part = models / "c.onnx"
    part.write_bytes(data[:len(data) // 2])
    time.sleep(0.1)
    with open(part, "ab") as f:
        f.write(data[len(data) // 2:])
    wait_for(lambda: "c.onnx" in pedal.status()["models"], what="c.onnx")
    assert pedal.status()["last_error"] is None
    # broken files: each skipped with a line naming it, the sound keeps playing
    (models / "trunc.onnx").write_bytes(data[: len(data) // 3])
    nan_model(models / "nan.onnx")
    slow_model(models / "slow.onnx")
    (models / "junk.nam").write_text('{"version": "0.5.2", "architecture": "LSTM"')
    rej = wait_for(lambda: len(r := pedal.status()["models_rejected"]) == 4 and r, timeout=30,
                   what="four files rejected")
    for name, why in rej.items():
        assert why.startswith(str(models / name) + ": ")  # one line naming the file
    assert "truncated" in rej["trunc.onnx"] and "NaN" in rej["nan.onnx"]
    assert "too slow for real time" in rej["slow.onnx"] and "JSON" in rej["junk.nam"]
    st = pedal.status()
    assert sorted(st["models"]) == ["a.onnx", "b.onnx", "c.onnx"]
    assert st["model"] == "pedal_overdrive_lstm16.onnx" and st["state"] == "playing"
    # removing a file takes it out of the cycle; the one playing keeps playing
    pedal.ask("model", "c.onnx")
    (models / "c.onnx").unlink()
    wait_for(lambda: "c.onnx" not in pedal.status()["models"], what="c.onnx removed")
    assert pedal.status()["model"] == "c.onnx"
    # the whole folder deleted: an error, the sound plays on; it comes back when the folder does
    shutil.rmtree(models)
    wait_for(lambda: "models folder" in (pedal.status()["last_error"] or ""), what="no folder")
    assert pedal.status()["models"] == []
    b = pedal.blocks()
    wait_for(lambda: pedal.blocks() > b + 100, what="audio still running")
    models.mkdir()
    drop_model(models, "d.onnx")
    wait_for(lambda: pedal.status()["models"] == ["d.onnx"], what="folder back")
    assert pedal.blocks() > before


def test_a_garbage_collection_never_walks_the_start_up_heap(tmp_path):
    """A full collection holds the GIL, and the audio thread waits for it; its cost is the
    number of tracked objects it walks. The daemon freezes what start-up built, so while it
    plays a collection walks only the few objects made since; stopped, it thaws them."""
    import gc

    r = Running(write_config(tmp_path))
    try:
        wait_for(lambda: r.blocks() > 50, what="audio")
        gc.collect()
        frozen, walked = gc.get_freeze_count(), len(gc.get_objects())
    finally:
        r.stop()
    assert frozen > 20000 and walked < frozen / 20, (frozen, walked)
    assert gc.get_freeze_count() == 0


def test_state_is_saved_and_restored(tmp_path):
    cfg = write_config(tmp_path)
    drop_model(tmp_path / "models", "a.onnx")
    r = Running(cfg)
    try:
        wait_for(lambda: r.status()["models"] == ["a.onnx"], what="model")
        r.ask("model", "a.onnx")
        r.ask("bypass", "on")
        state = tmp_path / "state/state.json"  # written atomically: absent, or whole
        wait_for(lambda: state.exists() and json.loads(state.read_text())["bypass"],
                 what="state saved")
    finally:
        r.stop()
    saved = json.loads((tmp_path / "state/state.json").read_text())
    assert saved == {"version": 1, "preset": "default", "model": "a.onnx", "bypass": True,
                     "rate": 48000}
    assert [p.name for p in (tmp_path / "state").iterdir()] == ["state.json"]  # no temp left
    r = Running(cfg)
    try:
        st = r.status()
        assert (st["model"], st["bypass"], st["preset"]) == ("a.onnx", True, "default")
    finally:
        r.stop()
    # a corrupt state file: defaults, and the reason said
    (tmp_path / "state/state.json").write_text("{not json")
    r = Running(cfg)
    try:
        st = r.status()
        assert st["model"] == "pedal_overdrive_lstm16.onnx" and not st["bypass"]
        assert "state.json" in st["last_error"] and "not valid JSON" in st["last_error"]
    finally:
        r.stop()


def test_a_full_disk_when_saving_state_is_reported_and_the_pedal_plays_on(tmp_path):
    disk = tmp_path / "state"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(disk)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        cfg = write_config(tmp_path)
        r = Running(cfg)
        try:
            r.ask("bypass", "on")
            wait_for(lambda: (disk / "state.json").exists(), what="state")
            with open(disk / "filler", "wb") as f:
                try:
                    f.write(b"\0" * 65536)
                except OSError:
                    pass
            r.ask("bypass", "off")
            err = wait_for(lambda: r.status()["last_error"], what="an error")
            assert "cannot save state" in err and "state.json" in err
            assert json.loads((disk / "state.json").read_text())["bypass"] is True  # old one
            b = r.blocks()
            wait_for(lambda: r.blocks() > b + 100, what="audio running")
        finally:
            r.stop()
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)


def test_reload_with_invalid_yaml_keeps_the_old_configuration(tmp_path):
    cfg = write_config(tmp_path)
    r = Running(cfg)
    try:
        good = cfg.read_text()
        cfg.write_text(good + "\nsound: [unclosed\n")
        reply = r.ask("reload")
        assert not reply["ok"] and "pedal.yaml" in reply["error"] and "line" in reply["error"]
        cfg.write_text(good.replace("backend: fake", "backend: fake\n  bogus_key: 1"))
        reply = r.ask("reload")
        assert "audio.bogus_key: unknown key" in reply["error"]
        assert r.status()["state"] == "playing"
        b = r.blocks()
        wait_for(lambda: r.blocks() > b + 100, what="audio running")
        doc = yaml.safe_load(good)
        doc["sound"]["crossfade_ms"] = 30
        cfg.write_text(yaml.safe_dump(doc))
        assert r.ask("reload")["ok"]
        assert r.daemon.config.sound.crossfade_ms == 30
    finally:
        r.stop()


def test_config_errors_name_the_file_and_key(tmp_path):
    p = tmp_path / "pedal.yaml"
    p.write_text("audio:\n  block: 5\n  backend: alsa\nsound:\n  cycle: songs\nextra: 1\n")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    lines = e.value.problems
    assert f"{p}: audio.block: must be 16..2048 samples, got 5" in lines
    assert any(l.startswith(f"{p}: audio.backend: must be one of") for l in lines)
    assert any(l.startswith(f"{p}: sound.cycle:") for l in lines)
    assert any(l.startswith(f"{p}: extra: unknown key") for l in lines)


def test_the_shipped_config_is_valid_and_shows_every_key():
    from pedal import paths
    from pedal.service.config import SCHEMA
    from pedal.preset.schema import Section

    shipped = paths.ROOT / "systemd" / "pedal.yaml"
    doc = yaml.safe_load(shipped.read_text())

    def keys(schema, d, prefix=""):
        for k, rule in schema.fields.items():
            assert k in d, f"{shipped}: {prefix}{k} missing"
            if isinstance(rule, Section):
                keys(rule, d[k], f"{prefix}{k}.")
    keys(SCHEMA, doc)
    cfg = load_config(shipped)
    assert cfg.socket_path == Path("/run/pedal/pedal.sock")


# -- systemd notify ----------------------------------------------------------------------------
def _listen(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(str(path))
    s.settimeout(10)
    return s


def test_notifier_speaks_the_protocol_to_a_socket(tmp_path):
    s = _listen(tmp_path / "notify")
    n = Notifier({"NOTIFY_SOCKET": str(tmp_path / "notify"), "WATCHDOG_USEC": "2000000"})
    assert n.watchdog_s == 2.0
    assert n.ready("playing")
    assert s.recv(256) == b"READY=1\nSTATUS=playing"
    assert n.watchdog() and s.recv(256) == b"WATCHDOG=1"
    assert n.reloading() and s.recv(256).startswith(b"RELOADING=1\nMONOTONIC_USEC=")
    assert n.stopping() and s.recv(256) == b"STOPPING=1"
    assert not Notifier({}).ready() and Notifier({}).watchdog_s is None
    other = Notifier({"NOTIFY_SOCKET": "x", "WATCHDOG_USEC": "5", "WATCHDOG_PID": "1"})
    assert other.watchdog_s is None  # the watchdog is someone else's


def test_watchdog_is_pinged_only_while_audio_blocks_advance(tmp_path):
    """The real process: READY after start, WATCHDOG while the (real-time paced) input plays,
    none once it has ended and blocks stop."""
    from pedal.audio.files import write_audio
    from pedal.synth.guitar import guitar_riff

    write_audio(tmp_path / "in.wav", guitar_riff(48000)[:48000], 48000)
    cfg = write_config(tmp_path, audio={"backend": "file", "file": {
        "input": "in.wav", "realtime": True, "exit_at_end": False}})
    s = _listen(tmp_path / "notify")
    env = dict(os.environ, NOTIFY_SOCKET=str(tmp_path / "notify"), WATCHDOG_USEC="400000")
    proc = subprocess.Popen([sys.executable, "-m", "pedal", "run", "--config", str(cfg)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        msgs = []
        t_end = time.monotonic() + 20
        while time.monotonic() < t_end:
            try:
                msgs.append((time.monotonic(), s.recv(256)))
            except socket.timeout:
                break
            if len(msgs) > 2 and time.monotonic() - msgs[0][0] > 4:
                break
        s.settimeout(1.5)
        late = []
        try:
            while True:
                late.append(s.recv(256))
        except socket.timeout:
            pass
    finally:
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=20)[0].decode()
    kinds = [m for _, m in msgs]
    assert kinds[0].startswith(b"READY=1"), out
    pings = [t for t, m in msgs if m == b"WATCHDOG=1"]
    assert len(pings) >= 5, out  # every ~100 ms over the second of input
    assert b"WATCHDOG=1" not in late, "pinged after the audio stopped advancing"
    assert proc.returncode == 0 and "input file ended" in out


def test_sigkill_then_restart_restores_the_state(tmp_path):
    cfg = write_config(tmp_path)
    drop_model(tmp_path / "models", "a.onnx")
    cmd = [sys.executable, "-m", "pedal", "run", "--config", str(cfg)]
    from pedal.service.socket import request

    sock = tmp_path / "pedal.sock"
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: sock.exists() and request(sock, "status")["status"]["models"],
                 timeout=30, what="daemon up")
        request(sock, "model", ["a.onnx"])
        request(sock, "bypass", ["on"])
        wait_for(lambda: _saved(tmp_path).get("bypass"), what="state saved")
    finally:
        proc.kill()
        proc.wait()
    assert sock.exists()  # a stale socket is left behind, as after a power cut
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        st = wait_for(lambda: _try_status(sock), timeout=30, what="daemon up again")
        assert (st["model"], st["bypass"]) == ("a.onnx", True)
    finally:
        proc.terminate()
        assert proc.wait(20) == 0


def _saved(tmp_path):
    try:
        return json.loads((tmp_path / "state/state.json").read_text())
    except (OSError, ValueError):
        return {}


def _try_status(sock):
    from pedal.service.socket import ControlError, request

    try:
        return request(sock, "status")["status"]
    except ControlError:
        return None


def _preset_with(tmp_path, name: str, model: Path) -> None:
    doc = yaml.safe_load((tmp_path / "presets" / "default.yaml").read_text())
    doc["amp"]["model"] = str(model)
    doc["amp"]["knobs"] = []
    doc.pop("name", None)
    (tmp_path / "presets" / f"{name}.yaml").write_text(yaml.safe_dump(doc))


def test_sample_rate_model_runs_the_device_at_the_models_rate(tmp_path, caplog):
    """audio.sample_rate: model with a 44.1 kHz capture: the device runs at 44100 Hz, nothing
    is resampled, and the next start opens at the saved rate without loading twice."""
    import corpus

    g = tmp_path / "g.json"
    g.write_bytes(corpus.files()["guitarml.json"])
    cfg = write_config(tmp_path, audio={"sample_rate": "model"}, sound={"preset": "g"})
    _preset_with(tmp_path, "g", g)
    caplog.set_level("INFO", logger="pedal")
    for start in ("first", "second"):
        caplog.clear()
        r = Running(cfg)
        try:
            st = r.status()
            assert (st["sample_rate"], st["model_rate"], st["resampled"]) == \
                (44100, 44100, False), start
            assert st["latency_ms"] == pytest.approx(1000 * 64 / 44100, abs=0.01)
            assert "44100 Hz" in st["backend"]
            r.ask("bypass", "on")  # a change: the state (and its rate) is saved
            state = tmp_path / "state/state.json"
            wait_for(lambda: state.exists() and json.loads(state.read_text()).get("bypass"),
                     what="state saved")
            r.ask("bypass", "off")
        finally:
            r.stop()
        assert json.loads((tmp_path / "state/state.json").read_text())["rate"] == 44100
        switched = [m for m in caplog.messages if "the device runs at 44100 Hz" in m]
        assert len(switched) == (1 if start == "first" else 0), caplog.messages


def test_sample_rate_model_stays_and_resamples_when_the_device_cannot(tmp_path, caplog):
    """The Pedal Pi's ADC at the slowest SPI clock cannot read 44100 samples a second: the
    pedal says so, keeps its rate and resamples the model."""
    import corpus

    g = tmp_path / "g.json"
    g.write_bytes(corpus.files()["guitarml.json"])
    cfg = write_config(tmp_path, sound={"preset": "g"}, audio={
        "backend": "pedalpi", "sample_rate": "model",
        "pedalpi": {"hardware": "fake", "spi_hz": 1000000}})  # 24 us a sample: 41.6 kHz at most
    _preset_with(tmp_path, "g", g)
    caplog.set_level("INFO", logger="pedal")
    r = Running(cfg)
    try:
        st = r.status()
        assert (st["sample_rate"], st["model_rate"], st["resampled"]) == (48000, 44100, True)
        assert st["state"] == "playing"
    finally:
        r.stop()
    assert any("cannot read 44100 samples a second" in m and "resampled" in m
               for m in caplog.messages), caplog.messages


def test_sample_rate_accepts_a_number_or_model_and_names_both(tmp_path):
    cfg = write_config(tmp_path, audio={"sample_rate": "modle"})
    with pytest.raises(ConfigError) as e:
        load_config(cfg)
    assert "audio.sample_rate: must be 8000..192000 Hz or model, got 'modle'" in str(e.value)


def test_a_dropped_slimmable_file_plays_the_size_this_machine_affords(tmp_path):
    """A SlimmableContainer dropped in joins the cycle at amp.slim auto: the largest of its
    sizes that passes the budget check here, and pedal status says which and why."""
    cases = Path(__file__).parent / "data" / "nam_cases"
    cfg = write_config(tmp_path)
    drop_model(tmp_path / "models", "multi.nam", cases / "container.nam")
    r = Running(cfg)
    try:
        wait_for(lambda: r.status()["models"] == ["multi.nam"], what="multi.nam in the cycle")
        st = r.ask("model", "multi.nam")["status"]
        assert st["model"] == "multi.nam" and st["state"] == "playing"
        assert "size 3 of 3 (wavenet-5x3+3x3-a2" in st["model_size"]
        assert "auto: the largest of 3 sizes within the budget at block 64" in st["model_size"]
    finally:
        r.stop()


def test_an_idle_loader_exits_and_the_next_drop_starts_it_again(tmp_path):
    """loader.idle_exit_s: the worker process (its numba, LLVM and onnxruntime: ~130 MB of
    proportional memory) exits when no file came for that long; a file dropped later starts a
    new one and joins the cycle. An idle exit is not a restart (restarts count failures)."""
    r = Running(write_config(tmp_path, loader={"idle_exit_s": 1.0}))
    try:
        first = wait_for(lambda: (p := r.status()["loader"]["pid"]) and p, what="a worker")
        os.kill(first, 0)  # it is alive
        st = wait_for(lambda: (s := r.status())["loader"]["pid"] is None and s, timeout=15,
                      what="the idle worker gone")
        assert st["loader"]["idle_exits"] == 1 and st["loader"]["restarts"] == 0
        with pytest.raises(ProcessLookupError):
            for _ in range(50):  # reaped by the daemon: gone from the process table
                os.kill(first, 0)
                time.sleep(0.1)
        drop_model(tmp_path / "models", "late.onnx")
        wait_for(lambda: "late.onnx" in r.status()["models"], timeout=30, what="late.onnx")
        st = r.status()
        assert st["loader"]["pid"] not in (None, first) and st["loader"]["restarts"] == 0
        assert st["state"] == "playing" and st["last_error"] is None
    finally:
        r.stop()


def test_a_loader_started_early_is_kept_only_with_the_configs_limits(tmp_path):
    """``pedal run`` starts the loader's worker before it reads the config (its start-up then
    overlaps the daemon's); the daemon keeps it only when the config asks for its limits."""
    from pedal.service.daemon import Daemon
    from pedal.service.loader import Loader, LoaderLimits

    cfg = load_config(write_config(tmp_path))
    assert Daemon._limits(cfg) == LoaderLimits()  # the defaults agree: kept unless configured
    same = Loader(Daemon._limits(cfg))
    other = Loader(LoaderLimits(memory_mb=999))
    kept, replaced = Daemon(cfg, loader=same), Daemon(cfg, loader=other)
    try:
        assert kept.loader is same
        assert replaced.loader is not other and replaced.loader.limits == Daemon._limits(cfg)
        assert other._closed
    finally:
        kept.loader.close()
        replaced.loader.close()

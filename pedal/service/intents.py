"""What the pedal does when asked: one handler per intent, from the buttons, the control socket
and signals alike. Every handler runs on the control loop and answers through ``reply`` (at
once, or when a sound it asked for is playing); a bad argument is an answer, never an
exception.

The footswitch policy lives in ``Footswitch``: a press toggles bypass at once (or leaves the
tuner); holding it for ``hold_s`` means the tuner, so the toggle the press made is undone.
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger("pedal")

ON = ("on", "1", "true", "yes")
OFF = ("off", "0", "false", "no")


class IntentError(ValueError):
    """An intent's arguments are wrong (the reply says how)."""


def _switch(args, current: bool, what: str) -> bool:
    if not args:
        return not current
    word = str(args[0]).lower()
    if word in ON:
        return True
    if word in OFF:
        return False
    if word == "toggle":
        return not current
    raise IntentError(f"{what} takes on, off or toggle, got {args[0]!r}")


def _one(args, what: str) -> str:
    if len(args) != 1 or not isinstance(args[0], str) or not args[0].strip():
        raise IntentError(f"{what}")
    return args[0]


class Footswitch:
    def __init__(self):
        self._left_tuner = False
        self._bypass_before = False

    def pressed(self, player) -> str:
        self._left_tuner = player.tuner
        if player.tuner:
            player.set_tuner(False)
            return "tuner off"
        self._bypass_before = player.bypass
        player.set_bypass(not player.bypass)
        return f"bypass {'on' if player.bypass else 'off'}"

    def held(self, player) -> str | None:
        if self._left_tuner:  # the press that left the tuner is not a request for it
            return None
        player.set_bypass(self._bypass_before)
        player.set_tuner(True)
        return "tuner on"


def _status(d, args, reply):
    reply({"ok": True, "status": d.status()})


def _bypass(d, args, reply):
    on = _switch(args, d.player.bypass, "bypass")
    d.player.set_bypass(on)
    d.dirty = True
    log.info("bypass %s", "on" if on else "off")
    d.answer(reply)


def _tuner(d, args, reply):
    on = _switch(args, d.player.tuner, "tuner")
    d.player.set_tuner(on)
    log.info("tuner %s", "on" if on else "off")
    d.answer(reply)


def _footswitch(d, args, reply):
    what = d.footswitch.pressed(d.player)
    d.dirty = True
    log.info("%s", what)
    d.answer(reply)


def _footswitch_held(d, args, reply):
    what = d.footswitch.held(d.player)
    if what:
        d.dirty = True
        log.info("%s", what)
    d.answer(reply)


def _step(delta):
    def handler(d, args, reply):
        d.sounds.step(delta, d.completion(reply))
    return handler


def _preset(d, args, reply):
    name = _one(args, "preset needs a NAME")
    d.sounds.scan_presets()
    d.sounds.select(name, None, "preset", d.completion(reply))


def _model(d, args, reply):
    name = Path(_one(args, "model needs a FILE name in the models folder")).name
    d.sounds.select(d.sounds.preset_name, d.library.folder / name, "model", d.completion(reply))


def _reload(d, args, reply):
    d.reload(d.completion(reply))


def _pin(d, args, reply):
    if d.controls is None:
        raise IntentError("controls are not enabled")
    if len(args) != 2 or args[1] not in ("press", "release"):
        raise IntentError("pin PIN press|release")
    try:
        pin = int(args[0])
    except (TypeError, ValueError):
        raise IntentError(f"pin PIN press|release: PIN must be a number, got {args[0]!r}") \
            from None
    try:
        d.controls.drive(pin, args[1] == "press")
    except (ValueError, KeyError) as exc:
        raise IntentError(f"pin {pin}: {exc}") from None
    d.answer(reply)


def _stop(d, args, reply):
    d.stop_requested = True
    d.answer(reply)


HANDLERS = {
    "status": _status, "bypass": _bypass, "toggle": _bypass, "tuner": _tuner,
    "footswitch": _footswitch, "footswitch_held": _footswitch_held, "next": _step(+1),
    "prev": _step(-1), "preset": _preset, "model": _model, "reload": _reload, "pin": _pin,
    "stop": _stop,
}
USAGE = ("status, next, prev, bypass [on|off], tuner [on|off], preset NAME, model FILE, "
         "reload, pin N press|release, stop")


def dispatch(d, intent: str, args, reply) -> None:
    handler = HANDLERS.get(intent)
    if handler is None:
        return reply({"ok": False, "error": f"unknown command {intent!r} ({USAGE})"})
    try:
        handler(d, list(args or []), reply)
    except IntentError as exc:
        reply({"ok": False, "error": str(exc)})

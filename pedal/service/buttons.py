"""Footswitch, buttons and LED through gpiozero (lgpio or RPi.GPIO on a Pi; its mock pin
factory anywhere else). gpiozero does the debouncing and the long-press timing; the handlers
here only post intents to the daemon's queue and never touch the audio.

- footswitch press: toggle bypass (or leave tuner mode); held for ``hold_s``: tuner mode
- next / prev: the next or previous model (or preset, ``sound.cycle``)
- LED: lit while the effect is on, dark in bypass, blinking fast in tuner mode and for three
  seconds after an error
"""

from __future__ import annotations

import logging

log = logging.getLogger("pedal")
_FACTORIES = {
    "mock": ("gpiozero.pins.mock", "MockFactory"),
    "rpigpio": ("gpiozero.pins.rpigpio", "RPiGPIOFactory"),
    "lgpio": ("gpiozero.pins.lgpio", "LGPIOFactory"),
    "native": ("gpiozero.pins.native", "NativeFactory"),
}


class Controls:
    def __init__(self, cfg, post):
        """cfg: the config's ``controls`` section (``config.ControlsConfig``); post(intent,
        arg=None) queues an intent."""
        import importlib

        try:
            import gpiozero
        except ImportError:
            raise OSError("controls need gpiozero: pip install -e '.[pi]'") from None
        self.cfg = cfg
        name = cfg.pin_factory
        if name == "auto":
            self.factory = None  # gpiozero picks lgpio, RPi.GPIO, ... in its own order
        else:
            mod, cls = _FACTORIES[name]
            self.factory = getattr(importlib.import_module(mod), cls)()
        self.mock = name == "mock"
        kw = dict(pull_up=cfg.pull_up, pin_factory=self.factory)
        bounce = cfg.bounce_ms / 1000.0 or None
        self._devices = []
        try:
            self.foot = self._button(cfg.footswitch_pin, bounce, cfg.hold_s, kw)
            if self.foot is not None:
                self.foot.when_pressed = lambda: post("footswitch")
                self.foot.when_held = lambda: post("footswitch_held")
            for key, intent in (("next_pin", "next"), ("prev_pin", "prev")):
                b = self._button(getattr(cfg, key), bounce, cfg.hold_s, kw)
                if b is not None:
                    b.when_pressed = (lambda i=intent: post(i))
            self.led = None
            if cfg.led_pin:
                self.led = gpiozero.LED(cfg.led_pin, pin_factory=self.factory)
                self._devices.append(self.led)
        except gpiozero.GPIOZeroError as exc:
            self.close()
            raise OSError(f"controls: {type(exc).__name__}: {exc}") from None
        self.shown: str | None = None

    def _button(self, pin, bounce, hold, kw):
        import gpiozero

        if not pin:
            return None
        b = gpiozero.Button(pin, bounce_time=bounce, hold_time=hold, **kw)
        self._devices.append(b)
        return b

    def show(self, bypass: bool, tuner: bool, error: bool) -> None:
        """Drive the LED (only when what it shows changes)."""
        want = "blink-fast" if tuner else "blink" if error else "off" if bypass else "on"
        if self.led is None or want == self.shown:
            return
        self.shown = want
        if want == "on":
            self.led.on()
        elif want == "off":
            self.led.off()
        elif want == "blink":
            self.led.blink(0.15, 0.15)
        else:
            self.led.blink(0.05, 0.05)

    def drive(self, pin: int, pressed: bool) -> None:
        """Press or release a button on the mock pin factory (tests, ``pedal ctl pin``)."""
        if not self.mock:
            raise ValueError("pins can be driven only with controls.pin_factory: mock")
        p = self.factory.pin(pin)
        low = pressed == bool(self.cfg.pull_up)  # a pull-up button reads low when pressed
        p.drive_low() if low else p.drive_high()

    def close(self):
        for d in self._devices:
            try:
                d.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass
        self._devices = []

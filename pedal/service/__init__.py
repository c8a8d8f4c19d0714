"""`pedal run`: the pedal as a service (daemon, real-time player, models folder, control
socket, buttons, state, systemd notify)."""

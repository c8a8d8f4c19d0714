"""The Pedal Pi board's hardware: the MCP3202 ADC on SPI and the PWM output, each with a fake
that ships in the package (as gpiozero ships its mock pins) so the backend runs off the Pi."""

"""The project's own material: a plucked-string guitar, a synthetic cabinet, a simulated
overdrive circuit (the bundled demo clip, IR and default model are made from these)."""

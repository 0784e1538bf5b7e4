"""LivePuppet's pipeline: capture, face tracking, motion, scheduling and sinks (offline and live)."""

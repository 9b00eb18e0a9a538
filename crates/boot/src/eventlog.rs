//! TCG PC Client event logs (PFP §10): parse, write, replay.

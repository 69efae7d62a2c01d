//! What the raw-request steps need that is not a step: placeholder values and request bodies.

//! Follow / fans webhooks: `Follow.*` (1047/70355, 70356).

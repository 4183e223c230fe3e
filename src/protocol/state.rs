//! Online status: `State.StateChange` (1047/34357).

//! Operations alarms: `Alert.RequestOverLimit` (1047/60256).

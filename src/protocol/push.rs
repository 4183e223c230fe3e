//! Push-service delivery reports: `Push.OfflinePush` and `Push.AllMemberPush` (1047/67552, 67551; 269/102567, 102568).

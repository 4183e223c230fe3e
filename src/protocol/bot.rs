//! Chatbot webhooks: `Bot.OnC2CMessage`, `Bot.OnGroupMessage` (1047/68952, 68953) and `Chatbot.OnC2CSignalMessage` (1047/59057).

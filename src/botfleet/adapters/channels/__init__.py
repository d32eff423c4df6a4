"""Channel adapters: web chat, WhatsApp, Telegram. The degradation of outputs to what a channel
can show, which they and the runtime share, is domain logic (`botfleet.domain.degrade`)."""

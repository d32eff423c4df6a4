"""What the web chat page can show: more and longer choices than WhatsApp, no templates."""

from __future__ import annotations

from botfleet.ports.channels import Capabilities

WEBCHAT_CAPABILITIES = Capabilities(
    buttons=True,
    max_buttons=5,  # more than a row of buttons reads worse than a list on a phone
    max_button_title=40,
    lists=True,
    max_list_rows=50,
    max_row_title=80,
    max_row_description=200,
    max_text=4096,
    templates=False,  # templates exist for WhatsApp's 24-hour rule; the page shows their text
)

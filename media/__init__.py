"""The visit-room terminal agent (aiortc): sources, display, reconnect loop."""

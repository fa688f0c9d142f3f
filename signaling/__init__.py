"""The real-time edge: websocket endpoint, wire protocol, rooms, relay, deadlines, bus."""

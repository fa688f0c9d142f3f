"""The officers' today board: what each visit of a day and each visit-room terminal look like
now, the alerts an officer must act on, and the feed that pushes a changed row to the console.

``facts.py`` holds what the board is computed from (the store's side and the live side, the
latter through the ``LiveState`` seam the signaling hub implements); ``today.py`` computes it
(pure, over facts and a time); ``rows.py`` gathers the facts and calls it; ``feed.py`` fans
changes out to subscribers with bounded queues.
"""

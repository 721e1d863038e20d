"""The tags stage: musicnn tag scores per chart song, over several clips (first 15 s, hook, middle)."""

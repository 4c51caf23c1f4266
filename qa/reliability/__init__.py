"""`archive-qa check`: reliability scenarios run in a scratch folder (never on the user's
index), each a row of `reliability.json` and of the printed table."""

// Replaced by the form enhancement script.

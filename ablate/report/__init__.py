"""`ablate report`: one offline HTML page per sweep, with effects, intervals and explanations."""

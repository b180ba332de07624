"""Dataset- and model-card rendering (statistics, plots, templates) and publishing to the Hub."""

"""Model code of the recipes: `PreTrainedModel`s with their own `PretrainedConfig` (Hub-native)."""

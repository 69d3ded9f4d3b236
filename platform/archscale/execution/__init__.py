"""Ray Tune glue: the trainable, the searcher, early stopping, the database recorder, Ray start-up,
phase runs and cluster submission. No training or SQL code lives here."""

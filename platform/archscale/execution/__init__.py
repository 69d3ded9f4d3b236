"""Ray Tune glue: the trainable, the searcher and scheduler, the database recorder, Ray start-up,
phase runs and cluster submission. No training or SQL code lives here."""

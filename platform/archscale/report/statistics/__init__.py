"""Statistics, the report's second stage: estimates computed from frames, each interval naming the
population it resamples (`varies`) and what it holds fixed, its method calibrated by simulation
(`calibration`): the per-architecture frame, summary and rank statistics, the cost ledger and cost to
match, the probe's maximal LRs, rank intervals, the init's growth (measured by the coordinate check)
and a benchmark's comparison. Nothing here reads the database, judges a claim or renders a format;
it imports only the frames stage."""
